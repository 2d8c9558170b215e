"""The pool of 住民票コード supplied through the municipal CS, and its low-stock alert.

J-LIS designates unused codes to the municipality (住民基本台帳法第30条の7); they arrive through
the CS in batches, and each new resident record that needs a code (出生, a first registration
from abroad, a change of code on request) takes one of them at random. When the pool runs low
someone must ask for the next batch in time, so every assignment that leaves fewer codes than
the threshold carries the alert ``RESIDENT_CODE_POOL_LOW``.

The default threshold, 1,000, is for a city of about 690,000: roughly 4,000 births and a few
thousand first registrations from abroad a year (an estimate; replace it with the city's own
figures) use about 600 codes a month, more in March and April. 1,000 codes are six weeks at the
usual rate and three to four weeks at the peak: the time it takes to request and load a batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from juki.domain import ids
from juki.domain.codes import resident_code_issues
from juki.domain.errors import DomainError, Issue, RuleViolation
from juki.domain.staff import Actor, SystemActor

DEFAULT_LOW_THRESHOLD = 1_000
RESIDENT_CODE_POOL_LOW = "RESIDENT_CODE_POOL_LOW"


@dataclass(frozen=True)
class Assignment:
    """A code taken from the pool for a person, and the number of codes left after it."""

    code: str
    person_id: str
    available: int


class ResidentCodePool(Protocol):
    def supply(self, codes: Sequence[str], supplied_by: str) -> int:
        """Adds valid codes not seen before (in the pool or assigned); returns how many were added."""

    def available(self) -> int:
        """How many codes the pool holds, read consistently."""

    def assign(self, person_id: str) -> Assignment:
        """Takes one code at random, atomically, and records it as the person's."""


@dataclass(frozen=True)
class PoolStatus:
    available: int
    threshold: int
    low: bool


@dataclass(frozen=True)
class SupplyResult:
    received: int
    added: int
    ignored: int  # already in the pool, already assigned, or repeated in the batch
    available: int


@dataclass(frozen=True)
class AssignmentResult:
    code: str
    person_id: str
    available: int
    issues: tuple[Issue, ...]  # the low-pool alert, when the pool fell below the threshold


class ResidentCodeService:
    def __init__(self, pool: ResidentCodePool, threshold: int = DEFAULT_LOW_THRESHOLD) -> None:
        if threshold < 0:
            raise ValueError("threshold must not be negative")
        self._pool = pool
        self._threshold = threshold

    def supply(self, codes: Sequence[str], actor: Actor | SystemActor) -> SupplyResult:
        """Loads a batch from the CS. A batch with any invalid code is refused whole, each invalid
        code named by its position, so a damaged file is never half loaded."""
        if not codes:
            raise DomainError("RESIDENT_CODES_EMPTY", "住民票コードが1件も指定されていません", "codes")
        issues = resident_code_issues(codes)
        if issues:
            raise RuleViolation(issues)
        supplied_by = actor.staff_id if isinstance(actor, Actor) else f"system:{actor.name}"
        added = self._pool.supply(codes, supplied_by)
        return SupplyResult(
            received=len(codes), added=added, ignored=len(codes) - added, available=self._pool.available()
        )

    def status(self) -> PoolStatus:
        available = self._pool.available()
        return PoolStatus(available=available, threshold=self._threshold, low=self.is_low(available))

    def assign(self, person_id: str) -> AssignmentResult:
        if not ids.is_valid_id(person_id):
            raise ValueError("not a person id")
        assignment = self._pool.assign(person_id)
        alert = self.low_pool_alert(assignment.available)
        return AssignmentResult(
            code=assignment.code,
            person_id=assignment.person_id,
            available=assignment.available,
            issues=() if alert is None else (alert,),
        )

    def is_low(self, available: int) -> bool:
        return available < self._threshold

    def low_pool_alert(self, available: int) -> Issue | None:
        """The alert for a pool of ``available`` codes, or None; also for callers that take codes
        inside their own transaction (the movement commit)."""
        if not self.is_low(available):
            return None
        return Issue(
            code=RESIDENT_CODE_POOL_LOW,
            message=(
                f"住民票コードの残数が{available:,}件で、基準の{self._threshold:,}件を下回りました。"
                "市町村CSを通じて住民票コードの追加の指定を受けてください"
            ),
            field="resident_code",
            severity="alert",
        )
