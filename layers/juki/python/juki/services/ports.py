"""What the application services need from the outside world. Adapters implement these."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, Protocol

from juki.domain.errors import Issue
from juki.domain.linkage import OutboundMessage
from juki.domain.model import CommitPlan, Movement
from juki.domain.oplog import OperationLogEntry
from juki.domain.records import HouseholdRecord, PersonRecord
from juki.domain.restrictions import Process
from juki.domain.retention import HeldCertificate, MoveOutCertificateClaim


@dataclass(frozen=True)
class Allocation:
    person_ids: list[str]
    household_ids: list[str]


@dataclass(frozen=True)
class IdentityBucket:
    """The people recorded under one identity key, and the bucket's version: a commit that adds
    someone is conditional on the version it checked, so two commits cannot both add the same
    person unseen by each other."""

    version: int
    persons: list[PersonRecord]


class CodeReservation(Protocol):
    """A 住民票コード held for a commit; it is the person's only if the commit succeeds."""

    @property
    def code(self) -> str: ...


class LedgerStore(Protocol):
    def get_movement(self, movement_id: str) -> Movement | None: ...

    def save_draft(
        self, movement: Movement, log: OperationLogEntry, allocation: Allocation | None = None
    ) -> None:
        """Writes a new draft and its log entry together (with the ids it will take, when they were
        needed early); a second save of the same id is refused."""

    def reserve_sequence(self, kind: str, count: int) -> list[str]:
        """New person or household ids (sequence numbers with their check digit)."""

    def save_approval(self, movement: Movement, log: OperationLogEntry) -> None:
        """Moves a draft to approved, only if it is still a draft, with its log entry."""

    def identity_buckets(self, identity_keys: list[str]) -> dict[str, IdentityBucket]:
        """Read consistently: the people under each identity key (reading and birth date)."""

    def allocate_ids(self, movement_id: str, persons: int, households: int) -> Allocation:
        """New person and household ids for a movement; asking again returns the same ids."""

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
    ) -> None:
        """One atomic write: the movement made final, every new version, the identity buckets
        (conditional on the versions checked), the 住民票コード taken from the pool and those brought
        in, the log entry and the messages; for a card move-in, the claim of its 転出証明書情報
        (conditional on it being held and unclaimed: Conflict otherwise)."""

    def reserve_resident_codes(self, count: int) -> list[CodeReservation]:
        """Codes chosen at random from the pool, for the next commit (Conflict when too few)."""

    def resident_code_holder(self, code: str) -> str | None:
        """The person a code is recorded for, if any."""

    def resident_codes_available(self) -> int: ...

    def save_failure(self, movement: Movement, log: OperationLogEntry) -> None: ...

    def get_person(self, person_id: str) -> PersonRecord | None: ...

    def get_persons(self, person_ids: list[str]) -> list[PersonRecord]:
        """Current versions, in order; a missing one is a fault of the ledger."""

    def persons_by_id(self, person_ids: Iterable[str]) -> dict[str, PersonRecord]:
        """Current versions of those found (consistent read)."""

    def get_household(self, household_id: str) -> HouseholdRecord | None: ...

    def households_by_id(self, household_ids: Iterable[str]) -> dict[str, HouseholdRecord]: ...

    def person_version(self, person_id: str, version: int) -> PersonRecord | None: ...

    def household_version(self, household_id: str, version: int) -> HouseholdRecord | None: ...

    def person_history(self, person_id: str) -> list[PersonRecord]: ...

    def household_history(self, household_id: str) -> list[HouseholdRecord]: ...

    def person_as_of(self, person_id: str, day: date) -> PersonRecord | None: ...

    def household_as_of(self, household_id: str, day: date) -> HouseholdRecord | None: ...

    def listed(self, listing: str) -> list[str]: ...

    def save_rejection(self, movement: Movement, log: OperationLogEntry) -> None:
        """Moves a draft to rejected, only if it is still a draft, with its log entry."""


class MoveOutCertificateReader(Protocol):
    """The 転出証明書情報 held for card move-ins (juki.domain.retention)."""

    def held_move_out_certificate(self, certificate_id: str) -> HeldCertificate | None:
        """Read consistently: the data while unclaimed, the claim once claimed; None if never
        received or purged."""


class RecordArchiveReader(Protocol):
    """Removed records (除票) moved out of the ledger after five years, still readable."""

    def person_history(self, person_id: str) -> list[PersonRecord]: ...

    def person_as_of(self, person_id: str, day: date) -> PersonRecord | None: ...

    def get_person(self, person_id: str) -> PersonRecord | None: ...


class RestrictionCheck(Protocol):
    def check(
        self, person_ids: Iterable[str], household_ids: Iterable[str], process: Process, at: datetime
    ) -> list[Issue]:
        """The errors and alerts the restrictions and support measures in force give the process."""


class OperationLog(Protocol):
    def append(self, entry: OperationLogEntry) -> None:
        """For reads: written before the response leaves."""


@dataclass(frozen=True)
class ExecutionOutcome:
    status: Literal["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]
    output: dict[str, Any] | None = None
    error: str | None = None


class Workflow(Protocol):
    def start(self, name: str, payload: dict[str, Any]) -> str:
        """Starts an execution; the same name and payload start it only once."""

    def wait(self, execution_arn: str, timeout_seconds: float) -> ExecutionOutcome: ...


class Clock(Protocol):
    def now(self) -> datetime: ...


class IdSource(Protocol):
    def new_id(self) -> str: ...
