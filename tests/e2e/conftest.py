"""End-to-end fixtures: the shared ones (from tests/conftest.py), plus a scan of the whole run for
personal data where none may be.

For the whole end-to-end run, every line a logging stream handler writes (the Powertools handler of
every function, whatever logger it hangs on) and every record that reaches the root logger at INFO
(moto, botocore, the local gateway: what the Lambda runtime would write) is kept. After the last
end-to-end test:

* the lines are searched for the demo residents' names (kanji and kana), birth dates (ISO, kanji,
  和暦), addresses, for the personal values the tests sent in their requests, and for any valid
  12-digit 個人番号;
* every item of every DynamoDB table and every version of every S3 object is searched for a valid
  個人番号 in plain text.

Anything found fails the run: the last end-to-end test (``test_the_whole_end_to_end_run_left_no_
personal_data``, ordered last) fails, or, when it was not selected, the session ends failed with
the findings in its summary. Two canaries
prove the scan is alive each time: a demo name logged through a plain library logger must be
found, and a demo name in a personal field of the application's logger must be captured masked.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from juki_local.system import LocalSystem
from log_scan import E2E_DIR, PersonalDataScan, RecordingApiClient


@pytest.fixture(scope="session")
def api(local_system: LocalSystem) -> RecordingApiClient:
    """The shared client, recording what each test sends so that the scan looks for it."""
    return RecordingApiClient(local_system)


_SCAN: dict[str, PersonalDataScan] = {}


FINAL_TEST = "test_the_whole_end_to_end_run_left_no_personal_data"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The end-to-end tests run together (the scan watches them as one run, from the first to the
    last), wherever the first of them was selected; the schema fuzzing goes after the scenario
    tests (the drafts, staff accounts and job runs it makes are then no part of theirs), and the
    scan of the whole run after everything else."""
    fuzz = [
        item for item in items if item.path.parent == E2E_DIR and item.path.name == "test_schemathesis.py"
    ]
    final = [item for item in items if item.path.parent == E2E_DIR and item.name == FINAL_TEST]
    moved = set(map(id, fuzz + final))
    scenarios = [item for item in items if _is_end_to_end(item) and id(item) not in moved]
    e2e = {id(item) for item in items if _is_end_to_end(item)}
    first = next((index for index, item in enumerate(items) if id(item) in e2e), len(items))
    before = [item for item in items[:first] if id(item) not in e2e]
    after = [item for item in items[first:] if id(item) not in e2e]
    items[:] = [*before, *scenarios, *fuzz, *final, *after]


@pytest.fixture(scope="session", autouse=True)
def personal_data_scan(local_system: LocalSystem) -> Iterator[PersonalDataScan]:
    scan = PersonalDataScan(local_system)
    scan.start()
    _SCAN["current"] = scan
    try:
        yield scan
    finally:
        scan.capture.stop()
        _SCAN.pop("current", None)


def _is_end_to_end(item: pytest.Item | None) -> bool:
    return item is not None and E2E_DIR in item.path.parents


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """When the final test was not selected: the scan still runs after the last end-to-end test,
    while the local system runs. Its verdict is given at the end of the session, not in this
    test's teardown, where an xfail mark on the test would swallow it."""
    scan = _SCAN.get("current")
    if scan is not None and not scan.done and not _is_end_to_end(nextitem):
        scan.finish()
        _SCAN["late"] = scan
    result: None = yield
    return result


def pytest_terminal_summary(terminalreporter: Any) -> None:
    scan = _SCAN.get("late")
    if scan is not None and scan.problems:
        terminalreporter.write_sep("=", "end-to-end personal data scan", red=True)
        terminalreporter.write_line(scan.problems)


def pytest_sessionfinish(session: pytest.Session) -> None:
    scan = _SCAN.get("late")
    if scan is not None and scan.problems:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
