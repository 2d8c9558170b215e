"""Application service for movements: entry (仮登録), approval (決裁) and commit (本登録)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from juki.domain import movements as rules
from juki.domain.errors import Conflict, DomainError, Forbidden, Issue, NotFound
from juki.domain.linkage import messages_for
from juki.domain.model import CommitPlan, MoveIn, Movement, MovementKind, MovementStatus
from juki.domain.oplog import entry_for
from juki.domain.staff import Actor, Permission, SystemActor
from juki.services.ports import Clock, ExecutionOutcome, IdSource, LedgerStore, OperationLog, Workflow

FUNCTION_ENTER = "movement.enter"
FUNCTION_APPROVE = "movement.approve"
FUNCTION_READ = "movement.read"


def require(actor: Actor, permission: Permission) -> None:
    if not actor.may(permission):
        raise Forbidden("PERMISSION_DENIED", "この操作の権限がありません")


@dataclass(frozen=True)
class ApprovalOutcome:
    movement: Movement
    execution: ExecutionOutcome


class MovementService:
    def __init__(
        self, store: LedgerStore, log: OperationLog, workflow: Workflow, clock: Clock, ids: IdSource
    ) -> None:
        self._store = store
        self._log = log
        self._workflow = workflow
        self._clock = clock
        self._ids = ids

    # -- the counter: 仮登録 ------------------------------------------------------------
    def enter(self, command: MoveIn, actor: Actor) -> Movement:
        require(actor, Permission.MOVEMENT_ENTER)
        now = self._clock.now()
        alerts = rules.raise_on_errors(self._checks(command, now.date()))
        movement = Movement(
            movement_id=self._ids.new_id(),
            kind=MovementKind.MOVE_IN,
            status=MovementStatus.DRAFT,
            command=command,
            alerts=alerts,
            entered_by=actor.staff_id,
            entered_at=now,
            office=actor.office,
            terminal=actor.terminal,
        )
        log = entry_for(
            actor,
            entry_id=self._ids.new_id(),
            at=now,
            function=FUNCTION_ENTER,
            action="create",
            movement_id=movement.movement_id,
        )
        self._store.save_draft(movement, log)
        return movement

    def get(self, movement_id: str, actor: Actor) -> Movement:
        require(actor, Permission.RESIDENT_READ)
        movement = self._load(movement_id)
        self._log.append(
            entry_for(
                actor,
                entry_id=self._ids.new_id(),
                at=self._clock.now(),
                function=FUNCTION_READ,
                action="read",
                movement_id=movement_id,
                persons=movement.result.person_ids if movement.result else [],
                households=[movement.result.household_id] if movement.result else [],
            )
        )
        return movement

    # -- the approver: 審査・決裁 -----------------------------------------------------------
    def approve(self, movement_id: str, actor: Actor, wait_seconds: float) -> ApprovalOutcome:
        """Records the approval, then runs the commit. Asking again for a movement that is
        approved but not yet final (the start was lost, say) starts the same execution again,
        which Step Functions runs only once."""
        require(actor, Permission.MOVEMENT_APPROVE)
        movement = self._load(movement_id)
        if movement.status != MovementStatus.APPROVED:
            now = self._clock.now()
            movement = rules.approve(movement, actor, self._ids.new_id(), now)
            log = entry_for(
                actor,
                entry_id=self._ids.new_id(),
                at=now,
                function=FUNCTION_APPROVE,
                action="approve",
                movement_id=movement_id,
            )
            self._store.save_approval(movement, log)
        assert movement.approval_id is not None
        execution_arn = self._workflow.start(
            name=f"{movement_id}-{movement.approval_id}",
            payload={"movement_id": movement_id, "approval_id": movement.approval_id},
        )
        outcome = self._workflow.wait(execution_arn, wait_seconds)
        return ApprovalOutcome(movement=self._load(movement_id), execution=outcome)

    # -- the state machine: 本登録 ----------------------------------------------------------
    def validate_for_commit(self, movement_id: str, approval_id: str) -> dict[str, Any]:
        """Re-validates against the current ledger and fixes the new ids. Safe to repeat."""
        movement = self._load_approved(movement_id, approval_id)
        if movement.status == MovementStatus.FINAL:
            return {"already_final": True}
        if movement.status != MovementStatus.APPROVED:
            raise Conflict("MOVEMENT_NOT_APPROVED", "決裁済みの異動ではありません", "status")
        rules.raise_on_errors(self._checks(movement.command, self._clock.now().date()))
        allocation = self._store.allocate_ids(
            movement_id, persons=len(movement.command.members), households=1
        )
        return {"person_ids": allocation.person_ids, "household_ids": allocation.household_ids}

    def commit(self, movement_id: str, approval_id: str) -> dict[str, Any]:
        """Writes the final movement in one transaction. Safe to repeat: a final movement stays as it is."""
        movement = self._load_approved(movement_id, approval_id)
        if movement.status != MovementStatus.FINAL:
            plan = self._plan(movement)
            final = rules.finalise(movement, plan)
            log = self._system_log(movement, "commit", plan)
            self._store.commit(final, plan, log, messages_for(plan, self._clock.now()))
            movement = final
        assert movement.result is not None
        return {"movement_id": movement_id, "status": movement.status, **movement.result.model_dump()}

    def record_failure(self, movement_id: str, approval_id: str, error_code: str | None) -> None:
        """Records why an approved movement was not committed. The checks are run again here so the
        record names every issue, while the state machine only ever carried the error code."""
        movement = self._load_approved(movement_id, approval_id)
        if movement.status != MovementStatus.APPROVED:
            return
        issues = [
            i for i in self._checks(movement.command, self._clock.now().date()) if i.severity == "error"
        ]
        if not issues:
            issues = [Issue(code=error_code or "COMMIT_FAILED", message="本登録できませんでした")]
        self._store.save_failure(rules.fail(movement, issues), self._system_log(movement, "fail", None))

    # -- helpers ----------------------------------------------------------------------------
    def _checks(self, command: MoveIn, today: Any) -> list[Issue]:
        keys = [rules.member_identity(member) for member in command.members]
        residents = self._store.find_residents(keys)
        matches = {index: residents.get(key, []) for index, key in enumerate(keys)}
        return rules.check_move_in(command, today) + rules.check_not_resident(command, matches)

    def _plan(self, movement: Movement) -> CommitPlan:
        allocation = self._store.allocate_ids(
            movement.movement_id, persons=len(movement.command.members), households=1
        )
        return rules.plan_move_in(
            movement, allocation.person_ids, allocation.household_ids[0], self._clock.now()
        )

    def _system_log(self, movement: Movement, action: str, plan: CommitPlan | None) -> Any:
        return entry_for(
            SystemActor(name="movement-approval", request_id=movement.approval_id or movement.movement_id),
            entry_id=f"{movement.approval_id}:{action}",
            at=self._clock.now(),
            function=FUNCTION_APPROVE,
            action="commit" if action == "commit" else "fail",
            movement_id=movement.movement_id,
            persons=[p.person_id for p in plan.persons] if plan else [],
            households=[h.household_id for h in plan.households] if plan else [],
            approved_by=movement.approved_by,
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
