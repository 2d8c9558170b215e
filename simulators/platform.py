"""The 共通基盤 (integration platform) as a set of recipient systems.

Each recipient system (``system_id``) has its own lanes (``platform.<system_id>:<subject>``), its own
idempotency keys, and a record of every field name it was ever sent, so a test can check that a
system never received a field outside its approved list.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from simulators.delivery import AppliedMessage, LaneBook, Message, Outcome, lane_pattern, parse_message
from simulators.faults import Clock
from simulators.peer import Peer

SYSTEM_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass
class RecipientSystem:
    """What one recipient system received."""

    system_id: str
    book: LaneBook
    data_keys: set[str] = field(default_factory=set)  # top-level keys of every ``data`` received
    declared_fields: set[str] = field(default_factory=set)  # every name listed in ``fields``


class PlatformSimulator(Peer):
    """The 共通基盤 delivering to recipient systems. Thread-safe."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        super().__init__(clock)
        self._lock = threading.Lock()
        self._systems: dict[str, RecipientSystem] = {}

    def deliver(self, system_id: str, body: object, idempotency_key: str | None) -> Outcome:
        """``POST /platform/v1/recipients/<system_id>/messages``."""
        system = self._system(system_id)
        message = parse_message(body, idempotency_key, lane_pattern(f"platform.{system_id}"))

        def apply(applied: Message) -> None:
            with self._lock:  # readers copy the sets under the same lock
                system.data_keys.update(applied.data)
                system.declared_fields.update(applied.fields)

        return system.book.deliver(message, apply)

    def _system(self, system_id: str) -> RecipientSystem:
        if not SYSTEM_ID.match(system_id):
            raise ValueError("not a system id")
        with self._lock:
            system = self._systems.get(system_id)
            if system is None:
                system = RecipientSystem(system_id, LaneBook(f"platform-{system_id}"))
                self._systems[system_id] = system
            return system

    # -- inspection (tests) ---------------------------------------------------------------------

    def system_ids(self) -> list[str]:
        with self._lock:
            return sorted(self._systems)

    def applied(self, system_id: str) -> list[AppliedMessage]:
        """Every message the system applied, lane by lane, each lane in order."""
        return [message for messages in self.lanes(system_id).values() for message in messages]

    def lanes(self, system_id: str) -> dict[str, list[AppliedMessage]]:
        with self._lock:
            system = self._systems.get(system_id)
        return system.book.lanes() if system is not None else {}

    def fields_received(self, system_id: str) -> set[str]:
        """The top-level ``data`` keys the system was ever sent (what actually reached it)."""
        with self._lock:
            system = self._systems.get(system_id)
            return set(system.data_keys) if system is not None else set()

    def declared_fields(self, system_id: str) -> set[str]:
        """The names the messages listed in ``fields`` (what the sender says it sent)."""
        with self._lock:
            system = self._systems.get(system_id)
            return set(system.declared_fields) if system is not None else set()

    def counters(self, system_id: str) -> dict[str, Any]:
        with self._lock:
            system = self._systems.get(system_id)
        if system is None:
            return {"duplicates": 0, "out_of_order": 0}
        return {"duplicates": system.book.duplicates, "out_of_order": system.book.out_of_order}

    def clear(self) -> None:
        """Forgets every system and what it received."""
        with self._lock:
            self._systems.clear()
