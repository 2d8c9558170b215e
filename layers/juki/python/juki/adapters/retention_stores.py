"""The stores whose data ends on a schedule: 送付先情報 files, 転出証明書情報, and the ledger side of
removed records (finding them, and deleting what the ledger keeps per person once archived).

送付先情報 files (``exchange`` bucket, versioned)::

    outbound/jlis/sending-addresses/<created JST date>/<name>

The creation day is in the key, so the purge lists the prefix in key order and stops at the
first day not yet due; it deletes every version and every delete marker by version id, so
nothing of the file remains recoverable.

Ledger items (keys ``pk``/``sk``, next to those in ``juki.adapters.dynamodb``):

| item                 | pk                        | sk             | notes                               |
| -------------------- | ------------------------- | -------------- | ----------------------------------- |
| 転出証明書情報        | ``MOVEOUT_CERT#<id>``     | ``MOVEOUT_CERT``| body while unclaimed; gsi1 while    |
|                      |                           |                | unclaimed: ``MOVEOUT_CERT_UNCLAIMED``|
|                      |                           |                | / ``<due date>#<id>``               |
| removed-record sweep | ``RETENTION#removed_records`` | ``CURSOR`` | where the bounded scan resumes      |

A claim removes the body and the index keys in one transaction with its log entry, leaving
the fact of the claim (a card move-in claims in its commit's own transaction:
``juki.adapters.dynamodb.add_certificate_claim``); the purge is a Query on gsi1 up to the run's
day, and deletes in one transaction with its log entry, on condition the item is still unclaimed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, ClassVar

import boto3
from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UnicodeSetAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.expressions.update import Action
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from juki.adapters.dynamodb import (
    CURRENT,
    IDENTITY,
    MOVEOUT_CERT,
    LedgerItem,
    OplogItem,
    add_certificate_claim,
    certificate_key,
    identity_bucket_key,
    oplog_item,
    person_key,
    version_key,
)
from juki.adapters.records_archive import RemovedRecordArchive
from juki.adapters.system import JST, SystemClock, UuidSource
from juki.adapters.tables import bind, conflict_from
from juki.domain.errors import Conflict
from juki.domain.my_number import STORAGE
from juki.domain.oplog import OperationLogEntry
from juki.domain.records import PersonRecord
from juki.domain.retention import (
    MoveOutCertificate,
    MoveOutCertificateClaim,
)
from juki.services.retention import RetentionService

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from juki.bootstrap import Services

SENDING_ADDRESS_PREFIX = "outbound/jlis/sending-addresses/"
_FILE_NAME = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,199}$")
S3_DELETE_BATCH = 1000  # DeleteObjects takes at most 1000 keys

UNCLAIMED = "MOVEOUT_CERT_UNCLAIMED"
SWEEP_PK = "RETENTION#removed_records"
SWEEP_SK = "CURSOR"
# moto (the local system and the tests) still enforces 25 items per transaction; DynamoDB 100.
TRANSACTION_ITEMS = 25

# -- 送付先情報 ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileVersion:
    key: str
    version_id: str


@dataclass(frozen=True)
class DueFiles:
    """One bounded batch of due file versions, and whether more may follow."""

    files: int
    versions: list[FileVersion]
    more: bool


class S3SendingAddressFiles:
    """送付先情報 files in the exchange bucket."""

    def __init__(self, s3: S3Client, bucket: str) -> None:
        self._s3 = s3
        self._bucket = bucket

    def put_sending_address_file(self, name: str, body: bytes, created_at: datetime) -> str:
        """Stores a file made at ``created_at`` (its JST date is its retention start); returns the key."""
        if not _FILE_NAME.match(name):
            raise ValueError("a file name of letters, digits, '.', '_' and '-'")
        created_on = created_at.astimezone(JST).date()
        key = f"{SENDING_ADDRESS_PREFIX}{created_on.isoformat()}/{name}"
        self._s3.put_object(
            Bucket=self._bucket,
            Key=key,
            Body=body,
            ContentType="application/octet-stream",
            Metadata={"created-at": created_at.isoformat()},
        )
        return key

    def due(self, created_on_or_before: date, limit: int = S3_DELETE_BATCH) -> DueFiles:
        """Every version and delete marker of the files made on or before the day, at most
        ``limit`` versions (whole files only, unless one file alone has more)."""
        paginator = self._s3.get_paginator("list_object_versions")
        by_key: dict[str, list[FileVersion]] = {}
        for page in paginator.paginate(Bucket=self._bucket, Prefix=SENDING_ADDRESS_PREFIX):
            entries = [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
            for entry in sorted(entries, key=lambda e: e["Key"]):
                key, version_id = entry["Key"], entry["VersionId"]
                if _created_on(key) > created_on_or_before:
                    return _batch(by_key, limit, more=False)  # keys are in day order
                by_key.setdefault(key, []).append(FileVersion(key, version_id))
                if sum(len(v) for v in by_key.values()) > limit:
                    return _batch(by_key, limit, more=True)
        return _batch(by_key, limit, more=False)

    def delete(self, versions: Sequence[FileVersion]) -> None:
        """Deletes each version by id (so the data is gone, not hidden behind a delete marker)."""
        for start in range(0, len(versions), S3_DELETE_BATCH):
            chunk = versions[start : start + S3_DELETE_BATCH]
            answer = self._s3.delete_objects(
                Bucket=self._bucket,
                Delete={"Objects": [{"Key": v.key, "VersionId": v.version_id} for v in chunk], "Quiet": True},
            )
            errors = answer.get("Errors", [])
            if errors:
                raise RuntimeError(f"{len(errors)} file version(s) not deleted: {errors[0].get('Code')}")


def _created_on(key: str) -> date:
    day = key.removeprefix(SENDING_ADDRESS_PREFIX).split("/", 1)[0]
    try:
        return date.fromisoformat(day)
    except ValueError:
        return date.min  # a file put outside the writer: undated, so due at once


def _batch(by_key: dict[str, list[FileVersion]], limit: int, *, more: bool) -> DueFiles:
    versions: list[FileVersion] = []
    files = 0
    for file_versions in by_key.values():
        if versions and len(versions) + len(file_versions) > limit:
            return DueFiles(files=files, versions=versions, more=True)
        versions += file_versions
        files += 1
    return DueFiles(files=files, versions=versions, more=more)


# -- 転出証明書情報 -----------------------------------------------------------------------------


class _Gsi1(GlobalSecondaryIndex["RetentionItem"]):
    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class RetentionItem(Model):
    """Certificate items and the sweep cursor; also reads and deletes person and identity items."""

    class Meta:
        table_name: ClassVar[str | None] = None

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute(null=True)
    version = NumberAttribute(null=True)
    body = UnicodeAttribute(null=True)
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    received_at = UnicodeAttribute(null=True)
    planned_date = UnicodeAttribute(null=True)
    claimed_at = UnicodeAttribute(null=True)
    claimed_by = UnicodeAttribute(null=True)
    cursor = UnicodeAttribute(null=True)
    sweeps = NumberAttribute(null=True)
    person_ids = UnicodeSetAttribute(null=True)
    gsi1 = _Gsi1()


@dataclass(frozen=True)
class StoredCertificate:
    certificate: MoveOutCertificate | None  # None once claimed
    received_at: datetime
    claim: MoveOutCertificateClaim | None


class DynamoMoveOutCertificates:
    """転出証明書情報 in the ledger table."""

    def __init__(self, ledger_table: str, oplog_table: str, region: str, host: str | None = None) -> None:
        self._model = bind(RetentionItem, ledger_table, region, host)
        self._ledger = bind(LedgerItem, ledger_table, region, host)
        self._oplog = bind(OplogItem, oplog_table, region, host)
        self._connection = Connection(region=region, host=host)

    def receive(
        self, certificate: MoveOutCertificate, received_at: datetime, due_on: date, log: OperationLogEntry
    ) -> bool:
        """Stores it with its log entry; False if the same id was received before (the CS sending
        again): the first copy stands."""
        model = self._model
        item = model(
            pk=certificate_key(certificate.certificate_id),
            sk=MOVEOUT_CERT,
            kind="move_out_certificate",
            body=certificate.model_dump_json(),
            received_at=received_at.isoformat(),
            planned_date=certificate.planned_date.isoformat(),
            gsi1pk=UNCLAIMED,
            gsi1sk=f"{due_on.isoformat()}#{certificate.certificate_id}",
        )
        try:
            with self._transaction() as tx:
                tx.save(item, condition=model.pk.does_not_exist())
                tx.save(oplog_item(log, self._oplog), condition=self._oplog.pk.does_not_exist())
        except TransactWriteError as error:
            if isinstance(conflict_from(error), Conflict):
                return False
            raise
        return True

    def get(self, certificate_id: str) -> StoredCertificate | None:
        try:
            item = self._model.get(certificate_key(certificate_id), MOVEOUT_CERT, consistent_read=True)
        except DoesNotExist:
            return None
        claim = (
            MoveOutCertificateClaim(
                certificate_id=certificate_id,
                claimed_at=datetime.fromisoformat(item.claimed_at),
                claimed_by=item.claimed_by or "",
            )
            if item.claimed_at
            else None
        )
        return StoredCertificate(
            certificate=MoveOutCertificate.model_validate_json(item.body) if item.body else None,
            received_at=datetime.fromisoformat(item.received_at or ""),
            claim=claim,
        )

    def claim(self, claim: MoveOutCertificateClaim, log: OperationLogEntry) -> None:
        """Marks it claimed and drops the personal data, with the log entry; Conflict if someone
        claimed or purged it meanwhile. A card move-in's commit writes the same update in its own
        transaction (``juki.adapters.dynamodb.add_certificate_claim``)."""
        try:
            with self._transaction() as tx:
                add_certificate_claim(tx, self._ledger, claim)
                tx.save(oplog_item(log, self._oplog), condition=self._oplog.pk.does_not_exist())
        except TransactWriteError as error:
            raise conflict_from(error) from error

    def due(self, as_of: date, limit: int) -> list[str]:
        """Ids of unclaimed certificates due on or before ``as_of``, oldest first."""
        items = self._model.gsi1.query(UNCLAIMED, self._model.gsi1sk <= f"{as_of.isoformat()}#~", limit=limit)
        return [item.pk.removeprefix(f"{MOVEOUT_CERT}#") for item in items]

    def purge(self, certificate_ids: Sequence[str], log: OperationLogEntry) -> None:
        """Deletes them with the log entry in one transaction, each on condition it is still
        unclaimed (one already gone is no error: the delete of a missing item is a no-op)."""
        if len(certificate_ids) > TRANSACTION_ITEMS - 1:
            raise ValueError("too many certificates for one transaction")
        model = self._model
        try:
            with self._transaction() as tx:
                for certificate_id in certificate_ids:
                    tx.delete(
                        model(pk=certificate_key(certificate_id), sk=MOVEOUT_CERT),
                        condition=model.claimed_at.does_not_exist(),
                    )
                tx.save(oplog_item(log, self._oplog), condition=self._oplog.pk.does_not_exist())
        except TransactWriteError as error:
            raise conflict_from(error) from error

    def _transaction(self) -> TransactWrite:
        return TransactWrite(connection=self._connection)


# -- removed records: the ledger side -------------------------------------------------------


@dataclass(frozen=True)
class StoredPerson:
    """A person's items as the ledger stores them: every version body (parsed JSON, oldest first)."""

    person_id: str
    versions: list[dict[str, Any]]

    @property
    def current(self) -> PersonRecord:
        return PersonRecord.model_validate(self.versions[-1], context=STORAGE)

    def records(self) -> list[PersonRecord]:
        return [PersonRecord.model_validate(v, context=STORAGE) for v in self.versions]


@dataclass(frozen=True)
class ScanPage:
    currents: list[PersonRecord]
    cursor: dict[str, Any] | None  # where the next page starts; None: the sweep reached the end
    scanned: int


class DynamoRemovedRecordLedger:
    """Finds removed persons and deletes a person's ledger items once the archive holds them.

    Finding them is a bounded, paginated Scan of the current person items that resumes from a
    cursor kept in the ledger: the ledger has no index of removed persons (the standing list
    ``UNCONFIRMED_MOVE_OUT`` holds only unconfirmed move-outs), see ADR 0011.
    """

    def __init__(self, ledger_table: str, oplog_table: str, region: str, host: str | None = None) -> None:
        self._model = bind(RetentionItem, ledger_table, region, host)
        self._oplog = bind(OplogItem, oplog_table, region, host)
        self._connection = Connection(region=region, host=host)

    # -- finding ------------------------------------------------------------------------------
    def cursor(self) -> dict[str, Any] | None:
        try:
            item = self._model.get(SWEEP_PK, SWEEP_SK, consistent_read=True)
        except DoesNotExist:
            return None
        return json.loads(item.cursor) if item.cursor else None

    def save_cursor(self, cursor: dict[str, Any] | None) -> None:
        """Keeps where the sweep resumes; None when it reached the end (the next starts over)."""
        item = self._model(pk=SWEEP_PK, sk=SWEEP_SK, kind="retention_cursor")
        actions: list[Action] = (
            [self._model.cursor.set(json.dumps(cursor, sort_keys=True))]
            if cursor
            else [self._model.cursor.remove(), self._model.sweeps.add(1)]
        )
        item.update(actions=actions)

    def scan_page(self, cursor: dict[str, Any] | None, page_size: int) -> ScanPage:
        """One page of the Scan (``page_size`` items read, before the filter): the current person
        items in it."""
        model = self._model
        result = model.scan(
            (model.sk == CURRENT) & (model.kind == "person"),
            page_size=page_size,
            last_evaluated_key=cursor,
            attributes_to_get=["pk", "sk", "body"],
        )
        page = next(result.page_iter)
        currents = [
            PersonRecord.model_validate_json(raw["body"]["S"], context=STORAGE)
            for raw in page.get("Items", [])
        ]
        scanned = int(page["ScannedCount"])
        return ScanPage(currents=currents, cursor=page.get("LastEvaluatedKey"), scanned=scanned)

    def currents(self, person_ids: Sequence[str]) -> list[PersonRecord]:
        """The current versions of those of ``person_ids`` still in the ledger."""
        items = self._model.batch_get(
            [(person_key(pid), CURRENT) for pid in dict.fromkeys(person_ids)], consistent_read=True
        )
        return [PersonRecord.model_validate_json(i.body or "", context=STORAGE) for i in items]

    def stored(self, person_id: str) -> StoredPerson | None:
        """Every version item of the person, as stored (consistent read)."""
        items = self._model.query(
            person_key(person_id), self._model.sk.startswith("V#"), consistent_read=True
        )
        versions = [json.loads(item.body or "{}") for item in items]
        return StoredPerson(person_id, versions) if versions else None

    # -- deleting -----------------------------------------------------------------------------
    def delete_persons(self, persons: Sequence[tuple[str, int, set[str]]], log: OperationLogEntry) -> None:
        """Deletes each (person id, newest version, identity keys): the version items first (in
        batches: a person's history may exceed a transaction), then one transaction of every
        CURRENT item (on condition it is still the archived version, so a concurrent movement
        fails the transaction instead of losing its version), the person taken out of the
        identity buckets they are filed in, and the log entry. A repeat after a crash finds the
        CURRENT item still there and finishes the job."""
        if 1 + sum(1 + len(keys) for _, _, keys in persons) > TRANSACTION_ITEMS:
            raise ValueError("too many persons for one transaction")
        model = self._model
        with model.batch_write() as batch:
            for person_id, newest, _ in persons:
                for version in range(1, newest + 1):
                    batch.delete(model(pk=person_key(person_id), sk=version_key(version)))
        filed = self._filed_in({key for _, _, keys in persons for key in keys})
        try:
            with TransactWrite(connection=self._connection) as tx:
                for person_id, newest, _ in persons:
                    tx.delete(model(pk=person_key(person_id), sk=CURRENT), condition=model.version == newest)
                for key in sorted({k for _, _, keys in persons for k in keys}):
                    leaving = {pid for pid, _, keys in persons if key in keys} & filed.get(key, set())
                    if leaving:
                        tx.update(
                            model(pk=identity_bucket_key(key), sk=IDENTITY),
                            actions=[model.person_ids.delete(leaving), model.version.add(1)],
                        )
                tx.save(oplog_item(log, self._oplog), condition=self._oplog.pk.does_not_exist())
        except TransactWriteError as error:
            raise conflict_from(error) from error

    def _filed_in(self, keys: set[str]) -> dict[str, set[str]]:
        wanted = [(identity_bucket_key(k), IDENTITY) for k in keys]
        items = self._model.batch_get(wanted, consistent_read=True)
        return {item.pk.removeprefix("IDENTITY#"): set(item.person_ids or ()) for item in items}


# -- composition (``services().part(build_...)``, without editing juki.bootstrap) --------------


def _s3(services: Services) -> S3Client:
    settings = services.settings
    return boto3.client("s3", region_name=settings.region, endpoint_url=settings.endpoint_url)


def build_sending_address_files(services: Services) -> S3SendingAddressFiles:
    """The writer the J-LIS linkage uses for 送付先情報 files."""
    return S3SendingAddressFiles(_s3(services), services.settings.exchange_bucket)


def build_records_archive(services: Services) -> RemovedRecordArchive:
    """The archive reader inquiry falls back to for removed records no longer in the ledger."""
    return RemovedRecordArchive(_s3(services), services.settings.records_archive_bucket)


def build_retention(services: Services) -> RetentionService:
    """(Builds its parts itself: ``Services.part`` holds a plain lock while building, so a builder
    that called ``part`` again would wait for itself.)"""
    settings = services.settings
    return RetentionService(
        services.settings.retention,
        files=build_sending_address_files(services),
        certificates=DynamoMoveOutCertificates(
            settings.ledger_table, settings.oplog_table, region=settings.region, host=settings.endpoint_url
        ),
        ledger=DynamoRemovedRecordLedger(
            settings.ledger_table, settings.oplog_table, region=settings.region, host=settings.endpoint_url
        ),
        archive=build_records_archive(services),
        log=services.store,
        clock=SystemClock(),
        ids=UuidSource(),
    )
