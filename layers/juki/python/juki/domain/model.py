"""Movements and where they stand in the two-person rule.

Every change to the ledger is a movement (異動). A movement is entered as a draft (仮登録)
and becomes final (本登録) when a different authorised person approves it; only then are
the new versions of the records it touches written, all in one transaction.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from juki.domain.commands import MovementCommand
from juki.domain.errors import Issue
from juki.domain.records import HouseholdRecord, PersonRecord
from juki.domain.values import Frozen, MovementKind


class MovementStatus(StrEnum):
    DRAFT = "draft"  # 仮登録
    APPROVED = "approved"  # 決裁済み, being committed
    FINAL = "final"  # 本登録
    FAILED = "failed"  # the re-check at commit refused it
    REJECTED = "rejected"  # 差戻し: the approver returned it to the clerk


class MovementResult(Frozen):
    person_ids: list[str] = Field(description="この異動で新しい版が記録された人の宛名番号")
    household_ids: list[str] = Field(description="この異動で新しい版が記録された世帯の世帯番号")


class Movement(Frozen):
    movement_id: str = Field(description="異動番号")
    kind: MovementKind = Field(description="異動の種類")
    status: MovementStatus = Field(
        description="draft=仮登録, approved=決裁済み, final=本登録, failed=本登録不可, rejected=差戻し"
    )
    command: MovementCommand = Field(description="届出の内容")
    alerts: list[Issue] = Field(default_factory=list, description="入力時のアラート")
    entered_by: str = Field(description="入力者の職員ID")
    entered_at: datetime = Field(description="入力日時")
    office: str = Field(description="入力した庁舎")
    terminal: str = Field(description="入力した端末")
    approved_by: str | None = Field(default=None, description="決裁者の職員ID")
    approved_at: datetime | None = Field(default=None, description="決裁日時")
    approval_id: str | None = Field(default=None, description="決裁の識別子")
    rejection_reason: str | None = Field(default=None, description="差戻しの理由")
    result: MovementResult | None = Field(default=None, description="本登録で記録された人と世帯")
    failure: list[Issue] = Field(default_factory=list, description="本登録できなかった理由")


class CommitPlan(Frozen):
    """Everything a final (本登録) movement writes, decided before the one transaction."""

    movement_id: str
    persons: list[PersonRecord]
    households: list[HouseholdRecord]
    new_identities: list[PersonRecord] = Field(
        default_factory=list, description="people to file under their identity key (new, or renamed)"
    )
    code_needed: list[str] = Field(
        default_factory=list, description="person ids that take a 住民票コード from the pool at commit"
    )
    codes_brought: list[str] = Field(
        default_factory=list, description="person ids whose 住民票コード came with them (転出証明書)"
    )
