"""保存期間 (retention): how long each kind of data is kept, and what is due for removal on a day.

Three kinds of data end their life on a schedule (the city's PIA):

* 送付先情報 (mailing record files, for J-LIS's 個人番号通知書 mailing): kept "1年未満" and erased in
  bulk by the system. Default 330 days, configurable, but never a year or more.
* 転出証明書情報 received from the CS ahead of a 特例転入 (card move-in): held only until the 転入 claims
  it, or erased when the 転入 is not notified within the period. The period ends 30 days after the
  planned date: the PIA says only "一定期間"; we read the 特例転入 rules (住民基本台帳法第24条の2 and
  its enforcement order) as giving the card move-in 30 days from the planned move-out date as its
  outer limit (after it the move-in is an ordinary one, with a paper certificate), so data held
  longer can no longer serve its purpose. Configurable; the city confirms the figure.
* 除票 (removed records): kept 150 years (住民基本台帳法施行令第34条). After five years in the ledger a
  removed record moves to the records archive (cheaper storage, still read in milliseconds); the
  archive's lifecycle expires it after 150 years. Five years is the city's choice (the period
  within which a removed record is still commonly asked for), configurable.

Every rule is a date from which the data is due: ``due_on``; data is due on that day and after.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from juki.domain.errors import DomainError
from juki.domain.records import PersonRecord
from juki.domain.values import Frozen, OtherAddress, PersonName, ResidentStatus, Sex

DEFAULT_SENDING_ADDRESS_DAYS = 330  # "1年未満": well inside a year, leaving slack for a failed night
MAX_SENDING_ADDRESS_DAYS = 364
DEFAULT_MOVE_OUT_CERTIFICATE_DAYS = 30  # 特例転入: 転出予定年月日から30日 (see above)
DEFAULT_REMOVED_RECORD_ONLINE_YEARS = 5
REMOVED_RECORD_RETENTION_YEARS = 150  # 住民基本台帳法施行令第34条 (the archive bucket's expiry)

Job = Literal["sending_addresses", "move_out_certificates", "removed_records"]
JOBS: tuple[Job, ...] = ("sending_addresses", "move_out_certificates", "removed_records")


class RetentionRefused(DomainError):
    """A retention run asked for something the rules do not allow (a date in the past, say)."""


@dataclass(frozen=True)
class RetentionPolicy:
    """The periods, as configured. Checked when built: a setting that would keep 送付先情報 a year or
    more, or remove anything on the day it arrives, is a configuration fault."""

    sending_address_days: int = DEFAULT_SENDING_ADDRESS_DAYS
    move_out_certificate_days: int = DEFAULT_MOVE_OUT_CERTIFICATE_DAYS
    removed_record_online_years: int = DEFAULT_REMOVED_RECORD_ONLINE_YEARS

    def __post_init__(self) -> None:
        if not 1 <= self.sending_address_days <= MAX_SENDING_ADDRESS_DAYS:
            raise ValueError("送付先情報 is kept at least a day and less than a year")
        if self.move_out_certificate_days < 0:
            raise ValueError("the 転出証明書情報 period cannot end before the planned date")
        if not 1 <= self.removed_record_online_years < REMOVED_RECORD_RETENTION_YEARS:
            raise ValueError("removed records stay online at least a year, and less than 150 years")


def is_due(due_on: date, as_of: date) -> bool:
    return as_of >= due_on


# -- 送付先情報 -----------------------------------------------------------------------------------


def sending_address_due_on(created_on: date, policy: RetentionPolicy) -> date:
    """A file made on day d is erased on day d + the period (330 days by default)."""
    return created_on + timedelta(days=policy.sending_address_days)


def sending_address_cutoff(as_of: date, policy: RetentionPolicy) -> date:
    """The newest creation day that is due on ``as_of``: files made on or before it are erased."""
    return as_of - timedelta(days=policy.sending_address_days)


# -- 転出証明書情報 -------------------------------------------------------------------------------


def move_out_certificate_last_day(planned_date: date, policy: RetentionPolicy) -> date:
    """The last day a card move-in may claim the data (the planned date + 30 days)."""
    return planned_date + timedelta(days=policy.move_out_certificate_days)


def move_out_certificate_due_on(planned_date: date, policy: RetentionPolicy) -> date:
    """Unclaimed data is erased the day after its last day."""
    return move_out_certificate_last_day(planned_date, policy) + timedelta(days=1)


class MoveOutCertificatePerson(Frozen):
    """One person of a 転出証明書情報, as received from the CS (personal data: held only until
    claimed or expired). The linkage work may add items; 個人番号 is not held here."""

    name: PersonName = Field(description="氏名")
    birth_date: date = Field(description="生年月日")
    sex: Sex = Field(description="性別")
    resident_code: str | None = Field(default=None, description="住民票コード")
    relationship: str | None = Field(default=None, description="続柄")
    head_of_household: bool = Field(default=False, description="世帯主か")


class MoveOutCertificate(Frozen):
    """転出証明書情報: what the former municipality's CS sent ahead of a 特例転入."""

    certificate_id: str = Field(pattern=r"^[0-9A-Za-z_-]{1,64}$", description="転出証明書情報の識別子")
    from_municipality_code: str = Field(pattern=r"^\d{6}$", description="転出地の団体コード")
    persons: list[MoveOutCertificatePerson] = Field(min_length=1, description="転出する人")
    previous_address: OtherAddress = Field(description="転出地の住所")
    planned_destination: OtherAddress = Field(description="転出先 (予定)")
    planned_date: date = Field(description="転出予定日 (特例転入の期限はこの日から起算)")


class MoveOutCertificateClaim(BaseModel):
    """What a claim left behind: the fact and the claimant, never the data."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    certificate_id: str
    claimed_at: datetime
    claimed_by: str = Field(description="特例転入の異動ID")


@dataclass(frozen=True)
class HeldCertificate:
    """A 転出証明書情報 as the ledger holds it: the data while unclaimed, the claim once claimed
    (the data is dropped by the claim, so exactly one of the two is set)."""

    certificate_id: str
    certificate: MoveOutCertificate | None
    claim: MoveOutCertificateClaim | None


def check_claim(planned_date: date, on: date, policy: RetentionPolicy) -> None:
    """A card move-in may claim the data through its last day, never after."""
    if on > move_out_certificate_last_day(planned_date, policy):
        raise RetentionRefused(
            "MOVE_OUT_CERTIFICATE_EXPIRED",
            "転出証明書情報の有効期間 (転出予定日から30日) を過ぎています。"
            "通常の転入として届出を受けてください",
            "certificate_id",
        )


# -- 除票 -------------------------------------------------------------------------------------


def _anniversary(day: date, years: int) -> date:
    """The same day ``years`` later; 29 February falls on 1 March in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return date(day.year + years, 3, 1)


def removed_record_archive_on(removed_on: date, policy: RetentionPolicy) -> date:
    """Archived once more than five years have passed: from the day after the fifth anniversary
    of the removal."""
    return _anniversary(removed_on, policy.removed_record_online_years) + timedelta(days=1)


def removed_record_due(current: PersonRecord, as_of: date, policy: RetentionPolicy) -> bool:
    """The newest version is a removed record, removed long enough ago. A record without its
    removal details is never archived automatically: a fault for a person to look at."""
    if current.status != ResidentStatus.REMOVED or current.removal is None:
        return False
    return is_due(removed_record_archive_on(current.removal.removed_on, policy), as_of)


def removed_record_expires_on(removed_on: date) -> date:
    """The end of the 150 years (for the archive document; the bucket's lifecycle enforces it)."""
    return _anniversary(removed_on, REMOVED_RECORD_RETENTION_YEARS)


ARCHIVE_FORMAT: Literal["juki.removed-record/1"] = "juki.removed-record/1"


class ArchivedPerson(BaseModel):
    """The archive document of one removed person: every version exactly as the ledger stored it
    (the 個人番号 stays sealed: the stored form is the Encryption SDK ciphertext)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal["juki.removed-record/1"] = ARCHIVE_FORMAT
    person_id: str
    removed_on: date
    expires_on: date
    archived_at: datetime
    versions: list[dict[str, Any]] = Field(description="各版 (台帳に保存された形のまま、古い順)")

    def version_numbers(self) -> list[int]:
        return [int(v["version"]) for v in self.versions]


def merge_versions(archived: list[dict[str, Any]], stored: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every version of both, oldest first. A version is immutable, so the same number is the same
    body; if they differ, something rewrote history and the job must stop rather than choose."""
    by_number = {int(v["version"]): v for v in archived}
    for version in stored:
        number = int(version["version"])
        if number in by_number and by_number[number] != version:
            raise ValueError(f"version {number} differs between the ledger and the archive")
        by_number[number] = version
    return [by_number[n] for n in sorted(by_number)]


# -- a run -----------------------------------------------------------------------------------


def run_day(requested: date | None, today: date) -> date:
    """The day a run applies the rules as of: today, or a later day named by a test or an
    operator. Never an earlier one: a run as of the past would apply rules the data has outlived."""
    if requested is None:
        return today
    if requested < today:
        raise RetentionRefused("RETENTION_AS_OF_PAST", "基準日に過去の日付は指定できません", "as_of")
    return requested


def next_job(job: Job) -> Job | None:
    index = JOBS.index(job)
    return JOBS[index + 1] if index + 1 < len(JOBS) else None
