"""The 中間サーバー (the municipality's gateway to the 情報提供ネットワークシステム).

``POST /intermediate/v1/messages`` takes two kinds, each on its own lane per person
(``intermediate.code:<person_id>``, ``intermediate.copy:<person_id>``), with the delivery contract of
``simulators.delivery`` (idempotency key, order per lane):

* ``code.request`` (7-①〜③): the person's 個人番号 with their 団体内統合宛名番号 (our person id); the
  simulator plays J-LIS too and links the person to a 符号 it makes up and keeps (the municipality
  never holds the 符号). The receipt is the 処理通番.
* ``copy.registered``: the 副本 of the person's 住民票関係情報. Refused ``409 NOT_LINKED`` (the
  dispatcher retries) until the person's 符号 is linked, as the real server cannot file a 副本 it
  cannot key.
"""

from __future__ import annotations

import hashlib
import threading
import time
from typing import Any

from simulators.delivery import BadMessage, LaneBook, Message, Outcome, lane_pattern, parse_message
from simulators.faults import Clock
from simulators.peer import Peer

KINDS = ("code.request", "copy.registered")


class IntermediateSimulator(Peer):
    def __init__(self, clock: Clock = time.monotonic) -> None:
        super().__init__(clock)
        self._lock = threading.Lock()
        self.book = LaneBook("intermediate")
        self._codes: dict[str, str] = {}  # person id → 符号 (kept here only, as on the real server)
        self._copies: dict[str, dict[str, Any]] = {}  # person id → the latest 副本
        self.not_linked = 0

    def deliver(self, body: object, idempotency_key: str | None) -> Outcome:
        message = parse_message(body, idempotency_key, lane_pattern("intermediate"))
        if message.kind not in KINDS:
            raise BadMessage(f"kind must be one of {', '.join(KINDS)}")
        person_id = message.data.get("person_id")
        if not isinstance(person_id, str) or not person_id:
            raise BadMessage("data.person_id is required")
        if (
            message.kind == "copy.registered"
            and not self.linked(person_id)
            and not self.book.knows(message.message_id)
        ):
            with self._lock:
                self.not_linked += 1
            return Outcome(409, {"code": "NOT_LINKED"})
        return self.book.deliver(message, self._apply)

    def _apply(self, message: Message) -> None:
        person_id = str(message.data["person_id"])
        if message.kind == "code.request":
            number = message.data.get("my_number")
            if not isinstance(number, str) or len(number) != 12 or not number.isdigit():
                raise BadMessage("data.my_number must be 12 digits")
            with self._lock:
                self._codes[person_id] = hashlib.sha256(f"符号|{number}".encode()).hexdigest()[:32]
        else:
            with self._lock:
                self._copies[person_id] = {k: v for k, v in message.data.items() if k != "person_id"}

    # -- inspection (tests) ---------------------------------------------------------------------
    def linked(self, person_id: str) -> bool:
        with self._lock:
            return person_id in self._codes

    def unlink(self, person_id: str) -> None:
        """Forgets the person's 符号 (a record whose number reached the city before the server did)."""
        with self._lock:
            self._codes.pop(person_id, None)

    def copy_of(self, person_id: str) -> dict[str, Any] | None:
        with self._lock:
            copy = self._copies.get(person_id)
            return dict(copy) if copy is not None else None

    def applied(self, lane: str) -> list[Any]:
        return self.book.applied(lane)

    def clear(self) -> None:
        with self._lock:
            self._codes.clear()
            self._copies.clear()
            self.not_linked = 0
        self.book.clear()
