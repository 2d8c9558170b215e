"""The local scheduler: EventBridge rate and cron expressions, and which starts fall due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from juki_infra.description import describe
from juki_local.scheduler import Cron, Rate, Scheduler, Start, parse


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_rates_in_minutes_hours_and_days() -> None:
    assert parse("rate(1 minute)") == Rate(60)
    assert parse("rate(10 minutes)") == Rate(600)
    assert parse("rate(1 hour)") == Rate(3600)
    assert parse("rate(2 days)") == Rate(172800)
    for bad in ("rate(1 minutes)", "rate(2 hour)", "rate(0 minutes)", "rate(5 weeks)", "every minute"):
        with pytest.raises(ValueError):
            parse(bad)


def test_cron_fields() -> None:
    cron = parse("cron(0/15 9-17 ? * MON-FRI *)")
    assert isinstance(cron, Cron)
    assert cron.minutes == frozenset({0, 15, 30, 45})
    assert cron.hours == frozenset(range(9, 18))
    assert cron.weekdays == frozenset({2, 3, 4, 5, 6})
    assert cron.days is None and cron.years is None
    assert parse("cron(30 17 1,15 JAN,JUL ? 2030)") == Cron(
        frozenset({30}), frozenset({17}), frozenset({1, 15}), frozenset({1, 7}), None, frozenset({2030})
    )
    for bad in ("cron(0 18 * * *)", "cron(0 18 * * * *)", "cron(0 18 ? * ? *)", "cron(60 18 * * ? *)",
                "cron(0 18 L * ? *)", "cron(0 18 ? * 2#1 *)"):  # fmt: skip
        with pytest.raises(ValueError):
            parse(bad)


def test_the_latest_cron_slot() -> None:
    weekly = parse("cron(0 16 ? * SUN *)")  # the consistency check: 01:00 JST on Mondays
    sunday = at("2026-01-04T16:00:00")
    assert weekly.latest(sunday - timedelta(minutes=1), sunday + timedelta(seconds=30)) == sunday
    assert weekly.latest(sunday, sunday + timedelta(days=6)) is None
    assert weekly.latest(sunday, sunday + timedelta(days=7)) == sunday + timedelta(days=7)
    nightly = parse("cron(30 17 * * ? *)")
    assert nightly.latest(at("2026-01-01T00:00:00"), at("2026-01-03T12:00:00")) == at("2026-01-02T17:30:00")


def test_the_latest_rate_slot_is_aligned() -> None:
    assert Rate(600).latest(at("2026-01-01T00:00:00"), at("2026-01-01T00:25:10")) == at("2026-01-01T00:20:00")
    assert Rate(600).latest(at("2026-01-01T00:20:00"), at("2026-01-01T00:25:10")) is None


class FakeSfn:
    class exceptions:
        class ExecutionAlreadyExists(Exception):
            pass

    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def start_execution(self, *, stateMachineArn: str, name: str, input: str) -> dict[str, Any]:
        if name in self.names:
            raise self.exceptions.ExecutionAlreadyExists(name)
        self.names[name] = stateMachineArn
        return {"executionArn": f"{stateMachineArn}:{name}"}


def test_due_starts_each_job_once_per_slot() -> None:
    description = describe("221007")
    arns = {m.id: f"arn:sm:{m.id}" for m in description.state_machines}
    start = at("2026-01-04T15:59:30")
    scheduler = Scheduler(description, FakeSfn(), arns, clock=lambda: start)
    assert scheduler.due(start) == []
    due = {s.job: s for s in scheduler.due(at("2026-01-04T16:00:05"))}
    assert due["consistency-check"] == Start("consistency-check", at("2026-01-04T16:00:00"))
    assert "resident-code-topup" in due  # hourly: 16:00 is a slot
    nightly = {m.id for m in description.state_machines if m.schedule == "cron(30 17 * * ? *)"}
    assert nightly and not nightly & set(due)  # 02:30 JST is not due at 01:00 JST
    assert scheduler.due(at("2026-01-04T16:00:30")) == []  # checked already


def test_a_repeat_start_of_a_slot_is_a_no_op() -> None:
    description = describe("221007")
    arns = {m.id: f"arn:sm:{m.id}" for m in description.state_machines}
    sfn = FakeSfn()
    first = Scheduler(description, sfn, arns, clock=lambda: at("2026-01-04T15:59:30"))
    second = Scheduler(description, sfn, arns, clock=lambda: at("2026-01-04T15:59:30"))
    made = first.tick(at("2026-01-04T16:00:05"))
    again = second.tick(at("2026-01-04T16:00:10"))  # a restarted scheduler, same slot
    assert "consistency-check-20260104T160000Z" in {s.name for s in made}
    assert again == [] and second.errors == []
