"""不審なアクセスの検出 (unusual access): rules over one day of the operation log.

Pure: the entries come in, findings go out. A finding names a staff member (by id), the rule, what
was counted, the limit it exceeded and the ids of the entries that support it; never a resident's
name, address or number. A reviewer opens the entries by id in the auditor's log search.

The rules look at one calendar day in Japan (JST) so that a report is a function of the log of
finished days only: run twice, it says the same thing. The thresholds, their defaults and the
reasoning behind them are in ``Thresholds`` and in docs/decisions/0010-unusual-access.md.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta, timezone
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from juki.domain.oplog import OperationLogEntry

JAPAN = timezone(timedelta(hours=9), "JST")  # the municipality's day; Japan keeps no daylight saving

# Reads of residents' data (照会・検索・個人番号の表示・異動の照会).
READ_FUNCTIONS = frozenset({"resident.read", "resident.search", "my_number.reveal", "movement.read"})
# Handling a notice: entering (仮登録) or approving (決裁) a movement makes its people "related".
MOVEMENT_FUNCTIONS = frozenset({"movement.enter", "movement.approve"})
SYSTEM_PREFIX = "system:"  # scheduled jobs and state-machine tasks: not people, not watched here


class Rule(StrEnum):
    UNRELATED_VIEWS = "UNRELATED_VIEWS"  # many people viewed with no notice handled for them
    OUTSIDE_HOURS = "OUTSIDE_HOURS"  # activity outside office hours
    BULK_READ = "BULK_READ"  # many people at once, many reads in an hour, any export
    MY_NUMBER_RATE = "MY_NUMBER_RATE"  # 個人番号 shown well above the staff member's usual rate
    REPEATED_LOGIN_REFUSALS = "REPEATED_LOGIN_REFUSALS"  # one subject refused again and again


class Basis(StrEnum):
    """What a finding's ``count`` counts."""

    UNRELATED_PERSONS = "unrelated_persons"  # distinct people read, not related to a notice handled
    ENTRIES_OUTSIDE_HOURS = "entries_outside_hours"
    PERSONS_IN_ONE_ENTRY = "persons_in_one_entry"  # entries that each touched more than the limit
    READS_IN_ONE_HOUR = "reads_in_one_hour"  # reads in the busiest 60 minutes
    EXPORTS = "exports"
    MY_NUMBER_REVEALS = "my_number_reveals"
    LOGIN_REFUSALS = "login_refusals"


class Thresholds(BaseModel):
    """The limits of every rule. A finding is raised when a count is *above* its limit (equal is
    not a finding). Defaults are for a city of about 700,000 with ward offices; each is a setting
    so a municipality can tune it after reviewing the first months of reports."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    unrelated_persons_per_day: int = Field(
        default=30,
        ge=0,
        description=(
            "Distinct people one staff member may read in a day without having entered or approved a "
            "movement for them. A counter clerk handles 20 to 40 notices a day and reads their people; "
            "the people of notices they handle do not count, so 30 others is already a lot."
        ),
    )
    relation_days_before: int = Field(
        default=1,
        ge=0,
        le=7,
        description=(
            "A movement handled on the day or up to this many days before relates its people to the "
            "day's reads (a notice entered yesterday and looked at again today). Later days are not "
            "looked at, so the report of a finished day never changes."
        ),
    )
    office_opens: time = Field(default=time(8, 0), description="Office hours begin (JST).")
    office_closes: time = Field(
        default=time(19, 0),
        description="Office hours end (JST): 08:30–17:15 windows plus overtime until 19:00 are normal.",
    )
    holidays: tuple[date, ...] = Field(
        default=(), description="Weekdays the offices are closed (国民の祝日, 振替休日); set yearly."
    )
    open_days: tuple[date, ...] = Field(
        default=(), description="Weekend or holiday days the offices open (休日開庁 in March and April)."
    )
    year_end_closure: bool = Field(
        default=True, description="The offices are closed from 29 December to 3 January (休日条例)."
    )
    persons_per_entry: int = Field(
        default=50,
        ge=1,
        description=(
            "People one entry may touch. A household holds a handful, a search page at most 100 (most "
            "searches find a few); more than 50 in one go is a list or a broad search worth a look."
        ),
    )
    reads_per_hour: int = Field(
        default=100,
        ge=1,
        description=(
            "Read entries by one staff member in any 60 minutes. A notice takes 5 to 10 reads and a "
            "busy counter handles a notice every 10 minutes: about 60 an hour. Above 100 is browsing "
            "or a script."
        ),
    )
    my_number_minimum: int = Field(
        default=10,
        ge=0,
        description=(
            "個人番号 reveals a day always allowed: a new approver, or one back from leave, has no usual "
            "rate yet, and up to 10 a day is within a normal card-issuing day."
        ),
    )
    my_number_factor: float = Field(
        default=3.0,
        gt=0,
        description=(
            "A day above this multiple of the staff member's daily mean (over the calendar days of "
            "the baseline, weekends included, so the mean is about 5/7 of a working day's) is unusual."
        ),
    )
    baseline_days: int = Field(default=30, ge=1, le=90, description="Days of the trailing baseline.")
    login_refusals_per_subject: int = Field(
        default=5,
        ge=1,
        description=(
            "Refused sign-ins for one subject in a day: a few expired tokens are normal, more is probing."
        ),
    )

    @field_validator("holidays", "open_days")
    @classmethod
    def _sorted(cls, days: tuple[date, ...]) -> tuple[date, ...]:
        """Sorted and without repeats, so the report (which echoes the thresholds) is byte-stable."""
        return tuple(sorted(set(days)))

    def is_office_time(self, at: datetime) -> bool:
        local = at.astimezone(JAPAN)
        day = local.date()
        closed = (
            day.weekday() >= 5  # Saturday and Sunday
            or day in self.holidays
            or (self.year_end_closure and _year_end(day))
        )
        if closed and day not in self.open_days:
            return False
        return self.office_opens <= local.time() < self.office_closes


def _year_end(day: date) -> bool:
    return (day.month == 12 and day.day >= 29) or (day.month == 1 and day.day <= 3)


class Finding(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    rule: Rule = Field(description="規則のコード")
    basis: Basis = Field(description="数えたもの")
    staff_id: str = Field(description="職員ID (ログイン拒否はログインしようとした主体)")
    day: date = Field(description="対象日")
    count: int = Field(description="件数")
    limit: float = Field(description="超えた上限 (件数がこれを超えると検出)")
    peak: int | None = Field(default=None, description="1件の操作で扱った最大の人数 (persons_in_one_entry)")
    baseline_mean: float | None = Field(default=None, description="基準期間の1日平均 (個人番号の表示)")
    first_at: datetime = Field(description="根拠となる最初の操作の日時")
    last_at: datetime = Field(description="根拠となる最後の操作の日時")
    entry_ids: list[str] = Field(description="根拠となる操作ログのID (日時の順)")


class UnusualAccessReport(BaseModel):
    """One day's report. No generation time: the same day gives the same bytes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    day: date = Field(description="対象日")
    thresholds: Thresholds = Field(description="適用した閾値")
    entries_examined: int = Field(description="対象日の操作ログの件数")
    staff_examined: int = Field(description="対象日に操作した職員の数")
    counts: dict[str, int] = Field(description="規則ごとの検出件数")
    findings: list[Finding] = Field(description="検出 (規則・職員IDの順)")
    my_number_reveals: dict[str, int] = Field(
        description="職員ごとの個人番号の表示件数 (以後の日の基準になる)"
    )


def is_staff(entry: OperationLogEntry) -> bool:
    return not entry.staff_id.startswith(SYSTEM_PREFIX)


def day_of(entry: OperationLogEntry) -> date:
    return entry.at.astimezone(JAPAN).date()


def is_read(entry: OperationLogEntry) -> bool:
    return entry.function in READ_FUNCTIONS and entry.action == "read" and entry.outcome == "success"


def is_movement(entry: OperationLogEntry) -> bool:
    return entry.function in MOVEMENT_FUNCTIONS and entry.outcome == "success"


def reveals_by_staff(entries: Iterable[OperationLogEntry]) -> dict[str, int]:
    """個人番号 shown per staff member (the baseline of the rate rule is the sum of these)."""
    counts: dict[str, int] = defaultdict(int)
    for entry in entries:
        if entry.my_number_shown and entry.outcome == "success" and is_staff(entry):
            counts[entry.staff_id] += 1
    return dict(sorted(counts.items()))


def detect(
    day: date,
    entries: Iterable[OperationLogEntry],
    baseline_reveals: Mapping[str, int],
    thresholds: Thresholds | None = None,
) -> UnusualAccessReport:
    """The report of ``day``.

    ``entries``: the log of the day, and of the ``relation_days_before`` days before it (only their
    movement entries are used). ``baseline_reveals``: per staff member, the 個人番号 reveals of the
    ``baseline_days`` days before ``day`` (summed).
    """
    limits = thresholds or Thresholds()
    first_related = day - timedelta(days=limits.relation_days_before)
    todays: list[OperationLogEntry] = []
    movements: list[OperationLogEntry] = []
    for entry in entries:
        on = day_of(entry)
        if on == day:
            todays.append(entry)
        if first_related <= on <= day and is_movement(entry) and is_staff(entry):
            movements.append(entry)
    todays.sort(key=lambda e: (e.at, e.entry_id))
    staff = [e for e in todays if is_staff(e)]
    reveals = reveals_by_staff(staff)
    findings = [
        *unrelated_views(day, staff, movements, limits),
        *outside_hours(day, staff, limits),
        *bulk_reads(day, staff, limits),
        *my_number_rate(day, reveals, staff, baseline_reveals, limits),
        *repeated_login_refusals(day, staff, limits),
    ]
    findings.sort(key=lambda f: (list(Rule).index(f.rule), f.staff_id, list(Basis).index(f.basis)))
    counts = {rule.value: sum(1 for f in findings if f.rule == rule) for rule in Rule}
    return UnusualAccessReport(
        day=day,
        thresholds=limits,
        entries_examined=len(todays),
        staff_examined=len({e.staff_id for e in staff}),
        counts=counts,
        findings=findings,
        my_number_reveals=reveals,
    )


def _finding(
    rule: Rule,
    basis: Basis,
    support: Sequence[OperationLogEntry],
    *,
    staff_id: str,
    day: date,
    count: int,
    limit: float,
    peak: int | None = None,
    baseline_mean: float | None = None,
) -> Finding:
    ordered = sorted(support, key=lambda e: (e.at, e.entry_id))
    return Finding(
        rule=rule,
        basis=basis,
        staff_id=staff_id,
        day=day,
        count=count,
        limit=limit,
        first_at=ordered[0].at.astimezone(JAPAN),
        last_at=ordered[-1].at.astimezone(JAPAN),
        entry_ids=[e.entry_id for e in ordered],
        peak=peak,
        baseline_mean=baseline_mean,
    )


def _by_staff(entries: Iterable[OperationLogEntry]) -> dict[str, list[OperationLogEntry]]:
    grouped: dict[str, list[OperationLogEntry]] = defaultdict(list)
    for entry in entries:
        grouped[entry.staff_id].append(entry)
    return grouped


def unrelated_views(
    day: date,
    staff_entries: Sequence[OperationLogEntry],
    movements: Sequence[OperationLogEntry],
    limits: Thresholds,
) -> list[Finding]:
    """Rule 1. A person read counts as related when the same staff member entered or approved a
    movement naming them, or, for an entry about one household (a household or person read), a
    movement naming that household. An entry about several households (a search page) is judged
    person by person: one related hit does not excuse the others."""
    related_persons: dict[str, set[str]] = defaultdict(set)
    related_households: dict[str, set[str]] = defaultdict(set)
    for movement in movements:
        related_persons[movement.staff_id].update(movement.persons)
        related_households[movement.staff_id].update(movement.households)
    findings: list[Finding] = []
    for staff_id, entries in _by_staff(e for e in staff_entries if is_read(e)).items():
        persons, households = related_persons[staff_id], related_households[staff_id]
        unrelated: set[str] = set()
        support = []
        for entry in entries:
            if len(entry.households) == 1 and entry.households[0] in households:
                continue
            others = set(entry.persons) - persons
            if others:
                unrelated |= others
                support.append(entry)
        if len(unrelated) > limits.unrelated_persons_per_day:
            findings.append(
                _finding(
                    Rule.UNRELATED_VIEWS,
                    Basis.UNRELATED_PERSONS,
                    support,
                    staff_id=staff_id,
                    day=day,
                    count=len(unrelated),
                    limit=limits.unrelated_persons_per_day,
                )
            )
    return findings


def outside_hours(day: date, staff_entries: Sequence[OperationLogEntry], limits: Thresholds) -> list[Finding]:
    """Rule 2. Anything a staff member does (read, write, refused or not) outside office hours."""
    return [
        _finding(
            Rule.OUTSIDE_HOURS,
            Basis.ENTRIES_OUTSIDE_HOURS,
            entries,
            staff_id=staff_id,
            day=day,
            count=len(entries),
            limit=0,
        )
        for staff_id, entries in _by_staff(
            e for e in staff_entries if not limits.is_office_time(e.at)
        ).items()
    ]


def bulk_reads(day: date, staff_entries: Sequence[OperationLogEntry], limits: Thresholds) -> list[Finding]:
    """Rule 3. Entries touching many people at once, the busiest hour of reads, and every export."""
    findings: list[Finding] = []
    for staff_id, entries in _by_staff(staff_entries).items():
        wide = [e for e in entries if len(set(e.persons)) > limits.persons_per_entry]
        if wide:
            findings.append(
                _finding(
                    Rule.BULK_READ,
                    Basis.PERSONS_IN_ONE_ENTRY,
                    wide,
                    staff_id=staff_id,
                    day=day,
                    count=len(wide),
                    limit=limits.persons_per_entry,
                    peak=max(len(set(e.persons)) for e in wide),
                )
            )
        busiest = busiest_hour([e for e in entries if is_read(e)])
        if len(busiest) > limits.reads_per_hour:
            findings.append(
                _finding(
                    Rule.BULK_READ,
                    Basis.READS_IN_ONE_HOUR,
                    busiest,
                    staff_id=staff_id,
                    day=day,
                    count=len(busiest),
                    limit=limits.reads_per_hour,
                )
            )
        exports = [e for e in entries if e.action == "export"]
        if exports:
            findings.append(
                _finding(
                    Rule.BULK_READ,
                    Basis.EXPORTS,
                    exports,
                    staff_id=staff_id,
                    day=day,
                    count=len(exports),
                    limit=0,
                )
            )
    return findings


def busiest_hour(reads: Sequence[OperationLogEntry]) -> list[OperationLogEntry]:
    """The most entries within any 60 minutes (``first <= at < first + 60 min``), the earliest such
    window when several tie. A sliding window, so a burst across a clock hour is not split."""
    ordered = sorted(reads, key=lambda e: (e.at, e.entry_id))
    best: tuple[int, int] = (0, 0)  # (start, end) indexes, end exclusive
    start = 0
    for end in range(len(ordered)):
        while ordered[end].at - ordered[start].at >= timedelta(hours=1):
            start += 1
        if end + 1 - start > best[1] - best[0]:
            best = (start, end + 1)
    return ordered[best[0] : best[1]]


def my_number_rate(
    day: date,
    reveals: Mapping[str, int],
    staff_entries: Sequence[OperationLogEntry],
    baseline_reveals: Mapping[str, int],
    limits: Thresholds,
) -> list[Finding]:
    """Rule 4. Reveals on the day above max(minimum, factor × the daily mean of the baseline)."""
    findings: list[Finding] = []
    for staff_id, count in reveals.items():
        mean = baseline_reveals.get(staff_id, 0) / limits.baseline_days
        limit = max(float(limits.my_number_minimum), limits.my_number_factor * mean)
        if count > limit:
            support = [e for e in staff_entries if e.staff_id == staff_id and e.my_number_shown]
            findings.append(
                _finding(
                    Rule.MY_NUMBER_RATE,
                    Basis.MY_NUMBER_REVEALS,
                    support,
                    staff_id=staff_id,
                    day=day,
                    count=count,
                    limit=round(limit, 3),
                    baseline_mean=round(mean, 3),
                )
            )
    return findings


def repeated_login_refusals(
    day: date, staff_entries: Sequence[OperationLogEntry], limits: Thresholds
) -> list[Finding]:
    """Refused sign-ins grouped by the account they tried: the API logs each as staff
    ``unverified:<the token's subject>`` (or ``unknown`` when the token names none), with the route
    in ``subject``; attempts spread over routes still add up for one account."""
    refusals: dict[str, list[OperationLogEntry]] = defaultdict(list)
    for entry in staff_entries:
        if entry.action == "login" and entry.outcome == "refused":
            refusals[entry.staff_id].append(entry)
    return [
        _finding(
            Rule.REPEATED_LOGIN_REFUSALS,
            Basis.LOGIN_REFUSALS,
            entries,
            staff_id=subject,
            day=day,
            count=len(entries),
            limit=limits.login_refusals_per_subject,
        )
        for subject, entries in refusals.items()
        if len(entries) > limits.login_refusals_per_subject
    ]
