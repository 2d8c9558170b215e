"""The retention state machine on the local system: what it removes, what it keeps, what it
archives (still readable, 個人番号 still sealed), what it logs, and that a second run is a no-op.

The ledger and buckets are shared with the whole session, so the run names its persons
(``person_ids``) and every file and certificate here is this test's own (unique names); the
counts are checked as at least ours where other tests' data could be due too.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from api_support import oplog_bodies
from juki.adapters.dynamodb import identity_bucket_key
from juki.adapters.records_archive import archive_key
from juki.adapters.retention_stores import (
    SENDING_ADDRESS_PREFIX,
    DynamoRemovedRecordLedger,
    build_records_archive,
    build_retention,
    build_sending_address_files,
)
from juki.adapters.system import JST
from juki.bootstrap import Services
from juki.domain.errors import DomainError, NotFound
from juki.domain.movements import person_identity
from juki.domain.records import PersonRecord, Removal
from juki.domain.retention import MoveOutCertificate
from juki.domain.staff import Actor, Role, SystemActor
from juki.domain.values import Address, MovementKind, PersonName, RemovalReason, ResidentStatus, Sex
from juki_local.system import LocalSystem

from tests.integration.test_ledger_store import items
from tests.integration.test_my_number_vault import random_my_number

TODAY = datetime.now(UTC).astimezone(JST).date()
NOW = datetime.now(UTC)
CLERK = Actor("S1001", frozenset({Role.CLERK}), "葵区役所", "T1", "caller", "r")
LINKAGE = SystemActor("linkage", "test")
ADDRESS = Address(postal_code="420-0853", ward="葵区", town="追手町", lot="5番1号")


def new_id(services: Services) -> str:
    (person_id,) = services.store.reserve_sequence("person", 1)
    return person_id


def person(services: Services, *, removed_on: date | None, my_number: str) -> list[PersonRecord]:
    """A person with version 1 (resident, 個人番号 sealed) and, if removed, version 2 (死亡)."""
    person_id = new_id(services)
    kana = "".join("アイウエオカキクケコ"[int(c, 16) % 10] for c in uuid.uuid4().hex[:6])
    v1 = PersonRecord(
        person_id=person_id, version=1, household_id="0000000019",
        my_number=services.my_numbers.seal(my_number, person_id),
        name=PersonName(family_name="保存", given_name="期間", family_name_kana=kana, given_name_kana="キカン"),
        birth_date=date(1940, 4, 1), sex=Sex.FEMALE, relationship="世帯主", address=ADDRESS,
        resident_since=date(2000, 4, 1), address_since=date(2000, 4, 1), notified_date=date(2000, 4, 1),
        status=ResidentStatus.RESIDENT, movement_id="m" * 32, movement_kind=MovementKind.MOVE_IN,
        effective_date=date(2000, 4, 1), recorded_at=NOW,
    )  # fmt: skip
    versions = [v1]
    if removed_on is not None:
        versions.append(
            v1.model_copy(
                update={
                    "version": 2,
                    "status": ResidentStatus.REMOVED,
                    "removal": Removal(reason=RemovalReason.DEATH, removed_on=removed_on),
                    "movement_kind": MovementKind.DEATH,
                    "effective_date": removed_on,
                    "notified_date": removed_on,
                }
            )
        )
    for version in versions:  # as a migration writes them: each version, CURRENT = the last
        services.store.import_records([version], [])
    return versions


def certificate(planned: date) -> MoveOutCertificate:
    return MoveOutCertificate.model_validate(
        {
            "certificate_id": uuid.uuid4().hex,
            "from_municipality_code": "131016",
            "persons": [
                {
                    "name": {"family_name": "転入", "given_name": "予定", "family_name_kana": "テンニュウ",
                             "given_name_kana": "ヨテイ"},
                    "birth_date": "1990-01-01", "sex": "male", "resident_code": None,
                    "relationship": "世帯主", "head_of_household": True,
                }
            ],
            "previous_address": {"prefecture": "東京都", "municipality": "千代田区", "street": "霞が関二丁目1番2号"},
            "planned_destination": {"prefecture": "静岡県", "municipality": "静岡市", "street": "葵区追手町5番1号"},
            "planned_date": planned.isoformat(),
        }
    )  # fmt: skip


def run(local_system: LocalSystem, run_input: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    sfn = local_system.emulator.client("stepfunctions")
    started = sfn.start_execution(
        stateMachineArn=local_system.resources.state_machines["retention"],
        name=f"test-{uuid.uuid4().hex}",
        input=json.dumps(run_input),
    )
    for _ in range(600):
        described = sfn.describe_execution(executionArn=started["executionArn"])
        if described["status"] != "RUNNING":
            break
        time.sleep(0.1)
    assert described["status"] == "SUCCEEDED", described.get("error")
    return started["executionArn"].rsplit(":", 1)[-1], json.loads(described["output"])


def versions_of(local_system: LocalSystem, bucket: str, key: str) -> list[str]:
    s3 = local_system.emulator.client("s3")
    answer = s3.list_object_versions(Bucket=bucket, Prefix=key)
    return [
        v["VersionId"]
        for v in [*answer.get("Versions", []), *answer.get("DeleteMarkers", [])]
        if v["Key"] == key
    ]


def log_entries(local_system: LocalSystem, execution: str) -> list[dict[str, Any]]:
    return [body for body in oplog_bodies(local_system) if body["request_id"] == execution]


@pytest.fixture
def setup(services: Services, local_system: LocalSystem) -> dict[str, Any]:
    files = services.part(build_sending_address_files)
    bucket = services.settings.exchange_bucket
    s3 = local_system.emulator.client("s3")
    tag = uuid.uuid4().hex[:8]
    old = files.put_sending_address_file(f"old-{tag}.csv", b"v1", NOW - timedelta(days=400))
    files.put_sending_address_file(f"old-{tag}.csv", b"v2", NOW - timedelta(days=400))  # a second version
    s3.delete_object(Bucket=bucket, Key=old)  # and a delete marker: all three must go
    day_of = files.put_sending_address_file(f"dayof-{tag}.csv", b"x", NOW - timedelta(days=330))
    day_before = files.put_sending_address_file(f"kept-{tag}.csv", b"x", NOW - timedelta(days=329))

    retention = services.part(build_retention)
    expired = certificate(TODAY - timedelta(days=31))  # last day was yesterday
    last_day = certificate(TODAY - timedelta(days=30))  # may still be claimed today
    claimed = certificate(TODAY)
    for cert in (expired, last_day, claimed):
        assert retention.receive_move_out_certificate(cert, LINKAGE)
    retention.claim_move_out_certificate(claimed.certificate_id, "c" * 32, LINKAGE)

    number = random_my_number()
    due = person(services, removed_on=date(TODAY.year - 6, 1, 15), my_number=number)
    not_yet = person(services, removed_on=date(TODAY.year - 4, 1, 15), my_number=random_my_number())
    resident = person(services, removed_on=None, my_number=random_my_number())
    return {
        "bucket": bucket,
        "purged_keys": [old, day_of],
        "kept_key": day_before,
        "expired": expired,
        "last_day": last_day,
        "claimed": claimed,
        "due": due,
        "number": number,
        "kept_persons": [not_yet[-1].person_id, resident[-1].person_id],
    }


def test_retention_purges_what_is_due_archives_removed_records_and_is_idempotent(
    services: Services, local_system: LocalSystem, setup: dict[str, Any]
) -> None:
    due: list[PersonRecord] = setup["due"]
    person_id = due[-1].person_id
    scope = {"person_ids": [person_id, *setup["kept_persons"]]}
    # The sweep (no names) would find the person: a read-only pass over the shared ledger.
    ledger = DynamoRemovedRecordLedger(
        services.settings.ledger_table, services.settings.oplog_table, services.settings.region,
        services.settings.endpoint_url,
    )  # fmt: skip
    found, cursor, pages = set(), None, 0
    while True:
        page = ledger.scan_page(cursor, 200)
        found |= {p.person_id for p in page.currents}
        cursor, pages = page.cursor, pages + 1
        if cursor is None:
            break
    assert person_id in found and pages > 1

    execution, output = run(local_system, scope)

    assert output["more"] is False
    assert output["sending_address_files"] >= 2 and output["sending_address_versions"] >= 4
    assert output["move_out_certificates"] >= 1
    assert output["removed_records_archived"] == 1
    assert set(output) <= {
        "more", "as_of", "job", "person_ids", "sending_address_files", "sending_address_versions",
        "move_out_certificates", "removed_records_archived", "ledger_items_scanned",
    }  # fmt: skip

    # 送付先情報: every version and delete marker of the due files is gone; the day before stays.
    for key in setup["purged_keys"]:
        assert key.startswith(SENDING_ADDRESS_PREFIX)
        assert versions_of(local_system, setup["bucket"], key) == []
    assert len(versions_of(local_system, setup["bucket"], setup["kept_key"])) == 1

    # 転出証明書情報: the expired one is gone; the one on its last day stays; the claim stays
    # as a fact without the data.
    retention = services.part(build_retention)
    with pytest.raises(NotFound):
        retention.move_out_certificate(setup["expired"].certificate_id, CLERK)
    assert retention.move_out_certificate(setup["last_day"].certificate_id, CLERK) == setup["last_day"]
    claimed = items(local_system, "ledger", f"MOVEOUT_CERT#{setup['claimed'].certificate_id}")
    assert len(claimed) == 1 and "body" not in claimed[0] and claimed[0]["claimed_by"] == "c" * 32

    # 除票: nothing of the person left in the ledger, or in their identity bucket.
    assert items(local_system, "ledger", f"PERSON#{person_id}") == []
    bucket = items(local_system, "ledger", identity_bucket_key(person_identity(due[0])))
    assert person_id not in (bucket[0].get("person_ids") or set()) if bucket else True
    services.store.identity_buckets([person_identity(due[0])])  # no dangling id to trip over
    for kept in setup["kept_persons"]:
        assert services.store.get_person(kept) is not None

    # ... and every version readable from the archive, the 個人番号 still sealed (and openable).
    archive = services.part(build_records_archive)
    assert archive.person_history(person_id) == due
    assert archive.person_as_of(person_id, due[-1].effective_date - timedelta(days=1)) == due[0]
    assert archive.person_as_of(person_id, date(1999, 1, 1)) is None
    assert archive.storage_class(person_id) == "GLACIER_IR"
    raw = (
        local_system.emulator.client("s3")
        .get_object(Bucket=services.settings.records_archive_bucket, Key=archive_key(person_id))["Body"]
        .read()
        .decode()
    )
    assert setup["number"] not in raw
    assert due[0].my_number is not None and due[0].my_number.ciphertext in raw
    archived = archive.get_person(person_id)
    assert archived is not None and archived.my_number is not None
    assert services.my_numbers.open(archived.my_number, person_id) == setup["number"]
    # Inquiry reads through to the archive: the 除票 is still there for the counter.
    approver = Actor("S2001", frozenset({Role.APPROVER}), "葵区役所", "T", "test", uuid.uuid4().hex)
    assert services.inquiry.person_history(person_id, approver).versions == due
    assert services.inquiry.person(person_id, approver, due[-1].effective_date).person == due[-1]

    # Recorded: a purge entry by system:retention naming the archived person, and one run total per job.
    entries = log_entries(local_system, execution)
    assert {e["staff_id"] for e in entries} == {"system:retention"}
    assert {e["action"] for e in entries} == {"purge"}
    assert [e["persons"] for e in entries if e["persons"]] == [[person_id]]
    totals = [e["subject"] for e in entries if " run total " in e["subject"]]
    assert sorted(s.split()[0] for s in totals) == [
        "move_out_certificates",
        "removed_records",
        "sending_addresses",
    ]
    assert setup["expired"].certificate_id in " ".join(e["subject"] for e in entries)

    # A second run removes nothing of ours and leaves the archive as it was.
    archive_versions = versions_of(
        local_system, services.settings.records_archive_bucket, archive_key(person_id)
    )
    _, again = run(local_system, scope)
    assert again["removed_records_archived"] == 0
    assert versions_of(local_system, services.settings.records_archive_bucket, archive_key(person_id)) == (
        archive_versions
    )
    assert archive.person_history(person_id) == due
    assert len(versions_of(local_system, setup["bucket"], setup["kept_key"])) == 1


def test_a_run_finishes_an_archive_interrupted_after_the_versions_were_deleted(
    services: Services, local_system: LocalSystem
) -> None:
    """A crash between deleting the version items and the final transaction leaves only CURRENT:
    the next run finds the archive complete, and finishes the deletion without losing a version."""
    removed_on = date(TODAY.year - 7, 1, 15)
    due = person(services, removed_on=removed_on, my_number=random_my_number())
    person_id = due[-1].person_id
    _, first = run(local_system, {"person_ids": [person_id]})
    assert first["removed_records_archived"] == 1
    services.store.import_records([due[-1]], [])  # CURRENT and the last version back: as if interrupted
    table = local_system.emulator.client("dynamodb")
    table.delete_item(
        TableName=local_system.description.name("ledger"),
        Key={"pk": {"S": f"PERSON#{person_id}"}, "sk": {"S": "V#000002"}},
    )
    _, second = run(local_system, {"person_ids": [person_id]})
    assert second["removed_records_archived"] == 1
    assert items(local_system, "ledger", f"PERSON#{person_id}") == []
    assert services.part(build_records_archive).person_history(person_id) == due


def test_move_out_certificate_claims(services: Services) -> None:
    retention = services.part(build_retention)
    cert = certificate(TODAY)
    assert retention.receive_move_out_certificate(cert, LINKAGE)
    assert not retention.receive_move_out_certificate(cert, LINKAGE)  # sent again: the first stands
    assert retention.move_out_certificate(cert.certificate_id, CLERK) == cert
    first = retention.claim_move_out_certificate(cert.certificate_id, "a" * 32, LINKAGE)
    assert retention.claim_move_out_certificate(cert.certificate_id, "a" * 32, LINKAGE) == first
    with pytest.raises(DomainError) as other:
        retention.claim_move_out_certificate(cert.certificate_id, "b" * 32, LINKAGE)
    assert other.value.code == "MOVE_OUT_CERTIFICATE_CLAIMED"
    with pytest.raises(NotFound):
        retention.move_out_certificate(cert.certificate_id, CLERK)  # the data went with the claim

    late = certificate(TODAY - timedelta(days=31))
    retention.receive_move_out_certificate(late, LINKAGE)
    with pytest.raises(DomainError) as expired:
        retention.claim_move_out_certificate(late.certificate_id, "a" * 32, LINKAGE)
    assert expired.value.code == "MOVE_OUT_CERTIFICATE_EXPIRED"


def test_a_run_as_of_a_past_day_is_refused(local_system: LocalSystem) -> None:
    sfn = local_system.emulator.client("stepfunctions")
    started = sfn.start_execution(
        stateMachineArn=local_system.resources.state_machines["retention"],
        name=f"test-{uuid.uuid4().hex}",
        input=json.dumps({"as_of": (TODAY - timedelta(days=1)).isoformat()}),
    )
    for _ in range(600):
        described = sfn.describe_execution(executionArn=started["executionArn"])
        if described["status"] != "RUNNING":
            break
        time.sleep(0.1)
    assert described["status"] == "FAILED"
