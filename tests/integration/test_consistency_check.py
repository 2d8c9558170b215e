"""The consistency check (整合性確認) and the 住民票コード top-up, run as state machines on the local
system against the CS simulator: a difference planted in the CS is found and named (without its
value), a record the CS lacks is reported missing, and a part without a result fails the run."""

from __future__ import annotations

import json
from typing import Any

import pytest
from api_support import run_machine
from juki import bootstrap
from juki.adapters.consistency import LedgerCurrentPersons, build_consistency
from juki.domain.consistency import ConsistencyReport, Held, Kind
from juki.domain.errors import Forbidden
from juki.domain.linkage import identity_data
from juki.domain.records import PersonRecord
from juki.domain.staff import Actor, Role, SystemActor
from juki.services.consistency import CheckFailed, part_key
from juki_local.system import LocalSystem

from simulators import CsSimulator

OTHER_MY_NUMBER = "123456789018"  # a valid 個人番号 (check digit 8) the ledger does not hold


@pytest.fixture(scope="module")
def cs(local_system: LocalSystem) -> CsSimulator:
    """The CS simulator the local system runs and the functions talk to."""
    return local_system.peers.cs


def residents(count: int) -> list[PersonRecord]:
    settings = bootstrap.services().settings
    scan = LedgerCurrentPersons(settings.ledger_table, settings.region, settings.endpoint_url)
    found: list[PersonRecord] = []
    cursor: dict[str, Any] | None = None
    while len(found) < count:
        page = scan.scan(cursor, 200)
        found += [
            p for p in page.persons if p.status == "resident" and p.resident_code and p.my_number is None
        ]
        cursor = page.cursor
        assert cursor is not None or len(found) >= count, "not enough residents in the demo ledger"
    return found[:count]


def run(local_system: LocalSystem, machine: str, run_input: dict[str, Any]) -> dict[str, Any]:
    described = run_machine(local_system, machine, run_input)
    assert described["status"] == "SUCCEEDED", described.get("error")
    return dict(json.loads(described["output"]))


def auditor() -> Actor:
    return Actor("A0001", frozenset({Role.AUDITOR}), "本庁", "T-01", "test", "consistency-test")


def test_the_check_names_a_planted_difference_and_a_missing_record(
    local_system: LocalSystem, cs: CsSimulator
) -> None:
    municipality = bootstrap.services().settings.municipality_name
    changed, dropped, untouched, numbered = residents(4)
    cs.load_records(identity_data(p, municipality, None) for p in (changed, dropped, untouched, numbered))
    assert changed.resident_code and dropped.resident_code and numbered.resident_code
    cs.plant_difference(changed.resident_code, "name", "差異　太郎")
    cs.plant_difference(numbered.resident_code, "my_number", OTHER_MY_NUMBER)
    cs.drop_record(dropped.resident_code)

    output = run(local_system, "consistency-check", {"part_size": 50})

    assert output["parts"] >= 3  # the demo ledger, split for the Map
    service = bootstrap.services().part(build_consistency)
    report = service.read_report(output["run_id"], auditor())
    assert report.parts == output["parts"]
    assert report.checked >= 120
    mine = {
        d.person_id: d
        for d in report.differences
        if d.person_id in {p.person_id for p in (changed, dropped, untouched, numbered)}
    }
    assert set(mine) == {changed.person_id, dropped.person_id, numbered.person_id}
    assert (mine[changed.person_id].kind, mine[changed.person_id].item) == (Kind.ITEM, "name")
    assert (mine[changed.person_id].ledger, mine[changed.person_id].cs) == (Held.VALUE, Held.VALUE)
    assert mine[dropped.person_id].kind == Kind.MISSING_ON_CS
    assert (mine[numbered.person_id].item, mine[numbered.person_id].ledger) == ("my_number", Held.EMPTY)
    assert mine[changed.person_id].code_tail == changed.resident_code[-4:]
    stored = report.model_dump_json()
    for value in ("差異", changed.name.family_name, changed.resident_code, OTHER_MY_NUMBER):
        assert value not in stored  # the report names items, never values


def test_a_report_needs_every_part(local_system: LocalSystem, cs: CsSimulator) -> None:
    service = bootstrap.services().part(build_consistency)
    actor = SystemActor("consistency-check", "incomplete")
    with pytest.raises(CheckFailed) as failed:
        service.report("incomplete", 2, [{"part": part_key("incomplete", 1), "differences": 0}, None], actor)
    assert failed.value.code == "CONSISTENCY_PART_FAILED"


def test_only_an_auditor_reads_a_report(local_system: LocalSystem, cs: CsSimulator) -> None:
    service = bootstrap.services().part(build_consistency)
    clerk = Actor("C0001", frozenset({Role.CLERK}), "本庁", "T-01", "test", "consistency-test")
    with pytest.raises(Forbidden):
        service.read_report("anything", clerk)


def test_a_report_read_back_is_the_stored_one(local_system: LocalSystem, cs: CsSimulator) -> None:
    output = run(local_system, "consistency-check", {})
    report = bootstrap.services().part(build_consistency).read_report(output["run_id"], auditor())
    assert isinstance(report, ConsistencyReport)
    assert (report.run_id, report.parts) == (output["run_id"], output["parts"])


def test_the_topup_loads_codes_from_the_cs_only_when_asked_or_low(
    local_system: LocalSystem, cs: CsSimulator
) -> None:
    before = bootstrap.services().resident_codes.status()
    assert not before.low  # the local pool starts above its threshold
    idle = run(local_system, "resident-code-topup", {})
    assert (idle["requested"], idle["added"]) == (0, 0)

    cs.fail_next(1)  # the CS is briefly down: the machine retries
    asked = run(local_system, "resident-code-topup", {"count": 5})
    assert (asked["requested"], asked["received"], asked["added"]) == (5, 5, 5)
    assert bootstrap.services().resident_codes.status().available == asked["available"]
