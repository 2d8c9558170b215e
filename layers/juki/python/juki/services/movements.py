"""Application service for movements: entry (仮登録), approval (決裁) and commit (本登録)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

from juki.domain import movements as rules
from juki.domain.commands import MovementCommand
from juki.domain.errors import Conflict, DomainError, Issue, NotFound, RuleViolation
from juki.domain.linkage import OutboundMessage, messages_for
from juki.domain.listings import DRAFTS
from juki.domain.model import CommitPlan, Movement, MovementStatus
from juki.domain.movements import LedgerView
from juki.domain.my_number import MyNumberVault
from juki.domain.oplog import OperationLogEntry, Outcome, entry_for
from juki.domain.records import HouseholdRecord, PersonRecord
from juki.domain.restrictions import Process, Restricted, enforce
from juki.domain.retention import MoveOutCertificateClaim, RetentionPolicy
from juki.domain.search import IndexQuery, SearchIndex
from juki.domain.staff import Actor, Permission, SystemActor
from juki.domain.values import MovementKind
from juki.domain.visibility import hidden_items, visible, visible_movement
from juki.services.access import require
from juki.services.ports import (
    Allocation,
    Clock,
    CodeReservation,
    ExecutionOutcome,
    IdSource,
    LedgerStore,
    MoveOutCertificateReader,
    OperationLog,
    RestrictionCheck,
    Workflow,
)
from juki.services.search import SearchIndexReader

FUNCTION_ENTER = "movement.enter"
FUNCTION_APPROVE = "movement.approve"
FUNCTION_READ = "movement.read"


class CommitRefused(DomainError):
    """The approval's re-validation against the current ledger refused the movement."""

    status = 409

    def __init__(self, movement: Movement) -> None:
        first = movement.failure[0] if movement.failure else None
        super().__init__(
            "COMMIT_REFUSED",
            first.message if first else "本登録できませんでした",
            first.field if first else None,
            tuple(movement.failure),
        )


MASKED_ITEMS_DESCRIPTION = "表示の権限がなく伏せた項目 (resident_code, koseki, residence_status)"


# A movement as it leaves the service: its notice with the guarded items the caller may not see
# blanked, and the names of those items, so a blank is never read as "not notified". An answer
# model of its own rather than a field of ``Movement``: ``Movement`` is what the ledger stores, and
# a stored movement is never masked, so ``masked_items`` has no meaning there. As a subclass it
# keeps the movement's shape on the wire (one field more) and is a ``Movement`` to every caller.
# (The docstring is the API's description of the schema.)
class MovementView(Movement):
    """異動。照会した職員に表示の権限がない項目は伏せ、伏せた項目を masked_items に示す。"""

    masked_items: list[str] = Field(default_factory=list, description=MASKED_ITEMS_DESCRIPTION)


@dataclass(frozen=True)
class ApprovalOutcome:
    movement: MovementView
    execution: ExecutionOutcome


class RecordChange(BaseModel):
    """One record as it is and as the movement would make it (審査: the approver's before/after)."""

    record: str = Field(description="person または household")
    id: str = Field(description="宛名番号または世帯番号 (新しい記録は付番前の仮の番号)")
    before: dict[str, Any] | None = Field(description="今の内容 (新しい記録は null)")
    after: dict[str, Any] = Field(description="異動後の内容")
    changed: list[str] = Field(description="変わる項目")


class Preview(BaseModel):
    movement: Movement = Field(description="異動")
    issues: list[Issue] = Field(description="今の台帳で確認したエラー・アラート")
    changes: list[RecordChange] = Field(description="記録ごとの変更前・変更後")
    masked_items: list[str] = Field(
        default_factory=list,
        description=MASKED_ITEMS_DESCRIPTION + "。異動の内容と変更前・変更後の両方で伏せる",
    )


@dataclass(frozen=True)
class Checked:
    """What the checks of a move-in found, and the identity-bucket versions they read."""

    issues: list[Issue]
    identity_versions: dict[str, int]
    matched: list[str]  # person ids of residents the check compared against


class ReceivingLedgerStore(LedgerStore, Protocol):
    """The ledger store, whose commit can also write the mark that an inbound message was applied
    (so the message's effect and the mark are one transaction: juki.services.inbound)."""

    def commit(
        self,
        movement: Movement,
        plan: CommitPlan,
        log: OperationLogEntry,
        messages: list[OutboundMessage],
        *,
        identity_versions: dict[str, int],
        codes: dict[str, CodeReservation],
        claim: MoveOutCertificateClaim | None = None,
        received_from: str | None = None,
    ) -> None: ...


class MovementService:
    def __init__(
        self,
        store: ReceivingLedgerStore,
        log: OperationLog,
        workflow: Workflow,
        clock: Clock,
        ids: IdSource,
        *,
        restrictions: RestrictionCheck,
        vault: MyNumberVault,
        index: SearchIndexReader,
        certificates: MoveOutCertificateReader | None = None,
        retention: RetentionPolicy | None = None,
    ) -> None:
        """``certificates`` and ``retention``: the 転出証明書情報 a card move-in (特例転入) claims, and
        its period; without a reader every card move-in is refused as not found."""
        self._certificates = certificates
        self._retention = retention or RetentionPolicy()
        self._restrictions = restrictions
        self._vault = vault
        self._index = index
        self._store = store
        self._log = log
        self._workflow = workflow
        self._clock = clock
        self._ids = ids

    # -- the counter: 仮登録 ------------------------------------------------------------
    def enter(self, command: MovementCommand, actor: Actor) -> MovementView:
        """Saves a draft. A refused entry is logged too, with the residents it was compared
        against: asking whether someone lives here is itself an access to their record."""
        require(actor, Permission.MOVEMENT_ENTER)
        now = self._clock.now()
        command, allocation = self._sealed(command)
        view = self._view(command)
        checked = self._check(command, view, now)
        touched = sorted({*checked.matched, *view.persons})
        movement = Movement(
            movement_id=self._ids.new_id(),
            kind=MovementKind(command.kind),
            status=MovementStatus.DRAFT,
            command=command,
            entered_by=actor.staff_id,
            entered_at=now,
            office=actor.office,
            terminal=actor.terminal,
        )
        try:
            movement = movement.model_copy(update={"alerts": rules.raise_on_errors(checked.issues)})
            _dry_plan(movement, view, now)  # e.g. a version that would take effect before the last one
        except DomainError:
            self._log.append(
                self._entry(actor, now, "create", None, touched, outcome="refused", subject=_subject(command))
            )
            raise
        self._store.save_draft(
            movement,
            self._entry(actor, now, "create", movement.movement_id, touched, subject=_subject(command)),
            allocation,
        )
        return _shown(movement, actor)

    def drafts(self, actor: Actor) -> list[MovementView]:
        """Drafts waiting for approval, oldest first."""
        require(actor, Permission.RESIDENT_READ)
        movements = [m for m in map(self._load, self._store.listed(DRAFTS)) if not self._protected(m)]
        self._log.append(
            entry_for(actor, entry_id=self._ids.new_id(), at=self._clock.now(), function=FUNCTION_READ,
                      action="read", persons=sorted({p for m in movements for p in _named_persons(m)}))
        )  # fmt: skip
        return [_shown(m, actor) for m in movements]

    def preview(self, movement_id: str, actor: Actor) -> Preview:
        """What approving would write: every record before and after, checked against the ledger now."""
        require(actor, Permission.MOVEMENT_APPROVE)
        movement = self._load(movement_id)
        self._refuse_if_protected(movement, actor)
        now = self._clock.now()
        view = self._view(movement.command)
        checked = self._check(movement.command, view, now, movement_id)
        changes: list[RecordChange] = []
        issues = list(checked.issues)
        if not any(issue.severity == "error" for issue in issues):
            try:
                changes = _changes(view, _dry_plan(movement, view, now), actor.permissions)
            except RuleViolation as refused:
                issues += refused.issues
        self._log.append(
            self._entry(
                actor,
                now,
                "read",
                movement_id,
                sorted({*view.persons, *checked.matched}),
                subject=_subject(movement.command),
            )
        )
        return Preview(
            movement=visible_movement(movement, actor.permissions),
            issues=issues,
            changes=changes,
            masked_items=hidden_items(actor.permissions),
        )

    def reject(self, movement_id: str, actor: Actor, reason: str) -> MovementView:
        """差戻し: returned to the clerk with the reason; nothing reaches the ledger."""
        require(actor, Permission.MOVEMENT_APPROVE)
        now = self._clock.now()
        rejected = rules.reject(self._load(movement_id), actor, reason, now)
        self._store.save_rejection(
            rejected, self._entry(actor, now, "approve", movement_id, [], outcome="refused")
        )
        return _shown(rejected, actor)

    def get(self, movement_id: str, actor: Actor) -> MovementView:
        require(actor, Permission.RESIDENT_READ)
        movement = self._load(movement_id)
        self._refuse_if_protected(movement, actor)
        self._log.append(
            entry_for(
                actor,
                entry_id=self._ids.new_id(),
                at=self._clock.now(),
                function=FUNCTION_READ,
                action="read",
                movement_id=movement_id,
                persons=movement.result.person_ids if movement.result else sorted(_named_persons(movement)),
                households=movement.result.household_ids if movement.result else [],
            )
        )
        return _shown(movement, actor)

    # -- the approver: 審査・決裁 -----------------------------------------------------------
    def approve(self, movement_id: str, actor: Actor, wait_seconds: float) -> ApprovalOutcome:
        """Records the approval and runs the commit.

        Safe to ask again: for a movement the same person already approved and that is final, the
        answer is the movement; for one that is approved but not final (the commit's start was
        lost, or its execution stopped), the commit is pushed on, and Step Functions runs it once.
        """
        require(actor, Permission.MOVEMENT_APPROVE)
        movement = self._load(movement_id)
        if movement.status == MovementStatus.FINAL and movement.approved_by == actor.staff_id:
            return ApprovalOutcome(_shown(movement, actor), ExecutionOutcome(status="SUCCEEDED"))
        now = self._clock.now()
        log = self._entry(actor, now, "approve", movement_id, [])
        if movement.status == MovementStatus.APPROVED:
            rules.check_resume(movement, actor)
            self._log.append(log)  # pushing a commit on is an action of its own
        else:
            movement = rules.approve(movement, actor, self._ids.new_id(), now)
            self._store.save_approval(movement, log)
        assert movement.approval_id is not None
        execution_arn = self._workflow.start(
            name=f"{movement_id}-{movement.approval_id}",
            payload={"movement_id": movement_id, "approval_id": movement.approval_id},
        )
        outcome = self._workflow.wait(execution_arn, wait_seconds)
        movement = self._load(movement_id)
        if movement.status == MovementStatus.FAILED:
            raise CommitRefused(movement)
        return ApprovalOutcome(movement=_shown(movement, actor), execution=outcome)

    # -- the state machine: 本登録 ----------------------------------------------------------
    def commit(self, movement_id: str, approval_id: str) -> dict[str, Any]:
        """Checks the movement again against the ledger as it is now, then writes it in one
        transaction, conditional on what the checks read.

        Safe to repeat: the records written are derived from the stored movement and its approval
        time, the transaction is conditional on the movement still being approved, and a movement
        found final (a retry after a commit whose answer was lost) is answered from the record
        without writing anything. Only the log entry's time is the attempt's own (see
        ``_system_entry``), and only the attempt that commits writes it."""
        movement = self._committed(self._load_approved(movement_id, approval_id))
        assert movement.result is not None
        return {"movement_id": movement_id, "status": movement.status, **movement.result.model_dump()}

    # -- a peer's message, applied by the system: 転入通知, 個人番号の指定 ----------------------
    def apply_received(self, command: MovementCommand, actor: SystemActor, source_id: str) -> Movement:
        """Applies a movement a peer system notified (``source_id``: ``<peer>#<message_id>``),
        entered and approved by the system (no clerk: the law makes these notices binding), and
        commits it at once through the same checks and the same single transaction as
        ``commit``, which also writes the message's inbox mark.

        Safe to repeat: the movement's id and approval derive from ``source_id``, so a retry (or a
        second run reading the same file) finds the movement and carries it on, or answers it as
        it stands. A movement the rules refuse is recorded as failed with its issues and raised
        as ``CommitRefused`` (the same answer on every later attempt)."""
        movement_id = received_id(source_id)
        movement = self._store.get_movement(movement_id) or self._save_received(
            command, actor, source_id, movement_id
        )
        if movement.status == MovementStatus.APPROVED:
            try:
                movement = self._committed(movement, actor, received_from=source_id)
            except RuleViolation as refused:
                self._record_failure(movement, refused.code, actor)
                movement = self._load(movement_id)
        if movement.status == MovementStatus.FAILED:
            raise CommitRefused(movement)
        return movement

    def receive_draft(self, command: MovementCommand, actor: SystemActor, source_id: str) -> Movement:
        """A notice an applicant sent online (申請管理: a 転出届 through the portal) saved as a draft
        (仮登録) for the counter to review: the same entry checks as a clerk's entry, and never
        applied without an approver. Safe to repeat: the movement's id derives from
        ``source_id``, so a second reading of the same file finds the draft already there."""
        movement_id = received_id(source_id)
        found = self._store.get_movement(movement_id)
        if found is not None:
            return found
        now = self._clock.now()
        command, allocation = self._sealed(command)
        view = self._view(command)
        checked = self._check(command, view, now)
        staff_id = f"system:{actor.name}"
        movement = Movement(
            movement_id=movement_id,
            kind=MovementKind(command.kind),
            status=MovementStatus.DRAFT,
            command=command,
            entered_by=staff_id,
            entered_at=now,
            office="online",
            terminal=staff_id,
        )
        movement = movement.model_copy(update={"alerts": rules.raise_on_errors(checked.issues)})
        _dry_plan(movement, view, now)
        entry = entry_for(
            actor, entry_id=f"{movement_id}:create", at=now, function=FUNCTION_ENTER, action="create",
            movement_id=movement_id, persons=sorted({*checked.matched, *view.persons}),
        )  # fmt: skip
        return self._saved_once(movement, entry, allocation)

    def _save_received(
        self, command: MovementCommand, actor: SystemActor, source_id: str, movement_id: str
    ) -> Movement:
        """The movement as the system enters and approves it (its 個人番号 sealed first), with its
        log entry; a concurrent attempt that saved it first wins, and its movement is used."""
        now = self._clock.now()
        command, allocation = self._sealed(command)
        staff_id = f"system:{actor.name}"
        movement = Movement(
            movement_id=movement_id,
            kind=MovementKind(command.kind),
            status=MovementStatus.APPROVED,
            command=command,
            entered_by=staff_id,
            entered_at=now,
            office="system",
            terminal=staff_id,
            approved_by=staff_id,
            approved_at=now,
            approval_id=received_id(source_id, "approval"),
        )
        entry = entry_for(
            actor, entry_id=f"{movement.approval_id}:create", at=now, function=FUNCTION_ENTER,
            action="create", movement_id=movement_id, persons=sorted(_named_persons(movement)),
            approved_by=staff_id,
        )  # fmt: skip
        return self._saved_once(movement, entry, allocation)

    def _saved_once(
        self, movement: Movement, entry: OperationLogEntry, allocation: Allocation | None
    ) -> Movement:
        """Saves a movement whose id derives from an inbound message; if a concurrent attempt at
        the same message saved it first, that one stands and is returned."""
        try:
            self._store.save_draft(movement, entry, allocation)
        except Conflict:
            saved = self._store.get_movement(movement.movement_id)
            if saved is None:
                raise
            return saved
        return movement

    def _committed(
        self, movement: Movement, actor: SystemActor | None = None, received_from: str | None = None
    ) -> Movement:
        """The approved movement written (see ``commit``), or the final one as it stands."""
        if movement.status == MovementStatus.APPROVED:
            at = _approved_at(movement)
            view = self._view(movement.command)
            checked = self._check(movement.command, view, at, movement.movement_id)
            rules.raise_on_errors(checked.issues)
            persons, households = rules.new_ids_needed(movement.command)
            allocation = self._store.allocate_ids(
                movement.movement_id, persons=persons, households=households
            )
            plan = rules.plan(movement, view, allocation.person_ids, allocation.household_ids, at)
            reservations = dict(
                zip(plan.code_needed, self._store.reserve_resident_codes(len(plan.code_needed)), strict=True)
            )
            plan = rules.with_resident_codes(plan, {pid: r.code for pid, r in reservations.items()})
            final = rules.finalise(movement, plan)
            now = self._clock.now()
            self._store.commit(
                final,
                plan,
                self._system_entry(movement, "commit", [p.person_id for p in plan.persons], now, actor),
                messages_for(plan, at),
                identity_versions=checked.identity_versions,
                codes=reservations,
                claim=rules.certificate_claim(movement, now),
                received_from=received_from,
            )
            movement = final
        if movement.status != MovementStatus.FINAL or movement.result is None:
            raise Conflict("MOVEMENT_NOT_APPROVED", "決裁済みの異動ではありません", "status")
        return movement

    def record_failure(self, movement_id: str, approval_id: str, error_code: str | None) -> None:
        """Records why an approved movement was refused at commit. The checks run again here so the
        record names every issue, while the state machine only ever carried the error code. Safe to
        repeat: a movement no longer approved is left as is, and the write is conditional on it."""
        self._record_failure(self._load_approved(movement_id, approval_id), error_code)

    def _record_failure(
        self, movement: Movement, error_code: str | None, actor: SystemActor | None = None
    ) -> None:
        if movement.status != MovementStatus.APPROVED:
            return
        checked = self._check(
            movement.command, self._view(movement.command), _approved_at(movement), movement.movement_id
        )
        issues = [issue for issue in checked.issues if issue.severity == "error"]
        if not issues:
            issues = [Issue(code=error_code or "COMMIT_FAILED", message="本登録できませんでした")]
        self._store.save_failure(
            rules.fail(movement, issues),
            self._system_entry(movement, "fail", checked.matched, self._clock.now(), actor),
        )

    # -- helpers ----------------------------------------------------------------------------
    def _protected_issues(self, movement: Movement) -> list[Issue]:
        """Reading a movement reads the records it names: 抑止 for inquiry applies to them."""
        refs = rules.references(movement.command)
        persons = set(refs.person_ids) | set(movement.result.person_ids if movement.result else [])
        households = set(refs.household_ids) | set(movement.result.household_ids if movement.result else [])
        return self._restrictions.check(persons, households, Process.INQUIRY, self._clock.now())

    def _protected(self, movement: Movement) -> bool:
        return any(issue.severity == "error" for issue in self._protected_issues(movement))

    def _refuse_if_protected(self, movement: Movement, actor: Actor) -> None:
        try:
            enforce(self._protected_issues(movement))
        except Restricted:
            self._log.append(
                self._entry(actor, self._clock.now(), "read", movement.movement_id, [], outcome="refused")
            )
            raise

    def _holders_of(self, blind_index: str) -> set[str]:
        """Everyone a 個人番号 was ever recorded for (its blind index, over every version)."""
        query = IndexQuery(SearchIndex.MY_NUMBER, f"MYNUM#{blind_index}")
        return {hit.record.person_id for hit in self._index.hits(query, None, page_size=10)}

    def _sealed(self, command: MovementCommand) -> tuple[MovementCommand, Allocation | None]:
        """A notice carrying 個人番号 is stored only sealed. Newcomers' numbers are sealed for the
        ids they will have, so those ids are taken now and kept with the draft."""
        if not rules.carries_my_number(command):
            return command, None
        persons, households = rules.new_ids_needed(command)
        allocation = Allocation(
            person_ids=self._store.reserve_sequence("person", persons),
            household_ids=self._store.reserve_sequence("household", households),
        )
        seals = {
            field: self._vault.seal(number, person_id)
            for field, (number, person_id) in rules.numbers_to_seal(command, allocation.person_ids).items()
        }
        return rules.sealed(command, seals), allocation

    def _view(self, command: MovementCommand) -> LedgerView:
        """What the movement names, read consistently: the persons and households, their members
        and households, and for a cancellation the movement undone and the versions before it."""
        refs = rules.references(command)
        cancelled = self._store.get_movement(refs.movement_id) if refs.movement_id else None
        person_ids, household_ids = set(refs.person_ids), set(refs.household_ids)
        if cancelled and cancelled.result:
            person_ids |= set(cancelled.result.person_ids)
            household_ids |= set(cancelled.result.household_ids)
        persons = self._store.persons_by_id(person_ids)
        households = self._store.households_by_id(household_ids | {p.household_id for p in persons.values()})
        members = {m for h in households.values() for m in h.member_ids} - set(persons)
        persons |= self._store.persons_by_id(members)
        view = LedgerView(persons=persons, households=households, cancelled=cancelled)
        if cancelled is None:
            return view
        return LedgerView(
            persons=persons,
            households=households,
            cancelled=cancelled,
            earlier_persons=_earlier(persons, cancelled.movement_id, self._store.person_version),
            earlier_households=_earlier(households, cancelled.movement_id, self._store.household_version),
        )

    def _check(
        self, command: MovementCommand, view: LedgerView, at: datetime, movement_id: str | None = None
    ) -> Checked:
        """The kind's rules, the identity check, and the restrictions on what the notice names
        (抑止 for movement entry: errors refuse, alerts go to the approver). For a card move-in,
        the 転出証明書情報 first: when it cannot be claimed, that is the answer the counter needs
        (``movement_id``: a claim by this movement itself is no obstacle)."""
        claims = rules.identity_claims(command, view)
        buckets = self._store.identity_buckets([claim.key for claim in claims])
        candidates: dict[str, list[PersonRecord]] = {key: bucket.persons for key, bucket in buckets.items()}
        refs = rules.references(command)
        households = set(refs.household_ids) | {
            view.persons[p].household_id for p in refs.person_ids if p in view.persons
        }
        restricted = self._restrictions.check(refs.person_ids, households, Process.MOVEMENT, at)
        brought = rules.brought_codes(command)
        holders = {code: self._store.resident_code_holder(code) for code in brought}
        numbers = rules.sealed_numbers(command)
        number_holders = {blind: self._holders_of(blind) for blind, _ in numbers.values()}
        certificate_id = rules.move_out_certificate_id(command)
        held = (
            self._certificates.held_move_out_certificate(certificate_id)
            if certificate_id is not None and self._certificates is not None
            else None
        )
        return Checked(
            issues=rules.check_card_move_in(command, held, movement_id, at.date(), self._retention)
            + rules.check(command, view, at.date())
            + rules.check_not_resident(claims, candidates)
            + rules.check_brought_codes(brought, holders)
            + rules.check_my_numbers(numbers, number_holders)
            + restricted,
            identity_versions={key: bucket.version for key, bucket in buckets.items()},
            matched=sorted({p.person_id for bucket in buckets.values() for p in bucket.persons}),
        )

    def _entry(
        self,
        actor: Actor,
        at: datetime,
        action: Literal["create", "approve", "read"],
        movement_id: str | None,
        persons: list[str],
        *,
        outcome: Outcome = "success",
        subject: str | None = None,
    ) -> OperationLogEntry:
        return entry_for(
            actor,
            entry_id=self._ids.new_id(),
            at=at,
            function=FUNCTION_ENTER if action == "create" else FUNCTION_APPROVE,
            action=action,
            movement_id=movement_id,
            persons=persons,
            outcome=outcome,
            subject=subject,
        )

    def _system_entry(
        self,
        movement: Movement,
        action: Literal["commit", "fail"],
        persons: list[str],
        at: datetime,
        actor: SystemActor | None = None,
    ) -> OperationLogEntry:
        """The state machine's entry for an approval's commit or refusal.

        ``at`` is when the entry is written, not when the approval was given: the log is sealed
        in time order with a grace period (ADR 0009), and an entry stamped minutes in the past (a
        commit retried with backoff, an execution re-run by hand) could land behind the sealed
        boundary, never be sealed, and be reported as inserted. Retries stay single: the id names
        the approval and the step, and the transaction that writes the entry is conditional on the
        movement's status, so only one attempt ever writes one."""
        return entry_for(
            actor
            or SystemActor(name="movement-approval", request_id=movement.approval_id or movement.movement_id),
            entry_id=f"{movement.approval_id}:{action}",
            at=at,
            function=FUNCTION_APPROVE,
            action=action,
            movement_id=movement.movement_id,
            persons=persons,
            approved_by=movement.approved_by,
            outcome="success" if action == "commit" else "refused",
            subject=_subject(movement.command),
        )

    def _load(self, movement_id: str) -> Movement:
        movement = self._store.get_movement(movement_id)
        if movement is None:
            raise NotFound("MOVEMENT_NOT_FOUND", "異動が見つかりません", "movement_id")
        return movement

    def _load_approved(self, movement_id: str, approval_id: str) -> Movement:
        movement = self._load(movement_id)
        if movement.approval_id != approval_id:
            raise DomainError("APPROVAL_MISMATCH", "決裁が一致しません", "approval_id")
        return movement


def received_id(source_id: str, what: str = "movement") -> str:
    """The id of the movement (or its approval) that applies an inbound message: derived from the
    message, so every attempt at the message names the same movement (32 hex digits, the form of
    every movement id)."""
    return hashlib.sha256(f"inbound|{what}|{source_id}".encode()).hexdigest()[:32]


def _subject(command: MovementCommand) -> str | None:
    """A card move-in reads (and at commit claims) a 転出証明書情報: its id goes in the log entry."""
    certificate_id = rules.move_out_certificate_id(command)
    return f"move_out_certificate {certificate_id}" if certificate_id else None


def _dry_plan(movement: Movement, view: LedgerView, at: datetime) -> CommitPlan:
    """The plan with stand-in ids for the people and households not yet numbered."""
    persons, households = rules.new_ids_needed(movement.command)
    return rules.plan(
        movement, view, [f"new-person-{i + 1}" for i in range(persons)],
        [f"new-household-{i + 1}" for i in range(households)], at,
    )  # fmt: skip


def _approved_at(movement: Movement) -> datetime:
    assert movement.approved_at is not None
    return movement.approved_at


def _earlier[R: (PersonRecord, HouseholdRecord)](
    current: dict[str, R], movement_id: str, version_of: Callable[[str, int], R | None]
) -> dict[str, R]:
    """For each record the movement wrote last, the version before it (none if it created it)."""
    earlier: dict[str, R] = {}
    for record_id, record in current.items():
        if record.movement_id == movement_id and record.version > 1:
            found = version_of(record_id, record.version - 1)
            if found is not None:
                earlier[record_id] = found
    return earlier


def _named_persons(movement: Movement) -> set[str]:
    refs = rules.references(movement.command)
    return set(refs.person_ids)


def _shown(movement: Movement, actor: Actor) -> MovementView:
    """The movement as it leaves the service to this caller (never stored). Built without
    validating again: every value comes from a validated movement."""
    shown = visible_movement(movement, actor.permissions)
    return MovementView.model_construct(**dict(shown), masked_items=hidden_items(actor.permissions))


def _changes(view: LedgerView, plan: CommitPlan, permissions: frozenset[Permission]) -> list[RecordChange]:
    """Before and after of each record, the person records as the caller may see them. ``changed``
    is taken from the records themselves, so it still names a guarded item that changes (without
    its value): the approver is told that something they may not see is being changed."""
    stamp = {"version", "movement_id", "movement_kind", "recorded_at", "effective_date", "notified_date"}
    changes: list[RecordChange] = []
    pairs: list[tuple[str, str, PersonRecord | HouseholdRecord | None, PersonRecord | HouseholdRecord]] = [
        *(("person", p.person_id, view.persons.get(p.person_id), p) for p in plan.persons),
        *(("household", h.household_id, view.households.get(h.household_id), h) for h in plan.households),
    ]
    for kind, record_id, before, after in pairs:
        before_dump = before.model_dump(mode="json") if before else None
        after_dump = after.model_dump(mode="json")
        changed = sorted(
            k for k in after_dump if k not in stamp and (before_dump or {}).get(k) != after_dump[k]
        )
        changes.append(
            RecordChange(
                record=kind,
                id=record_id,
                before=_shown_record(before, permissions).model_dump(mode="json") if before else None,
                after=_shown_record(after, permissions).model_dump(mode="json"),
                changed=changed,
            )
        )
    return changes


def _shown_record(
    record: PersonRecord | HouseholdRecord, permissions: frozenset[Permission]
) -> PersonRecord | HouseholdRecord:
    return visible(record, permissions) if isinstance(record, PersonRecord) else record
