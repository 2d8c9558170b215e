"""Sealing the operation log, verifying it, tampering with it, and purging it (ADR 0009).

The first test seals and verifies the session's shared log through the real state machines. The
tamper tests each work on a log of their own (a table and an Object Lock bucket made like the
deployed ones, in the same emulator), so nothing they break is seen by other tests.
"""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_start
from typing import Any

import pytest
from api_support import run_machine
from botocore.exceptions import ClientError
from juki.adapters.dynamodb import OplogItem, oplog_item
from juki.adapters.oplog_archive import S3ManifestArchive, oplog_audit_from
from juki.adapters.settings import Settings
from juki.adapters.system import JST
from juki.adapters.tables import bind
from juki.bootstrap import Services
from juki.cli.oplog import main as oplog_command
from juki.domain.oplog import OperationLogEntry, entry_for
from juki.domain.oplog_chain import Manifest, seal
from juki.domain.staff import SystemActor
from juki.observability import logger
from juki_fn import oplog_tasks
from juki_local.lambda_context import new_context
from juki_local.system import LocalSystem

ACTOR = SystemActor(name="oplog-test", request_id="r-oplog-test")
CONTEXT = new_context("oplog-seal", "arn:aws:lambda:ap-northeast-1:123456789012:function:oplog-seal", 300)


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

    def raw_key(self, key: dict[str, Any]) -> dict[str, Any]:
        return dict(
            self.ddb.get_item(TableName=self.settings.oplog_table, Key=key, ConsistentRead=True)["Item"]
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
    code, out = log.command("verify")  # the purge counts once its own log entry is sealed
    assert code == 1
    assert out.count("the purge's log entry is not sealed") == 3
    assert log.command("seal", "--until", datetime.now(JST).isoformat())[0] == 0
    code, out = log.command("verify")
    assert code == 0, out
    assert "purged 3" in out
    archived = Manifest.model_validate_json(
        log.s3.get_object(Bucket=log.settings.audit_archive_bucket, Key=S3ManifestArchive.key(1))[
            "Body"
        ].read()
    )
    purged_ids = {e.entry_id for e in log.entries[:3]}
    assert {e.entry_id for e in archived.entries if e.entry_id in purged_ids} == purged_ids  # still archived


# -- the head, purge records and marking cannot hide a removal -------------------------------


@pytest.fixture
def two_batches(services: Services, local_system: LocalSystem) -> Log:
    """A log of its own sealed in two batches: entries 0-2 (batch 1) and 3-5 (batch 2)."""
    today = datetime.now(JST).date()
    first, second = today - timedelta(days=3), today - timedelta(days=2)
    log = _own_log(services, local_system, [first, second], until=datetime.combine(second, day_start(), JST))
    assert log.command("seal", "--until", datetime.now(JST).isoformat())[0] == 0
    assert oplog_audit_from(log.settings, services.store).chain.head().batch == 2
    assert log.command("verify")[0] == 0
    return log


def _delete(log: Log, key: dict[str, Any]) -> None:
    log.ddb.delete_item(TableName=log.settings.oplog_table, Key=key)


HEAD_KEY = {"pk": {"S": "CHAIN"}, "sk": {"S": "HEAD"}}


@pytest.mark.parametrize("window", [(), ("--from", "2000-01-01")])
def test_a_deleted_head_does_not_hide_a_removed_entry(two_batches: Log, window: tuple[str, ...]) -> None:
    target = two_batches.entries[4]
    _delete(two_batches, HEAD_KEY)
    _delete(two_batches, two_batches.key(target))
    code, out = two_batches.command("verify", *window)
    assert code == 1
    assert f"removed: batch=2 seq=5 entry_id={target.entry_id}" in out
    assert "head_mismatch: batch=0 seq=0 entry_id=None head batch 0/seq 0 behind the archive" in out
    assert "batches 1..2 (2)" in out


def test_a_rewound_head_does_not_hide_a_removed_entry(two_batches: Log, services: Services) -> None:
    audit = oplog_audit_from(two_batches.settings, services.store)
    first = audit.archive.get(1).manifest
    assert first is not None
    head = two_batches.raw_key(HEAD_KEY)
    two_batches.put(
        {
            **head,
            "batch": {"N": "1"},
            "seq": {"N": "3"},
            "chain_hash": {"S": first.chain_hash},
            "digest": {"S": first.digest},
            "upper_sk": {"S": first.upper_sk},
        }
    )
    target = two_batches.entries[5]
    _delete(two_batches, two_batches.key(target))
    code, out = two_batches.command("verify", "--json")
    assert code == 1
    report = json.loads(out)
    assert [(f["kind"], f["batch"], f["entry_id"]) for f in report["findings"]] == [
        ("removed", 2, target.entry_id),
        ("head_mismatch", 1, None),
    ]
    # The next seal finishes batch 2 again from the rewound head, skips the entry it cannot mark,
    # and the chain goes on: the head is back where the archive ends, the removal is still named.
    (resumed, done) = audit.seal_all(datetime.now(JST))
    assert (resumed.resumed, resumed.batch, resumed.unmarked) == (True, 2, [target.entry_id])
    assert (done.batch, done.more) == (None, False)
    code, out = two_batches.command("verify", "--json")
    assert [(f["kind"], f["entry_id"]) for f in json.loads(out)["findings"]] == [("removed", target.entry_id)]


def test_a_head_beyond_the_archive_is_named(two_batches: Log) -> None:
    head = two_batches.raw_key(HEAD_KEY)
    two_batches.put({**head, "batch": {"N": "1000000000"}})
    code, out = two_batches.command("verify")
    assert code == 1
    assert "head_mismatch: batch=1000000000 seq=6 entry_id=None head batch 1000000000/seq 6 beyond" in out
    assert "batches 1..2 (2)" in out  # the walk ends where the archive does


@pytest.mark.parametrize(
    ("status", "days_ago", "names_a_sealed_entry", "reason"),
    [
        ("deleting", 6, True, "purge record deleting, not done"),
        ("done", 1, True, "purge record for a day within the retention period"),
        ("done", 6, False, "the purge's log entry is not sealed"),  # no purge ever logged it
        ("done", 6, True, "the sealed log entry the purge record names is not this day's purge"),
    ],
)
def test_a_forged_purge_record_does_not_turn_removed_into_purged(
    services: Services,
    local_system: LocalSystem,
    status: str,
    days_ago: int,
    names_a_sealed_entry: bool,
    reason: str,
) -> None:
    today = datetime.now(JST).date()
    log = _own_log(services, local_system, [today - timedelta(days=6), today - timedelta(days=1)])
    log.settings = replace(log.settings, oplog_retention_days=2)
    day = today - timedelta(days=days_ago)
    victims = [e for e in log.entries if e.at.date() == day]
    record = {
        "pk": {"S": "PURGE"},
        "sk": {"S": day.isoformat()},
        "entries": {"N": str(len(victims))},
        "status": {"S": status},
        "purged_at": {"S": datetime.now(JST).isoformat()},
        "execution": {"S": "forged"},
    }
    if names_a_sealed_entry:  # a sealed entry, but a read, not a purge
        record["log_sk"] = {"S": f"{log.entries[0].at.isoformat()}#{log.entries[0].entry_id}"}
    log.put(record)
    for victim in victims:
        _delete(log, log.key(victim))
    code, out = log.command("verify")
    assert code == 1
    assert "purged 0" in out
    for victim in victims:
        assert f"entry_id={victim.entry_id} " in out
    assert out.count("removed: ") == 3
    assert out.count(reason) == 3, out


def test_purge_does_not_resume_a_forged_record_within_the_retention(
    services: Services, local_system: LocalSystem
) -> None:
    today = datetime.now(JST).date()
    recent = today - timedelta(days=1)
    log = _own_log(services, local_system, [recent])
    log.put(
        {
            "pk": {"S": "PURGE"},
            "sk": {"S": recent.isoformat()},
            "entries": {"N": "3"},
            "status": {"S": "deleting"},
        }
    )
    result = json.loads(log.command("purge")[1])
    assert (result["purged_days"], result["refused_days"]) == ([], [recent.isoformat()])
    assert all(log.raw(e) for e in log.entries)  # nothing deleted


def test_an_entry_deleted_between_manifest_and_marking_is_named_and_sealing_goes_on(
    services: Services,
    local_system: LocalSystem,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    frontier = datetime(2025, 2, 12, tzinfo=JST)
    log = _own_log(services, local_system, [date(2025, 2, 10)], until=frontier)
    audit = oplog_audit_from(log.settings, services.store)
    pending = [log_entry(datetime(2025, 2, 12, 9, 0, n, tzinfo=JST)) for n in range(3)]
    later = log_entry(datetime(2025, 2, 14, 9, 0, tzinfo=JST))
    for entry in [*pending, later]:
        log.write(entry)
    head = audit.chain.head()
    manifest = seal(
        head,
        audit.chain.candidates(head.upper_sk, "2025-02-13", 10),
        upper_sk="2025-02-13",
        sealed_at=datetime.now(JST),
    )
    assert audit.archive.put(manifest, datetime.now(JST))  # ...the task dies here
    victim = pending[1]
    _delete(log, log.key(victim))  # ...and the entry is deleted before the next run marks it

    monkeypatch.setattr(oplog_tasks, "_audit", lambda: audit)
    handler = logger.registered_handler  # the function's log lines, read from a buffer
    assert isinstance(handler, logging.StreamHandler)
    written = io.StringIO()
    monkeypatch.setattr(handler, "stream", written)
    event = {"execution": "test", "input": {"until": datetime(2025, 2, 15, tzinfo=JST).isoformat()}}
    first = oplog_tasks.seal_handler(event, CONTEXT)
    assert (first["resumed"], first["batch"], first["unmarked"], first["more"]) == (
        True,
        2,
        [victim.entry_id],
        True,
    )
    alarms = [json.loads(line) for line in written.getvalue().splitlines() if "OPLOG_CHAIN_BROKEN" in line]
    assert [(a["level"], a["unmarked"], a["entry_ids"]) for a in alarms] == [("ERROR", 1, [victim.entry_id])]
    second = oplog_tasks.seal_handler({**event, "input": first}, CONTEXT)
    assert (second["batch"], second["sealed"], second["unmarked"]) == (3, 1, [])  # sealing went on
    assert log.raw(later)["seq"] == {"N": "7"}
    assert audit.chain.head().batch == 3
    code, out = log.command("verify")
    assert code == 1
    assert [line.split(" ", 4)[:4] for line in out.splitlines()[1:]] == [["", "", "removed:", "batch=2"]]
    assert f"removed: batch=2 seq=5 entry_id={victim.entry_id}" in out
