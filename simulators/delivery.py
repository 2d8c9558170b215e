"""The peer's side of the delivery contract (docs/linkage.md, "Delivery"), shared by every peer.

A message is applied at most once per ``Idempotency-Key`` and, per lane, only when its
``previous_sequence`` is the sequence applied last on that lane (0 when none). What was applied is
kept per lane, in order, so a test can prove "every message exactly once, in order".
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


class BadMessage(ValueError):
    """The message itself is refused: answered 400 ``BAD_MESSAGE`` with this reason. The reason
    names keys and rules only, never a value (the values are personal data)."""


@dataclass(frozen=True)
class Message:
    """A delivered message, checked for shape."""

    message_id: str
    kind: str
    lane: str
    sequence: int
    previous_sequence: int
    sent_at: str
    fields: tuple[str, ...]
    data: dict[str, Any]
    legal_basis: str | None = None


@dataclass(frozen=True)
class AppliedMessage:
    """What a peer keeps of a message it applied."""

    message_id: str
    lane: str
    sequence: int
    kind: str
    data: dict[str, Any]
    fields: tuple[str, ...]
    receipt: str
    applied_at: float  # time.time() when applied: benchmarks measure approval → delivery with it


@dataclass(frozen=True)
class Outcome:
    """The HTTP answer to a delivery."""

    status: int
    body: dict[str, Any]
    applied: AppliedMessage | None = None  # set only when applied now


def _int(body: Mapping[str, Any], key: str, minimum: int) -> int:
    value = body.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise BadMessage(f"{key} must be an integer >= {minimum}")
    return value


def _text(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise BadMessage(f"{key} must be a non-empty string")
    return value


def lane_pattern(recipient: str) -> re.Pattern[str]:
    """A recipient's lanes: ``<recipient>:<subject>`` or ``<recipient>.<stream>:<subject>`` (the
    product names its CS lanes by stream, e.g. ``cs.identity:<person_id>``; docs/linkage.md)."""
    return re.compile(rf"^{re.escape(recipient)}(\.[a-z_]+)?:.+$")


def parse_message(body: object, idempotency_key: str | None, lanes: re.Pattern[str]) -> Message:
    """The message, or ``BadMessage``: the header must equal ``message_id`` and the lane must be
    one of this recipient's (``lanes``, from ``lane_pattern``)."""
    if not isinstance(body, dict):
        raise BadMessage("the body must be a JSON object")
    message_id = _text(body, "message_id")
    if idempotency_key != message_id:
        raise BadMessage("the Idempotency-Key header must equal message_id")
    lane = _text(body, "lane")
    if not lanes.match(lane):
        raise BadMessage("lane is not one of this recipient's lanes (<recipient>[.<stream>]:<subject>)")
    sequence = _int(body, "sequence", 1)
    previous = _int(body, "previous_sequence", 0)
    if previous >= sequence:
        raise BadMessage("previous_sequence must be lower than sequence")
    fields = body.get("fields", [])
    if not isinstance(fields, list) or not all(isinstance(name, str) for name in fields):
        raise BadMessage("fields must be a list of strings")
    data = body.get("data")
    if not isinstance(data, dict):
        raise BadMessage("data must be a JSON object")
    legal_basis = body.get("legal_basis")
    if legal_basis is not None and not isinstance(legal_basis, str):
        raise BadMessage("legal_basis must be a string")
    return Message(
        message_id=message_id,
        kind=_text(body, "kind"),
        lane=lane,
        sequence=sequence,
        previous_sequence=previous,
        sent_at=_text(body, "sent_at"),
        fields=tuple(fields),
        data=data,
        legal_basis=legal_basis,
    )


@dataclass
class LaneBook:
    """Idempotency keys and lane cursors of one peer (or one recipient system)."""

    receipt_prefix: str
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _receipts: dict[str, str] = field(default_factory=dict)
    _lanes: dict[str, list[AppliedMessage]] = field(default_factory=dict)
    _issued: int = 0
    duplicates: int = 0
    out_of_order: int = 0

    def deliver(self, message: Message, apply: Callable[[Message], None]) -> Outcome:
        """Applies ``message`` through ``apply`` if the contract allows it, under the book's lock
        (so two deliveries of one lane, or of one key, never interleave). ``apply`` may raise
        ``BadMessage`` to refuse the message's content; nothing is recorded then."""
        with self._lock:
            receipt = self._receipts.get(message.message_id)
            if receipt is not None:
                self.duplicates += 1
                return Outcome(200, {"status": "duplicate", "receipt": receipt})
            applied = self._lanes.get(message.lane, [])
            last = applied[-1].sequence if applied else 0
            if message.previous_sequence != last:
                self.out_of_order += 1
                return Outcome(409, {"code": "OUT_OF_ORDER", "last_applied": last})
            apply(message)
            self._issued += 1
            receipt = f"{self.receipt_prefix}-{self._issued:08d}"
            record = AppliedMessage(
                message_id=message.message_id,
                lane=message.lane,
                sequence=message.sequence,
                kind=message.kind,
                data=dict(message.data),
                fields=message.fields,
                receipt=receipt,
                applied_at=time.time(),
            )
            self._receipts[message.message_id] = receipt
            self._lanes.setdefault(message.lane, []).append(record)
            return Outcome(200, {"status": "applied", "receipt": receipt}, record)

    def knows(self, message_id: str) -> bool:
        """Was this Idempotency-Key applied before (its next delivery is a duplicate)?"""
        with self._lock:
            return message_id in self._receipts

    def applied(self, lane: str) -> list[AppliedMessage]:
        with self._lock:
            return list(self._lanes.get(lane, []))

    def lanes(self) -> dict[str, list[AppliedMessage]]:
        with self._lock:
            return {lane: list(messages) for lane, messages in self._lanes.items()}

    def last_applied(self, lane: str) -> int:
        with self._lock:
            applied = self._lanes.get(lane, [])
            return applied[-1].sequence if applied else 0

    def clear(self) -> None:
        with self._lock:
            self._receipts.clear()
            self._lanes.clear()
            self._issued = 0
            self.duplicates = 0
            self.out_of_order = 0
