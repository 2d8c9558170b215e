"""整合性確認 (the periodic consistency check) and the 住民票コード pool top-up: both ask the CS.

The check runs in three steps of ``statemachines/consistency_check.asl.json``:

1. ``export_step``: one bounded slice of a Scan of the current person records, written as parts
   ``exports/consistency/<run>/part-NNNNN.json`` (≤ 500 persons each) to the exchange bucket. The
   machine calls it again while ``more``; a retried call starts from the same cursor and part
   number, so it writes the same keys again.
2. ``compare_part`` (one Distributed Map item per part): the CS's records of the part's codes,
   compared person by person; the differences go to ``.../diff-NNNNN.json``.
3. ``report``: every part must have a result (a failed Map item is null): the run fails
   otherwise, rather than report a partial check as complete. The report goes to
   ``documents/reports/consistency/<run>.json``.

Nothing personal is logged; the operation log records the export and the report (counts only).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from juki.domain.consistency import (
    PART_SIZE,
    ConsistencyReport,
    Difference,
    compare_person,
    summarise,
    valid_run_id,
)
from juki.domain.errors import DomainError, NotFound
from juki.domain.linkage import identity_data
from juki.domain.my_number import SealedMyNumber
from juki.domain.oplog import entry_for
from juki.domain.records import PersonRecord
from juki.domain.staff import Actor, Permission, SystemActor
from juki.services.access import require
from juki.services.ports import Clock, IdSource, OperationLog
from juki.services.resident_codes import ResidentCodeService

JOB = "consistency-check"
TOPUP_JOB = "resident-code-topup"
CONSISTENCY_DIFFERENCES = "CONSISTENCY_DIFFERENCES"  # the alarm code the report task logs
EXPORT_PREFIX = "exports/consistency/"
REPORT_PREFIX = "reports/consistency/"
PARTS_PER_CALL = 20  # parts one export call writes at most (10,000 persons): well inside 15 minutes
SCAN_PAGE_ITEMS = 1000  # ledger items read per Scan page (before the filter)
MAX_ALLOCATION = 10_000  # the most codes the CS hands out per request (docs/linkage.md)
_ENTRY_IDS = uuid.UUID("0c7a52a4-8d1e-4f53-9a57-1f3c9e6b2d40")  # namespace of run-derived entry ids


class CheckFailed(Exception):
    """The run cannot give a complete report (a part without a result); the execution fails."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class PeerUnavailable(Exception):
    """The CS did not answer, or answered 5xx/408/429: worth trying again later."""


class PeerRefused(Exception):
    """The CS refused the request itself (a 4xx): retrying cannot help."""


# -- ports -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScanSlice:
    persons: list[PersonRecord]
    cursor: dict[str, Any] | None  # None: the Scan is done


class CurrentPersons(Protocol):
    def scan(self, cursor: dict[str, Any] | None, page_items: int) -> ScanSlice:
        """One page of the Scan of the ledger: the current person records in it."""


class ObjectStore(Protocol):
    def get(self, key: str) -> bytes | None: ...

    def put(self, key: str, body: bytes) -> None: ...


class CsIdentityRecords(Protocol):
    def query(self, resident_codes: Sequence[str]) -> list[dict[str, Any]]:
        """``POST <cs>/v1/identity-records:query``; ``PeerUnavailable`` or ``PeerRefused``."""

    def allocate(self, count: int) -> list[str]:
        """``POST <cs>/v1/resident-codes:allocate``; ``PeerUnavailable`` or ``PeerRefused``."""


class MyNumberOpener(Protocol):
    def open(self, sealed: SealedMyNumber, person_id: str) -> str: ...


# -- keys --------------------------------------------------------------------------------------------


def run_prefix(run_id: str) -> str:
    return f"{EXPORT_PREFIX}{run_id}/"


def part_key(run_id: str, number: int) -> str:
    return f"{run_prefix(run_id)}part-{number:05d}.json"


def diff_key(part: str) -> str:
    head, _, name = part.rpartition("/")
    return f"{head}/{name.replace('part-', 'diff-', 1)}"


def report_key(run_id: str) -> str:
    return f"{REPORT_PREFIX}{run_id}.json"


def _run_of(part: str) -> str:
    if not part.startswith(EXPORT_PREFIX):
        raise ValueError("not a part of a consistency export")
    run_id = part.removeprefix(EXPORT_PREFIX).split("/", 1)[0]
    if not valid_run_id(run_id):
        raise ValueError("not a part of a consistency export")
    return run_id


# -- the run's state between calls -------------------------------------------------------------------


@dataclass(frozen=True)
class ExportState:
    run_id: str
    bucket: str
    cursor: dict[str, Any] | None = None
    parts: int = 0
    persons: int = 0
    part_size: int = PART_SIZE
    more: bool = True

    def as_output(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "bucket": self.bucket,
            "prefix": run_prefix(self.run_id),
            "parts_prefix": f"{run_prefix(self.run_id)}part-",
            "cursor": self.cursor,
            "parts": self.parts,
            "persons": self.persons,
            "part_size": self.part_size,
            "more": self.more,
        }


@dataclass(frozen=True)
class PartResult:
    part: str
    checked: int
    differences: int

    def as_output(self) -> dict[str, Any]:
        return {"part": self.part, "checked": self.checked, "differences": self.differences}


@dataclass(frozen=True)
class ReportSummary:
    run_id: str
    report_key: str
    checked: int
    parts: int
    differences: int
    by_kind: dict[str, int] = field(default_factory=dict)

    def as_output(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "report_key": self.report_key,
            "checked": self.checked,
            "parts": self.parts,
            "differences": self.differences,
            "by_kind": self.by_kind,
        }


# -- the check --------------------------------------------------------------------------------------


class ConsistencyService:
    def __init__(
        self,
        persons: CurrentPersons,
        exchange: ObjectStore,
        documents: ObjectStore,
        cs: CsIdentityRecords,
        opener: MyNumberOpener,
        *,
        log: OperationLog,
        clock: Clock,
        ids: IdSource,
        exchange_bucket: str,
        municipality: str,
    ) -> None:
        self._persons = persons
        self._exchange = exchange
        self._documents = documents
        self._cs = cs
        self._opener = opener
        self._log = log
        self._clock = clock
        self._ids = ids
        self.exchange_bucket = exchange_bucket
        self._municipality = municipality

    def start(self, run_id: str, part_size: int = PART_SIZE) -> ExportState:
        if not valid_run_id(run_id):
            raise DomainError("CONSISTENCY_RUN_ID_INVALID", "実行IDの形式が正しくありません", "run_id")
        if not 1 <= part_size <= PART_SIZE:
            raise DomainError(
                "CONSISTENCY_PART_SIZE_INVALID", f"分割の件数は1から{PART_SIZE}までです", "part_size"
            )
        return ExportState(run_id=run_id, bucket=self.exchange_bucket, part_size=part_size)

    def export_step(self, state: ExportState, actor: SystemActor) -> ExportState:
        """Writes up to ``PARTS_PER_CALL`` parts from where ``state`` stopped. The last call writes
        at least one part (empty if the ledger is), so the Map always has an item to list."""
        cursor = state.cursor
        number = state.parts
        persons = state.persons
        first = number + 1
        buffer: list[PersonRecord] = []
        done = False
        while number - state.parts < PARTS_PER_CALL:
            page = self._persons.scan(cursor, SCAN_PAGE_ITEMS)
            buffer.extend(page.persons)
            cursor = page.cursor
            done = cursor is None
            while len(buffer) >= state.part_size or (done and buffer):
                chunk, buffer = buffer[: state.part_size], buffer[state.part_size :]
                number += 1
                persons += len(chunk)
                self._exchange.put(part_key(state.run_id, number), self._part_body(chunk))
            if done:
                break
        # A slice that stops mid-page leaves nothing behind: the cursor is at a page boundary,
        # so the rest of the buffer goes out as a (smaller) part now.
        while buffer:
            chunk, buffer = buffer[: state.part_size], buffer[state.part_size :]
            number += 1
            persons += len(chunk)
            self._exchange.put(part_key(state.run_id, number), self._part_body(chunk))
        if done and number == 0:
            number = 1
            self._exchange.put(part_key(state.run_id, number), self._part_body([]))
        if number >= first:
            self._log_once(
                actor,
                f"{state.run_id}#export#{first}",
                function="linkage.consistency_export",
                subject=f"{run_prefix(state.run_id)} part-{first:05d}..{number:05d}",
            )
        return ExportState(
            run_id=state.run_id,
            bucket=state.bucket,
            cursor=None if done else cursor,
            parts=number,
            persons=persons,
            part_size=state.part_size,
            more=not done,
        )

    def _part_body(self, persons: list[PersonRecord]) -> bytes:
        items = []
        for record in persons:
            data = identity_data(record, self._municipality, None)
            del data["my_number"]
            data["my_number_sealed"] = record.my_number.model_dump() if record.my_number else None
            items.append(data)
        return json.dumps({"persons": items}, ensure_ascii=False).encode("utf-8")

    def compare_part(self, part: str) -> PartResult:
        """Compares one part with the CS and writes its differences next to it."""
        run_id = _run_of(part)
        raw = self._exchange.get(part)
        if raw is None:
            raise CheckFailed("CONSISTENCY_PART_MISSING")
        persons: list[dict[str, Any]] = json.loads(raw)["persons"]
        codes = [p["resident_code"] for p in persons if p.get("resident_code")]
        records = self._cs.query(codes) if codes else []
        by_code = {r["resident_code"]: r for r in records if isinstance(r.get("resident_code"), str)}
        differences: list[Difference] = []
        for person in persons:
            theirs = by_code.get(person.get("resident_code") or "")
            differences += compare_person(person, self._my_number(person, theirs), theirs)
        body = {
            "run_id": run_id,
            "part": part,
            "checked": len(persons),
            "differences": [d.model_dump(mode="json") for d in differences],
        }
        self._exchange.put(diff_key(part), json.dumps(body, ensure_ascii=False).encode("utf-8"))
        return PartResult(part=part, checked=len(persons), differences=len(differences))

    def _my_number(self, person: Mapping[str, Any], theirs: Mapping[str, Any] | None) -> str | None:
        """The ledger's 個人番号, opened only when the CS holds one to compare it with; otherwise
        a stand-in that tells only whether the ledger holds one."""
        sealed = person.get("my_number_sealed")
        if sealed is None:
            return None
        if theirs is None or not theirs.get("my_number"):
            return "sealed"  # present; the CS's is absent, so the value never matters
        return self._opener.open(SealedMyNumber.model_validate(sealed), str(person["person_id"]))

    def report(
        self,
        run_id: str,
        parts: int,
        results: Sequence[Mapping[str, Any] | None] | None,
        actor: SystemActor,
    ) -> ReportSummary:
        """Gathers the parts' differences into the run's report. Every part must have written its
        diff file (the state machine keeps no per-part results: a whole ledger's would not fit in
        the state); results, when given, are checked too."""
        if not valid_run_id(run_id):
            raise CheckFailed("CONSISTENCY_RUN_ID_INVALID")
        expected = {part_key(run_id, n) for n in range(1, parts + 1)}
        if parts < 1:
            raise CheckFailed("CONSISTENCY_PART_FAILED")
        if results is not None:
            given = {str(r.get("part")) for r in results if r is not None}
            if len(results) != parts or any(r is None for r in results) or given != expected:
                raise CheckFailed("CONSISTENCY_PART_FAILED")
        differences: list[Difference] = []
        checked = 0
        for key in sorted(expected):
            raw = self._exchange.get(diff_key(key))
            if raw is None:
                raise CheckFailed("CONSISTENCY_PART_FAILED")
            body = json.loads(raw)
            checked += int(body["checked"])
            differences += [Difference.model_validate(d) for d in body["differences"]]
        report = summarise(run_id, checked, parts, differences)
        key = report_key(run_id)
        self._log_once(actor, f"{run_id}#report", function="linkage.consistency_report", subject=key)
        self._documents.put(key, report.model_dump_json().encode("utf-8"))
        return ReportSummary(
            run_id=run_id,
            report_key=key,
            checked=checked,
            parts=parts,
            differences=len(report.differences),
            by_kind=report.by_kind,
        )

    def read_report(self, run_id: str, actor: Actor) -> ConsistencyReport:
        """The stored report of a run, for an auditor; the read is logged."""
        require(actor, Permission.AUDIT)
        if not valid_run_id(run_id):
            raise DomainError("CONSISTENCY_RUN_ID_INVALID", "実行IDの形式が正しくありません", "run_id")
        key = report_key(run_id)
        stored = self._documents.get(key)
        if stored is None:
            raise NotFound("CONSISTENCY_REPORT_NOT_FOUND", "その実行の整合性確認の報告はありません", "run_id")
        report = ConsistencyReport.model_validate_json(stored)
        self._log.append(
            entry_for(
                actor,
                entry_id=self._ids.new_id(),
                at=self._clock.now(),
                function="audit.read",
                action="read",
                subject=key,
            )
        )
        return report

    def _log_once(self, actor: SystemActor, seed: str, *, function: str, subject: str) -> None:
        """One entry per step of the run, under an id derived from it, so a retried call names the
        same entry (the log given here keeps the first and ignores a repeat of the same id)."""
        self._log.append(
            entry_for(
                actor,
                entry_id=uuid.uuid5(_ENTRY_IDS, seed).hex,
                at=self._clock.now(),
                function=function,
                action="export",
                subject=subject,
            )
        )


# -- the pool top-up ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TopupResult:
    available_before: int
    threshold: int
    requested: int
    received: int
    added: int
    available: int

    def as_output(self) -> dict[str, int]:
        return dict(self.__dict__)


class ResidentCodeTopup:
    """Keeps the 住民票コード pool at twice its threshold: asks the CS when it falls below. Safe to
    repeat: the pool refuses a code it holds already, and a pool at or above the threshold asks
    for nothing."""

    def __init__(self, codes: ResidentCodeService, cs: CsIdentityRecords) -> None:
        self._codes = codes
        self._cs = cs

    def run(self, actor: SystemActor, count: int | None = None) -> TopupResult:
        status = self._codes.status()
        if count is None:
            count = 2 * status.threshold - status.available if status.low else 0
        count = max(0, min(count, MAX_ALLOCATION))
        if count == 0:
            return TopupResult(status.available, status.threshold, 0, 0, 0, status.available)
        codes = self._cs.allocate(count)
        if not codes:
            return TopupResult(status.available, status.threshold, count, 0, 0, status.available)
        supplied = self._codes.supply(codes, actor)
        return TopupResult(
            available_before=status.available,
            threshold=status.threshold,
            requested=count,
            received=supplied.received,
            added=supplied.added,
            available=supplied.available,
        )
