"""The operation log's seals (ADR 0009): manifests in the audit-archive bucket, the chain head,
the seal attributes on entries, purge records, and the auditor's paged reads.

Layout added to the oplog table (entries stay ``DAY#<date>`` / ``<at>#<entry_id>``):

| item          | pk       | sk           | attributes                                               |
| ------------- | -------- | ------------ | -------------------------------------------------------- |
| chain head    | ``CHAIN``| ``HEAD``     | batch, seq, chain_hash, digest, upper_sk, updated_at     |
| purge record  | ``PURGE``| ``<date>``   | entries, status (deleting/done), purged_at, execution,   |
|               |          |              | log_sk (the sort key of the purge's own log entry)       |

Neither has a ``staff_id``, so neither appears in the ``by_staff`` index; neither is in a day
partition, so period reads never see them. Manifests are ``oplog/manifests/<batch:012d>.json``,
written once (``If-None-Match: *``) under Object Lock in compliance mode; a read takes the key's
oldest version, the one the lock protects, and reports any later version or delete marker.
Where the chain ends is read from the archive's keys (``batches_after``), never from the head.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import boto3
from botocore.exceptions import ClientError
from pydantic import ValidationError
from pynamodb.attributes import MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from juki.adapters.dynamodb import OplogItem, oplog_item
from juki.adapters.system import JST, SystemClock, UuidSource
from juki.adapters.tables import bind
from juki.domain.oplog import OperationLogEntry
from juki.domain.oplog_chain import (
    Candidate,
    ChainHead,
    Manifest,
    StoredEntry,
    canonical_json,
    chain_positions,
    entry_hash,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from juki.adapters.settings import Settings
    from juki.bootstrap import Services
    from juki.services.oplog_audit import OplogAudit
    from juki.services.ports import OperationLog

CHAIN = "CHAIN"
HEAD = "HEAD"
PURGE = "PURGE"
MANIFEST_PREFIX = "oplog/manifests/"
ENV_OPLOG_SEAL_GRACE = "JUKI_OPLOG_SEAL_GRACE_SECONDS"
# Longer than the longest function timeout (900 s): an entry's transaction is over by then.
DEFAULT_OPLOG_SEAL_GRACE_SECONDS = 960

ManifestState = Literal["ok", "missing", "replaced", "unreadable"]


_MANIFEST_KEY = re.compile(re.escape(MANIFEST_PREFIX) + r"(\d{12})\.json")


class _ByStaff(GlobalSecondaryIndex["_Row"]):
    class Meta:
        index_name = "by_staff"
        projection = AllProjection()

    staff_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class _Row(Model):
    """Every kind of item in the oplog table, as this module reads and writes it."""

    class Meta:
        table_name: ClassVar[str | None] = None

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    staff_id = UnicodeAttribute(null=True)
    body: MapAttribute[str, Any] = MapAttribute(null=True)
    entry_hash = UnicodeAttribute(null=True)
    seq = NumberAttribute(null=True)
    prev_hash = UnicodeAttribute(null=True)
    chain_hash = UnicodeAttribute(null=True)
    batch = NumberAttribute(null=True)
    # chain head
    digest = UnicodeAttribute(null=True)
    upper_sk = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute(null=True)
    # purge record
    entries = NumberAttribute(null=True)
    status = UnicodeAttribute(null=True)
    purged_at = UnicodeAttribute(null=True)
    execution = UnicodeAttribute(null=True)
    log_sk = UnicodeAttribute(null=True)
    by_staff = _ByStaff()


def _day_key(day: date) -> str:
    return f"DAY#{day.isoformat()}"


def _days(first: date, last: date) -> Iterator[date]:
    """Each day from ``first`` to ``last``; stops without stepping past ``date.max``."""
    day = first
    while day <= last:
        yield day
        if day == last:
            return
        day += timedelta(days=1)


def _stored(row: _Row) -> StoredEntry:
    body = row.body.as_dict() if row.body is not None else {}
    entry_id = body.get("entry_id")
    return StoredEntry(
        sk=row.sk,
        body_hash=entry_hash(body),
        body_entry_id=entry_id if isinstance(entry_id, str) else None,
        stored_hash=row.entry_hash,
        seq=int(row.seq) if row.seq is not None else None,
        chain_hash=row.chain_hash,
    )


@dataclass(frozen=True)
class PurgeRecord:
    day: str
    entries: int
    status: str
    log_sk: str | None = None


class DynamoChainStore:
    """The oplog table as the sealer, verifier, purger and auditor's search see it."""

    def __init__(self, oplog_table: str, region: str, host: str | None = None) -> None:
        self._rows = bind(_Row, oplog_table, region, host)
        self._log = bind(OplogItem, oplog_table, region, host)
        self._connection = Connection(region=region, host=host)

    # -- chain head ------------------------------------------------------------------------
    def head(self) -> ChainHead:
        try:
            row = self._rows.get(CHAIN, HEAD, consistent_read=True)
        except self._rows.DoesNotExist:
            return ChainHead()
        return ChainHead(
            batch=int(row.batch or 0),
            seq=int(row.seq or 0),
            chain_hash=row.chain_hash or "",
            digest=row.digest or "",
            upper_sk=row.upper_sk or "",
        )

    def advance_head(self, old: ChainHead, new: ChainHead, at: datetime) -> bool:
        """Moves the head from ``old`` to ``new``; False if someone else moved it first."""
        row = self._rows(
            CHAIN,
            HEAD,
            batch=new.batch,
            seq=new.seq,
            chain_hash=new.chain_hash,
            digest=new.digest,
            upper_sk=new.upper_sk,
            updated_at=at.isoformat(),
        )
        condition = self._rows.pk.does_not_exist() if old.batch == 0 else self._rows.batch == old.batch
        try:
            row.save(condition=condition)
        except PutError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    # -- entries ---------------------------------------------------------------------------
    def earliest_day(self) -> date | None:
        """The first day with entries (once, when the chain starts: a scan of keys only)."""
        first: str | None = None
        for row in self._rows.scan(attributes_to_get=["pk"]):
            if row.pk.startswith("DAY#") and (first is None or row.pk < first):
                first = row.pk
        return date.fromisoformat(first[4:]) if first else None

    def _between(self, lower_sk: str, upper_sk: str, *, first_day: date | None = None) -> Iterator[_Row]:
        """Entries with ``lower_sk < sk <= upper_sk`` in sort-key order (consistent reads)."""
        start = first_day or date.fromisoformat(lower_sk[:10])
        for day in _days(start, date.fromisoformat(upper_sk[:10])):
            condition = self._rows.sk.between(lower_sk, upper_sk) if lower_sk else self._rows.sk <= upper_sk
            for row in self._rows.query(_day_key(day), condition, consistent_read=True):
                if row.sk != lower_sk:
                    yield row

    def candidates(self, after_sk: str, before_sk: str, limit: int) -> list[Candidate]:
        """Up to ``limit`` entries with ``after_sk < sk < before_sk``, in order, with the hash each
        was written with (computed from the body for an entry written before hashes were kept)."""
        first_day = None
        if not after_sk:
            first_day = self.earliest_day()
            if first_day is None:
                return []
        out: list[Candidate] = []
        for row in self._between(after_sk, before_sk, first_day=first_day):
            if row.sk >= before_sk:
                continue
            body = row.body.as_dict() if row.body is not None else {}
            out.append(Candidate(sk=row.sk, entry_hash=row.entry_hash or entry_hash(body), body=body))
            if len(out) >= limit:
                break
        return out

    def mark_sealed(self, manifest: Manifest) -> list[str]:
        """Writes seq, prev_hash, chain_hash and batch on each sealed entry: only on an entry
        that exists and is unsealed or sealed the same way, so a retry rewrites nothing.

        Returns the ids of the entries left unmarked: gone since they were read, or carrying
        other seal attributes. The manifest already holds them, so verification names them
        (``removed``, ``reordered``); skipping them keeps the sealing going."""
        previous = manifest.prev_chain_hash
        unmarked: list[str] = []
        for entry, position in zip(manifest.entries, chain_positions(manifest), strict=True):
            row = self._rows(f"DAY#{entry.sk[:10]}", entry.sk)
            try:
                row.update(
                    actions=[
                        self._rows.seq.set(entry.seq),
                        self._rows.prev_hash.set(previous),
                        self._rows.chain_hash.set(position),
                        self._rows.batch.set(manifest.batch),
                    ],
                    condition=self._rows.pk.exists()
                    & (self._rows.seq.does_not_exist() | (self._rows.seq == entry.seq)),
                )
            except UpdateError as error:
                if error.cause_response_code != "ConditionalCheckFailedException":
                    raise
                unmarked.append(entry.entry_id)
            previous = position
        return unmarked

    def stored_between(self, lower_sk: str, upper_sk: str) -> list[StoredEntry]:
        """Stored entries with ``lower_sk < sk <= upper_sk`` (``lower_sk`` at least a date)."""
        if not upper_sk or upper_sk <= lower_sk:
            return []
        return [_stored(row) for row in self._between(lower_sk, upper_sk)]

    def sealed_batch(self, sk: str) -> int | None:
        """The ``batch`` seal attribute of the entry at ``sk`` (None: gone or unsealed)."""
        try:
            row = self._rows.get(_day_key(date.fromisoformat(sk[:10])), sk, consistent_read=True)
        except (self._rows.DoesNotExist, ValueError):
            return None
        return int(row.batch) if row.batch is not None else None

    # -- purge -----------------------------------------------------------------------------
    def purge_records(self) -> dict[str, PurgeRecord]:
        return {
            row.sk: PurgeRecord(row.sk, int(row.entries or 0), row.status or "", row.log_sk)
            for row in self._rows.query(PURGE, consistent_read=True)
        }

    def day_entries(self, day: date) -> list[tuple[str, int | None]]:
        """(sk, seq) of every entry of a day."""
        return [
            (row.sk, int(row.seq) if row.seq is not None else None)
            for row in self._rows.query(_day_key(day), consistent_read=True)
        ]

    def start_purge(self, day: date, entries: int, at: datetime, execution: str) -> PurgeRecord:
        """Records that the day is being purged (once: a second start finds the first record)."""
        row = self._rows(
            PURGE,
            day.isoformat(),
            entries=entries,
            status="deleting",
            purged_at=at.isoformat(),
            execution=execution,
        )
        try:
            row.save(condition=self._rows.pk.does_not_exist())
        except PutError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise
            found = self._rows.get(PURGE, day.isoformat(), consistent_read=True)
            return PurgeRecord(found.sk, int(found.entries or 0), found.status or "", found.log_sk)
        return PurgeRecord(day.isoformat(), entries, "deleting")

    def delete_day(self, day: date) -> int:
        keys = [sk for sk, _ in self.day_entries(day)]
        with self._rows.batch_write() as batch:
            for sk in keys:
                batch.delete(self._rows(_day_key(day), sk))
        return len(keys)

    def finish_purge(self, day: date, log: OperationLogEntry) -> None:
        """Marks the record done and writes the purge's log entry, together; the record keeps
        the entry's sort key, so verification can find the entry in the archive."""
        record = self._rows(PURGE, day.isoformat())
        item = oplog_item(log, self._log)
        try:
            with TransactWrite(connection=self._connection) as tx:
                tx.update(
                    record,
                    actions=[self._rows.status.set("done"), self._rows.log_sk.set(item.sk)],
                    condition=self._rows.status == "deleting",
                )
                tx.save(item, condition=self._log.pk.does_not_exist())
        except TransactWriteError as error:
            reasons = [r.code for r in error.cancellation_reasons if r is not None]
            if "ConditionalCheckFailed" not in reasons:
                raise

    # -- the auditor's reads -------------------------------------------------------------
    def page(
        self,
        start: datetime,
        end: datetime,
        after_sk: str | None,
        staff_id: str | None,
        scan_limit: int,
    ) -> tuple[list[tuple[str, OperationLogEntry, int | None]], str | None]:
        """Entries with ``start <= at < end`` in time order, after ``after_sk``, reading at most
        ``scan_limit`` items; returns (sk, entry, seq) and the sort key to continue after (None
        when the period is exhausted)."""
        low, high = start.astimezone(JST).isoformat(), end.astimezone(JST).isoformat()
        if after_sk is not None and after_sk > low:
            low = after_sk
        if low >= high:  # a cursor at or past the period's end: nothing is left
            return [], None
        out: list[tuple[str, OperationLogEntry, int | None]] = []
        scanned = 0
        rows: Iterator[_Row]
        if staff_id is not None:
            rows = self._rows_by_staff(staff_id, low, high)
        else:
            rows = (
                row
                for day in _days(date.fromisoformat(low[:10]), date.fromisoformat(high[:10]))
                for row in self._rows.query(
                    _day_key(day), self._rows.sk.between(low, high), consistent_read=True
                )
            )
        for row in rows:
            if row.sk == after_sk or row.sk >= high or row.body is None:
                continue
            scanned += 1
            entry = OperationLogEntry.model_validate(row.body.as_dict())
            out.append((row.sk, entry, int(row.seq) if row.seq is not None else None))
            if scanned >= scan_limit:
                return out, row.sk
        return out, None

    def _rows_by_staff(self, staff_id: str, low: str, high: str) -> Iterator[_Row]:
        yield from self._rows.by_staff.query(staff_id, self._rows.sk.between(low, high))


@dataclass(frozen=True)
class ArchivedManifest:
    state: ManifestState
    manifest: Manifest | None = None
    versions: int = 0


class S3ManifestArchive:
    """Manifests in the audit-archive bucket, each written once and kept under Object Lock."""

    def __init__(self, s3: S3Client, bucket: str, retention_days: int) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._retention_days = retention_days

    @staticmethod
    def key(batch: int) -> str:
        return f"{MANIFEST_PREFIX}{batch:012d}.json"

    def put(self, manifest: Manifest, now: datetime) -> bool:
        """Writes the manifest unless one exists for its batch number (False then)."""
        try:
            self._s3.put_object(
                Bucket=self._bucket,
                Key=self.key(manifest.batch),
                Body=canonical_json(manifest.model_dump(mode="json")),
                ContentType="application/json",
                IfNoneMatch="*",
                ObjectLockMode="COMPLIANCE",
                ObjectLockRetainUntilDate=now + timedelta(days=self._retention_days),
                ChecksumAlgorithm="SHA256",
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"PreconditionFailed", "412"}:
                return False
            raise
        return True

    def batches_after(self, batch: int) -> list[int]:
        """The batch numbers above ``batch`` that have a manifest (any version: a delete marker
        on top hides nothing here), in order. Normally none or one; the whole archive when the
        head is gone (1,000 keys per request)."""
        found: set[int] = set()
        arguments: dict[str, Any] = {"Bucket": self._bucket, "Prefix": MANIFEST_PREFIX}
        if batch > 0:
            arguments["KeyMarker"] = self.key(batch)
        for page in self._s3.get_paginator("list_object_versions").paginate(**arguments):
            for version in page.get("Versions", []):
                matched = _MANIFEST_KEY.fullmatch(version.get("Key", ""))
                if matched and int(matched.group(1)) > batch:
                    found.add(int(matched.group(1)))
        return sorted(found)

    def get(self, batch: int) -> ArchivedManifest:
        """The manifest's original (oldest) version; ``replaced`` if the key has any other version
        or a delete marker, ``unreadable`` if the original does not parse as a manifest."""
        key = self.key(batch)
        listing = self._s3.list_object_versions(Bucket=self._bucket, Prefix=key)
        versions = [v for v in listing.get("Versions", []) if v.get("Key") == key]
        markers = [m for m in listing.get("DeleteMarkers", []) if m.get("Key") == key]
        if not versions:
            return ArchivedManifest("missing", versions=len(markers))
        original = min(versions, key=lambda v: (v["LastModified"], not v.get("IsLatest", False)))
        found = self._s3.get_object(Bucket=self._bucket, Key=key, VersionId=original["VersionId"])
        body = found["Body"].read()
        state: ManifestState = "replaced" if len(versions) > 1 or markers else "ok"
        try:
            manifest = Manifest.model_validate_json(body)
        except ValidationError:
            return ArchivedManifest("unreadable", versions=len(versions) + len(markers))
        return ArchivedManifest(state, manifest, len(versions) + len(markers))


def seal_grace_seconds(settings: object) -> int:
    """The grace before an entry may be sealed: ``Settings.oplog_seal_grace_seconds`` once the
    setting exists there, else the environment, else 960 s."""
    configured = getattr(settings, "oplog_seal_grace_seconds", None)
    if isinstance(configured, int):
        return configured
    return int(os.environ.get(ENV_OPLOG_SEAL_GRACE, DEFAULT_OPLOG_SEAL_GRACE_SECONDS))


def oplog_audit_from(settings: Settings, log: OperationLog) -> OplogAudit:
    """The sealer, verifier, purger and search over the stores ``settings`` name."""
    from juki.services.oplog_audit import OplogAudit  # noqa: PLC0415 - the service imports this module's types

    s3 = boto3.client("s3", region_name=settings.region, endpoint_url=settings.endpoint_url)
    return OplogAudit(
        chain=DynamoChainStore(settings.oplog_table, settings.region, settings.endpoint_url),
        archive=S3ManifestArchive(s3, settings.audit_archive_bucket, settings.oplog_retention_days),
        log=log,
        clock=SystemClock(),
        ids=UuidSource(),
        grace_seconds=seal_grace_seconds(settings),
        retention_days=settings.oplog_retention_days,
    )


def build_oplog_audit(services: Services) -> OplogAudit:
    """For ``services().part(build_oplog_audit)``: built once per ``Services``."""
    return oplog_audit_from(services.settings, services.store)
