"""The local stand-in for EventBridge Scheduler: starts each scheduled state machine of the
description at its times, through Step Functions ``StartExecution``.

Expressions are EventBridge's, in UTC: ``rate(N minute|minutes|hour|hours|day|days)`` and
``cron(minutes hours day-of-month month day-of-week year)`` (``*``, ``?``, ranges, lists, steps,
month and day names; day-of-week 1-7 is SUN-SAT; ``L``, ``W`` and ``#`` are not supported).

Each start is named ``<job>-<slot time>``, so a second start of the same slot (a restart, two
ticks in one minute) is refused by Step Functions and ignored here. Nothing else is recorded:
Step Functions keeps each run's status, start, stop and error. A run of missed slots (the
machine slept) starts the latest slot only, as EventBridge would not catch up either.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from juki_infra.description import SystemDescription

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.+)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_MONTHS = {m: i for i, m in enumerate(_MONTH_NAMES, 1)}
_DAYS = {d: i for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], 1)}
_CRON_FIELDS = 6
_LOOKBACK = timedelta(days=8)  # a weekly job's slot is always found
TICK_SECONDS = 5.0


@dataclass(frozen=True)
class Rate:
    seconds: int

    def latest(self, after: datetime, until: datetime) -> datetime | None:
        """The latest slot in ``(after, until]``; slots are multiples of the period since the epoch."""
        stamp = int(until.timestamp()) // self.seconds * self.seconds
        slot = datetime.fromtimestamp(stamp, UTC)
        return slot if slot > after else None


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int] | None  # None: "?" or "*" (any)
    months: frozenset[int]
    weekdays: frozenset[int] | None  # 1 = Sunday … 7 = Saturday; None: any
    years: frozenset[int] | None

    def day_matches(self, day: date) -> bool:
        weekday = day.isoweekday() % 7 + 1  # Monday 1 → 2, Sunday 7 → 1
        return (
            day.month in self.months
            and (self.years is None or day.year in self.years)
            and (self.days is None or day.day in self.days)
            and (self.weekdays is None or weekday in self.weekdays)
        )

    def latest(self, after: datetime, until: datetime) -> datetime | None:
        """The latest matching minute in ``(after, until]`` (at most eight days back)."""
        until = until.astimezone(UTC).replace(second=0, microsecond=0)
        floor = max(after.astimezone(UTC), until - _LOOKBACK)
        day = until.date()
        while datetime.combine(day, datetime.max.time(), UTC) > floor:
            if self.day_matches(day):
                for hour in sorted(self.hours, reverse=True):
                    for minute in sorted(self.minutes, reverse=True):
                        slot = datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)
                        if slot <= until:
                            return slot if slot > floor else None
            day -= timedelta(days=1)
        return None


Schedule = Rate | Cron


def parse(expression: str) -> Schedule:
    """A ``rate(...)`` or ``cron(...)`` expression; ``ValueError`` naming what is wrong."""
    rate = _RATE.match(expression.strip())
    if rate:
        count, unit = int(rate.group(1)), rate.group(2).removesuffix("s")
        if count < 1 or (count == 1) != (rate.group(2) == unit):
            raise ValueError(f"rate: 1 takes the singular unit, more the plural: {expression}")
        return Rate(count * _UNIT_SECONDS[unit])
    cron = _CRON.match(expression.strip())
    if not cron:
        raise ValueError(f"not a rate(...) or cron(...) expression: {expression}")
    fields = cron.group(1).split()
    if len(fields) != _CRON_FIELDS:
        raise ValueError(
            f"cron takes six fields (minutes hours day-of-month month day-of-week year): {expression}"
        )
    minutes, hours, days, months, weekdays, years = fields
    if (days == "?") == (weekdays == "?"):
        raise ValueError(f"cron: exactly one of day-of-month and day-of-week must be '?': {expression}")
    return Cron(
        minutes=_field(minutes, 0, 59),
        hours=_field(hours, 0, 23),
        days=_any_or(days, 1, 31),
        months=_field(months, 1, 12, _MONTHS),
        weekdays=_any_or(weekdays, 1, 7, _DAYS),
        years=_any_or(years, 1970, 2199),
    )


def _any_or(text: str, low: int, high: int, names: Mapping[str, int] | None = None) -> frozenset[int] | None:
    return None if text in {"?", "*"} else _field(text, low, high, names)


def _field(text: str, low: int, high: int, names: Mapping[str, int] | None = None) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = _number(step_text, names={}) if step_text else 1
        if step < 1:
            raise ValueError(f"cron: a step must be positive: {part}")
        if base in {"*", "?"}:
            start, end = low, high
        elif "-" in base:
            first, last = base.split("-", 1)
            start, end = _number(first, names), _number(last, names)
        else:
            start = _number(base, names)
            end = high if step_text else start
        if not low <= start <= end <= high:
            raise ValueError(f"cron: {part} is outside {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def _number(text: str, names: Mapping[str, int] | None) -> int:
    if names and text.upper() in names:
        return names[text.upper()]
    if not text.isdigit():
        raise ValueError(f"cron: not supported: {text}")
    return int(text)


@dataclass(frozen=True)
class Start:
    job: str
    slot: datetime

    @property
    def name(self) -> str:
        """The execution name: one per job and slot (Step Functions refuses a second)."""
        return f"{self.job}-{self.slot.astimezone(UTC):%Y%m%dT%H%M%S}Z"


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Scheduler:
    """Starts the description's scheduled state machines. ``arns``: state machine id → ARN."""

    def __init__(
        self,
        description: SystemDescription,
        sfn_client: Any,
        arns: Mapping[str, str],
        *,
        clock: Callable[[], datetime] = _utc_now,
        tick_seconds: float = TICK_SECONDS,
    ) -> None:
        self._sfn = sfn_client
        self._arns = dict(arns)
        self._clock = clock
        self._tick = tick_seconds
        self.schedules: dict[str, Schedule] = {
            machine.id: parse(machine.schedule)
            for machine in description.state_machines
            if machine.schedule is not None and machine.id in self._arns
        }
        self._checked = clock()  # nothing is due for the time before the scheduler existed
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.errors: list[str] = []  # start failures other than a repeat (error codes only)

    def due(self, now: datetime) -> list[Start]:
        """The starts due since the last check (the latest slot of each job), and marks ``now``
        as checked."""
        starts = []
        for job, schedule in self.schedules.items():
            slot = schedule.latest(self._checked, now)
            if slot is not None:
                starts.append(Start(job, slot))
        self._checked = max(self._checked, now)
        return starts

    def tick(self, now: datetime | None = None) -> list[Start]:
        """Starts what is due; returns the starts made (a repeat of a slot is not one)."""
        made = []
        for start in self.due(self._clock() if now is None else now):
            try:
                self._sfn.start_execution(stateMachineArn=self._arns[start.job], name=start.name, input="{}")
            except self._sfn.exceptions.ExecutionAlreadyExists:
                continue
            except Exception as error:  # the emulator stopping, or refusing: noted, the loop goes on
                self.errors.append(type(error).__name__)
                continue
            made.append(start)
        return made

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("already started")
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="local-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.wait(self._tick):
            self.tick()
