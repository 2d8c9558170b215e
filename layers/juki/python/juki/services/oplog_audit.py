"""The operation log's integrity and its audit (ADR 0009): sealing, verification, purge, search.

The sealer chains entries some time after they were written (the grace covers every transaction
still in flight), so the transactions that write entries never contend on a chain item. Each
batch's manifest is the commit point: written once under Object Lock with its batch number in the
key, then the entries are marked and the head moved; a retry that finds the next manifest finishes
it, so a crash can neither fork nor duplicate the chain.

Verification trusts only what Object Lock protects: the chain ends where the archived manifests
end (the head in the table is the sealer's bookmark, checked against them), and a purge record
excuses missing entries only for a day past the retention whose purge is itself sealed.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Literal, Protocol

from pydantic import BaseModel, Field

from juki.domain.errors import DomainError
from juki.domain.oplog import OperationLogEntry, entry_for
from juki.domain.oplog_chain import (
    PURGE_FUNCTION,
    Candidate,
    ChainHead,
    Finding,
    Link,
    Manifest,
    SealedEntry,
    StoredEntry,
    VerifyReport,
    check_batch,
    check_head,
    day_of,
    purge_log_subject,
    purge_refusal,
    seal,
)
from juki.domain.staff import Actor, Permission, SystemActor
from juki.services.access import require
from juki.services.ports import Clock, IdSource, OperationLog

BATCH_LIMIT = 1000  # entries per manifest: about 0.5 MB of JSON
PURGE_DAYS_PER_RUN = 7
PURGE_SCAN_DAYS = 400  # days looked at per run (one query each)
MAX_SEARCH_DAYS = 31
MAX_SEARCH_LIMIT = 500
SCAN_LIMIT = 5000  # items read per search page at most (a page may come back short, with a cursor)
_JST = timezone(timedelta(hours=9), "JST")  # the municipality's dates are dates in Japan


class ArchivedManifestView(Protocol):
    @property
    def state(self) -> Literal["ok", "missing", "replaced", "unreadable"]: ...

    @property
    def manifest(self) -> Manifest | None: ...

    @property
    def versions(self) -> int: ...


class ManifestArchive(Protocol):
    def put(self, manifest: Manifest, now: datetime) -> bool:
        """Writes once under Object Lock; False if a manifest for that batch number exists."""

    def get(self, batch: int) -> ArchivedManifestView:
        """The original version of a batch's manifest, and whether anything replaced it."""

    def batches_after(self, batch: int) -> list[int]:
        """The batch numbers above ``batch`` with a manifest (any version), in order."""


class PurgeRecordView(Protocol):
    @property
    def day(self) -> str: ...

    @property
    def entries(self) -> int: ...

    @property
    def status(self) -> str: ...

    @property
    def log_sk(self) -> str | None: ...


class ChainStore(Protocol):
    def head(self) -> ChainHead: ...

    def advance_head(self, old: ChainHead, new: ChainHead, at: datetime) -> bool: ...

    def candidates(self, after_sk: str, before_sk: str, limit: int) -> list[Candidate]: ...

    def mark_sealed(self, manifest: Manifest) -> list[str]:
        """Marks the batch's entries; returns the ids of those it could not (gone or changed)."""

    def stored_between(self, lower_sk: str, upper_sk: str) -> list[StoredEntry]: ...

    def sealed_batch(self, sk: str) -> int | None:
        """The batch the stored entry's seal attributes name (a hint: only the archive counts)."""

    def purge_records(self) -> Mapping[str, PurgeRecordView]: ...

    def day_entries(self, day: date) -> list[tuple[str, int | None]]: ...

    def start_purge(self, day: date, entries: int, at: datetime, execution: str) -> PurgeRecordView: ...

    def delete_day(self, day: date) -> int: ...

    def finish_purge(self, day: date, log: OperationLogEntry) -> None: ...

    def page(
        self, start: datetime, end: datetime, after_sk: str | None, staff_id: str | None, scan_limit: int
    ) -> tuple[list[tuple[str, OperationLogEntry, int | None]], str | None]: ...


class ChainCorrupt(Exception):
    """The archive holds something the sealer cannot build on; verification will name it."""


class SealResult(BaseModel):
    batch: int | None = Field(default=None, description="封印したバッチ番号")
    sealed: int = Field(default=0, description="封印したエントリ数")
    first_seq: int | None = None
    last_seq: int | None = None
    resumed: bool = Field(default=False, description="中断した封印を完了した")
    unmarked: list[str] = Field(
        default_factory=list, description="封印したが印を付けられなかったエントリのID (削除・改変の疑い)"
    )
    until: str = Field(description="この日時より前のエントリを封印する")
    more: bool = Field(description="続きがある (状態機械はもう一度実行する)")


class PurgeResult(BaseModel):
    purged_days: list[str] = Field(default_factory=list)
    purged_entries: int = 0
    blocked_day: str | None = Field(default=None, description="未封印のエントリがあり削除しなかった日")
    refused_days: list[str] = Field(
        default_factory=list, description="削除中の記録があるが、保存期間内か未封印のため再開しなかった日"
    )
    more: bool = False


class AuditLogEntry(OperationLogEntry):
    seq: int | None = Field(default=None, description="封印の通番 (未封印は null)")


class AuditLogPage(BaseModel):
    order: Literal["oldest_first"] = Field(default="oldest_first", description="並び順 (古い順)")
    entries: list[AuditLogEntry] = Field(description="操作ログ")
    next_cursor: str | None = Field(description="続きの取得に使う cursor (なければ null)")


@dataclass(frozen=True)
class AuditQuery:
    start: str
    end: str
    staff_id: str | None = None
    person_id: str | None = None
    function: str | None = None
    limit: int = 100
    cursor: str | None = None


def _parse_bound(value: str, field: str, *, end: bool) -> datetime:
    """A date (the whole day, JST) or a datetime (JST unless it says otherwise), as a JST datetime.

    A bound the calendar cannot hold is the client's mistake, not a fault: the day after
    9999-12-31, or an instant before year 1 in UTC or after year 9999 in JST (every later step
    converts between the two)."""
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            bound = datetime.combine(day + timedelta(days=1) if end else day, time(), _JST)
        else:
            parsed = datetime.fromisoformat(value)
            bound = parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=_JST)
        bound.astimezone(UTC)
        return bound.astimezone(_JST)
    except (ValueError, OverflowError):
        raise DomainError(
            "OPLOG_RANGE_INVALID", "期間は日付 (YYYY-MM-DD) か日時 (ISO 8601) で指定してください", field
        ) from None


def _encode_cursor(sk: str) -> str:
    return base64.urlsafe_b64encode(sk.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str:
    """The sort key a cursor names; anything but ``<datetime>#<id>`` is refused, as it could only
    have been made by hand."""
    try:
        sk = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, separator, entry_id = sk.rpartition("#")
        if not separator or not entry_id:
            raise ValueError(sk)
        datetime.fromisoformat(at)
    except (ValueError, UnicodeDecodeError):
        raise DomainError("CURSOR_INVALID", "cursor が正しくありません", "cursor") from None
    return sk


class OplogAudit:
    def __init__(
        self,
        *,
        chain: ChainStore,
        archive: ManifestArchive,
        log: OperationLog,
        clock: Clock,
        ids: IdSource,
        grace_seconds: int,
        retention_days: int,
        batch_limit: int = BATCH_LIMIT,
    ) -> None:
        self.chain = chain
        self.archive = archive
        self._log = log
        self._clock = clock
        self._ids = ids
        self.grace_seconds = grace_seconds
        self.retention_days = retention_days
        self.batch_limit = batch_limit

    # -- sealing ---------------------------------------------------------------------------
    def cutoff(self, until: datetime | None) -> datetime:
        """Entries before this are sealed: now minus the grace, or an earlier ``until`` given by an
        operator or a test (never later than now)."""
        now = self._clock.now()
        if until is None:
            return now - timedelta(seconds=self.grace_seconds)
        return min(until if until.tzinfo is not None else until.replace(tzinfo=_JST), now)

    def seal_batch(self, until: datetime) -> SealResult:
        """Seals (or finishes sealing) one batch of entries before ``until``."""
        now = self._clock.now()
        head = self.chain.head()
        pending = self.archive.get(head.batch + 1)
        if pending.state != "missing":
            manifest = pending.manifest
            if manifest is None or manifest.prev_digest != head.digest:
                raise ChainCorrupt(f"manifest {head.batch + 1} does not follow the head")
            unmarked = self._finish(head, manifest, now)
            return self._result(manifest, until, resumed=True, more=True, unmarked=unmarked)
        upper = until.astimezone(_JST).isoformat()
        if upper <= head.upper_sk:
            return SealResult(until=until.isoformat(), more=False)
        candidates = self.chain.candidates(head.upper_sk, upper, self.batch_limit + 1)
        if not candidates:
            return SealResult(until=until.isoformat(), more=False)
        more = len(candidates) > self.batch_limit
        if more:
            candidates = candidates[: self.batch_limit]
            upper = candidates[-1].sk
        manifest = seal(head, candidates, upper_sk=upper, sealed_at=now)
        if not self.archive.put(manifest, now):
            # Another sealer wrote this batch number first: the next run finishes theirs.
            return SealResult(until=until.isoformat(), more=True)
        unmarked = self._finish(head, manifest, now)
        return self._result(manifest, until, resumed=False, more=more, unmarked=unmarked)

    def _finish(self, head: ChainHead, manifest: Manifest, now: datetime) -> list[str]:
        """Marks the entries and moves the head. An entry that can no longer be marked does not
        stop the chain (the manifest holds it and verification names it): its id is returned."""
        unmarked = self.chain.mark_sealed(manifest)
        new = ChainHead.after(manifest)
        if not self.chain.advance_head(head, new, now) and self.chain.head() != new:
            raise ChainCorrupt(f"the head moved past batch {manifest.batch} some other way")
        return unmarked

    @staticmethod
    def _result(
        manifest: Manifest, until: datetime, *, resumed: bool, more: bool, unmarked: list[str]
    ) -> SealResult:
        return SealResult(
            unmarked=unmarked,
            batch=manifest.batch,
            sealed=len(manifest.entries),
            first_seq=manifest.first_seq if manifest.entries else None,
            last_seq=manifest.last_seq if manifest.entries else None,
            resumed=resumed,
            until=until.isoformat(),
            more=more,
        )

    def seal_all(self, until: datetime | None = None) -> list[SealResult]:
        """Seals batch after batch until nothing is left (the command line's ``seal``)."""
        cutoff = self.cutoff(until)
        results = [self.seal_batch(cutoff)]
        while results[-1].more:
            results.append(self.seal_batch(cutoff))
        return results

    # -- verification ----------------------------------------------------------------------
    def verify(self, from_day: date | None = None, to_day: date | None = None) -> VerifyReport:
        """Walks the archived manifests (all of them, or those covering the days given) and
        compares storage with them; every finding names the entry or the batch."""
        end, strays = self._archive_end(self.chain.head().batch)
        findings: list[Finding] = []
        if strays:
            findings.append(
                Finding(
                    kind="manifest_missing",
                    batch=end + 1,
                    detail=f"{len(strays)} manifests beyond the gap, up to batch {strays[-1]}; not walked",
                )
            )
        report = VerifyReport(intact=True)
        last: Manifest | None = None
        if end > 0:
            last = self._walk(end, from_day, to_day, report, findings)
        head = self.chain.head()  # read again: a seal that was running during the walk has moved it
        if head.batch > end:
            end, _ = self._archive_end(head.batch)
        findings.extend(self._head_findings(head, end, last))
        report.head_batch, report.head_seq = head.batch, head.seq
        report.findings = findings
        report.intact = not findings
        return report

    def _archive_end(self, hint: int) -> tuple[int, list[int]]:
        """The chain's last batch as the archive holds it (manifests from 1 on, without a gap),
        and any batch numbers beyond a gap. ``hint`` (the head's batch) only saves listing the
        keys before it, and only if the archive holds that batch."""
        start = hint if hint > 0 and self.archive.get(hint).state != "missing" else 0
        end = start
        later = self.archive.batches_after(start)
        for number in later:
            if number != end + 1:
                break
            end = number
        return end, [n for n in later if n > end]

    def _walk(
        self,
        end: int,
        from_day: date | None,
        to_day: date | None,
        report: VerifyReport,
        findings: list[Finding],
    ) -> Manifest | None:
        """Checks the batches up to ``end`` in the window; returns the last manifest read."""
        first = self._first_batch_on_or_after(from_day, end) if from_day else 1
        stop_key = (to_day + timedelta(days=1)).isoformat() if to_day else None
        previous: Link | None = Link.genesis()
        if first > 1:
            before = self.archive.get(first - 1)
            previous = Link.of(before.manifest) if before.manifest is not None else None
        purges = _Purges(
            self.chain.purge_records(),
            self._clock.now().astimezone(_JST).date() - timedelta(days=self.retention_days),
            _SealedLookup(self.archive, self.chain, end),
        )
        report.from_batch = first
        last: Manifest | None = None
        batch = first
        while batch <= end:
            archived = self.archive.get(batch)
            manifest = archived.manifest
            if manifest is not None and stop_key is not None and manifest.lower_sk >= stop_key:
                break
            report.to_batch = batch
            if archived.state == "replaced":
                findings.append(
                    Finding(
                        kind="manifest_replaced",
                        batch=batch,
                        detail=f"{archived.versions} versions or delete markers; the original was used",
                    )
                )
            if manifest is None:
                kind: Literal["manifest_missing", "manifest_altered"] = (
                    "manifest_missing" if archived.state == "missing" else "manifest_altered"
                )
                findings.append(Finding(kind=kind, batch=batch, detail=archived.state))
                previous, last = None, None
                batch += 1
                continue
            stored = self.chain.stored_between(_lower_bound(manifest), manifest.upper_sk)
            found, purged_count = check_batch(manifest, previous, stored, purges)
            findings.extend(purges.explain(manifest, found))
            report.batches += 1
            report.entries += len(manifest.entries)
            report.purged_entries += purged_count
            previous, last = Link.of(manifest), manifest
            batch += 1
        return last

    def _head_findings(self, head: ChainHead, end: int, last: Manifest | None) -> list[Finding]:
        """The head against the archive's last manifest (batch ``end``)."""
        if end == 0:
            return check_head(None, head)
        tail = last if last is not None and last.batch == end else self.archive.get(end).manifest
        if tail is not None:
            return check_head(tail, head)
        if head.batch == end:
            return []  # the last manifest is unreadable: the walk names it, the head cannot be checked
        return [
            Finding(
                kind="head_mismatch",
                batch=head.batch,
                seq=head.seq,
                detail=f"head batch {head.batch}, the archive ends at batch {end}",
            )
        ]

    def default_verify_start(self, days: int) -> date:
        """The first day of the scheduled verification's window (the last ``days`` days)."""
        return self._clock.now().astimezone(_JST).date() - timedelta(days=days)

    def _first_batch_on_or_after(self, day: date, last: int) -> int:
        """The first batch whose range reaches ``day`` (batches are in time order: a binary search)."""
        key = day.isoformat()
        low, high = 1, last
        while low < high:
            middle = (low + high) // 2
            manifest = self.archive.get(middle).manifest
            if manifest is None:
                return 1  # a gap: walk from the start, which names it
            if manifest.upper_sk >= key:
                high = middle
            else:
                low = middle + 1
        return low

    # -- purge -----------------------------------------------------------------------------
    def purge(self, execution: str) -> PurgeResult:
        """Removes whole days past the retention period whose entries are all sealed (archived in
        the manifests under Object Lock). Each day gets a purge record and a log entry."""
        now = self._clock.now()
        result = PurgeResult()
        head = self.chain.head()
        if head.batch == 0 or not head.upper_sk:
            return result
        oldest_kept = now.astimezone(_JST).date() - timedelta(days=self.retention_days)
        fully_sealed = date.fromisoformat(head.upper_sk[:10])  # days before it are wholly sealed
        last = min(oldest_kept, fully_sealed) - timedelta(days=1)
        records = self.chain.purge_records()
        # Only a day the purge may remove is resumed or counted: a record for a later day was not
        # written by a purge, and resuming it would delete entries still within the retention.
        eligible = {day: record for day, record in records.items() if (_day(day) or date.max) <= last}
        result.refused_days = sorted(
            day for day, record in records.items() if day not in eligible and record.status != "done"
        )
        unfinished = sorted(day for day, record in eligible.items() if record.status != "done")
        if eligible:
            start = date.fromisoformat(max(eligible)) + timedelta(days=1)
        else:
            first = self.archive.get(1).manifest
            if first is None or first.first_at is None:
                return result
            start = date.fromisoformat(first.first_at[:10])
        actor = SystemActor(name="oplog-purge", request_id=execution)
        for day_text in unfinished:
            self._purge_day(date.fromisoformat(day_text), actor, execution, now, result)
        day, scanned = start, 0
        while day <= last and len(result.purged_days) < PURGE_DAYS_PER_RUN and scanned < PURGE_SCAN_DAYS:
            entries = self.chain.day_entries(day)
            scanned += 1
            if any(seq is None for _, seq in entries):
                result.blocked_day = day.isoformat()  # an unsealed entry in a sealed day: verify names it
                return result
            if entries:  # an empty day needs no record; the next run looks at it again, cheaply
                self._purge_day(day, actor, execution, now, result)
            day += timedelta(days=1)
        result.more = day <= last
        return result

    def _purge_day(
        self, day: date, actor: SystemActor, execution: str, now: datetime, result: PurgeResult
    ) -> None:
        record = self.chain.start_purge(day, len(self.chain.day_entries(day)), now, execution)
        self.chain.delete_day(day)
        log = entry_for(
            actor,
            entry_id=self._ids.new_id(),
            at=now,
            function=PURGE_FUNCTION,
            action="purge",
            subject=purge_log_subject(day, record.entries),
        )
        self.chain.finish_purge(day, log)
        result.purged_days.append(day.isoformat())
        result.purged_entries += record.entries

    # -- the auditor's search ------------------------------------------------------------
    def search(self, query: AuditQuery, actor: Actor) -> AuditLogPage:
        """Entries of a period (at most 31 days), by staff, person and function, oldest first.
        The search itself is logged (function ``audit.read``)."""
        require(actor, Permission.AUDIT)
        start = _parse_bound(query.start, "from", end=False)
        end = _parse_bound(query.end, "to", end=True)
        if end <= start:
            raise DomainError("OPLOG_RANGE_INVALID", "期間の終わりは始まりより後にしてください", "to")
        if end - start > timedelta(days=MAX_SEARCH_DAYS):
            raise DomainError("OPLOG_RANGE_TOO_LONG", f"検索できる期間は{MAX_SEARCH_DAYS}日以内です", "to")
        if not 1 <= query.limit <= MAX_SEARCH_LIMIT:
            raise DomainError("LIMIT_INVALID", f"件数は1から{MAX_SEARCH_LIMIT}までです", "limit")
        after = _decode_cursor(query.cursor) if query.cursor else None
        rows, resume = self.chain.page(start, end, after, query.staff_id, SCAN_LIMIT)
        entries: list[AuditLogEntry] = []
        next_sk = resume
        for sk, entry, seq in rows:
            if query.person_id is not None and query.person_id not in entry.persons:
                continue
            if query.function is not None and entry.function != query.function:
                continue
            entries.append(AuditLogEntry(**entry.model_dump(), seq=seq))
            if len(entries) >= query.limit:
                next_sk = sk
                break
        self._log.append(
            entry_for(
                actor,
                entry_id=self._ids.new_id(),
                at=self._clock.now(),
                function="audit.read",
                action="read",
                persons=[query.person_id] if query.person_id else [],
                subject=_search_subject(query, start, end),
            )
        )
        return AuditLogPage(entries=entries, next_cursor=_encode_cursor(next_sk) if next_sk else None)


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


@dataclass
class _SealedLookup:
    """Finds a sealed entry by its sort key in the archive: first in the batch the stored entry's
    seal attributes name (one read), else by a binary search over the batches' ranges. Only the
    archived manifest is believed; the ranges read are kept for the next lookup."""

    archive: ManifestArchive
    chain: ChainStore
    end: int
    _ranges: dict[int, tuple[str, str] | None] = field(default_factory=dict)

    def _in(self, batch: int, sk: str) -> SealedEntry | None:
        manifest = self.archive.get(batch).manifest
        if manifest is None:
            self._ranges[batch] = None
            return None
        self._ranges[batch] = (manifest.lower_sk, manifest.upper_sk)
        if not manifest.lower_sk < sk <= manifest.upper_sk:
            return None
        return next((e for e in manifest.entries if e.sk == sk), None)

    def _range(self, batch: int) -> tuple[str, str] | None:
        if batch not in self._ranges:
            self._in(batch, "")
        return self._ranges[batch]

    def find(self, sk: str) -> SealedEntry | None:
        hint = self.chain.sealed_batch(sk)
        if hint is not None and 1 <= hint <= self.end and (found := self._in(hint, sk)) is not None:
            return found
        low, high = 1, self.end
        while low < high:
            middle = (low + high) // 2
            bounds = self._range(middle)
            if bounds is None:
                return None  # a gap in the archive: the walk names it
            if bounds[1] >= sk:
                high = middle
            else:
                low = middle + 1
        return self._in(low, sk) if self.end else None


class _Purges:
    """The days whose missing entries count as purged (``check_batch``'s ``purged_days``), each
    decided once, on first need, by ``purge_refusal``."""

    def __init__(
        self, records: Mapping[str, PurgeRecordView], oldest_kept: date, sealed: _SealedLookup
    ) -> None:
        self._records = records
        self._oldest_kept = oldest_kept
        self._sealed = sealed
        self._refusals: dict[str, str | None] = {}

    def refusal(self, day: str) -> str | None:
        """Why the day's record does not count (None: it does, or there is no record)."""
        self.__contains__(day)
        return self._refusals.get(day)

    def __contains__(self, day: object) -> bool:
        if not isinstance(day, str) or day not in self._records:
            return False
        if day not in self._refusals:
            record, when = self._records[day], _day(day)
            if when is None:
                self._refusals[day] = "not a date"
            else:
                log_entry = self._sealed.find(record.log_sk) if record.log_sk else None
                self._refusals[day] = purge_refusal(when, record.status, self._oldest_kept, log_entry)
        return self._refusals[day] is None

    def explain(self, manifest: Manifest, findings: list[Finding]) -> list[Finding]:
        """Says, on an entry found removed from a day with a purge record, why the record did not
        count."""
        days = {e.seq: day_of(e.sk) for e in manifest.entries}
        out = []
        for finding in findings:
            day = days.get(finding.seq) if finding.kind == "removed" and finding.seq is not None else None
            reason = self.refusal(day) if day is not None else None
            out.append(finding if reason is None else finding.model_copy(update={"detail": reason}))
        return out


def _lower_bound(manifest: Manifest) -> str:
    """Where to start reading storage for a batch: the first batch has no lower bound, so it starts
    on the day of its first entry (an entry inserted on an earlier day is outside every range)."""
    if manifest.lower_sk:
        return manifest.lower_sk
    return (manifest.entries[0].sk if manifest.entries else manifest.upper_sk)[:10]


def _search_subject(query: AuditQuery, start: datetime, end: datetime) -> str:
    parts = [f"oplog.search from={start.isoformat()}", f"to={end.isoformat()}"]
    if query.staff_id:
        parts.append(f"staff_id={query.staff_id}")
    if query.function:
        parts.append(f"function={query.function}")
    if query.person_id:
        parts.append("person_id=given")
    return " ".join(parts)
