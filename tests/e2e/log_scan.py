"""The scan of the whole end-to-end run for personal data where none may be (used by
``tests/e2e/conftest.py``; see its docstring): what the tests send, the log capture, and the scan."""

from __future__ import annotations

import gzip
import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from api_support import ApiClient as SignedApiClient
from juki.domain.codes import my_number_check_digit
from juki.observability import logger as app_logger
from juki_local import demo_data
from juki_local.system import LocalSystem
from scan_personal_data import (
    Finding,
    Needles,
    demo_needles,
    query_values,
    report,
    scan_lines,
    stored_my_numbers,
)

E2E_DIR = Path(__file__).parent
CANARY_LOGGER = "juki_e2e.scan_canary"  # a library-style logger: its records reach the root logger


# -- what the tests send -----------------------------------------------------------------------
_SENT = Needles()
_SENT_LOCK = threading.Lock()
_sent_requests = 0


def record_sent(method: str, path: str, body: Any = None, raw: bytes | None = None) -> None:
    """Files the personal values of a request (body and query) as needles for the log scan."""
    global _sent_requests  # noqa: PLW0603 - one collector for the whole run
    if raw is not None:
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):  # the tests send unreadable bodies on purpose
            body = None
    with _SENT_LOCK:
        _sent_requests += 1
        label = f"sent in request {_sent_requests} ({method} {path.split('?', maxsplit=1)[0]})"
        _SENT.add_body(label, body)
        _SENT.add_body(label, query_values(path))


class RecordingApiClient(SignedApiClient):
    """The shared client, recording what each test sends so that the scan looks for it."""

    def request(
        self,
        method: str,
        path: str,
        staff: Any = None,
        body: Any = None,
        token: str | None = None,
        raw: bytes | None = None,
    ) -> requests.Response:
        record_sent(method, path, body, raw)
        response: requests.Response = super().request(method, path, staff, body, token, raw)
        return response


# -- log capture -------------------------------------------------------------------------------
_STANDARD_RECORD_KEYS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
}


def _is_pytest_handler(handler: logging.Handler) -> bool:
    return type(handler).__module__.startswith("_pytest")


def _is_application_record(record: logging.LogRecord) -> bool:
    """The application's own records are written by its Powertools handler (captured there);
    the root logger does not write them in Lambda either (Powertools filters them out)."""
    return record.name == "juki" or record.name.startswith("juki.")


class _RootRecorder(logging.Handler):
    """What the Lambda runtime's root handler would write, and more: the message, every extra
    attribute and the exception text."""

    def __init__(self, sink: Callable[[str], None]) -> None:
        super().__init__(logging.INFO)
        self._sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        if _is_application_record(record):
            return
        extras = {key: value for key, value in vars(record).items() if key not in _STANDARD_RECORD_KEYS}
        text = f"{record.levelname} {record.name} {record.getMessage()} {extras!r}"
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        self._sink(text)


@dataclass
class LogCapture:
    """Every line written by a logging stream handler, and every root record at INFO and above."""

    lines: list[str] = field(default_factory=list)
    _saved_emit: Callable[[logging.StreamHandler[Any], logging.LogRecord], None] | None = None
    _recorder: _RootRecorder | None = None
    _root_level: int = logging.WARNING

    def add(self, text: str) -> None:
        self.lines.extend(text.splitlines() or [""])

    def start(self) -> None:
        original = logging.StreamHandler.emit
        capture = self

        def emit(handler: logging.StreamHandler[Any], record: logging.LogRecord) -> None:
            """StreamHandler.emit, keeping the line it writes (pytest's own handlers aside)."""
            if _is_pytest_handler(handler):
                original(handler, record)
                return
            try:
                line = handler.format(record)
                capture.add(line)
                handler.stream.write(line + handler.terminator)
                handler.flush()
            except RecursionError:
                raise
            except Exception:
                handler.handleError(record)

        self._saved_emit = original
        logging.StreamHandler.emit = emit  # type: ignore[method-assign]
        root = logging.getLogger()
        self._root_level = root.level
        root.setLevel(min(root.level, logging.INFO))  # the level the functions run at
        self._recorder = _RootRecorder(self.add)
        root.addHandler(self._recorder)

    def stop(self) -> None:
        if self._saved_emit is not None:
            logging.StreamHandler.emit = self._saved_emit  # type: ignore[method-assign]
            self._saved_emit = None
        if self._recorder is not None:
            root = logging.getLogger()
            root.removeHandler(self._recorder)
            root.setLevel(self._root_level)
            self._recorder = None

    def numbered(self, start: int = 0) -> Iterator[tuple[str, str]]:
        for number, line in enumerate(self.lines[start:], start=start + 1):
            yield f"log line {number}", line


# -- the scan ----------------------------------------------------------------------------------
@dataclass
class PersonalDataScan:
    system: LocalSystem
    capture: LogCapture = field(default_factory=LogCapture)
    demo: Needles = field(default_factory=Needles)
    demo_residents: int = 0
    canary_name: tuple[str, str] = ("", "")
    done: bool = False
    problems: str | None = None

    def __repr__(self) -> str:  # a failure report shows fixtures: never the captured lines
        return f"PersonalDataScan({len(self.capture.lines)} lines, {self.demo_residents} demo residents)"

    def start(self) -> None:
        households = list(
            demo_data.generate(residents=self.system.options.residents, seed=self.system.options.seed)
        )
        self.demo_residents = demo_needles(self.demo, households)
        first = households[0].members[0]
        self.canary_name = (f"{first.family_name}{first.given_name}", "demo resident 1: 氏名")
        self.capture.start()

    def _drain_linkage(self) -> None:
        """One more run of the linkage jobs, as the schedule would make within the minute: the CS's
        files (which carry a 個人番号 as the CS sends it) are applied and every version of them
        deleted; what is left at rest is what the system keeps."""
        from api_support import run_machine

        for job in ("linkage-dispatch", "linkage-receive", "linkage-dispatch", "linkage-receive"):
            run_machine(self.system, job)

    def finish(self) -> str | None:
        """Stops the capture and scans (once); a description of every problem, or None."""
        if self.done:
            return self.problems
        self.done = True
        self.problems = self._scan()
        return self.problems

    def _scan(self) -> str | None:
        problems: list[str] = []
        self._drain_linkage()
        canary_line = self._canaries(problems)
        self.capture.stop()
        needles = [self.demo, _SENT]
        found: list[Finding] = []
        for needle_set in needles:
            found += scan_lines(self.capture.numbered(), needle_set)
        found = list(dict.fromkeys(found))
        canary_hits = [f for f in found if f.where == canary_line and f.label == self.canary_name[1]]
        if not canary_hits:
            problems.append(f"the scan did not find the canary demo name at {canary_line}: it finds nothing")
        leaks = [f for f in found if f.where != canary_line]
        if leaks:
            problems.append(f"personal data in {len(leaks)} place(s) of the log:\n{report(leaks)}")
        problems += self._stored_scan()
        return "\n\n".join(problems) or None

    def _stored_scan(self) -> list[str]:
        """Every table item and object version, with a canary table and bucket (a valid 個人番号
        each) that the scan must find, removed afterwards."""
        dynamodb, s3 = self.system.emulator.client("dynamodb"), self.system.emulator.client("s3")
        canary = f"juki-e2e-scan-canary-{uuid.uuid4().hex[:8]}"
        number = _valid_my_number()
        dynamodb.create_table(
            TableName=canary,
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        s3.create_bucket(
            Bucket=canary, CreateBucketConfiguration={"LocationConstraint": self.system.emulator.region}
        )
        try:
            dynamodb.put_item(TableName=canary, Item={"pk": {"S": "x"}, "body": {"M": {"n": {"S": number}}}})
            s3.put_object(Bucket=canary, Key="canary.txt.gz", Body=gzip.compress(f"番号 {number}".encode()))
            found = stored_my_numbers(dynamodb, s3)
        finally:
            s3.delete_object(Bucket=canary, Key="canary.txt.gz")
            s3.delete_bucket(Bucket=canary)
            dynamodb.delete_table(TableName=canary)
        problems = []
        table_hits = [f for f in found if f.where.startswith(f"table {canary} ")]
        bucket_hits = [f for f in found if f.where.startswith(f"bucket {canary} ")]
        if not table_hits or not bucket_hits:
            problems.append("the stored-data scan missed the canary table item or the canary object")
        stored = [f for f in found if canary not in f.where]
        if stored:
            problems.append(f"個人番号 in plain text in {len(stored)} stored place(s):\n{report(stored)}")
        return problems

    def _canaries(self, problems: list[str]) -> str:
        """Logs the two canaries; returns where the one the scan must find was captured."""
        tag = uuid.uuid4().hex
        start = len(self.capture.lines)
        app_logger.info(
            "personal data scan canary", extra={"canary": tag, "family_name": self.canary_name[0]}
        )
        written = self.capture.lines[start:]
        if not any(tag in line for line in written):
            problems.append("the application's log lines are not captured (canary missing)")
        if any(self.canary_name[0] in line for line in written):
            problems.append("a personal field in the application's log line was not masked")
        start = len(self.capture.lines)
        logging.getLogger(CANARY_LOGGER).info("canary %s", self.canary_name[0])
        if len(self.capture.lines) == start:
            problems.append("library log records at INFO are not captured (canary missing)")
            return "nowhere"
        return f"log line {start + 1}"


def _valid_my_number() -> str:
    first11 = f"{uuid.uuid4().int % 10**11:011d}"
    return first11 + str(my_number_check_digit(first11))
