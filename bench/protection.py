"""The cost of the protections, per request: the operation log and 個人番号 encryption.

Each figure compares the same request with and without the protection, in the same process, on
the same emulator, with the two variants interleaved (A B B A …) so that drift on a shared
machine falls on both alike; the ratio is the figure, the milliseconds only say what was compared.

* Operation log, reads: ``InquiryService.person`` / ``household`` and ``SearchService.search``
  built twice from the same pieces, once with the real log (``DynamoLedgerStore.append``, a PutItem
  on the oplog table) and once with ``NullOperationLog``.
* Operation log, writes: the same move-in entered, approved and committed through
  ``MovementService``; in one variant the oplog item is taken out of each ``TransactWriteItems``
  on its way to DynamoDB (``StrippedLog``), so everything else, down to the bytes of the other
  items, is the same.
* 個人番号: a move-in of three with a 個人番号 each against the same move-in without;
  ``KmsMyNumberVault.seal`` / ``open`` against one plain KMS ``Encrypt`` and one DynamoDB
  ``GetItem``; the blind index (HMAC-SHA256 under the index key) against a plain SHA-256.

The section runs on a small municipality of its own (``RESIDENTS``): every request here is by key
except the few index queries, which moto answers by scanning the table.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import secrets
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

import requests
from juki import bootstrap
from juki.adapters.search import DynamoSearchIndex
from juki.adapters.system import SystemClock, UuidSource
from juki.bootstrap import Services
from juki.domain import ids
from juki.domain.codes import my_number_check_digit
from juki.domain.commands import MovementCommand
from juki.domain.model import MovementStatus
from juki.domain.my_number import MyNumberVault, SealedMyNumber
from juki.domain.oplog import OperationLogEntry
from juki.domain.search import SearchQuery
from juki.domain.staff import Actor, Role
from juki.services.inquiry import InquiryService
from juki.services.movements import MovementService
from juki.services.ports import ExecutionOutcome, OperationLog
from juki.services.search import SearchService
from juki_local.system import LocalOptions, LocalSystem
from pydantic import TypeAdapter
from pynamodb.connection import Connection

from bench.run import counting_requests, move_in_body, timed

RESIDENTS = 60
CODE_POOL = 300  # 住民票コード in the pool: enough for every move-in here, few enough to keep the table small
READS = 40  # per read and variant
MOVE_INS = 16  # per variant, for each of the two comparisons
CRYPTO = 40  # seal, open, Encrypt, GetItem each
HASHES = 20_000  # per timing of the blind index and of SHA-256
HASH_REPEATS = 5

CLERK = Actor(
    staff_id="bench-clerk",
    roles=frozenset({Role.CLERK}),
    office="本庁",
    terminal="bench-1",
    caller="bench",
    request_id="bench",
)
APPROVER = Actor(
    staff_id="bench-approver",
    roles=frozenset({Role.APPROVER}),
    office="本庁",
    terminal="bench-2",
    caller="bench",
    request_id="bench",
)
COMMANDS: TypeAdapter[MovementCommand] = TypeAdapter(MovementCommand)


class NullOperationLog:
    """An ``OperationLog`` that keeps nothing: the baseline of a read without its log entry.
    Bench only; the system has no way to read without logging."""

    def append(self, entry: OperationLogEntry) -> None:
        del entry


class HeldWorkflow:
    """A ``Workflow`` that starts nothing: the bench runs ``MovementService.commit`` itself, in this
    process, so that the commit is timed alone (no state machine, no Lambda, no polling)."""

    def start(self, name: str, payload: dict[str, Any]) -> str:
        return name

    def wait(self, execution_arn: str, timeout_seconds: float) -> ExecutionOutcome:
        return ExecutionOutcome(status="RUNNING")


@dataclass
class Wire:
    """What the adapters send to DynamoDB through pynamodb: the seconds of each operation (kept
    until taken), and every TransactWriteItems by step, as sent. When ``strip`` is set, the oplog
    items are taken out of each transaction before it leaves."""

    oplog_table: str
    strip: bool = False
    step: str = ""
    operation_seconds: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    transactions: dict[str, list[tuple[list[dict[str, Any]], list[dict[str, Any]], float]]] = field(
        default_factory=dict
    )  # step → (items sent, oplog items among those asked for, seconds)

    def take(self) -> defaultdict[str, float]:
        """The seconds per operation since the last take."""
        taken, self.operation_seconds = self.operation_seconds, defaultdict(float)
        return taken

    def send(
        self, original: Callable[[str, dict[str, Any]], dict[str, Any]], name: str, kwargs: dict[str, Any]
    ) -> Any:
        logged: list[dict[str, Any]] = []
        if name == "TransactWriteItems":
            logged = [item for item in kwargs["TransactItems"] if self._is_log(item)]
            if self.strip:
                kwargs = kwargs | {
                    "TransactItems": [i for i in kwargs["TransactItems"] if not self._is_log(i)]
                }
        start = time.perf_counter()
        try:
            return original(name, kwargs)
        finally:
            seconds = time.perf_counter() - start
            self.operation_seconds[name] += seconds
            if name == "TransactWriteItems":
                self.transactions.setdefault(self.step, []).append((kwargs["TransactItems"], logged, seconds))

    def _is_log(self, item: dict[str, Any]) -> bool:
        return any(part.get("TableName") == self.oplog_table for part in item.values())


def wire_bytes(value: Any) -> int:
    """The size of a request part as botocore sends it (the JSON protocol's ``json.dumps``)."""
    return len(json.dumps(value).encode("utf-8"))


@contextmanager
def watching(wire: Wire) -> Iterator[Wire]:
    """Every request pynamodb sends goes through ``wire`` while this lasts."""
    original = Connection._make_api_call

    def watched(self: Connection, operation_name: str, operation_kwargs: dict[str, Any]) -> Any:
        return wire.send(partial(original, self), operation_name, operation_kwargs)

    Connection._make_api_call = watched  # type: ignore[method-assign]
    try:
        yield wire
    finally:
        Connection._make_api_call = original  # type: ignore[method-assign]


class TimedVault:
    """The pieces' ``MyNumberVault``, with the seconds spent sealing kept until taken: the part of a
    move-in's time that is the encryption itself."""

    def __init__(self, vault: MyNumberVault) -> None:
        self._vault = vault
        self.sealing = 0.0

    def seal(self, my_number: str, person_id: str) -> SealedMyNumber:
        start = time.perf_counter()
        try:
            return self._vault.seal(my_number, person_id)
        finally:
            self.sealing += time.perf_counter() - start

    def open(self, sealed: SealedMyNumber, person_id: str) -> str:
        opened: str = self._vault.open(sealed, person_id)
        return opened

    def blind_index(self, my_number: str) -> str:
        index: str = self._vault.blind_index(my_number)
        return index

    def take(self) -> float:
        taken, self.sealing = self.sealing, 0.0
        return taken


@dataclass(frozen=True)
class Pieces:
    """The services under test, built from the composition root's pieces, twice where they differ
    only by their operation log."""

    services: Services
    vault: TimedVault
    inquiry: dict[bool, InquiryService]
    search: dict[bool, SearchService]
    movements: MovementService


def build_pieces(services: Services) -> Pieces:
    settings = services.settings
    index = DynamoSearchIndex(settings.ledger_table, region=settings.region, host=settings.endpoint_url)
    clock, id_source = SystemClock(), UuidSource()
    vault = TimedVault(services.my_numbers)
    logs: dict[bool, OperationLog] = {True: services.store, False: NullOperationLog()}
    return Pieces(
        services=services,
        vault=vault,
        inquiry={
            logged: InquiryService(
                services.store, log, clock, id_source, restrictions=services.restrictions, vault=vault
            )
            for logged, log in logs.items()
        },
        search={
            logged: SearchService(
                services.store, index, log, clock, id_source, vault=vault, restrictions=services.restrictions
            )
            for logged, log in logs.items()
        },
        movements=MovementService(
            services.store,
            services.store,
            HeldWorkflow(),
            clock,
            id_source,
            restrictions=services.restrictions,
            vault=vault,
            index=index,
        ),
    )


def interleaved(variants: dict[str, Callable[[], Any]], rounds: int) -> dict[str, list[float]]:
    """Seconds of each variant, run in A B, B A, A B … order (after one untimed warm-up each)."""
    names = list(variants)
    for name in names:
        variants[name]()
    samples: dict[str, list[float]] = {name: [] for name in names}
    for index in range(rounds):
        for name in names if index % 2 == 0 else reversed(names):
            samples[name].append(timed(variants[name]))
    return samples


def _repeated(action: Callable[[], Any], times: int) -> None:
    for _ in range(times):
        action()


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


# -- operation log: reads -----------------------------------------------------------------------
@dataclass(frozen=True)
class ReadFigure:
    label: str
    logged_ms: float
    unlogged_ms: float
    log_put_ms: float  # the log's PutItem, timed inside the logged read
    query_ms: float  # the Queries of one read (the same in both variants)
    logged_requests: Counter[str]
    unlogged_requests: Counter[str]


def read_figures(pieces: Pieces) -> list[ReadFigure]:
    store = pieces.services.store
    household = store.get_household(ids.make_id(1))
    assert household is not None, "the demo municipality has household 1"
    person_id = household.head_person_id or household.member_ids[0]
    person = store.get_person(person_id)
    assert person is not None
    kana = SearchQuery(family_name_kana=person.name.family_name_kana, limit=20)
    reads: dict[str, Callable[[bool], Any]] = {
        "`InquiryService.person`": lambda logged: pieces.inquiry[logged].person(person_id, CLERK),
        "`InquiryService.household`": lambda logged: pieces.inquiry[logged].household(
            household.household_id, CLERK
        ),
        "`SearchService.search` (kana family name, limit 20)": lambda logged: pieces.search[logged].search(
            kana, CLERK
        ),
    }
    figures = []
    wire = Wire(pieces.services.settings.oplog_table)
    for label, read in reads.items():
        requests_by: dict[bool, Counter[str]] = {}
        for logged in (True, False):
            with counting_requests() as counts:
                read(logged)
            requests_by[logged] = counts
        puts: list[float] = []
        queries: list[float] = []

        def logged_read(
            read: Callable[[bool], Any] = read, puts: list[float] = puts, queries: list[float] = queries
        ) -> None:
            read(True)
            seconds = wire.take()
            puts.append(seconds["PutItem"])
            queries.append(seconds["Query"])

        with watching(wire):
            seconds = interleaved({"logged": logged_read, "unlogged": partial(read, False)}, READS)
        figures.append(
            ReadFigure(
                label,
                median_ms(seconds["logged"]),
                median_ms(seconds["unlogged"]),
                median_ms(puts),
                median_ms(queries),
                requests_by[True],
                requests_by[False],
            )
        )
    return figures


# -- move-ins through the service ------------------------------------------------------------------
def a_my_number(serial: int) -> str:
    first11 = f"{(serial * 7_919_111 + 31_337) % 10**11:011d}"
    return first11 + str(my_number_check_digit(first11))


def move_in_command(serial: int, *, with_my_number: bool) -> MovementCommand:
    """A move-in of three (the foundation bench's body), each person unique by their reading, and
    with a 個人番号 each when asked."""
    body = copy.deepcopy(move_in_body(serial % 10_000))
    for position, member in enumerate(body["members"]):
        member["name"]["given_name_kana"] = "タロウ" + "アイウエオカキクケコ"[serial // 10_000 % 10]
        if with_my_number:
            member["my_number"] = a_my_number(serial * 3 + position)
    return COMMANDS.validate_python(body)


STEPS = {"enter": "entry (draft)", "approve": "approval", "commit": "commit"}


@dataclass
class MoveIns:
    """One variant's move-ins: seconds of each step, and within them the time spent sealing and in
    DynamoDB Queries; the AWS requests of all of them."""

    wire: Wire
    seconds: dict[str, list[float]] = field(default_factory=lambda: {step: [] for step in STEPS})
    sealing: list[float] = field(default_factory=list)
    queries: list[float] = field(default_factory=list)
    requests: Counter[str] = field(default_factory=Counter)
    count: int = 0


def move_in(pieces: Pieces, command: MovementCommand, into: MoveIns) -> None:
    """Entry, approval and commit, each timed alone (the commit run in-process, as the state
    machine's task would run it)."""
    movements, wire = pieces.movements, into.wire
    pieces.vault.take()
    wire.take()
    with counting_requests() as counts:
        wire.step = STEPS["enter"]
        start = time.perf_counter()
        draft = movements.enter(command, CLERK)
        entered = time.perf_counter()
        wire.step = STEPS["approve"]
        approved = movements.approve(draft.movement_id, APPROVER, wait_seconds=0).movement
        approved_at = time.perf_counter()
        assert approved.approval_id is not None
        wire.step = STEPS["commit"]
        result = movements.commit(draft.movement_id, approved.approval_id)
        done = time.perf_counter()
    if result["status"] != MovementStatus.FINAL:
        raise RuntimeError(f"a bench move-in ended {result['status']}")
    into.seconds["enter"].append(entered - start)
    into.seconds["approve"].append(approved_at - entered)
    into.seconds["commit"].append(done - approved_at)
    into.sealing.append(pieces.vault.take())
    into.queries.append(wire.take()["Query"])
    into.requests += counts
    into.count += 1


def compare_move_ins(
    pieces: Pieces, first_serial: int, variants: dict[str, tuple[bool, bool]]
) -> dict[str, MoveIns]:
    """``variants``: name → (strip the oplog items, with 個人番号). Interleaved like ``interleaved``,
    after one warm-up each that is not kept."""
    oplog_table = pieces.services.settings.oplog_table
    kept = {name: MoveIns(Wire(oplog_table, strip=strip)) for name, (strip, _) in variants.items()}
    names = list(variants)
    serial = first_serial
    for round_index in range(-1, MOVE_INS):
        for name in names if round_index % 2 == 0 else reversed(names):
            strip, with_number = variants[name]
            into = MoveIns(Wire(oplog_table, strip=strip)) if round_index < 0 else kept[name]
            with watching(into.wire):
                move_in(pieces, move_in_command(serial, with_my_number=with_number), into)
            serial += 1
    return kept


# -- 個人番号 ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CryptoFigures:
    seal_ms: float
    open_ms: float
    encrypt_ms: float
    get_item_ms: float
    put_item_ms: float
    seal_requests: Counter[str]
    open_requests: Counter[str]
    blind_index_ns: float
    hmac_ns: float
    sha256_ns: float


def crypto_figures(system: LocalSystem, services: Services) -> CryptoFigures:
    vault = services.my_numbers
    kms = system.emulator.client("kms")
    dynamodb = system.emulator.client("dynamodb")
    key_arn = services.settings.pii_key_arn
    table = services.settings.ledger_table
    person_id = ids.make_id(1)
    number = a_my_number(999_999)
    sealed = vault.seal(number, person_id)
    with counting_requests() as seal_requests:
        vault.seal(number, person_id)
    with counting_requests() as open_requests:
        assert vault.open(sealed, person_id) == number
    seconds = interleaved(
        {
            "seal": lambda: vault.seal(number, person_id),
            "open": lambda: vault.open(sealed, person_id),
            "encrypt": lambda: kms.encrypt(KeyId=key_arn, Plaintext=number.encode("ascii")),
            "get_item": lambda: dynamodb.get_item(
                TableName=table, Key={"pk": {"S": f"PERSON#{person_id}"}, "sk": {"S": "CURRENT"}}
            ),
            "put_item": lambda: dynamodb.put_item(
                TableName=table, Item={"pk": {"S": "BENCH#PUT"}, "sk": {"S": "PUT"}, "n": {"N": "1"}}
            ),
        },
        CRYPTO,
    )
    digits = number.encode("ascii")
    key = secrets.token_bytes(32)
    hashes = {
        "blind_index": lambda: vault.blind_index(number),
        "hmac": lambda: hmac.new(key, digits, hashlib.sha256).hexdigest(),
        "sha256": lambda: hashlib.sha256(digits).hexdigest(),
    }
    per_call: dict[str, list[float]] = {name: [] for name in hashes}
    for _ in range(HASH_REPEATS):
        for name, action in hashes.items():
            per_call[name].append(timed(partial(_repeated, action, HASHES)) / HASHES)
    return CryptoFigures(
        seal_ms=median_ms(seconds["seal"]),
        open_ms=median_ms(seconds["open"]),
        encrypt_ms=median_ms(seconds["encrypt"]),
        get_item_ms=median_ms(seconds["get_item"]),
        put_item_ms=median_ms(seconds["put_item"]),
        seal_requests=seal_requests,
        open_requests=open_requests,
        blind_index_ns=statistics.median(per_call["blind_index"]) * 1e9,
        hmac_ns=statistics.median(per_call["hmac"]) * 1e9,
        sha256_ns=statistics.median(per_call["sha256"]) * 1e9,
    )


# -- the section ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ProtectionFigures:
    reads: list[ReadFigure]
    log_writes: dict[str, MoveIns]
    numbers: dict[str, MoveIns]
    crypto: CryptoFigures
    seconds: float


WITH_LOG, WITHOUT_LOG = "with log", "without log"
WITH_NUMBER, WITHOUT_NUMBER = "with 個人番号", "without 個人番号"


def measure() -> ProtectionFigures:
    started = time.perf_counter()
    system = LocalSystem(LocalOptions(api_port=0, residents=RESIDENTS, resident_code_pool=CODE_POOL))
    system.start()
    try:
        pieces = build_pieces(bootstrap.services())
        reads = read_figures(pieces)
        log_writes = compare_move_ins(pieces, 20_000, {WITH_LOG: (False, False), WITHOUT_LOG: (True, False)})
        numbers = compare_move_ins(
            pieces, 40_000, {WITH_NUMBER: (False, True), WITHOUT_NUMBER: (False, False)}
        )
        crypto = crypto_figures(system, pieces.services)
    finally:
        # moto keeps its state in this process: the next local system of the run starts clean.
        requests.post(f"{system.emulator.url}/moto-api/reset", timeout=60)
        system.stop()
    return ProtectionFigures(reads, log_writes, numbers, crypto, time.perf_counter() - started)


def requests_text(counts: Counter[str], per: int = 1) -> str:
    parts = ", ".join(
        f"{action.removeprefix('dynamodb:')} {short(n / per)}" for action, n in sorted(counts.items())
    )
    return f"{short(counts.total() / per)} ({parts})"


def short(value: float) -> str:
    """At most two decimals, no trailing zeros (a paged Query now and then makes 7.06)."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def section(figures: ProtectionFigures) -> list[str]:
    """The markdown of the section (one ``##`` heading, so a partial run can replace it alone)."""
    crypto = figures.crypto
    with_numbers, without_numbers = figures.numbers[WITH_NUMBER], figures.numbers[WITHOUT_NUMBER]
    return [
        "## Cost of the protections: operation log and 個人番号 encryption",
        "",
        f"Measured on {datetime.now(UTC):%Y-%m-%d} by `make bench` (or `python -m bench protection` for this"
        f" section alone) on a machine with 2 cores, in {figures.seconds:.0f} s, on a local system of its own"
        f" ({RESIDENTS} demo residents, {CODE_POOL} 住民票コード in the pool, so that the ledger table stays"
        " small: see the next paragraph). The services are called in-process with an `Actor` built by the"
        " bench (no HTTP, no token, no state machine), built from the same pieces as `juki.bootstrap.build`,"
        " so what differs between two variants is the protection alone. The variants run interleaved"
        " (A B B A …) after a warm-up; times are medians. The milliseconds are this machine's; the ratios"
        " are the figures.",
        "",
        "One thing about the emulator weighs on the time ratios below: a Query on a table's own key reads"
        " only its partition (the local system corrects moto there), but moto still answers a Query on an"
        " index by reading the whole table, while on DynamoDB any Query is one round trip like any other"
        " request (a read here costs about"
        f" {statistics.median(r.query_ms / max(r.logged_requests['dynamodb:Query'], 1) for r in figures.reads) / crypto.get_item_ms:.1f}"
        " `GetItem`s a Query). Search and the 個人番号 lookups are index Queries, so their times here are"
        " mostly moto's; the request counts and the protection's own time against a plain request are the"
        " figures that carry over.",
        "",
        "### Operation log on reads",
        "",
        f"The same read, {READS} times each, by services that differ only by their `OperationLog`: the real one"
        " (`DynamoLedgerStore.append`, one conditional PutItem on the oplog table, before the answer leaves)"
        " and `bench.protection.NullOperationLog`, which keeps nothing. Every read of personal data pays this:"
        " the answer does not leave before its entry is stored.",
        "",
        "| read | logged (ms) | not logged (ms) | logged ÷ not logged | the log's PutItem (ms) | … ÷ plain PutItem"
        " | DynamoDB requests, logged | … not logged |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        *[
            f"| {r.label} | {r.logged_ms:.1f} | {r.unlogged_ms:.1f} | {r.logged_ms / r.unlogged_ms:.2f} |"
            f" {r.log_put_ms:.2f} | {r.log_put_ms / crypto.put_item_ms:.2f} |"
            f" {requests_text(r.logged_requests)} | {requests_text(r.unlogged_requests)} |"
            for r in figures.reads
        ],
        "",
        f"The log's PutItem is timed inside the logged read; the plain PutItem is a boto3 PutItem of a small item"
        f" ({crypto.put_item_ms:.2f} ms here). On DynamoDB, where each request is a round trip of about the same"
        " cost, the log adds one request to the read's: the ratio of the request counts is the better guide"
        " to the added latency there (the PutItem is not batched with the reads, since it must record the"
        " outcome).",
        "",
        "### Operation log on writes",
        "",
        f"{MOVE_INS} move-ins of three people per variant, each entered (`MovementService.enter`), approved"
        " (`approve`) and committed (`commit`, run in-process as the state machine's task runs it). In the"
        " variant without the log, the oplog item is taken out of each `TransactWriteItems` on its way to"
        " DynamoDB, so the rest of each request is byte for byte the same. Request bytes are the JSON botocore"
        " sends; the log item's bytes are its part of them. The entry is in the same transaction as the change"
        " it records: no change without its entry, and no entry for a change that did not happen. A"
        " transaction holds at most 100 items and 4 MB, so the entry's share of both is the room it takes.",
        "",
        "| step | items per transaction (with / without log) | request bytes (with / without) | log item bytes"
        " | TransactWriteItems time, with ÷ without | whole step, with ÷ without |",
        "| --- | --- | --- | --- | --- | --- |",
        *write_rows(figures.log_writes[WITH_LOG], figures.log_writes[WITHOUT_LOG]),
        "",
        "The time ratios of the log's item in a transaction moved between about 0.85 and 1.3 from run to run"
        " while other jobs shared the machine: one item more among 2 or 24 costs less than that noise here."
        " The item count and the bytes are exact.",
        "",
        "### 個人番号 encryption",
        "",
        f"{MOVE_INS} move-ins of three people per variant through the same service, each person with a 個人番号"
        " or none. With numbers, entry takes the new people's ids early (the id counters), seals each number"
        " for its person (Encryption SDK: one KMS `GenerateDataKey`, AES-256-GCM with key commitment and an"
        " ECDSA P-384 signature), and entry and commit each look every number's blind index up in the"
        " 個人番号 index (one Query per number), so that a number recorded for someone else is refused.",
        "",
        f"| step | {WITH_NUMBER} (ms) | {WITHOUT_NUMBER} (ms) | with ÷ without |",
        "| --- | --- | --- | --- |",
        *number_rows(with_numbers, without_numbers),
        "",
        f"AWS requests per move-in {WITH_NUMBER}: {requests_text(with_numbers.requests, with_numbers.count)};"
        f" {WITHOUT_NUMBER}: {requests_text(without_numbers.requests, without_numbers.count)}.",
        "",
        f"The vault directly, {CRYPTO} calls each, against one plain KMS `Encrypt` of the 12 digits"
        f" ({crypto.encrypt_ms:.2f} ms here) and one DynamoDB `GetItem` of a current person record"
        f" ({crypto.get_item_ms:.2f} ms here), both with boto3 on the same emulator:",
        "",
        "| call | ms | ÷ KMS Encrypt | ÷ DynamoDB GetItem | AWS requests per call |",
        "| --- | --- | --- | --- | --- |",
        f"| `KmsMyNumberVault.seal` | {crypto.seal_ms:.2f} | {crypto.seal_ms / crypto.encrypt_ms:.2f} |"
        f" {crypto.seal_ms / crypto.get_item_ms:.2f} | {requests_text(crypto.seal_requests)} |",
        f"| `KmsMyNumberVault.open` | {crypto.open_ms:.2f} | {crypto.open_ms / crypto.encrypt_ms:.2f} |"
        f" {crypto.open_ms / crypto.get_item_ms:.2f} | {requests_text(crypto.open_requests)} |",
        "",
        f"The blind index, median of {HASH_REPEATS} runs of {HASHES:,} calls, against a plain SHA-256 of the"
        f" same 12 digits ({crypto.sha256_ns:.0f} ns a call here):",
        "",
        "| computation | ns per call | ÷ SHA-256 |",
        "| --- | --- | --- |",
        f"| `KmsMyNumberVault.blind_index` (checks the 12 digits and the check digit, then HMAC-SHA256) |"
        f" {crypto.blind_index_ns:.0f} | {crypto.blind_index_ns / crypto.sha256_ns:.1f} |",
        f"| HMAC-SHA256 alone (`hmac.new`, 32-byte key) | {crypto.hmac_ns:.0f} | {crypto.hmac_ns / crypto.sha256_ns:.1f} |",
        "",
        "Why these matter: sealing and opening cost one KMS round trip each plus local cryptography, about one"
        " plain KMS call, paid once per number entered or shown; finding a person by number costs no KMS"
        " call at all (the blind index key is unwrapped once per container, and the HMAC is microseconds),"
        " which is why search and the in-use check go by the index and never decrypt. What a move-in with"
        " numbers adds beyond the sealing is mostly the in-use check's index Queries (six for three numbers),"
        " which moto makes look far dearer than DynamoDB will: the row 'whole move-in less its Queries' is"
        " the closer guide to the encryption's own cost, and the request counts to the rest.",
        "",
    ]


def write_rows(logged: MoveIns, unlogged: MoveIns) -> list[str]:
    rows = []
    for timing, step in STEPS.items():
        sent, stripped = logged.wire.transactions.get(step, []), unlogged.wire.transactions.get(step, [])
        if not sent or not stripped:
            continue
        items = (
            f"{statistics.mean(len(t[0]) for t in sent):g} / {statistics.mean(len(t[0]) for t in stripped):g}"
        )
        size = (
            f"{statistics.mean(wire_bytes({'TransactItems': t[0]}) for t in sent):,.0f} /"
            f" {statistics.mean(wire_bytes({'TransactItems': t[0]}) for t in stripped):,.0f}"
        )
        log_bytes = f"{statistics.mean(sum(wire_bytes(i) for i in t[1]) for t in sent):,.0f}"
        tx_ratio = statistics.median(t[2] for t in sent) / statistics.median(t[2] for t in stripped)
        step_ratio = statistics.median(logged.seconds[timing]) / statistics.median(unlogged.seconds[timing])
        rows.append(f"| {step} | {items} | {size} | {log_bytes} | {tx_ratio:.2f} | {step_ratio:.2f} |")
    return rows


def number_rows(with_numbers: MoveIns, without: MoveIns) -> list[str]:
    rows = []
    for timing, step in STEPS.items():
        a, b = median_ms(with_numbers.seconds[timing]), median_ms(without.seconds[timing])
        rows.append(f"| {step} | {a:.1f} | {b:.1f} | {a / b:.2f} |")
    total_a = sum(median_ms(with_numbers.seconds[s]) for s in STEPS)
    total_b = sum(median_ms(without.seconds[s]) for s in STEPS)
    rows += [
        f"| whole move-in (sum of the medians) | {total_a:.1f} | {total_b:.1f} | {total_a / total_b:.2f} |",
        f"| … of which sealing the 3 numbers | {median_ms(with_numbers.sealing):.1f} | – | – |",
        f"| … of which DynamoDB Queries | {median_ms(with_numbers.queries):.1f} | {median_ms(without.queries):.1f}"
        f" | {median_ms(with_numbers.queries) / max(median_ms(without.queries), 1e-9):.2f} |",
        f"| whole move-in less its Queries | {total_a - median_ms(with_numbers.queries):.1f} |"
        f" {total_b - median_ms(without.queries):.1f} |"
        f" {(total_a - median_ms(with_numbers.queries)) / (total_b - median_ms(without.queries)):.2f} |",
    ]
    return rows
