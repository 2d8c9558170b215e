"""Sealing the operation log, verifying it, tampering with it, and purging it (ADR 0009).

The first test seals and verifies the session's shared log through the real state machines. The
tamper tests each work on a log of their own (a table and an Object Lock bucket made like the
deployed ones, in the same emulator), so nothing they break is seen by other tests.
"""

from __future__ import annotations

import io
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from juki.adapters.dynamodb import OplogItem, oplog_item
from juki.adapters.oplog_archive import MANIFEST_PREFIX, S3ManifestArchive, oplog_audit_from
from juki.adapters.settings import Settings
from juki.adapters.system import JST
from juki.adapters.tables import bind
from juki.bootstrap import Services
from juki.cli.oplog import main as oplog_command
from juki.domain.oplog import OperationLogEntry, entry_for
from juki.domain.oplog_chain import Manifest, seal
from juki.domain.staff import SystemActor
from juki_local.system import LocalSystem

ACTOR = SystemActor(name="oplog-test", request_id="r-oplog-test")


def run_machine(local_system: LocalSystem, machine: str, payload: dict[str, Any]) -> dict[str, Any]:
    sfn = local_system.emulator.client("stepfunctions")
    arn = sfn.start_execution(
        stateMachineArn=local_system.resources.state_machines[machine],
        name=f"test-{uuid.uuid4().hex}",
        input=json.dumps(payload),
    )["executionArn"]
    for _ in range(600):
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return dict(described)
        time.sleep(0.1)
    raise AssertionError("the execution did not finish")


def log_entry(at: datetime, persons: list[str] | None = None) -> OperationLogEntry:
    return entry_for(
        ACTOR,
        entry_id=uuid.uuid4().hex,
        at=at,
        function="resident.read",
        action="read",
        persons=persons or [],
    )


def test_the_seal_machine_chains_new_entries_and_the_verify_machine_finds_them_intact(
    services: Services, local_system: LocalSystem
) -> None:
    entry = log_entry(datetime.now(UTC).astimezone(JST), ["0000000019"])
    services.store.append(entry)
    sealed = run_machine(
        local_system, "oplog-seal", {"until": (entry.at + timedelta(microseconds=1)).isoformat()}
    )
    assert sealed["status"] == "SUCCEEDED", sealed
    assert json.loads(sealed["output"])["more"] is False

    ddb = local_system.emulator.client("dynamodb")
    item = ddb.get_item(
        TableName=services.settings.oplog_table,
        Key={"pk": {"S": f"DAY#{entry.at.date()}"}, "sk": {"S": f"{entry.at.isoformat()}#{entry.entry_id}"}},
        ConsistentRead=True,
    )["Item"]
    seq, batch = int(item["seq"]["N"]), int(item["batch"]["N"])
    s3 = local_system.emulator.client("s3")
    manifest = Manifest.model_validate_json(
        s3.get_object(Bucket=services.settings.audit_archive_bucket, Key=S3ManifestArchive.key(batch))[
            "Body"
        ].read()
    )
    assert [(e.seq, e.entry_hash) for e in manifest.entries if e.entry_id == entry.entry_id] == [
        (seq, item["entry_hash"]["S"])
    ]

    verified = run_machine(local_system, "oplog-verify", {"from_day": entry.at.date().isoformat()})
    assert verified["status"] == "SUCCEEDED", verified
    report = json.loads(verified["output"])
    assert report["intact"] is True, report["findings"]
    assert report["entries"] >= 1


# -- a log of its own ---------------------------------------------------------------------


@dataclass
class Log:
    settings: Settings
    ddb: Any
    s3: Any
    entries: list[OperationLogEntry]

    def key(self, entry: OperationLogEntry) -> dict[str, Any]:
        return {
            "pk": {"S": f"DAY#{entry.at.date()}"},
            "sk": {"S": f"{entry.at.isoformat()}#{entry.entry_id}"},
        }

    def raw(self, entry: OperationLogEntry) -> dict[str, Any]:
        return dict(
            self.ddb.get_item(TableName=self.settings.oplog_table, Key=self.key(entry), ConsistentRead=True)[
                "Item"
            ]
        )

    def put(self, item: dict[str, Any]) -> None:
        self.ddb.put_item(TableName=self.settings.oplog_table, Item=item)

    def write(self, entry: OperationLogEntry) -> None:
        model = bind(OplogItem, self.settings.oplog_table, self.settings.region, self.settings.endpoint_url)
        oplog_item(entry, model).save()

    def command(self, *argv: str) -> tuple[int, str]:
        out = io.StringIO()
        code = oplog_command(list(argv), settings=self.settings, out=out)
        return code, out.getvalue()


def _own_log(
    services: Services, local_system: LocalSystem, days: list[date], until: datetime | None = None
) -> Log:
    ddb, s3 = local_system.emulator.client("dynamodb"), local_system.emulator.client("s3")
    shared = ddb.describe_table(TableName=services.settings.oplog_table)["Table"]
    name = f"oplog-test-{uuid.uuid4().hex[:12]}"
    ddb.create_table(
        TableName=name,
        KeySchema=shared["KeySchema"],
        AttributeDefinitions=shared["AttributeDefinitions"],
        BillingMode="PAY_PER_REQUEST",
        GlobalSecondaryIndexes=[
            {"IndexName": g["IndexName"], "KeySchema": g["KeySchema"], "Projection": g["Projection"]}
            for g in shared.get("GlobalSecondaryIndexes", [])
        ],
    )
    s3.create_bucket(
        Bucket=name,
        CreateBucketConfiguration={"LocationConstraint": local_system.emulator.region},
        ObjectLockEnabledForBucket=True,
    )
    s3.put_object_lock_configuration(
        Bucket=name,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 30}},
        },
    )
    settings = replace(services.settings, oplog_table=name, audit_archive_bucket=name)
    log = Log(settings, ddb, s3, [])
    for day in days:
        for second in range(3):
            entry = log_entry(datetime(day.year, day.month, day.day, 10, 0, second, 250_000, tzinfo=JST))
            log.write(entry)
            log.entries.append(entry)
    code, _ = log.command("seal", "--until", (until or datetime.now(JST)).isoformat())
    assert code == 0
    return log


@pytest.fixture
def own_log(services: Services, local_system: LocalSystem) -> Iterator[Log]:
    today = datetime.now(JST).date()
    log = _own_log(services, local_system, [today - timedelta(days=3), today - timedelta(days=2)])
    code, out = log.command("verify")
    assert code == 0, out
    yield log


def test_an_altered_entry_is_named(own_log: Log) -> None:
    target = own_log.entries[1]
    item = own_log.raw(target)
    item["body"]["M"]["action"] = {"S": "update"}
    own_log.put(item)
    code, out = own_log.command("verify")
    assert code == 1
    assert f"altered: batch=1 seq=2 entry_id={target.entry_id}" in out


def test_a_removed_entry_is_named(own_log: Log) -> None:
    target = own_log.entries[4]
    own_log.ddb.delete_item(TableName=own_log.settings.oplog_table, Key=own_log.key(target))
    day = target.at.date().isoformat()
    code, out = own_log.command("verify", "--from", day, "--to", day)
    assert code == 1
    assert f"removed: batch=1 seq=5 entry_id={target.entry_id}" in out


def test_swapped_entries_are_named(own_log: Log) -> None:
    first, second = own_log.entries[0], own_log.entries[2]
    one, two = own_log.raw(first), own_log.raw(second)
    own_log.put({**two, "pk": one["pk"], "sk": one["sk"]})
    own_log.put({**one, "pk": two["pk"], "sk": two["sk"]})
    code, out = own_log.command("verify")
    assert code == 1
    assert f"reordered: batch=1 seq=1 entry_id={first.entry_id}" in out
    assert f"reordered: batch=1 seq=3 entry_id={second.entry_id}" in out


def test_an_inserted_entry_is_named(own_log: Log) -> None:
    forged = log_entry(own_log.entries[3].at + timedelta(microseconds=1))
    own_log.write(forged)
    code, out = own_log.command("verify", "--json")
    assert code == 1
    report = json.loads(out)
    assert [(f["kind"], f["entry_id"]) for f in report["findings"]] == [("inserted", forged.entry_id)]


def test_restoring_what_was_altered_makes_the_log_intact_again(own_log: Log) -> None:
    target = own_log.entries[5]
    original = own_log.raw(target)
    own_log.ddb.delete_item(TableName=own_log.settings.oplog_table, Key=own_log.key(target))
    assert own_log.command("verify")[0] == 1
    own_log.put(original)
    assert own_log.command("verify")[0] == 0


def test_archived_manifests_cannot_be_deleted_or_overwritten_in_place(own_log: Log) -> None:
    bucket, key = own_log.settings.audit_archive_bucket, S3ManifestArchive.key(1)
    (version,) = own_log.s3.list_object_versions(Bucket=bucket, Prefix=key)["Versions"]
    original = own_log.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with pytest.raises(ClientError) as refused:
        own_log.s3.delete_object(Bucket=bucket, Key=key, VersionId=version["VersionId"])
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    forged = json.loads(original)
    forged["entries"] = forged["entries"][1:]
    own_log.s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(forged).encode())
    own_log.s3.delete_object(Bucket=bucket, Key=key)  # a delete marker on top
    kept = own_log.s3.get_object(Bucket=bucket, Key=key, VersionId=version["VersionId"])["Body"].read()
    assert kept == original
    code, out = own_log.command("verify")
    assert code == 1
    assert "manifest_replaced: batch=1" in out
    assert "removed" not in out  # the original manifest, not the forged one, was checked


def test_a_seal_interrupted_after_its_manifest_is_finished_without_forking(
    services: Services, local_system: LocalSystem
) -> None:
    frontier = datetime(2025, 1, 12, tzinfo=JST)
    own_log = _own_log(services, local_system, [date(2025, 1, 10), date(2025, 1, 11)], until=frontier)
    audit = oplog_audit_from(own_log.settings, services.store)
    late = log_entry(datetime(2025, 1, 12, 9, 0, tzinfo=JST))
    own_log.write(late)
    head = audit.chain.head()
    assert head.upper_sk == frontier.isoformat()
    candidates = audit.chain.candidates(head.upper_sk, "2025-01-13", 10)
    manifest = seal(head, candidates, upper_sk="2025-01-13", sealed_at=datetime.now(JST))
    assert audit.archive.put(manifest, datetime.now(JST))  # ...and the task dies here
    results = audit.seal_all(datetime(2025, 1, 13, tzinfo=JST))
    assert (results[0].resumed, results[0].batch, results[0].first_seq) == (True, 2, 7)
    assert [r.batch for r in results[1:]] == [None]  # nothing left, no third batch
    assert not audit.archive.put(manifest, datetime.now(JST))  # a batch number is written once
    assert own_log.raw(late)["seq"] == {"N": "7"}
    assert audit.chain.head().batch == 2
    assert own_log.command("verify")[0] == 0


def test_purge_removes_old_sealed_days_records_them_and_verify_accepts_it(
    services: Services, local_system: LocalSystem
) -> None:
    today = datetime.now(JST).date()
    old_day = today - timedelta(days=6)
    log = _own_log(services, local_system, [old_day, today - timedelta(days=1)])
    log.settings = replace(log.settings, oplog_retention_days=2)
    code, out = log.command("purge")
    assert code == 0
    result = json.loads(out)
    assert result["purged_days"] == [old_day.isoformat()]  # the days between had no entries
    assert (result["purged_entries"], result["more"]) == (3, False)
    old = log.ddb.query(
        TableName=log.settings.oplog_table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"DAY#{old_day}"}},
    )
    assert old["Items"] == []
    record = log.ddb.get_item(
        TableName=log.settings.oplog_table, Key={"pk": {"S": "PURGE"}, "sk": {"S": old_day.isoformat()}}
    )["Item"]
    assert (record["entries"]["N"], record["status"]["S"]) == ("3", "done")
    purge_entries = [
        item["body"]["M"]
        for item in log.ddb.scan(TableName=log.settings.oplog_table)["Items"]
        if item["pk"]["S"].startswith("DAY#") and item["body"]["M"]["action"]["S"] == "purge"
    ]
    assert [(e["staff_id"]["S"], e["subject"]["S"]) for e in purge_entries] == [
        ("system:oplog-purge", f"oplog day {old_day}: 3 entries")
    ]
    again = json.loads(log.command("purge")[1])
    assert again["purged_days"] == []
    code, out = log.command("verify")
    assert code == 0, out
    assert "purged 3" in out
    assert MANIFEST_PREFIX in S3ManifestArchive.key(1)
