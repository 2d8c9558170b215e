"""Linkage rules: what a committed version sends to whom, how an answer is judged, the backoff,
and the registry of recipient systems (juki.domain.linkage, juki.domain.recipients)."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from juki.domain.linkage import (
    MAX_ATTEMPTS,
    MAX_BACKOFF_SECONDS,
    OutboundMessage,
    Outcome,
    PeerAnswer,
    RecipientSystem,
    Stream,
    delivery_data,
    event_id,
    judge,
    koseki_answer,
    next_attempt_at,
    parks,
    route,
)
from juki.domain.recipients import NewRecipient, RecipientRefused, RecipientRegistration, RecipientStatus
from juki.domain.record_items import KosekiDomicile
from juki.domain.records import PersonRecord
from juki.domain.values import MovementKind, OtherAddress, ResidentStatus, Sex
from ledger_fixtures import HEAD, NEW_ADDRESS, NOW, person
from pydantic import ValidationError

KOSEKI = KosekiDomicile(domicile="静岡県静岡市葵区追手町5番地", head="駿府家康")
NHI = RecipientSystem("nhi", "番号法第9条第2項に基づく条例", ("person_id", "name", "address"))


def event(version: int) -> OutboundMessage:
    return OutboundMessage(
        message_id=event_id("m" * 32, HEAD, version), recipient="router", kind="record.version",
        movement_id="m" * 32, person_id=HEAD, household_id="0000000019", sequence=version, created_at=NOW,
    )  # fmt: skip


def head(version: int = 1, **changes: object) -> PersonRecord:
    return person(HEAD, "家康", "イエヤス", "1975-01-31", Sex.MALE, "世帯主", version=version, resident_code="12345678901",
                  koseki=KOSEKI, **changes)  # fmt: skip


def kinds(messages: list[OutboundMessage]) -> list[tuple[str, str]]:
    return [(m.recipient, m.kind) for m in messages]


def test_a_new_record_is_created_at_the_cs_and_notified_to_the_koseki_and_former_municipality() -> None:
    new = head(
        previous_address=OtherAddress(prefecture="東京都", municipality="千代田区", street="霞が関1-1")
    )
    sent = route(event(1), new, None, [NHI], NOW)
    assert kinds(sent) == [
        ("cs", "identity.created"), ("cs", "move_in.notice"), ("cs", "koseki.notice"),
        ("cs", "my_number.request"),  # recorded without a 個人番号
        ("platform.nhi", "resident.changed"),
    ]  # fmt: skip
    assert all(m.sequence == 1 and m.source_id == event(1).message_id for m in sent)
    assert sent[0].lane == f"{Stream.IDENTITY}:{HEAD}"
    assert len({m.message_id for m in sent}) == len(sent)  # routing twice names the same deliveries
    assert [m.message_id for m in route(event(1), new, None, [NHI], NOW)] == [m.message_id for m in sent]


def test_a_version_changing_no_identity_item_sends_the_cs_nothing() -> None:
    before = head()
    after = head(
        version=2, notes=before.notes, movement_kind=MovementKind.CORRECTION, notified_date=NOW.date()
    )
    assert kinds(route(event(2), after, before, [], NOW)) == []


def test_an_address_change_updates_the_cs_and_the_koseki_attachment() -> None:
    before = head()
    after = head(version=2, address=NEW_ADDRESS, movement_kind=MovementKind.IN_CITY_MOVE)
    assert kinds(route(event(2), after, before, [], NOW)) == [
        ("cs", "identity.changed"),
        ("cs", "koseki.notice"),
    ]


def test_a_removal_is_sent_as_removed_and_a_person_without_a_number_gets_a_request() -> None:
    before = head()
    after = head(version=2, status=ResidentStatus.REMOVED, movement_kind=MovementKind.MOVE_OUT)
    assert kinds(route(event(2), after, before, [], NOW)) == [("cs", "identity.removed")]
    born = head(movement_kind=MovementKind.BIRTH)
    assert ("cs", "my_number.request") in kinds(route(event(1), born, None, [], NOW))


def test_a_platform_delivery_carries_only_the_approved_fields() -> None:
    new = head()
    delivery = next(m for m in route(event(1), new, None, [NHI], NOW) if m.recipient == "platform.nhi")
    data = delivery_data(delivery, new, "静岡市", approved_fields=("person_id", "name"))
    assert set(data) == {"person_id", "name"}  # address was asked for, no longer approved
    assert "birth_date" not in delivery_data(delivery, new, "静岡市", approved_fields=NHI.fields)


def test_the_cs_identity_data_carries_the_opened_number_only_when_given() -> None:
    new = head()
    cs = route(event(1), new, None, [], NOW)[0]
    data = delivery_data(cs, new, "静岡市", my_number="123456789018")
    assert data["my_number"] == "123456789018"
    assert data["address"] == "静岡市葵区追手町5番1号"
    assert data["name"] == "駿府　家康"


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        (PeerAnswer(200, receipt="r"), Outcome.APPLIED),
        (PeerAnswer(None, "NO_ANSWER"), Outcome.RETRY),
        (PeerAnswer(503), Outcome.RETRY),
        (PeerAnswer(409, "OUT_OF_ORDER"), Outcome.RETRY),
        (PeerAnswer(429), Outcome.RETRY),
        (PeerAnswer(400, "BAD_MESSAGE"), Outcome.REFUSED),
        (PeerAnswer(403), Outcome.REFUSED),
    ],
)
def test_answers_are_judged_as_the_contract_says(answer: PeerAnswer, outcome: Outcome) -> None:
    assert judge(answer) == outcome


def test_backoff_grows_is_capped_and_parks_after_the_last_attempt() -> None:
    rng = random.Random(1)
    delays = [(next_attempt_at(NOW, n, rng) - NOW).total_seconds() for n in range(1, 12)]
    assert 15 <= delays[0] <= 30
    assert delays[4] > delays[0]
    assert max(delays) <= MAX_BACKOFF_SECONDS
    assert next_attempt_at(NOW, 1, rng) > NOW - timedelta(seconds=1)
    assert not parks(Outcome.RETRY, MAX_ATTEMPTS - 1)
    assert parks(Outcome.RETRY, MAX_ATTEMPTS)
    assert parks(Outcome.REFUSED, 1)


def test_a_recipient_receives_nothing_until_someone_else_approves_it() -> None:
    new = NewRecipient(
        system_id="nhi", name="国民健康保険システム", legal_basis="条例", fields=["name", "address"]
    )
    registered = RecipientRegistration.register(new, "S5001", NOW)
    assert registered.status == RecipientStatus.REGISTERED and not registered.is_approved
    with pytest.raises(RecipientRefused) as refused:
        registered.approve("S5001", NOW)
    assert refused.value.code == "RECIPIENT_SELF_APPROVAL"
    approved = registered.approve("S5002", NOW)
    assert approved.is_approved and approved.version == 2
    widened = approved.change_fields(["name", "address", "birth_date"], "S5001", NOW)
    assert not widened.is_approved  # new fields need a new approval


def test_a_recipient_may_only_ask_for_known_fields() -> None:
    with pytest.raises(ValidationError):
        NewRecipient(system_id="nhi", name="国保", legal_basis="条例", fields=["my_number"])


def test_a_resident_code_answer_carries_the_code_of_its_version_and_the_inquiry_id_only() -> None:
    record = head(version=3)
    answer = koseki_answer("answer.koseki.koseki-1", record, "Q-2026-0001", NOW)
    assert (answer.recipient, answer.kind) == ("cs", "resident_code.answer")
    assert answer.stream == Stream.KOSEKI_ANSWER
    assert answer.sequence == 3 and answer.legal_basis == "住民基本台帳法第19条第1項"
    assert answer.fields == ("resident_code",) and answer.reference == "Q-2026-0001"
    data = delivery_data(answer, record, "静岡市")
    assert data == {"person_id": HEAD, "inquiry_id": "Q-2026-0001", "resident_code": "12345678901"}
    # Its own lane: a second inquiry answered from the same version never waits behind the first.
    other = koseki_answer("answer.koseki.koseki-2", record, "Q-2026-0002", NOW)
    assert answer.lane.startswith(f"cs.koseki_answer:{HEAD}:") and answer.lane != other.lane
    assert event(1).lane == f"router:{HEAD}"  # other messages keep the lane of their person
    # Stored and read back (the outbox keeps the body as JSON): the reference survives.
    assert OutboundMessage.model_validate(answer.model_dump(mode="json")) == answer
