"""保存期間の管理: the scheduled purge of 送付先情報 and unclaimed 転出証明書情報, and the move of old
removed records to the archive; plus the 転出証明書情報 store's receive and claim.

A run is a sequence of bounded steps (the state machine calls ``step`` again while it answers
``more``): the jobs in order (``juki.domain.retention.JOBS``), each in batches. Every step is
safe to repeat:

* 送付先情報: the step's log entry is written first (what it is about to delete), then every
  version of the due files is deleted by version id; a repeat finds only what is left.
* 転出証明書情報: each batch is deleted in one transaction with its log entry, each item on
  condition it is still unclaimed.
* 除票: archive object written, read back and compared, then the ledger items deleted (versions,
  then CURRENT with the identity buckets and the log entry in one transaction). A repeat after a
  crash merges what the archive holds with what the ledger still has, so nothing is lost.

Each job also logs one summary entry per run with its totals, so a run that removed nothing is
recorded too. Nothing personal is logged or returned: ids and counts only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Protocol

from juki.domain.errors import NotFound
from juki.domain.movements import person_identity
from juki.domain.my_number import STORAGE
from juki.domain.oplog import OperationLogEntry, entry_for
from juki.domain.records import PersonRecord
from juki.domain.retention import (
    JOBS,
    ArchivedPerson,
    Job,
    MoveOutCertificate,
    MoveOutCertificateClaim,
    RetentionPolicy,
    RetentionRefused,
    check_claim,
    merge_versions,
    move_out_certificate_due_on,
    next_job,
    removed_record_due,
    removed_record_expires_on,
    run_day,
    sending_address_cutoff,
)
from juki.domain.staff import Actor, Permission, SystemActor
from juki.services.access import require
from juki.services.ports import Clock, IdSource, OperationLog

FUNCTION = "retention"
FUNCTION_MOVE_OUT_CERTIFICATE = "move_out_certificate"
ACTOR_NAME = "retention"

FILE_VERSIONS_PER_STEP = 1000
CERTIFICATES_PER_TRANSACTION = 24  # with the log entry: 25 items, moto's limit
CERTIFICATES_PER_STEP = 10 * CERTIFICATES_PER_TRANSACTION
SCAN_PAGE_ITEMS = 1000
SCAN_PAGES_PER_STEP = 5
# Items scanned per nightly run: about 1 MB a page, 200 pages; a ledger of three million items is
# swept in a fortnight, late by at most that much on a five-year rule (ADR 0011).
SCAN_ITEMS_PER_RUN = 200_000
PERSONS_PER_STEP = 100  # when the run names its persons
TRANSACTION_ITEMS = 25


# -- ports ---------------------------------------------------------------------------------------


class FileVersionRef(Protocol):
    @property
    def key(self) -> str: ...


class DueFilesBatch(Protocol):
    @property
    def files(self) -> int: ...

    @property
    def versions(self) -> Sequence[Any]: ...

    @property
    def more(self) -> bool: ...


class SendingAddressFiles(Protocol):
    def due(self, created_on_or_before: date, limit: int = ...) -> DueFilesBatch: ...

    def delete(self, versions: Sequence[Any]) -> None: ...


class StoredCertificateView(Protocol):
    @property
    def certificate(self) -> MoveOutCertificate | None: ...

    @property
    def claim(self) -> MoveOutCertificateClaim | None: ...


class MoveOutCertificates(Protocol):
    def receive(
        self, certificate: MoveOutCertificate, received_at: datetime, due_on: date, log: OperationLogEntry
    ) -> bool: ...

    def get(self, certificate_id: str) -> StoredCertificateView | None: ...

    def claim(self, claim: MoveOutCertificateClaim, log: OperationLogEntry) -> None: ...

    def due(self, as_of: date, limit: int) -> list[str]: ...

    def purge(self, certificate_ids: Sequence[str], log: OperationLogEntry) -> None: ...


class StoredPersonView(Protocol):
    @property
    def versions(self) -> list[dict[str, Any]]: ...


class ScanPageView(Protocol):
    @property
    def currents(self) -> list[PersonRecord]: ...

    @property
    def cursor(self) -> dict[str, Any] | None: ...

    @property
    def scanned(self) -> int: ...


class RemovedRecordLedger(Protocol):
    def cursor(self) -> dict[str, Any] | None: ...

    def save_cursor(self, cursor: dict[str, Any] | None) -> None: ...

    def scan_page(self, cursor: dict[str, Any] | None, page_size: int) -> ScanPageView: ...

    def currents(self, person_ids: Sequence[str]) -> list[PersonRecord]: ...

    def stored(self, person_id: str) -> StoredPersonView | None: ...

    def delete_persons(
        self, persons: Sequence[tuple[str, int, set[str]]], log: OperationLogEntry
    ) -> None: ...


class RecordArchive(Protocol):
    def write(self, document: ArchivedPerson) -> None: ...

    def document(self, person_id: str) -> ArchivedPerson | None: ...


# -- a run ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    sending_address_files: int = 0
    sending_address_versions: int = 0
    move_out_certificates: int = 0
    removed_records_archived: int = 0
    ledger_items_scanned: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            **{name: getattr(self, name) + getattr(other, name) for name in self.__dataclass_fields__}
        )

    def of(self, job: Job) -> str:
        """The job's counts as the log entry's subject: names and numbers only."""
        if job == "sending_addresses":
            return f"files={self.sending_address_files} versions={self.sending_address_versions}"
        if job == "move_out_certificates":
            return f"certificates={self.move_out_certificates}"
        return f"archived={self.removed_records_archived} scanned={self.ledger_items_scanned}"


@dataclass(frozen=True)
class RunState:
    """Where a run is: carried from step to step by the state machine (no personal data)."""

    execution: str
    started_on: date  # the run's day in Japan: a run crossing midnight keeps its day
    as_of: date | None = None
    job: Job = JOBS[0]
    person_ids: tuple[str, ...] | None = None  # a run limited to these persons (tests, operators)
    # This run's counts so far. Each job has counts of its own, so a job's totals are its fields.
    totals: Counts = field(default_factory=Counts)


@dataclass(frozen=True)
class StepResult:
    state: RunState
    as_of: date
    more: bool
    counts: Counts  # this step's


class RetentionService:
    def __init__(
        self,
        policy: RetentionPolicy,
        *,
        files: SendingAddressFiles,
        certificates: MoveOutCertificates,
        ledger: RemovedRecordLedger,
        archive: RecordArchive,
        log: OperationLog,
        clock: Clock,
        ids: IdSource,
    ) -> None:
        self.policy = policy
        self._files = files
        self._certificates = certificates
        self._ledger = ledger
        self._archive = archive
        self._log = log
        self._clock = clock
        self._ids = ids

    # -- the scheduled run ----------------------------------------------------------------------
    def step(self, state: RunState) -> StepResult:
        """One bounded batch of the current job; moves on to the next job when it is done."""
        as_of = run_day(state.as_of, state.started_on)
        actor = SystemActor(ACTOR_NAME, state.execution)
        person_ids = state.person_ids
        if state.job == "sending_addresses":
            counts, more = self._sending_addresses(as_of, actor)
        elif state.job == "move_out_certificates":
            counts, more = self._move_out_certificates(as_of, actor)
        elif state.person_ids is not None:
            counts, person_ids = self._named_removed_records(as_of, actor, state.person_ids)
            more = bool(person_ids)
        else:
            counts, more = self._removed_records(as_of, actor, state)
        totals = state.totals + counts
        if more:
            following_state = replace(state, as_of=as_of, totals=totals, person_ids=person_ids)
            return StepResult(following_state, as_of, True, counts)
        self._log.append(self._entry(actor, state.job, as_of, totals, summary=True))
        following = next_job(state.job)
        if following is None:
            return StepResult(replace(state, as_of=as_of, totals=totals), as_of, False, counts)
        return StepResult(replace(state, as_of=as_of, job=following, totals=totals), as_of, True, counts)

    def _sending_addresses(self, as_of: date, actor: SystemActor) -> tuple[Counts, bool]:
        due = self._files.due(sending_address_cutoff(as_of, self.policy), FILE_VERSIONS_PER_STEP)
        counts = Counts(sending_address_files=due.files, sending_address_versions=len(due.versions))
        if due.versions:
            self._log.append(self._entry(actor, "sending_addresses", as_of, counts))
            self._files.delete(due.versions)
        return counts, due.more

    def _move_out_certificates(self, as_of: date, actor: SystemActor) -> tuple[Counts, bool]:
        due = self._certificates.due(as_of, CERTIFICATES_PER_STEP)
        for start in range(0, len(due), CERTIFICATES_PER_TRANSACTION):
            chunk = due[start : start + CERTIFICATES_PER_TRANSACTION]
            counts = Counts(move_out_certificates=len(chunk))
            entry = self._entry(actor, "move_out_certificates", as_of, counts, ids=chunk)
            self._certificates.purge(chunk, entry)
        return Counts(move_out_certificates=len(due)), len(due) == CERTIFICATES_PER_STEP

    def _named_removed_records(
        self, as_of: date, actor: SystemActor, person_ids: tuple[str, ...]
    ) -> tuple[Counts, tuple[str, ...]]:
        """A run limited to named persons (no scan): those of them due are archived; the ids not
        yet looked at are returned, for the next step."""
        currents = self._ledger.currents(person_ids[:PERSONS_PER_STEP])
        archived = self._archive_due(currents, as_of, actor)
        return Counts(removed_records_archived=archived), person_ids[PERSONS_PER_STEP:]

    def _removed_records(self, as_of: date, actor: SystemActor, state: RunState) -> tuple[Counts, bool]:
        cursor = self._ledger.cursor()
        currents: list[PersonRecord] = []
        scanned = 0
        for _ in range(SCAN_PAGES_PER_STEP):
            page = self._ledger.scan_page(cursor, SCAN_PAGE_ITEMS)
            currents += page.currents
            scanned += page.scanned
            cursor = page.cursor
            if cursor is None:
                break
        archived = self._archive_due(currents, as_of, actor)
        self._ledger.save_cursor(cursor)  # only once this page's due persons are archived
        within_budget = state.totals.ledger_items_scanned + scanned < SCAN_ITEMS_PER_RUN
        counts = Counts(removed_records_archived=archived, ledger_items_scanned=scanned)
        return counts, cursor is not None and within_budget

    def _archive_due(self, currents: list[PersonRecord], as_of: date, actor: SystemActor) -> int:
        ready: list[tuple[str, int, set[str]]] = []
        for current in currents:
            if removed_record_due(current, as_of, self.policy):
                done = self._archive_person(current)
                if done is not None:
                    ready.append(done)
        batch: list[tuple[str, int, set[str]]] = []
        for person in ready:
            if batch and 1 + sum(1 + len(keys) for _, _, keys in [*batch, person]) > TRANSACTION_ITEMS:
                self._delete(batch, as_of, actor)
                batch = []
            batch.append(person)
        if batch:
            self._delete(batch, as_of, actor)
        return len(ready)

    def _archive_person(self, current: PersonRecord) -> tuple[str, int, set[str]] | None:
        """Writes (or completes) the archive document; returns what the ledger deletion needs, or
        None when the ledger changed meanwhile (the person is looked at again next run)."""
        person_id = current.person_id
        stored = self._ledger.stored(person_id)
        existing = self._archive.document(person_id)
        versions = merge_versions(existing.versions if existing else [], stored.versions if stored else [])
        if not versions or int(versions[-1]["version"]) != current.version:
            return None
        if existing is None or existing.versions != versions:
            assert current.removal is not None  # removed_record_due checked it
            self._archive.write(
                ArchivedPerson(
                    person_id=person_id,
                    removed_on=current.removal.removed_on,
                    expires_on=removed_record_expires_on(current.removal.removed_on),
                    archived_at=self._clock.now(),
                    versions=versions,
                )
            )
        records = [PersonRecord.model_validate(v, context=STORAGE) for v in versions]
        return person_id, current.version, {person_identity(r) for r in records}

    def _delete(self, batch: list[tuple[str, int, set[str]]], as_of: date, actor: SystemActor) -> None:
        entry = self._entry(actor, "removed_records", as_of, Counts(removed_records_archived=len(batch)))
        self._ledger.delete_persons(batch, entry.model_copy(update={"persons": [pid for pid, _, _ in batch]}))

    def _entry(
        self,
        actor: SystemActor,
        job: Job,
        as_of: date,
        counts: Counts,
        *,
        summary: bool = False,
        ids: Sequence[str] = (),
    ) -> OperationLogEntry:
        kind = "run total" if summary else "batch"
        named = f" ids={','.join(ids)}" if ids else ""
        return entry_for(
            actor,
            entry_id=self._ids.new_id(),
            at=self._clock.now(),
            function=FUNCTION,
            action="purge",
            subject=f"{job} {kind} as_of={as_of.isoformat()} {counts.of(job)}{named}",
        )

    # -- 転出証明書情報: receive and claim ----------------------------------------------------------
    def receive_move_out_certificate(self, certificate: MoveOutCertificate, actor: SystemActor) -> bool:
        """Stores what the CS sent (the linkage's task); False if it was received before."""
        now = self._clock.now()
        entry = self._certificate_entry(actor, "create", certificate.certificate_id, now)
        due_on = move_out_certificate_due_on(certificate.planned_date, self.policy)
        return self._certificates.receive(certificate, now, due_on, entry)

    def move_out_certificate(self, certificate_id: str, actor: Actor) -> MoveOutCertificate:
        """The data for a card move-in's entry, while unclaimed and within its period (logged read)."""
        require(actor, Permission.MOVEMENT_ENTER)
        stored = self._certificates.get(certificate_id)
        if stored is None or stored.certificate is None:
            raise NotFound(
                "MOVE_OUT_CERTIFICATE_NOT_FOUND",
                "転出証明書情報が見つかりません (受信前、使用済み、または消去済み)",
                "certificate_id",
            )
        now = self._clock.now()
        check_claim(stored.certificate.planned_date, now.date(), self.policy)
        self._log.append(self._certificate_entry(actor, "read", certificate_id, now))
        return stored.certificate

    def claim_move_out_certificate(
        self, certificate_id: str, movement_id: str, actor: Actor | SystemActor
    ) -> MoveOutCertificateClaim:
        """The card move-in takes the data: its personal items are dropped, the claim kept. The
        same movement claiming again gets the same claim (a retried commit)."""
        stored = self._certificates.get(certificate_id)
        if stored is None:
            raise NotFound(
                "MOVE_OUT_CERTIFICATE_NOT_FOUND", "転出証明書情報が見つかりません", "certificate_id"
            )
        if stored.claim is not None:
            if stored.claim.claimed_by == movement_id:
                return stored.claim
            raise RetentionRefused(
                "MOVE_OUT_CERTIFICATE_CLAIMED",
                "転出証明書情報はすでに別の転入で使用されています",
                "certificate_id",
            )
        assert stored.certificate is not None  # unclaimed items keep their data
        now = self._clock.now()
        check_claim(stored.certificate.planned_date, now.date(), self.policy)
        claim = MoveOutCertificateClaim(certificate_id=certificate_id, claimed_at=now, claimed_by=movement_id)
        entry = self._certificate_entry(actor, "update", certificate_id, now, movement_id)
        self._certificates.claim(claim, entry)
        return claim

    def _certificate_entry(
        self,
        actor: Actor | SystemActor,
        action: Any,
        certificate_id: str,
        at: datetime,
        movement_id: str | None = None,
    ) -> OperationLogEntry:
        return entry_for(
            actor,
            entry_id=self._ids.new_id(),
            at=at,
            function=FUNCTION_MOVE_OUT_CERTIFICATE,
            action=action,
            movement_id=movement_id,
            subject=f"move_out_certificate {certificate_id}",
        )
