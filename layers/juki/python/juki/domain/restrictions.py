"""抑止 (restrictions) and 支援措置 (DV and similar support measures): what they are, when they are
in force, and what they do to a process. Pure: no I/O, the time is always passed in.

A restriction names a person or a household, the processes it applies to (異動入力, 証明発行, 照会),
a level (error blocks, alert warns and lets an authorised person continue), a start date and an
optional end date. A temporary release (一時解除) suppresses it from the moment it is given until
the date-time it names, after which the restriction applies again by itself.

A support measure protects one person. Its term is one year from its start date (起算日を含めて
1年: it ends the day before the same date a year later, 民法143条); it may be extended from one
month before its expiry up to its last day, each time for one more year. A provisional measure
(仮支援措置) protects from the day of the application until the formal decision, for at most
``PROVISIONAL_MAX_DAYS`` days; the decision turns it into a measure whose one-year term starts on
the decision date. While in force a support measure blocks certificate issuance for the person
and is an alert on inquiry and on movement entry. Nothing here reveals why a record is protected.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import AwareDatetime, Field, model_validator

from juki.domain.errors import Conflict, DomainError, Issue
from juki.domain.values import Day, Frozen, OptionalText, RecordId

PROVISIONAL_MAX_DAYS = 30  # 仮支援措置: at most this many days, the start date included
RELEASE_MAX = timedelta(days=7)  # a temporary release ends by itself within a week at the latest
TERM_MONTHS = 12  # 支援措置の期間: 1年
EXTENSION_WINDOW_MONTHS = 1  # 延長の申出: 期間終了の1か月前から


class Process(StrEnum):
    MOVEMENT = "movement"  # 異動入力
    CERTIFICATE = "certificate"  # 証明発行
    INQUIRY = "inquiry"  # 照会


class Level(StrEnum):
    ERROR = "error"  # 処理不可
    ALERT = "alert"  # 警告 (権限のある職員は処理を続けられる)


class TargetKind(StrEnum):
    PERSON = "person"
    HOUSEHOLD = "household"


class RecordStatus(StrEnum):
    ACTIVE = "active"  # 設定中
    ENDED = "ended"  # 終了 (解除)


PROCESS_NAMES = {Process.MOVEMENT: "異動入力", Process.CERTIFICATE: "証明発行", Process.INQUIRY: "照会"}
TARGET_NAMES = {TargetKind.PERSON: "宛名番号", TargetKind.HOUSEHOLD: "世帯番号"}
TARGET_FIELDS = {TargetKind.PERSON: "person_id", TargetKind.HOUSEHOLD: "household_id"}

# What a support measure in force does to each process.
SUPPORT_MEASURE_LEVELS = {
    Process.CERTIFICATE: Level.ERROR,
    Process.INQUIRY: Level.ALERT,
    Process.MOVEMENT: Level.ALERT,
}


# -- requests ----------------------------------------------------------------------------------


class NewRestriction(Frozen):
    """抑止の設定."""

    target: TargetKind = Field(description="対象 (person=個人, household=世帯)")
    target_id: RecordId = Field(description="宛名番号または世帯番号", examples=["0000000019"])
    processes: list[Process] = Field(
        min_length=1,
        max_length=3,
        description="抑止する業務 (movement=異動入力, certificate=証明発行, inquiry=照会)",
    )
    level: Level = Field(description="error=処理不可, alert=警告 (権限のある職員は続行可)")
    reason: OptionalText = Field(description="抑止の理由 (庁内用、証明書には出ない)")
    starts_on: Day = Field(description="抑止の開始日")
    ends_on: Day | None = Field(
        default=None, description="抑止の終了日 (この日まで抑止、省略すると解除するまで)"
    )

    @model_validator(mode="after")
    def _distinct_processes(self) -> Self:
        if len(set(self.processes)) != len(self.processes):
            raise ValueError("同じ業務が重複しています")
        return self


class TemporaryReleaseRequest(Frozen):
    """一時解除: 指定した日時まで抑止を止める (その日時を過ぎると自動的に抑止に戻る)."""

    until: AwareDatetime = Field(
        description="一時解除の終了日時 (タイムゾーン付き、最長7日後まで)",
        examples=["2026-11-26T17:15:00+09:00"],
    )
    reason: OptionalText = Field(description="一時解除の理由")


class NewSupportMeasure(Frozen):
    """支援措置 (DV等支援措置) の開始。期間は開始日から1年、仮支援措置は決定まで (最長30日)."""

    person_id: RecordId = Field(description="支援対象者の宛名番号", examples=["0000000019"])
    starts_on: Day = Field(description="開始日 (支援措置の起算日、仮支援措置は申出の日)")
    provisional: bool = Field(default=False, description="仮支援措置 (確認の結果を待つ間の措置)")
    ends_on: Day | None = Field(
        default=None, description="仮支援措置の終了日 (省略すると最長の30日目、支援措置では指定不可)"
    )


# -- records -----------------------------------------------------------------------------------


class _Tracked(Frozen):
    """What every restriction and support measure records about its own history."""

    status: RecordStatus = Field(default=RecordStatus.ACTIVE, description="active=設定中, ended=終了")
    version: int = Field(default=1, ge=1, description="版 (変更のたびに1ずつ増える)")
    created_by: str = Field(description="設定した職員ID")
    created_at: datetime = Field(description="設定日時")
    updated_by: str = Field(description="最後に変更した職員ID")
    updated_at: datetime = Field(description="最後の変更日時")
    ended_by: str | None = Field(default=None, description="終了した職員ID")
    ended_at: datetime | None = Field(default=None, description="終了日時 (この日時から効力なし)")


class TemporaryRelease(Frozen):
    released_by: str = Field(description="一時解除した職員ID")
    released_at: datetime = Field(description="一時解除の開始日時")
    until: datetime = Field(description="一時解除の終了日時 (この日時から再び抑止)")
    reason: str = Field(description="一時解除の理由")


class Restriction(_Tracked):
    """抑止: 個人または世帯の、業務ごとのエラー・アラート."""

    kind: Literal["restriction"] = Field(default="restriction", description="種類")
    restriction_id: str = Field(description="抑止番号")
    target: TargetKind = Field(description="対象 (person=個人, household=世帯)")
    target_id: str = Field(description="宛名番号または世帯番号")
    processes: list[Process] = Field(description="抑止する業務")
    level: Level = Field(description="error=処理不可, alert=警告")
    reason: str = Field(description="抑止の理由 (庁内用)")
    starts_on: date = Field(description="開始日")
    ends_on: date | None = Field(default=None, description="終了日 (null は解除するまで)")
    releases: list[TemporaryRelease] = Field(default_factory=list, description="一時解除の履歴")

    @property
    def record_id(self) -> str:
        return self.restriction_id

    @property
    def target_ref(self) -> tuple[TargetKind, str]:
        return self.target, self.target_id


class SupportMeasure(_Tracked):
    """支援措置. 理由や加害者に関する情報はこの記録には持たない."""

    kind: Literal["support_measure"] = Field(default="support_measure", description="種類")
    measure_id: str = Field(description="支援措置番号")
    person_id: str = Field(description="支援対象者の宛名番号")
    provisional: bool = Field(description="仮支援措置")
    starts_on: date = Field(description="開始日")
    ends_on: date = Field(description="終了日 (この日まで有効)")
    decided_on: date | None = Field(default=None, description="仮支援措置から支援措置に決定した日")
    extensions: int = Field(default=0, ge=0, description="延長した回数")

    @property
    def record_id(self) -> str:
        return self.measure_id

    @property
    def target_ref(self) -> tuple[TargetKind, str]:
        return TargetKind.PERSON, self.person_id


RestrictionRecord = Annotated[Restriction | SupportMeasure, Field(discriminator="kind")]


# -- dates -------------------------------------------------------------------------------------


def shift_months(day: date, months: int) -> date:
    """The same day ``months`` later (or earlier); the month's last day if it has no such day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def term_end(start: date) -> date:
    """The last day of a one-year term that starts on ``start`` (the start day counts): the day
    before the same date a year later, or the month's last day if that month has no such date."""
    same_date = shift_months(start, TERM_MONTHS)
    return same_date if same_date.day != start.day else same_date - timedelta(days=1)


def extension_opens(measure: SupportMeasure) -> date:
    """The first day an extension may be given: one month before the expiry (the moment the day
    after ``ends_on`` begins)."""
    return shift_months(measure.ends_on + timedelta(days=1), -EXTENSION_WINDOW_MONTHS)


# -- when in force -----------------------------------------------------------------------------


def released(restriction: Restriction, at: datetime) -> bool:
    """Is a temporary release running at ``at``?"""
    return any(release.released_at <= at < release.until for release in restriction.releases)


def in_force(record: Restriction | SupportMeasure, at: datetime) -> bool:
    """Does it apply at ``at``: within its dates, not ended, and (a restriction) not released."""
    if record.ended_at is not None and record.ended_at <= at:
        return False
    day = at.date()
    if day < record.starts_on or (record.ends_on is not None and day > record.ends_on):
        return False
    return not (isinstance(record, Restriction) and released(record, at))


def level_for(record: Restriction | SupportMeasure, process: Process) -> Level | None:
    """What the record does to ``process`` when in force (None: nothing)."""
    if isinstance(record, SupportMeasure):
        return SUPPORT_MEASURE_LEVELS.get(process)
    return record.level if process in record.processes else None


def check(records: Iterable[Restriction | SupportMeasure], process: Process, at: datetime) -> list[Issue]:
    """The errors and alerts the records in force give ``process`` at ``at``, one per code and
    target. Messages say only that the record is restricted or protected, never why."""
    found: dict[tuple[str, TargetKind, str], Issue] = {}
    for record in records:
        level = level_for(record, process)
        if level is None or not in_force(record, at):
            continue
        target, target_id = record.target_ref
        issue = _issue(isinstance(record, SupportMeasure), level, target, target_id, process)
        found.setdefault((issue.code, target, target_id), issue)
    return list(found.values())


def _issue(protected: bool, level: Level, target: TargetKind, target_id: str, process: Process) -> Issue:
    who = f"{TARGET_NAMES[target]} {target_id} の記録"
    name = PROCESS_NAMES[process]
    if protected:
        code = "SUPPORT_MEASURE" if level == Level.ERROR else "SUPPORT_MEASURE_ALERT"
        message = (
            f"{who}は保護の対象のため、{name}はできません"
            if level == Level.ERROR
            else f"{who}は保護の対象です。取扱いに注意して{name}を行ってください"
        )
    else:
        code = "RESTRICTED" if level == Level.ERROR else "RESTRICTED_ALERT"
        message = (
            f"{who}は{name}が抑止されています"
            if level == Level.ERROR
            else f"{who}には{name}の抑止 (アラート) が設定されています。確認のうえ処理してください"
        )
    return Issue(code=code, message=message, field=TARGET_FIELDS[target], severity=level.value)


class Restricted(DomainError):
    """A restriction or support measure in force blocks the process."""

    status = 403

    def __init__(self, issues: tuple[Issue, ...]) -> None:
        first = issues[0]
        super().__init__(first.code, first.message, first.field, issues)


def enforce(issues: list[Issue]) -> list[Issue]:
    """For inquiry and certificate issuance: errors refuse (403), alerts are returned to show."""
    errors = tuple(issue for issue in issues if issue.severity == "error")
    if errors:
        raise Restricted(errors)
    return [issue for issue in issues if issue.severity == "alert"]


# -- changes -----------------------------------------------------------------------------------


def new_restriction(
    request: NewRestriction, restriction_id: str, staff_id: str, now: datetime
) -> Restriction:
    if request.ends_on is not None:
        _check_period(request.starts_on, request.ends_on, now)
    return Restriction(
        restriction_id=restriction_id,
        target=request.target,
        target_id=request.target_id,
        processes=request.processes,
        level=request.level,
        reason=request.reason,
        starts_on=request.starts_on,
        ends_on=request.ends_on,
        **_created(staff_id, now),
    )


def release(
    restriction: Restriction, request: TemporaryReleaseRequest, staff_id: str, now: datetime
) -> Restriction:
    """一時解除: from now until ``request.until``; the restriction applies again after it by itself."""
    _check_active(restriction)
    if request.until <= now:
        raise DomainError("RELEASE_UNTIL_PAST", "一時解除の終了日時は現在より後にしてください", "until")
    if request.until > now + RELEASE_MAX:
        raise DomainError("RELEASE_TOO_LONG", "一時解除は7日以内にしてください", "until")
    entry = TemporaryRelease(
        released_by=staff_id, released_at=now, until=request.until, reason=request.reason
    )
    return _changed(restriction, staff_id, now, releases=[*restriction.releases, entry])


def end[R: (Restriction, SupportMeasure)](record: R, staff_id: str, now: datetime) -> R:
    """終了 (解除): no longer in force from now. The record stays, with who ended it and when."""
    _check_active(record)
    return _changed(record, staff_id, now, status=RecordStatus.ENDED, ended_by=staff_id, ended_at=now)


def new_support_measure(
    request: NewSupportMeasure, measure_id: str, staff_id: str, now: datetime
) -> SupportMeasure:
    if request.provisional:
        latest = request.starts_on + timedelta(days=PROVISIONAL_MAX_DAYS - 1)
        ends_on = request.ends_on or latest
        if ends_on > latest:
            raise DomainError(
                "PROVISIONAL_TOO_LONG",
                f"仮支援措置の期間は開始日から{PROVISIONAL_MAX_DAYS}日以内にしてください",
                "ends_on",
            )
    elif request.ends_on is not None:
        raise DomainError("TERM_FIXED", "支援措置の終了日は指定できません (開始日から1年です)", "ends_on")
    else:
        ends_on = term_end(request.starts_on)
    _check_period(request.starts_on, ends_on, now)
    return SupportMeasure(
        measure_id=measure_id,
        person_id=request.person_id,
        provisional=request.provisional,
        starts_on=request.starts_on,
        ends_on=ends_on,
        **_created(staff_id, now),
    )


def extend(measure: SupportMeasure, staff_id: str, now: datetime) -> SupportMeasure:
    """延長: one more year after the current end, asked for from one month before expiry up to the
    last day. After expiry the measure has lapsed and a new application is needed."""
    _check_active(measure)
    today = now.date()
    if measure.provisional:
        raise DomainError(
            "PROVISIONAL_NOT_EXTENDABLE",
            "仮支援措置は延長できません。支援措置の決定を行ってください",
            "provisional",
        )
    if today > measure.ends_on:
        raise DomainError(
            "EXTENSION_AFTER_EXPIRY",
            "期間が終了した支援措置は延長できません。新たに申出を受けてください",
            "ends_on",
        )
    opens = extension_opens(measure)
    if today < opens:
        raise DomainError(
            "EXTENSION_TOO_EARLY",
            f"延長は期間終了の1か月前 ({opens.isoformat()}) から受け付けます",
            "ends_on",
        )
    return _changed(
        measure,
        staff_id,
        now,
        ends_on=term_end(measure.ends_on + timedelta(days=1)),
        extensions=measure.extensions + 1,
    )


def decide(measure: SupportMeasure, staff_id: str, now: datetime) -> SupportMeasure:
    """仮支援措置 → 支援措置: the one-year term starts on the decision date."""
    _check_active(measure)
    today = now.date()
    if not measure.provisional:
        raise Conflict("NOT_PROVISIONAL", "仮支援措置ではありません", "provisional")
    if today > measure.ends_on:
        raise DomainError(
            "PROVISIONAL_EXPIRED",
            "期間が終了した仮支援措置は決定できません。新たに申出を受けてください",
            "ends_on",
        )
    return _changed(measure, staff_id, now, provisional=False, decided_on=today, ends_on=term_end(today))


def _check_period(starts_on: date, ends_on: date, now: datetime) -> None:
    if ends_on < starts_on:
        raise DomainError("INVALID_PERIOD", "終了日は開始日以降の日付にしてください", "ends_on")
    if ends_on < now.date():
        raise DomainError("PERIOD_IN_PAST", "終了日が過ぎています。今日以降の日付にしてください", "ends_on")


def _check_active(record: Restriction | SupportMeasure) -> None:
    if record.status != RecordStatus.ACTIVE:
        raise Conflict("ALREADY_ENDED", "既に終了しています", "status")


def _created(staff_id: str, now: datetime) -> dict[str, str | datetime]:
    return {"created_by": staff_id, "created_at": now, "updated_by": staff_id, "updated_at": now}


def _changed[R: (Restriction, SupportMeasure)](
    record: R, staff_id: str, now: datetime, **changes: object
) -> R:
    """The next version: the changes, who made them and when (the earlier version is kept)."""
    return record.model_validate(
        {
            **record.model_dump(),
            **changes,
            "version": record.version + 1,
            "updated_by": staff_id,
            "updated_at": now,
        }
    )
