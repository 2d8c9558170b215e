"""Outgoing linkage messages (連携), written in the same transaction as the change causing them.

A message carries references (person id and version), never the personal data itself: the
dispatcher reads the record when it delivers, so the outbox holds nothing to leak.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from juki.domain.model import CommitPlan


class Recipient(StrEnum):
    CS = "cs"  # 住基ネット 市町村CS: 本人確認情報 updates, in order per person
    INTEGRATION_PLATFORM = "integration_platform"  # 共通基盤 (庁内連携)


class OutboundMessage(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    message_id: str
    recipient: Recipient
    kind: str
    movement_id: str
    person_id: str | None
    household_id: str | None
    sequence: int  # per person and recipient: the record version, so the update order is provable
    created_at: datetime


def messages_for(plan: CommitPlan, now: datetime) -> list[OutboundMessage]:
    """One identity-record update per person for the CS, one movement notice per household."""
    cs = [
        OutboundMessage(
            message_id=f"{plan.movement_id}:cs:{person.person_id}:{person.version}",
            recipient=Recipient.CS,
            kind="identity_record.created" if person.version == 1 else "identity_record.changed",
            movement_id=plan.movement_id,
            person_id=person.person_id,
            household_id=person.household_id,
            sequence=person.version,
            created_at=now,
        )
        for person in plan.persons
    ]
    platform = [
        OutboundMessage(
            message_id=f"{plan.movement_id}:platform:{household.household_id}:{household.version}",
            recipient=Recipient.INTEGRATION_PLATFORM,
            kind="movement.final",
            movement_id=plan.movement_id,
            person_id=None,
            household_id=household.household_id,
            sequence=household.version,
            created_at=now,
        )
        for household in plan.households
    ]
    return cs + platform
