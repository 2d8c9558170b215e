"""What the consistency check and the pool top-up touch: a Scan of the ledger's current person
items, the exchange and documents buckets, and the CS's two query endpoints (docs/linkage.md).

The CS is called with the standard library's ``urllib.request`` and the configured timeout. A
timeout, a refused connection, a 5xx, 408 or 429 is ``PeerUnavailable`` (the state machine
retries with backoff); any other answer than 200 is ``PeerRefused``. Nothing of the bodies is
logged or carried in an error.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import boto3

from juki.adapters.dynamodb import CURRENT, LedgerItem
from juki.adapters.oplog_reader import DynamoOperationLogReader
from juki.adapters.reports import S3ReportStore
from juki.adapters.system import SystemClock, UuidSource
from juki.adapters.tables import bind
from juki.domain.my_number import STORAGE
from juki.domain.oplog import OperationLogEntry
from juki.domain.records import PersonRecord
from juki.services.consistency import (
    ConsistencyService,
    PeerRefused,
    PeerUnavailable,
    ResidentCodeTopup,
    ScanSlice,
)
from juki.services.ports import OperationLog

if TYPE_CHECKING:
    from juki.bootstrap import Services

_RETRYABLE = frozenset({408, 429})
_SERVER_ERROR = 500
_ONCE_WINDOW = timedelta(hours=1)  # a retried task call comes back within minutes


class LedgerCurrentPersons:
    """The current person items of the ledger, one Scan page at a time (like the retention sweep)."""

    def __init__(self, table: str, region: str, host: str | None) -> None:
        self._model = bind(LedgerItem, table, region, host)

    def scan(self, cursor: dict[str, Any] | None, page_items: int) -> ScanSlice:
        model = self._model
        result = model.scan(
            (model.sk == CURRENT) & (model.kind == "person"),
            page_size=page_items,
            last_evaluated_key=cursor,
            attributes_to_get=["pk", "sk", "body"],
        )
        page = next(result.page_iter)
        persons = [
            PersonRecord.model_validate_json(raw["body"]["S"], context=STORAGE)
            for raw in page.get("Items", [])
        ]
        return ScanSlice(persons=persons, cursor=page.get("LastEvaluatedKey"))


class HttpCs:
    """The CS's ``identity-records:query`` and ``resident-codes:allocate``."""

    def __init__(self, base_url: str, timeout_seconds: float) -> None:
        self._base = base_url.rstrip("/")
        self._timeout = timeout_seconds

    def query(self, resident_codes: Sequence[str]) -> list[dict[str, Any]]:
        answer = self._post("/v1/identity-records:query", {"resident_codes": list(resident_codes)})
        records = answer.get("records")
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise PeerRefused("CS_ANSWER_MALFORMED")
        return records

    def allocate(self, count: int) -> list[str]:
        answer = self._post("/v1/resident-codes:allocate", {"count": count})
        codes = answer.get("codes")
        if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
            raise PeerRefused("CS_ANSWER_MALFORMED")
        return codes

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        if not self._base:
            raise PeerRefused("CS_NOT_CONNECTED")
        request = urllib.request.Request(  # noqa: S310 - the configured https (locally http) URL
            f"{self._base}{path}",
            data=json.dumps(body).encode("utf-8"),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310
                raw = response.read()
        except urllib.error.HTTPError as error:
            error.close()
            if error.code >= _SERVER_ERROR or error.code in _RETRYABLE:
                raise PeerUnavailable(f"CS_HTTP_{error.code}") from None
            raise PeerRefused(f"CS_HTTP_{error.code}") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            raise PeerUnavailable(f"CS_{type(error).__name__}") from None
        try:
            answer = json.loads(raw)
        except ValueError:
            raise PeerRefused("CS_ANSWER_MALFORMED") from None
        if not isinstance(answer, dict):
            raise PeerRefused("CS_ANSWER_MALFORMED")
        return answer


class OnceLog:
    """An operation log that writes an entry id once: a retried task call derives the same id, and
    finds its earlier entry among its job's recent ones (through the staff index)."""

    def __init__(self, log: OperationLog, reader: DynamoOperationLogReader) -> None:
        self._log = log
        self._reader = reader

    def append(self, entry: OperationLogEntry) -> None:
        recent = self._reader.by_staff(
            entry.staff_id, entry.at - _ONCE_WINDOW, entry.at + timedelta(seconds=1)
        )
        if any(earlier.entry_id == entry.entry_id for earlier in recent):
            return
        self._log.append(entry)


def build_consistency(parts: Services) -> ConsistencyService:
    """For ``services().part(build_consistency)``: the three tasks and the auditor's route."""
    settings = parts.settings
    s3 = boto3.client("s3", region_name=settings.region, endpoint_url=settings.endpoint_url)
    return ConsistencyService(
        LedgerCurrentPersons(settings.ledger_table, settings.region, settings.endpoint_url),
        S3ReportStore(s3, settings.exchange_bucket),
        S3ReportStore(s3, settings.documents_bucket),
        HttpCs(settings.peer_cs_url, settings.peer_timeout_seconds),
        parts.my_numbers,
        log=OnceLog(parts.store, parts.oplog_reader),
        clock=SystemClock(),
        ids=UuidSource(),
        exchange_bucket=settings.exchange_bucket,
        municipality=settings.municipality_name,
    )


def build_topup(parts: Services) -> ResidentCodeTopup:
    """For ``services().part(build_topup)``: the pool top-up job."""
    settings = parts.settings
    return ResidentCodeTopup(
        parts.resident_codes, HttpCs(settings.peer_cs_url, settings.peer_timeout_seconds)
    )
