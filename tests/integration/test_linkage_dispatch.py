"""The dispatcher's lanes under concurrency and failure, at the service level, against the real
linkage table and the CS simulator over HTTP: one round at a time per lane (a lease), a round that
died mid-lane releasing its lane when the lease runs out, and a peer that does not answer in time."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta

import pytest
from juki.adapters.dynamodb import outbox_item
from juki.adapters.linkage import DynamoLinkageStore, build_linkage_store
from juki.adapters.peers import HttpPeers
from juki.adapters.system import JST, SystemClock, UuidSource
from juki.bootstrap import Services
from juki.cli import linkage as linkage_cli
from juki.domain.ids import make_id
from juki.domain.linkage import IDENTITY_FIELDS, OutboundMessage, Recipient, event_id
from juki.domain.staff import SystemActor
from juki.services import linkage as linkage_service
from juki.services.linkage import LinkageService
from juki_local.system import LocalSystem

ACTOR = SystemActor(name="linkage-test", request_id="r-linkage-test")


class Later:
    """The system clock, moved on: a round that runs after another round's lease has ended."""

    def __init__(self, by: timedelta) -> None:
        self._by = by

    def now(self) -> datetime:
        return SystemClock().now() + self._by


def dispatcher(services: Services, local_system: LocalSystem, *, later: timedelta = timedelta(0),
               timeout: float = 2.0) -> LinkageService:  # fmt: skip
    return LinkageService(
        services.part(build_linkage_store),
        services.store,
        HttpPeers(local_system.peers.cs_url, local_system.peers.platform_url, timeout),
        services.store,
        Later(later),
        ids=UuidSource(),
        numbers=services.my_numbers,
        municipality=services.settings.municipality_name,
        first_backoff_seconds=0,
    )


def a_change_of(services: Services, person_id: str) -> str:
    """An event as a commit leaves it (the person's current version), put straight in the outbox:
    no commit, so no dispatcher starts on its own."""
    record = services.store.get_person(person_id)
    assert record is not None
    message = OutboundMessage(
        message_id=event_id(f"test-{UuidSource().new_id()}", person_id, record.version),
        recipient=Recipient.ROUTER, kind="record.version", movement_id="test", person_id=person_id,
        household_id=record.household_id, sequence=record.version, created_at=datetime.now(JST),
    )  # fmt: skip
    store: DynamoLinkageStore = services.part(build_linkage_store)
    outbox_item(message, store._queue).save()
    return f"cs.identity:{person_id}"


_TAKEN: set[str] = set()


def next_person(services: Services) -> str:
    """A demo resident no other test of this module takes (from the end of the demo range)."""
    for sequence in range(120, 0, -1):
        record = services.store.get_person(make_id(sequence))
        if record is not None and record.person_id not in _TAKEN:
            _TAKEN.add(record.person_id)
            return record.person_id
    raise AssertionError("no demo resident left")


@pytest.fixture
def person(services: Services) -> str:
    return next_person(services)


def test_a_lane_held_by_a_live_round_is_left_to_it_and_taken_over_once_its_lease_ends(
    services: Services, local_system: LocalSystem, person: str
) -> None:
    lane = a_change_of(services, person)
    store: DynamoLinkageStore = services.part(build_linkage_store)
    now = SystemClock().now()
    assert store.claim_lane(lane, "a-round-that-dies", now, now + timedelta(minutes=3))
    assert not store.claim_lane(lane, "another-round", now, now + timedelta(minutes=3))

    dispatcher(services, local_system).dispatch(ACTOR)
    assert local_system.peers.cs.applied(lane) == []  # the holder's lane is not touched

    # The holder never comes back (its Lambda died mid-lane): after the lease, a round takes over.
    dispatcher(services, local_system, later=timedelta(minutes=4)).dispatch(ACTOR)
    assert [m.kind for m in local_system.peers.cs.applied(lane)] == ["identity.created"]


def test_a_peer_too_slow_to_answer_gets_the_message_again_and_applies_it_once(
    services: Services, local_system: LocalSystem, person: str
) -> None:
    cs = local_system.peers.cs
    lane = a_change_of(services, person)
    duplicates = cs.duplicates
    cs.slow_for(60, 1.5)  # answers after 1.5 s: past the client's timeout of 0.5 s
    try:
        result = dispatcher(services, local_system, timeout=0.5).dispatch(ACTOR)
        assert result.retried >= 1 and result.delivered == 0
    finally:
        cs.reset()
    for _ in range(5):
        if dispatcher(services, local_system).dispatch(ACTOR).waiting == 0:
            break
    assert [m.kind for m in cs.applied(lane)] == ["identity.created"]  # applied once
    assert cs.duplicates > duplicates  # the late-applied first try came back as a duplicate


def test_a_message_the_index_shows_before_an_earlier_one_waits_for_it(
    services: Services, local_system: LocalSystem, person: str
) -> None:
    """The by_status index is eventually consistent: a round may see sequence 2 of a lane and not
    yet sequence 1. The lane's cursor (its pending set) keeps 2 back until 1 has gone."""
    store: DynamoLinkageStore = services.part(build_linkage_store)
    record = services.store.get_person(person)
    assert record is not None
    event = OutboundMessage(
        message_id=event_id(f"test-{UuidSource().new_id()}", person, record.version),
        recipient=Recipient.ROUTER, kind="record.version", movement_id="test", person_id=person,
        household_id=record.household_id, sequence=record.version, created_at=datetime.now(JST),
    )  # fmt: skip
    first, second = (
        event.model_copy(update={"message_id": f"{event.message_id}:{n}", "recipient": "cs",
                                 "kind": "identity.created", "stream": "cs.identity", "sequence": n,
                                 "legal_basis": "住民基本台帳法第30条の6", "source_id": event.message_id,
                                 "fields": IDENTITY_FIELDS})
        for n in (record.version, record.version + 1)
    )  # fmt: skip
    outbox_item(event, store._queue).save()
    assert store.route(event, [first, second])
    hidden = store._queue.get(f"MSG#{first.message_id}", "MSG")
    hidden.update(actions=[store._queue.status.remove()])  # the index does not show it yet

    dispatcher(services, local_system).dispatch(ACTOR)
    lane = f"cs.identity:{person}"
    assert local_system.peers.cs.applied(lane) == []  # 2 waited: 1 is still pending on the lane
    assert store.get(second.message_id) is not None and store.get(second.message_id)[0] == "pending"  # type: ignore[index]

    hidden.update(actions=[store._queue.status.set(first.queue)])  # the index catches up
    dispatcher(services, local_system).dispatch(ACTOR)
    assert [m.sequence for m in local_system.peers.cs.applied(lane)] == [record.version]
    # Version 2 does not exist: skipped (nothing to send), never delivered before version 1.
    assert store.get(second.message_id)[0] == "skipped"  # type: ignore[index]


def test_the_operator_lists_and_redrives_a_parked_message_from_the_command_line(
    services: Services, local_system: LocalSystem, person: str
) -> None:
    lane = a_change_of(services, person)
    local_system.peers.cs.refuse_on_lane(lane, status=400)
    dispatcher(services, local_system).dispatch(ACTOR)
    listed = io.StringIO()
    assert linkage_cli.main(["parked", "--json"], settings=services.settings, out=listed) == 0
    (parked,) = [row for row in json.loads(listed.getvalue()) if row["lane"] == lane]
    assert parked["last_error"] == "REFUSED_ON_LANE" and parked["attempts"] == 1

    done = io.StringIO()
    assert linkage_cli.main(["redrive", parked["message_id"], "--operator", "運用 八郎"],
                            settings=services.settings, out=done) == 0  # fmt: skip
    again = io.StringIO()
    assert linkage_cli.main(["redrive", parked["message_id"], "--operator", "運用 八郎"],
                            settings=services.settings, out=again) == 1  # fmt: skip
    assert again.getvalue() == "refused: MESSAGE_NOT_PARKED\n"
    dispatcher(services, local_system).dispatch(ACTOR)
    assert [m.kind for m in local_system.peers.cs.applied(lane)] == ["identity.created"]


def test_a_parked_lane_never_hides_the_lanes_after_it(
    services: Services, local_system: LocalSystem, person: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With room for one due message a round (PAGE = 1), a parked lane with a later message behind
    it must not take that room: the next lane's message goes out."""
    store: DynamoLinkageStore = services.part(build_linkage_store)
    person, later = sorted([person, next_person(services)])  # the parked lane sorts first
    first = a_change_of(services, person)
    local_system.peers.cs.refuse_on_lane(first, status=400)
    dispatcher(services, local_system).dispatch(ACTOR)  # parked; its koseki/my-number lanes go on
    record = services.store.get_person(person)
    assert record is not None
    behind = OutboundMessage(
        message_id=f"test-{UuidSource().new_id()}", recipient="cs", kind="identity.changed",
        movement_id="test", person_id=person, household_id=record.household_id,
        sequence=record.version + 1, created_at=datetime.now(JST), stream="cs.identity",
        legal_basis="住民基本台帳法第30条の6", fields=IDENTITY_FIELDS,
    )  # fmt: skip
    assert store.add_delivery(behind)  # waits behind the parked one, on the same lane
    other = a_change_of(services, later)
    monkeypatch.setattr(linkage_service, "PAGE", 1)
    for _ in range(6):
        dispatcher(services, local_system).dispatch(ACTOR)
    assert [m.kind for m in local_system.peers.cs.applied(other)] == ["identity.created"]
    assert local_system.peers.cs.applied(first) == []
