"""The inbound drop zone in the exchange bucket, and the composition of the inbound service.

The drop zone is a prefix of the ``exchange`` bucket (versioned, KMS-encrypted): peers write
``inbound/...``; the receiving job moves each file to ``processed/...`` or ``rejected/...``
(juki.services.inbound). A move is a copy then a delete; both are safe to repeat.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import ClientError
from pynamodb.connection import Connection
from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.transactions import TransactWrite

from juki.adapters.dynamodb import INBOX, DynamoLedgerStore, InboxItem, OplogItem, inbox_key, oplog_item
from juki.adapters.linkage import build_linkage_store
from juki.adapters.retention_stores import (
    SENDING_ADDRESS_PREFIX,
    DynamoMoveOutCertificates,
    S3SendingAddressFiles,
)
from juki.adapters.search import DynamoSearchIndex
from juki.adapters.system import JST, SystemClock
from juki.adapters.tables import bind, conflict_from
from juki.domain.errors import Conflict
from juki.domain.oplog import OperationLogEntry
from juki.domain.records import PersonRecord
from juki.domain.search import SEPARATOR, IndexQuery, SearchIndex, text_key
from juki.domain.values import ResidentStatus
from juki.services.inbound import InboundService, Municipality

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from juki.bootstrap import Services

MISSING = {"NoSuchKey", "404", "NotFound"}


class S3DropZone:
    def __init__(self, s3: S3Client, bucket: str) -> None:
        self._s3 = s3
        self._bucket = bucket

    def first(self, prefix: str, limit: int, after: str | None = None) -> tuple[list[str], bool]:
        if after is None:
            answer = self._s3.list_objects_v2(Bucket=self._bucket, Prefix=prefix, MaxKeys=limit)
        else:
            answer = self._s3.list_objects_v2(
                Bucket=self._bucket, Prefix=prefix, MaxKeys=limit, StartAfter=after
            )
        keys = [item["Key"] for item in answer.get("Contents", [])]
        return keys, bool(answer.get("IsTruncated"))

    def read(self, key: str) -> bytes | None:
        try:
            answer = self._s3.get_object(Bucket=self._bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in MISSING:
                return None
            raise
        return answer["Body"].read()

    def move(self, key: str, to_key: str, body: bytes | None = None) -> None:
        """Writes ``body`` or copies the file, then deletes every version of the source by id (the
        bucket is versioned; a delete marker alone would keep what the peer wrote). A copy whose
        source is gone (a run at the same time moved it) is no error: the other run holds it."""
        if body is not None:
            self._s3.put_object(Bucket=self._bucket, Key=to_key, Body=body, ContentType="application/json")
        else:
            try:
                self._s3.copy_object(
                    Bucket=self._bucket, Key=to_key, CopySource={"Bucket": self._bucket, "Key": key}
                )
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") in MISSING:
                    return
                raise
        self.delete(key)

    def delete(self, key: str) -> None:
        """Every version of ``key`` and its delete markers, by id."""
        listed = self._s3.list_object_versions(Bucket=self._bucket, Prefix=key)
        versions = [
            {"Key": entry["Key"], "VersionId": entry["VersionId"]}
            for entry in [*listed.get("Versions", []), *listed.get("DeleteMarkers", [])]
            if entry["Key"] == key
        ]
        if versions:
            answer = self._s3.delete_objects(Bucket=self._bucket, Delete={"Objects": versions, "Quiet": True})  # type: ignore[typeddict-item]
            if answer.get("Errors"):
                raise RuntimeError(f"{len(answer['Errors'])} version(s) not deleted")
        else:
            self._s3.delete_object(Bucket=self._bucket, Key=key)

    def put_json(self, key: str, body: dict[str, Any]) -> None:
        self._s3.put_object(
            Bucket=self._bucket,
            Key=key,
            Body=json.dumps(body, ensure_ascii=False, sort_keys=True).encode(),
            ContentType="application/json",
        )


class OnceSendingAddressFiles:
    """送付先情報 files written once per name and day (a retried step does not write again)."""

    def __init__(self, files: S3SendingAddressFiles, s3: S3Client, bucket: str) -> None:
        self._files = files
        self._s3 = s3
        self._bucket = bucket

    def put_once(self, name: str, body: bytes, created_at: datetime) -> bool:
        created_on = created_at.astimezone(JST).date()
        key = f"{SENDING_ADDRESS_PREFIX}{created_on.isoformat()}/{name}"
        try:
            self._s3.head_object(Bucket=self._bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in MISSING:
                raise
        else:
            return False
        self._files.put_sending_address_file(name, body, created_at)
        return True


CARD_HITS = 10  # versions read per card number: a card is held by one person, a few versions
NAME_HITS = 200  # versions read per full name: a handful of people, a few versions each


class LedgerInbox:
    """Implements ``Inbox``: the ledger store's marks and reads, the card index, and the mark
    written with a log entry."""

    def __init__(
        self,
        store: DynamoLedgerStore,
        search: DynamoSearchIndex,
        outbox_table: str,
        oplog_table: str,
        *,
        region: str,
        host: str | None = None,
    ) -> None:
        self._store = store
        self._search = search
        self._inbox = bind(InboxItem, outbox_table, region, host)
        self._oplog = bind(OplogItem, oplog_table, region, host)
        self._connection = Connection(region=region, host=host)

    def received(self, source_id: str) -> bool:
        return self._store.received(source_id)

    def mark_received(self, source_id: str, at: datetime) -> None:
        self._store.mark_received(source_id, at)

    def resident_code_holder(self, code: str) -> str | None:
        return self._store.resident_code_holder(code)

    def get_person(self, person_id: str) -> PersonRecord | None:
        return self._store.get_person(person_id)

    def card_holder(self, card_number: str) -> str | None:
        """The index holds every version, so an old version may name a card since replaced (or
        another person's, reissued): only a resident whose current record holds it counts."""
        query = IndexQuery(SearchIndex.CARD, f"CARD#{card_number}")
        candidates = {hit.record.person_id for hit in self._search.hits(query, None, CARD_HITS)}
        holders = [
            person.person_id
            for person in (self._store.get_person(pid) for pid in sorted(candidates))
            if person is not None
            and person.status == ResidentStatus.RESIDENT
            and person.foreign_resident is not None
            and person.foreign_resident.card_number == card_number
        ]
        return holders[0] if len(holders) == 1 else None

    def named(self, family_name: str, given_name: str, birth_date: date) -> list[str]:
        """The name index (``NAME#<family>``, sort keys ``<given>#<person_id>``) narrowed to the
        exact given name, each version then checked for the birth date. Every version is there,
        so the caller checks the current record. Reads at most ``NAME_HITS`` versions: a name
        shared beyond that is left out of the answer, and the caller finds none or several."""
        query = IndexQuery(
            SearchIndex.NAME, f"NAME#{text_key(family_name)}", f"{text_key(given_name)}{SEPARATOR}"
        )
        found: dict[str, None] = {}
        for count, hit in enumerate(self._search.hits(query, None, NAME_HITS), start=1):
            if hit.record.birth_date == birth_date:
                found[hit.record.person_id] = None
            if count >= NAME_HITS:
                break
        return list(found)

    def mark_logged(self, source_id: str, entry: OperationLogEntry) -> bool:
        mark = self._inbox(pk=inbox_key(source_id), sk=INBOX, applied_at=entry.at.isoformat())
        try:
            with TransactWrite(connection=self._connection) as tx:
                tx.save(mark, condition=self._inbox.pk.does_not_exist())
                tx.save(oplog_item(entry, self._oplog), condition=self._oplog.pk.does_not_exist())
        except TransactWriteError as error:
            if isinstance(conflict_from(error), Conflict) and self._store.received(source_id):
                return False
            raise
        return True


def build_inbound(services: Services) -> InboundService:
    """For ``services().part(build_inbound)``."""
    settings = services.settings
    s3 = boto3.client("s3", region_name=settings.region, endpoint_url=settings.endpoint_url)
    bucket = settings.exchange_bucket
    return InboundService(
        S3DropZone(s3, bucket),
        LedgerInbox(
            services.store,
            DynamoSearchIndex(settings.ledger_table, region=settings.region, host=settings.endpoint_url),
            settings.outbox_table,
            settings.oplog_table,
            region=settings.region,
            host=settings.endpoint_url,
        ),
        services.movements,
        DynamoMoveOutCertificates(
            settings.ledger_table, settings.oplog_table, region=settings.region, host=settings.endpoint_url
        ),
        OnceSendingAddressFiles(S3SendingAddressFiles(s3, bucket), s3, bucket),
        answers=services.part(build_linkage_store),
        policy=settings.retention,
        municipality=Municipality(code=settings.municipality_code, name=settings.municipality_name),
        clock=SystemClock(),
        vault=services.my_numbers,
        storage_faults=(PynamoDBException,),
    )
