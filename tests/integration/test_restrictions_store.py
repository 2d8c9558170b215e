"""Restrictions and support measures in the local system's ledger: add, list, release, extend, end,
each written atomically with its operation-log entry."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest
from api_support import oplog_bodies
from boto3.dynamodb.conditions import Key
from juki.adapters.restrictions import SUPPORT_MEASURES, DynamoRestrictionStore, target_key
from juki.adapters.system import JST
from juki.bootstrap import Services
from juki.domain.errors import Conflict, DomainError, Forbidden
from juki.domain.oplog import entry_for
from juki.domain.restrictions import (
    NewRestriction,
    NewSupportMeasure,
    Process,
    TargetKind,
    TemporaryReleaseRequest,
)
from juki.domain.staff import Actor, Role
from juki.domain.values import PersonName
from juki_local.system import LocalSystem

MANAGER = Actor("S2001", frozenset({Role.APPROVER}), "葵区役所", "T2", "caller", "r")
CLERK = Actor("S1001", frozenset({Role.CLERK}), "葵区役所", "T1", "caller", "r")


def fresh_person(services: Services) -> str:
    """A resident of their own, so that nothing set here touches another test's people."""
    template = services.store.get_person("0000000019")
    assert template is not None
    (person_id,) = services.store.reserve_sequence("person", 1)
    kana = "".join("アイウエオカキクケコサシスセソタ"[int(c, 16)] for c in uuid.uuid4().hex[:6])
    name = PersonName(family_name="抑止", given_name="試験", family_name_kana=kana, given_name_kana="タロウ")
    copy = template.model_copy(
        update={"person_id": person_id, "name": name, "resident_code": None, "my_number": None}
    )
    services.store.import_records([copy], [])
    return person_id


def oplog(local_system: LocalSystem, person_id: str) -> list[dict[str, Any]]:
    return [body for body in oplog_bodies(local_system) if person_id in body["persons"]]


def ledger_items(local_system: LocalSystem, pk: str) -> list[dict[str, Any]]:
    table = boto3.resource(
        "dynamodb", region_name=local_system.emulator.region, endpoint_url=local_system.emulator.url
    ).Table(local_system.description.name("ledger"))
    return list(table.query(KeyConditionExpression=Key("pk").eq(pk))["Items"])


def restriction_request(person_id: str, level: str = "error") -> NewRestriction:
    today = datetime.now(JST).date()
    return NewRestriction.model_validate(
        {
            "target": "person",
            "target_id": person_id,
            "processes": ["certificate", "inquiry"],
            "level": level,
            "reason": "相続手続中",
            "starts_on": (today - timedelta(days=1)).isoformat(),
            "ends_on": (today + timedelta(days=30)).isoformat(),
        }
    )


def test_add_release_and_end_a_restriction(services: Services, local_system: LocalSystem) -> None:
    person_id = fresh_person(services)
    restrictions = services.restrictions
    added = restrictions.add(restriction_request(person_id), MANAGER)
    now = datetime.now(JST)
    assert [i.code for i in restrictions.check([person_id], [], Process.CERTIFICATE, now)] == ["RESTRICTED"]
    assert restrictions.check([person_id], [], Process.MOVEMENT, now) == []

    listed = restrictions.on_target(TargetKind.PERSON, person_id, MANAGER)
    assert [r.restriction_id for r in listed.restrictions] == [added.restriction_id]

    until = now + timedelta(hours=2)
    released = restrictions.release(
        added.restriction_id, TemporaryReleaseRequest(until=until, reason="本人確認済み"), MANAGER
    )
    assert released.version == 2
    assert restrictions.check([person_id], [], Process.CERTIFICATE, datetime.now(JST)) == []
    assert restrictions.check([person_id], [], Process.CERTIFICATE, until)  # back by itself

    ended = restrictions.end(added.restriction_id, MANAGER)
    assert (ended.status, ended.version) == ("ended", 3)
    assert restrictions.check([person_id], [], Process.CERTIFICATE, until) == []
    sort_keys = sorted(i["sk"] for i in ledger_items(local_system, target_key(TargetKind.PERSON, person_id)))
    rid = added.restriction_id
    assert sort_keys == [f"CURRENT#{rid}", f"V#{rid}#000001", f"V#{rid}#000002", f"V#{rid}#000003"]

    functions = sorted((e["function"], e["action"]) for e in oplog(local_system, person_id))
    assert functions == [("restriction.manage", "create")] * 3 + [("restriction.read", "read")]


def test_support_measure_listing_expiry_and_extension(services: Services, local_system: LocalSystem) -> None:
    person_id = fresh_person(services)
    restrictions = services.restrictions
    today = datetime.now(JST).date()
    # Started 340 days ago: the term ends in 24 days, inside the month before expiry.
    measure = restrictions.add_support_measure(
        NewSupportMeasure(person_id=person_id, starts_on=today - timedelta(days=340)), MANAGER
    )
    assert (measure.ends_on - today).days in range(23, 27)
    assert [i.code for i in restrictions.check([person_id], [], Process.CERTIFICATE, datetime.now(JST))] == [
        "SUPPORT_MEASURE"
    ]

    def listed(within: int | None) -> set[str]:
        return {m.measure_id for m in restrictions.support_measures(MANAGER, within).support_measures}

    assert measure.measure_id in listed(None)
    assert measure.measure_id in listed(30)
    assert measure.measure_id not in listed(10)

    extended = restrictions.extend(measure.measure_id, MANAGER)
    assert extended.ends_on > today + timedelta(days=365)
    assert measure.measure_id not in listed(30)  # the index moved to the new end date
    assert measure.measure_id in listed(None)
    index = [i for i in ledger_items(local_system, SUPPORT_MEASURES) if i["sk"].endswith(measure.measure_id)]
    assert [i["sk"] for i in index] == [f"{extended.ends_on.isoformat()}#{measure.measure_id}"]

    restrictions.end_support_measure(measure.measure_id, MANAGER)
    assert measure.measure_id not in listed(None)
    assert restrictions.check([person_id], [], Process.CERTIFICATE, datetime.now(JST)) == []
    assert len(restrictions.on_target(TargetKind.PERSON, person_id, MANAGER).support_measures) == 1


def test_a_stale_change_writes_neither_the_record_nor_the_log(
    services: Services, local_system: LocalSystem
) -> None:
    person_id = fresh_person(services)
    added = services.restrictions.add(restriction_request(person_id, "alert"), MANAGER)
    first = services.restrictions.end(added.restriction_id, MANAGER)
    settings = services.settings
    store = DynamoRestrictionStore(
        settings.ledger_table, settings.oplog_table, settings.region, settings.endpoint_url
    )
    entry_id = uuid.uuid4().hex
    log = entry_for(
        MANAGER, entry_id=entry_id, at=datetime.now(JST), function="restriction.manage", action="create",
        persons=[person_id],
    )  # fmt: skip
    with pytest.raises(Conflict):
        store.replace(added, first, log)  # ``added`` is no longer the current version
    assert store.get(added.restriction_id) == first
    assert entry_id not in {e["entry_id"] for e in oplog(local_system, person_id)}
    with pytest.raises(Conflict):
        store.add(added, log)  # the same id again
    assert entry_id not in {e["entry_id"] for e in oplog(local_system, person_id)}


def test_refusals(services: Services) -> None:
    with pytest.raises(Forbidden):
        services.restrictions.add(restriction_request("0000000019"), CLERK)
    with pytest.raises(DomainError) as unknown:
        services.restrictions.add_support_measure(
            NewSupportMeasure(person_id="9999999999", starts_on=datetime.now(JST).date()), MANAGER
        )
    assert (unknown.value.code, unknown.value.field) == ("TARGET_NOT_FOUND", "person_id")
    with pytest.raises(DomainError) as missing:
        services.restrictions.extend(uuid.uuid4().hex, MANAGER)
    assert missing.value.code == "SUPPORT_MEASURE_NOT_FOUND"
