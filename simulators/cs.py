"""The 住基ネット 市町村CS as Juki sees it: it takes 本人確認情報 updates and notices in order,
designates 個人番号 on request, takes 住民票コード照会 answers for the 本籍地, hands out 住民票コード,
answers identity-record queries for the consistency check, and drops files of its own
(転出証明書情報, 転入通知) into the exchange bucket.

Identity records are kept per person (``person_id``) and found by 住民票コード. The data lives in
this process only (it is test data, never logged).
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Protocol

from juki.domain.codes import (
    is_valid_my_number,
    is_valid_resident_code,
    my_number_check_digit,
    resident_code_check_digit,
)
from juki.domain.retention import MoveOutCertificate

from simulators.delivery import (
    AppliedMessage,
    BadMessage,
    LaneBook,
    Message,
    Outcome,
    lane_pattern,
    parse_message,
)
from simulators.faults import Clock
from simulators.peer import Peer

JST = timezone(timedelta(hours=9), "JST")
LANES = lane_pattern("cs")  # cs:<person_id>, or by stream: cs.identity:<person_id>, ...
INBOUND_PREFIX = "inbound/cs"
MAX_ALLOCATION = 10_000
MAX_QUERY = 10_000

IDENTITY_KINDS = ("identity.created", "identity.changed", "identity.removed")
NOTICE_KINDS = ("move_in.notice", "koseki.notice", "resident_code.answer")  # kept as received
MY_NUMBER_REQUEST = "my_number.request"
KINDS = (*IDENTITY_KINDS, *NOTICE_KINDS, MY_NUMBER_REQUEST)

# The identity record (本人確認情報) as the messages carry it and the query returns it.
IDENTITY_TEXT_KEYS = ("person_id", "name", "name_kana", "birth_date", "address", "reason", "effective_date")
IDENTITY_KEYS = (*IDENTITY_TEXT_KEYS, "resident_code", "my_number", "sex", "status")
SEXES = ("male", "female")
STATUSES = ("resident", "removed")


class ObjectWriter(Protocol):
    """The one S3 call the CS makes (a boto3 S3 client is one)."""

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, ContentType: str) -> Any: ...


@dataclass(frozen=True)
class Designation:
    """A 個人番号 the CS designated on request, and the file that carried it back."""

    request_id: str  # the my_number.request message
    person_id: str
    resident_code: str | None
    my_number: str
    file_message_id: str


def identity_record(data: Mapping[str, Any], *, removed: bool = False) -> dict[str, Any]:
    """A checked copy of an identity record, or ``BadMessage`` naming the key at fault."""
    missing = [key for key in IDENTITY_KEYS if key not in data]
    if missing:
        raise BadMessage(f"data lacks {', '.join(sorted(missing))}")
    for key in IDENTITY_TEXT_KEYS:
        if not isinstance(data[key], str):
            raise BadMessage(f"data.{key} must be a string")
    if not data["person_id"]:
        raise BadMessage("data.person_id must not be empty")
    code = data["resident_code"]
    if code is not None and not (isinstance(code, str) and is_valid_resident_code(code)):
        raise BadMessage("data.resident_code must be null or a valid 住民票コード")
    number = data["my_number"]
    if number is not None and not (isinstance(number, str) and is_valid_my_number(number)):
        raise BadMessage("data.my_number must be null or a valid 個人番号")
    if data["sex"] not in SEXES:
        raise BadMessage(f"data.sex must be one of {', '.join(SEXES)}")
    if data["status"] not in STATUSES:
        raise BadMessage(f"data.status must be one of {', '.join(STATUSES)}")
    record = dict(data)
    if removed:
        record["status"] = "removed"
    return record


class CsSimulator(Peer):
    """The municipal CS. Thread-safe: the HTTP server calls it from many threads."""

    def __init__(
        self,
        s3: ObjectWriter | None = None,
        exchange_bucket: str | None = None,
        *,
        seed: int = 0,
        my_number_delay: float = 0.0,
        clock: Clock = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(JST),
    ) -> None:
        super().__init__(clock)
        self.s3 = s3
        self.exchange_bucket = exchange_bucket
        self.my_number_delay = my_number_delay
        self._now = now
        self._lock = threading.RLock()
        self.book = LaneBook("cs")
        # Separate streams, and not the seed's plain Random: the local system's first pool
        # (juki_local.cs_simulator.designated_codes) uses Random(seed) and must not be repeated.
        self._code_rng = random.Random(f"cs-resident-codes:{seed}")  # noqa: S311 - test data
        self._number_rng = random.Random(f"cs-my-numbers:{seed}")  # noqa: S311 - test data
        self._records: dict[str, dict[str, Any]] = {}  # person_id → identity record
        self._by_code: dict[str, str] = {}  # resident_code → person_id
        self._handed_out: set[str] = set()  # every 住民票コード known or allocated
        self._numbers: set[str] = set()  # every 個人番号 known or designated
        self._designations: dict[str, Designation] = {}  # person_id → the designation
        self._notices: dict[str, list[dict[str, Any]]] = {kind: [] for kind in NOTICE_KINDS}
        self._sent: list[str] = []  # keys of the files written to the exchange bucket
        self._timers: list[threading.Timer] = []
        self._lane_refusals: dict[str, tuple[int, int]] = {}  # lane → (status, how many more)
        self.inbound_errors: list[str] = []  # delayed writes that failed (exception class names)

    # -- HTTP routes ----------------------------------------------------------------------------

    def deliver(self, body: object, idempotency_key: str | None) -> Outcome:
        """``POST /cs/v1/messages``."""
        message = parse_message(body, idempotency_key, LANES)
        if message.kind not in KINDS:
            raise BadMessage(f"kind must be one of {', '.join(KINDS)}")
        with self._lock:
            refusal = self._lane_refusals.get(message.lane)
            if refusal is not None:
                status, left = refusal
                if left <= 1:
                    del self._lane_refusals[message.lane]
                else:
                    self._lane_refusals[message.lane] = (status, left - 1)
                return Outcome(status, {"code": "REFUSED_ON_LANE"})
        return self.book.deliver(message, self._apply)

    def refuse_on_lane(self, lane: str, status: int = 422, n: int = 1) -> None:
        """The next ``n`` messages on ``lane`` are refused with ``status`` (a fault aimed at one
        person's messages, whatever else is being delivered at the time)."""
        with self._lock:
            self._lane_refusals[lane] = (status, n)

    def query(self, body: object) -> dict[str, Any]:
        """``POST /cs/v1/identity-records:query``: the records of the codes the CS knows."""
        if not isinstance(body, dict):
            raise BadMessage("the body must be a JSON object")
        codes = body.get("resident_codes")
        if not isinstance(codes, list) or not all(isinstance(code, str) for code in codes):
            raise BadMessage("resident_codes must be a list of strings")
        if len(codes) > MAX_QUERY:
            raise BadMessage(f"at most {MAX_QUERY} resident_codes per query")
        with self._lock:
            found = [
                self._records[self._by_code[code]] for code in dict.fromkeys(codes) if code in self._by_code
            ]
            return {"records": [dict(record) for record in found]}

    def allocate(self, body: object) -> dict[str, Any]:
        """``POST /cs/v1/resident-codes:allocate``: ``count`` codes never handed out before."""
        if not isinstance(body, dict):
            raise BadMessage("the body must be a JSON object")
        count = body.get("count")
        if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= MAX_ALLOCATION:
            raise BadMessage(f"count must be an integer from 1 to {MAX_ALLOCATION}")
        with self._lock:
            codes: list[str] = []
            while len(codes) < count:
                first10 = f"{self._code_rng.randrange(10**10):010d}"
                code = f"{first10}{resident_code_check_digit(first10)}"
                if code not in self._handed_out:
                    self._handed_out.add(code)
                    codes.append(code)
            return {"codes": codes}

    # -- effects of the messages ----------------------------------------------------------------

    def _apply(self, message: Message) -> None:
        """Runs under the lane book's lock; raises ``BadMessage`` before changing anything."""
        if message.kind in IDENTITY_KINDS:
            self._store(identity_record(message.data, removed=message.kind == "identity.removed"))
        elif message.kind in NOTICE_KINDS:
            with self._lock:
                self._notices[message.kind].append(dict(message.data))
        else:
            self._designate(message)

    def _store(self, record: dict[str, Any]) -> None:
        with self._lock:
            person_id = record["person_id"]
            previous = self._records.get(person_id)
            if previous is not None and previous["resident_code"] != record["resident_code"]:
                self._by_code.pop(previous["resident_code"], None)
            self._records[person_id] = record
            if record["resident_code"] is not None:
                self._by_code[record["resident_code"]] = person_id
                self._handed_out.add(record["resident_code"])
            if record["my_number"] is not None:
                self._numbers.add(record["my_number"])

    def _designate(self, message: Message) -> None:
        data = message.data
        person_id = data.get("person_id")
        code = data.get("resident_code")
        if not isinstance(person_id, str) or not person_id:
            raise BadMessage("data.person_id must be a non-empty string")
        if code is not None and not (isinstance(code, str) and is_valid_resident_code(code)):
            raise BadMessage("data.resident_code must be null or a valid 住民票コード")
        with self._lock:
            earlier = self._designations.get(person_id)
            number = earlier.my_number if earlier is not None else self._new_my_number()
            record = self._records.get(person_id)
            if record is not None:
                record["my_number"] = number
            file_id = self._new_message_id()
            self._designations[person_id] = Designation(message.message_id, person_id, code, number, file_id)
        payload = {"person_id": person_id, "resident_code": code, "my_number": number}
        if self.my_number_delay > 0:
            timer = threading.Timer(
                self.my_number_delay, self._write_later, args=(file_id, "my_number.designated", payload)
            )
            timer.daemon = True
            with self._lock:
                self._timers.append(timer)
            timer.start()
        else:
            self._write_inbound(file_id, "my_number.designated", payload)

    def _new_my_number(self) -> str:
        while True:
            first11 = f"{self._number_rng.randrange(10**11):011d}"
            number = f"{first11}{my_number_check_digit(first11)}"
            if number not in self._numbers:
                self._numbers.add(number)
                return number

    # -- files the CS sends on its own ----------------------------------------------------------

    def send_move_out_certificate(self, certificate: MoveOutCertificate | Mapping[str, Any]) -> str:
        """Drops a 転出証明書情報 (``move_out_certificate``) file; ``data`` is the certificate's JSON
        exactly as ``juki.domain.retention.MoveOutCertificate`` dumps it. Returns the message id."""
        model = (
            certificate
            if isinstance(certificate, MoveOutCertificate)
            else MoveOutCertificate.model_validate(certificate)
        )
        return self._write_inbound(
            self._new_message_id(), "move_out_certificate", model.model_dump(mode="json")
        )

    def send_move_in_notice(
        self, resident_code: str, moved_in_date: date, destination: Mapping[str, Any], notified_date: date
    ) -> str:
        """Drops a 転入通知 (``move_in.notice``) from the new municipality. Returns the message id."""
        if not is_valid_resident_code(resident_code):
            raise ValueError("a valid 住民票コード expected")
        data = {
            "resident_code": resident_code,
            "moved_in_date": moved_in_date.isoformat(),
            "destination": dict(destination),
            "notified_date": notified_date.isoformat(),
        }
        return self._write_inbound(self._new_message_id(), "move_in.notice", data)

    def _write_later(self, message_id: str, kind: str, data: dict[str, Any]) -> None:
        try:
            self._write_inbound(message_id, kind, data)
        except Exception as error:
            with self._lock:
                self.inbound_errors.append(type(error).__name__)

    def _write_inbound(self, message_id: str, kind: str, data: dict[str, Any]) -> str:
        if self.s3 is None or self.exchange_bucket is None:
            raise RuntimeError("the CS simulator was built without an exchange bucket")
        sent_at = self._now().astimezone(JST)
        key = f"{INBOUND_PREFIX}/{sent_at.date().isoformat()}/{message_id}.json"
        envelope = {"message_id": message_id, "kind": kind, "sent_at": sent_at.isoformat(), "data": data}
        body = json.dumps(envelope, ensure_ascii=False).encode()
        self.s3.put_object(Bucket=self.exchange_bucket, Key=key, Body=body, ContentType="application/json")
        with self._lock:
            self._sent.append(key)
        return message_id

    @staticmethod
    def _new_message_id() -> str:
        return f"cs-{uuid.uuid4().hex}"

    # -- set-up and inspection (tests, local system) --------------------------------------------

    def load_records(self, records: Iterable[Mapping[str, Any]]) -> int:
        """Seeds identity records the CS already holds (the ledger loaded by migration). Each is
        checked like a message's data. Returns how many were loaded."""
        checked = [identity_record(record) for record in records]
        for record in checked:
            self._store(record)
        return len(checked)

    def reserve_codes(self, codes: Iterable[str]) -> None:
        """Marks codes as handed out already (the first pool, the migrated ledger's codes), so
        ``allocate`` never gives them again."""
        with self._lock:
            self._handed_out.update(codes)

    def plant_difference(self, resident_code: str, item: str, value: Any) -> None:
        """Changes the CS's record of a person behind Juki's back (consistency-check tests)."""
        if item not in IDENTITY_KEYS or item in ("person_id", "resident_code"):
            raise ValueError(
                f"item must be one of the identity items other than person_id/resident_code: {item}"
            )
        with self._lock:
            self._records[self._by_code[resident_code]][item] = value

    def drop_record(self, resident_code: str) -> None:
        """Forgets the CS's record of a person (the check must report it missing)."""
        with self._lock:
            person_id = self._by_code.pop(resident_code)
            del self._records[person_id]

    def applied(self, lane: str) -> list[AppliedMessage]:
        """The messages applied on a lane, in the order applied."""
        return self.book.applied(lane)

    def lanes(self) -> dict[str, list[AppliedMessage]]:
        return self.book.lanes()

    @property
    def duplicates(self) -> int:
        return self.book.duplicates

    @property
    def out_of_order(self) -> int:
        return self.book.out_of_order

    def record(self, resident_code: str) -> dict[str, Any] | None:
        with self._lock:
            person_id = self._by_code.get(resident_code)
            return dict(self._records[person_id]) if person_id is not None else None

    def record_of_person(self, person_id: str) -> dict[str, Any] | None:
        with self._lock:
            record = self._records.get(person_id)
            return dict(record) if record is not None else None

    def notices(self, kind: str) -> list[dict[str, Any]]:
        """The ``move_in.notice``, ``koseki.notice`` or ``resident_code.answer`` (住民票コード照会の
        回答, for the 本籍地) data received, in order."""
        with self._lock:
            return [dict(notice) for notice in self._notices[kind]]

    def designations(self) -> list[Designation]:
        with self._lock:
            return list(self._designations.values())

    def sent_files(self) -> list[str]:
        """Keys of the files written to the exchange bucket, in order."""
        with self._lock:
            return list(self._sent)

    def cancel_pending(self) -> None:
        """Cancels delayed designation files not yet written (the server is stopping)."""
        with self._lock:
            timers, self._timers = self._timers, []
        for timer in timers:
            timer.cancel()

    def clear(self) -> None:
        """Forgets everything received (records, lanes, notices, designations); codes and numbers
        handed out stay handed out."""
        self.cancel_pending()
        self.book.clear()
        with self._lock:
            self._records.clear()
            self._by_code.clear()
            self._designations.clear()
            for notices in self._notices.values():
                notices.clear()
            self._sent.clear()
            self.inbound_errors.clear()
