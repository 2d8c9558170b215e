"""Inbound notices from 法務省, 戸籍 and the 共通基盤, dropped by their simulators and applied by the
real linkage-receive machine; and the job's robustness: a file that fails unexpectedly is left for
the next run without holding back the others, a file that two runs read at once is never rejected
by the one that lost the race, and no 個人番号 is kept in plain anywhere."""

from __future__ import annotations

import copy
import json
import logging
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from api_support import oplog_bodies, run_machine
from juki.adapters.inbound import build_inbound
from juki.adapters.linkage import build_linkage_store
from juki.bootstrap import Services
from juki.domain.codes import resident_code_check_digit
from juki.domain.model import MovementStatus
from juki.domain.my_number import SealedMyNumber
from juki.domain.oplog import OperationLogEntry
from juki.domain.record_items import ForeignResident
from juki.domain.records import PersonRecord
from juki.domain.values import MovementKind, PersonName
from juki.services.inbound import Inbox
from juki.services.movements import received_id
from juki_local.system import LocalSystem
from test_linkage_inbound import (
    drop,
    exists,
    migrated_resident,
    new_number,
    put,
    read_json,
    today,
)
from test_linkage_inbound import receive as receive_together


def receive(local_system: LocalSystem) -> dict[str, Any]:
    described = run_machine(local_system, "linkage-receive")
    assert described["status"] == "SUCCEEDED", described
    output: dict[str, Any] = json.loads(described["output"])
    return output


def at(folder: str, peer: str, message_id: str) -> str:
    return f"{folder}/{peer}/{today().isoformat()}/{message_id}.json"


def reason(local_system: LocalSystem, services: Services, peer: str, message_id: str) -> str:
    code: str = read_json(local_system, services, at("rejected", peer, message_id) + ".reason.json")["code"]
    return code


def card() -> str:
    return f"AB{uuid.uuid4().int % 10**8:08d}CD"


def foreign_items(card_number: str, expiry: str = "2029-04-01") -> dict[str, Any]:
    return {"category": "mid_to_long_term", "residence_status_code": "21", "period_of_stay": "3年",
            "expiry_date": expiry, "card_number": card_number, "nationality_code": "704",
            "nationality": "ベトナム", "became_foreign_resident_on": "2024-04-01"}  # fmt: skip


def foreign_resident(services: Services, card_number: str) -> str:
    """Imported, like every resident here: a movement would make the CS simulator designate a
    個人番号 a moment later, a version the tests do not expect."""
    items = ForeignResident.model_validate(foreign_items(card_number))
    return migrated_resident(services, koseki=None, foreign_resident=items).person_id


def resident(services: Services) -> str:
    return migrated_resident(services).person_id


def test_a_moj_notice_changes_the_foreign_resident_items_once(
    services: Services, local_system: LocalSystem
) -> None:
    moj = local_system.peers.moj
    old_card, new_card = card(), card()
    person_id = foreign_resident(services, old_card)
    before = services.store.get_person(person_id)
    assert before is not None
    renewed = foreign_items(new_card, expiry="2032-04-01")
    day = today() - timedelta(days=2)
    message_id = moj.send_foreign_resident_notice(old_card.lower(), renewed, day, today())
    unknown = moj.send_foreign_resident_notice(card(), renewed, day, today())
    receive(local_system)

    after = services.store.get_person(person_id)
    assert after is not None and after.foreign_resident is not None
    assert after.foreign_resident.card_number == new_card
    assert after.foreign_resident.expiry_date is not None and after.foreign_resident.expiry_date.year == 2032
    assert after.version == before.version + 1 and after.effective_date == day
    movement = services.store.get_movement(received_id(f"moj#{message_id}"))
    assert movement is not None and movement.status == MovementStatus.FINAL
    assert movement.kind == MovementKind.FOREIGN_RESIDENT_CHANGE
    assert movement.entered_by == movement.approved_by == "system:linkage-moj"
    assert exists(local_system, services, at("processed", "moj", message_id))
    assert reason(local_system, services, "moj", unknown) == "CARD_NUMBER_UNKNOWN"

    # Sent again (the old card no longer names anyone): a duplicate, no second version.
    moj.send_foreign_resident_notice(old_card, renewed, day, today(), message_id=message_id)
    assert receive(local_system)["duplicates"] >= 1
    again = services.store.get_person(person_id)
    assert again is not None and again.version == after.version


def test_a_resident_entry_notice_corrects_the_koseki_and_the_name(
    services: Services, local_system: LocalSystem
) -> None:
    koseki = local_system.peers.koseki
    person_id = resident(services)
    person = services.store.get_person(person_id)
    assert person is not None and person.resident_code is not None
    moved = {"domicile": "東京都千代田区千代田1番地", "head": "新戸花子"}
    name = person.name.model_dump() | {"family_name": "新戸", "family_name_kana": "シンド"}
    day = today() - timedelta(days=3)
    message_id = koseki.send_resident_entry_notice(person.resident_code, moved, day, today(), name=name)
    foreigner = foreign_resident(services, card())
    foreign_person = services.store.get_person(foreigner)
    assert foreign_person is not None and foreign_person.resident_code is not None
    refused = koseki.send_resident_entry_notice(foreign_person.resident_code, moved, day, today())
    unknown_code = new_resident_code_not_held(services)
    unknown = koseki.send_resident_entry_notice(unknown_code, moved, day, today())
    receive(local_system)

    after = services.store.get_person(person_id)
    assert after is not None and after.koseki is not None
    assert (after.koseki.domicile, after.koseki.head) == (moved["domicile"], moved["head"])
    assert after.name.family_name == "新戸" and after.name.given_name == person.name.given_name
    assert after.version == person.version + 1 and after.movement_kind == MovementKind.CORRECTION
    movement = services.store.get_movement(received_id(f"koseki#{message_id}"))
    assert movement is not None and movement.status == MovementStatus.FINAL
    assert movement.entered_by == "system:linkage-koseki"
    assert reason(local_system, services, "koseki", refused) == "NOT_JAPANESE_RESIDENT"
    assert reason(local_system, services, "koseki", unknown) == "RESIDENT_CODE_UNKNOWN"

    koseki.send_resident_entry_notice(
        person.resident_code, moved, day, today(), name=name, message_id=message_id
    )
    said_again = koseki.send_resident_entry_notice(person.resident_code, moved, day, today())
    output = receive(local_system)
    assert output["duplicates"] >= 1
    assert exists(local_system, services, at("processed", "koseki", said_again))  # already so: done
    assert services.store.received(f"koseki#{said_again}")
    last = services.store.get_person(person_id)
    assert last is not None and last.version == after.version


def new_resident_code_not_held(services: Services) -> str:
    """A well-formed 住民票コード nobody in the ledger holds."""
    while True:
        first10 = f"{uuid.uuid4().int % 10**10:010d}"
        code = first10 + str(resident_code_check_digit(first10))
        if services.store.resident_code_holder(code) is None:
            return code


def test_a_domicile_check_records_match_or_mismatch_and_changes_nothing(
    services: Services, local_system: LocalSystem, caplog: pytest.LogCaptureFixture
) -> None:
    koseki = local_system.peers.koseki
    person_id = resident(services)
    person = services.store.get_person(person_id)
    assert person is not None and person.resident_code is not None and person.koseki is not None
    same = {
        "domicile": "静岡県静岡市葵区追手町５番地",
        "head": "移行 花子",
    }  # as written by the 戸籍: NFKC, spaces
    other = {"domicile": "静岡県静岡市清水区旭町6番8号", "head": "移行花子"}
    matching = koseki.send_domicile_check(person.resident_code, same)
    mismatching = koseki.send_domicile_check(person.resident_code, other)
    with caplog.at_level(logging.INFO):
        receive(local_system)

    after = services.store.get_person(person_id)
    assert after is not None and after.version == person.version  # nothing written to the ledger
    entries = {
        body["entry_id"]: body for body in oplog_bodies(local_system) if body["persons"] == [person_id]
    }
    matched, mismatched = entries[f"koseki#{matching}:check"], entries[f"koseki#{mismatching}:check"]
    assert matched["code"] == "KOSEKI_MATCH" and mismatched["code"] == "KOSEKI_MISMATCH"
    assert mismatched["action"] == "read" and mismatched["staff_id"] == "system:linkage-koseki"
    assert "清水区" not in json.dumps(mismatched) and "追手町" not in json.dumps(matched)  # never the values
    flagged = [r for r in caplog.records if getattr(r, "code", None) == "KOSEKI_MISMATCH"]
    assert [getattr(r, "person_id", None) for r in flagged] == [person_id]
    assert all("清水区" not in r.getMessage() for r in caplog.records)
    assert services.store.received(f"koseki#{mismatching}")
    assert exists(local_system, services, at("processed", "koseki", mismatching))

    koseki.send_domicile_check(person.resident_code, other, message_id=mismatching)
    assert receive(local_system)["duplicates"] >= 1
    checks = [b for b in oplog_bodies(local_system) if b["entry_id"] == f"koseki#{mismatching}:check"]
    assert len(checks) == 1  # logged once


NHI = {"card_number": "12345678", "category": "01"}
PENSION = {"number": "1234-567890", "kind": "1"}


def test_qualification_notices_for_different_groups_are_all_kept(
    services: Services, local_system: LocalSystem
) -> None:
    platform = local_system.peers.platform_notices
    person_id = resident(services)
    day = today() - timedelta(days=10)
    nhi = platform.send_qualification(
        person_id, "national_health_insurance", NHI | {"acquired_on": day.isoformat()},
        effective_date=day, notified_date=today(), source_system="国保システム",
    )  # fmt: skip
    pension = platform.send_qualification(
        person_id, "national_pension", PENSION | {"acquired_on": day.isoformat()},
        effective_date=day, notified_date=today(), source_system="国民年金システム",
    )  # fmt: skip
    unknown = platform.send_qualification(
        "9999999998",
        "child_allowance",
        {"payment_from": day.isoformat()},
        effective_date=day,
        notified_date=today(),
    )
    invalid = platform.send_qualification(
        person_id, "national_pension", {"number": "not-a-number"}, effective_date=day, notified_date=today()
    )
    receive(local_system)

    after = services.store.get_person(person_id)
    assert after is not None
    held = after.qualifications
    assert (
        held.national_health_insurance is not None
        and held.national_health_insurance.card_number == "12345678"
    )
    assert held.national_pension is not None and held.national_pension.number == "1234-567890"
    assert after.movement_kind == MovementKind.QUALIFICATION_CHANGE
    movement = services.store.get_movement(received_id(f"platform#{nhi}"))
    assert movement is not None and movement.status == MovementStatus.FINAL
    assert movement.entered_by == "system:linkage-platform"
    assert reason(local_system, services, "platform", unknown) == "PERSON_NOT_FOUND"
    assert reason(local_system, services, "platform", invalid) == "INBOUND_DATA_INVALID"

    # The 国保 ends: that group is removed, the pension kept; the pension message again is a duplicate.
    ended = platform.send_qualification(
        person_id, "national_health_insurance", None, effective_date=today(), notified_date=today()
    )
    platform.send_qualification(
        person_id, "national_pension", PENSION | {"acquired_on": day.isoformat()},
        effective_date=day, notified_date=today(), message_id=pension,
    )  # fmt: skip
    output = receive(local_system)
    assert output["duplicates"] >= 1
    last = services.store.get_person(person_id)
    assert last is not None and last.version == after.version + 1
    assert last.qualifications.national_health_insurance is None
    assert last.qualifications.national_pension == held.national_pension
    assert services.store.received(f"platform#{ended}")


def test_a_file_failing_unexpectedly_is_left_and_the_next_one_applied(
    services: Services, local_system: LocalSystem
) -> None:
    """A 個人番号 sealed in the ledger that the vault cannot open (a damaged ciphertext, as a KMS
    fault would also do) makes the designation fail: not a refusal of the message, so the file
    stays for the next run, and the files after it are read all the same."""
    damaged = SealedMyNumber(ciphertext="AAAA", blind_index=uuid.uuid4().hex * 2)
    person = migrated_resident(services, my_number=damaged)
    stuck = drop(local_system, services, "my_number.designated",
                 {"person_id": person.person_id, "resident_code": person.resident_code, "my_number": new_number()},
                 message_id=f"cs-0-{uuid.uuid4().hex}")  # fmt: skip
    good_person = migrated_resident(services)
    good = drop(local_system, services, "my_number.designated",
                {"person_id": good_person.person_id, "resident_code": good_person.resident_code,
                 "my_number": new_number()}, message_id=f"cs-1-{uuid.uuid4().hex}")  # fmt: skip
    try:
        output = receive(local_system)
        assert output["failed"] >= 1
        assert exists(local_system, services, at("inbound", "cs", stuck))  # left for the next run
        assert not exists(local_system, services, at("rejected", "cs", stuck))
        assert exists(local_system, services, at("processed", "cs", good))
        applied = services.store.get_person(good_person.person_id)
        assert applied is not None and applied.my_number is not None

        # Within a run the cursor moves past it: a one-file step after it reads the next file.
        later = drop(local_system, services, "move_in.notice", {"resident_code": "123"},
                     message_id=f"cs-2-{uuid.uuid4().hex}")  # fmt: skip
        inbound = services.part(build_inbound)
        first = inbound.step(limit=1, after=at("inbound", "cs", stuck)[: -len(".json")])
        assert [f.key for f in first.failed] == [at("inbound", "cs", stuck)] and first.more
        second = inbound.step(limit=1, after=first.last_key)
        assert [r.message_id for r in second.rejected] == [later]
    finally:
        s3 = local_system.emulator.client("s3")
        key = at("inbound", "cs", stuck)
        listed = s3.list_object_versions(Bucket=services.settings.exchange_bucket, Prefix=key)
        for version in listed.get("Versions", []):
            s3.delete_object(
                Bucket=services.settings.exchange_bucket, Key=key, VersionId=version["VersionId"]
            )
    assert not exists(local_system, services, at("inbound", "cs", stuck))


def test_every_my_number_in_a_kept_file_is_blanked(services: Services, local_system: LocalSystem) -> None:
    number = new_number()
    nested = {"persons": [{"my_number": number, "n": 1}], "deep": {"list": [[{"my_number": number}]]}}
    message_id = drop(local_system, services, "weather.report", nested)
    scalar = f"cs-{uuid.uuid4().hex}"
    put(local_system, services, at("inbound", "cs", scalar), json.dumps(number))  # JSON, not an object
    receive(local_system)

    kept = read_json(local_system, services, at("rejected", "cs", message_id))
    assert number not in json.dumps(kept)
    assert kept["data"]["persons"][0] == {"my_number": "(sealed in the ledger)", "n": 1}
    assert kept["data"]["deep"]["list"][0][0]["my_number"] == "(sealed in the ledger)"
    assert not exists(local_system, services, at("rejected", "cs", scalar))  # no copy at all
    assert reason(local_system, services, "cs", scalar) == "INBOUND_UNREADABLE"
    s3 = local_system.emulator.client("s3")
    left = s3.list_object_versions(
        Bucket=services.settings.exchange_bucket, Prefix=at("inbound", "cs", scalar)
    )
    assert not left.get("Versions") and not left.get("DeleteMarkers")


class RacedInbox:
    """The real inbox, but the first look for the mark lets another run handle the same file
    completely before the answer (read before) is returned: two runs started by object events at
    once, the other one committing between this one's look and its reading of the ledger."""

    def __init__(self, inbox: Inbox, other_run: Callable[[], None]) -> None:
        self._inbox = inbox
        self._other_run: Callable[[], None] | None = other_run

    def received(self, source_id: str) -> bool:
        found = self._inbox.received(source_id)
        if self._other_run is not None:
            other_run, self._other_run = self._other_run, None
            other_run()
        return found

    def mark_received(self, source_id: str, at: datetime) -> None:
        self._inbox.mark_received(source_id, at)

    def resident_code_holder(self, code: str) -> str | None:
        return self._inbox.resident_code_holder(code)

    def get_person(self, person_id: str) -> PersonRecord | None:
        return self._inbox.get_person(person_id)

    def card_holder(self, card_number: str) -> str | None:
        return self._inbox.card_holder(card_number)

    def mark_logged(self, source_id: str, entry: OperationLogEntry) -> bool:
        return self._inbox.mark_logged(source_id, entry)

    def named(self, family_name: str, given_name: str, birth_date: date) -> list[str]:
        return self._inbox.named(family_name, given_name, birth_date)


def test_a_file_applied_by_a_run_at_the_same_time_is_a_duplicate_not_rejected(
    services: Services, local_system: LocalSystem
) -> None:
    """The other run changes the card the notice names: this run, which found no mark, is then
    refused by the ledger (CARD_NUMBER_UNKNOWN). The mark, looked at again, tells that the notice
    was applied: the file is processed, not rejected (no LINKAGE_INBOUND_REJECTED alarm)."""
    moj = local_system.peers.moj
    old_card, new_card = card(), card()
    person_id = foreign_resident(services, old_card)
    before = services.store.get_person(person_id)
    assert before is not None
    message_id = moj.send_foreign_resident_notice(old_card, foreign_items(new_card), today(), today())
    key = at("inbound", "moj", message_id)
    just_before = key.removesuffix(".json")  # the step's cursor: this file is the first after it
    other = services.part(build_inbound)
    others: list[int] = []

    def other_run() -> None:
        outcome = other.step(limit=1, after=just_before)
        others.append(outcome.applied)

    this = copy.copy(other)
    this._inbox = RacedInbox(this._inbox, other_run)  # the same service, its inbox raced
    outcome = this.step(limit=1, after=just_before)

    assert others == [1]  # the other run applied the notice
    assert (outcome.applied, outcome.duplicates, outcome.rejected, outcome.failed) == (0, 1, [], [])
    assert exists(local_system, services, at("processed", "moj", message_id))
    assert not exists(local_system, services, at("rejected", "moj", message_id))
    assert not exists(local_system, services, at("rejected", "moj", message_id) + ".reason.json")
    after = services.store.get_person(person_id)
    assert after is not None and after.version == before.version + 1  # applied once
    assert after.foreign_resident is not None and after.foreign_resident.card_number == new_card


def answers(local_system: LocalSystem, inquiry_id: str) -> list[dict[str, Any]]:
    notices = local_system.peers.cs.notices("resident_code.answer")
    return [notice for notice in notices if notice["inquiry_id"] == inquiry_id]


def named_resident(services: Services, given_name: str) -> PersonRecord:
    """A migrated resident (born 1990-04-01, 本籍 静岡県静岡市葵区追手町5番地) under a name nobody
    else in the session has."""
    name = PersonName(family_name="照会", given_name=given_name, family_name_kana="ショウカイ",
                      given_name_kana="ハナコ")  # fmt: skip
    return migrated_resident(services, name=name)


def inquiry_name(given_name: str) -> dict[str, str]:
    return {"family_name": "照会", "given_name": given_name, "family_name_kana": "ショウカイ",
            "given_name_kana": "ハナコ"}  # fmt: skip


def unique_given_name() -> str:
    return "".join("一二三四五六七八九十百千万"[int(c, 16) % 13] for c in uuid.uuid4().hex[:8])


def test_a_resident_code_inquiry_is_answered_once_through_the_cs(
    services: Services, local_system: LocalSystem
) -> None:
    koseki = local_system.peers.koseki
    given = unique_given_name()
    person = named_resident(services, given)
    assert person.resident_code is not None
    name = inquiry_name(given)
    written = {"domicile": "静岡県静岡市葵区追手町５番地", "head": "移行 花子"}  # as the 戸籍 writes it
    inquiry_id = f"Q-{uuid.uuid4().hex[:12]}"
    message_id = koseki.send_resident_code_inquiry(inquiry_id, name, date(1990, 4, 1), written)
    unknown = koseki.send_resident_code_inquiry("Q-unknown", name, date(1990, 4, 2), written)
    elsewhere = koseki.send_resident_code_inquiry(
        "Q-elsewhere", name, date(1990, 4, 1), {"domicile": "東京都千代田区千代田1番地", "head": "移行花子"}
    )
    receive_together(local_system, runs=2)  # two runs at once read the same files
    koseki.send_resident_code_inquiry(inquiry_id, name, date(1990, 4, 1), written, message_id=message_id)
    assert receive(local_system)["duplicates"] >= 1  # read again: answered once all the same
    run_machine(local_system, "linkage-dispatch")

    assert answers(local_system, inquiry_id) == [
        {"person_id": person.person_id, "inquiry_id": inquiry_id, "resident_code": person.resident_code}
    ]
    (applied,) = local_system.peers.cs.applied(
        f"cs.koseki_answer:{person.person_id}:answer.koseki.{message_id}"
    )
    assert (applied.kind, applied.sequence) == ("resident_code.answer", person.version)
    provisions = services.part(build_linkage_store).provisions_for(person.person_id)
    assert [(p.kind, p.outcome, p.fields) for p in provisions] == [
        ("resident_code.answer", "delivered", ["resident_code"])
    ]
    (entry,) = [b for b in oplog_bodies(local_system) if b["entry_id"] == f"koseki#{message_id}:inquiry"]
    assert (entry["action"], entry["persons"]) == ("read", [person.person_id])
    assert (entry["code"], entry["staff_id"]) == ("RESIDENT_CODE_ANSWERED", "system:linkage-koseki")
    logged = json.dumps(entry, ensure_ascii=False)
    assert person.resident_code not in logged and given not in logged  # never the values
    assert exists(local_system, services, at("processed", "koseki", message_id))
    assert reason(local_system, services, "koseki", unknown) == "PERSON_NOT_FOUND"
    assert reason(local_system, services, "koseki", elsewhere) == "PERSON_NOT_FOUND"
    assert answers(local_system, "Q-unknown") == [] and answers(local_system, "Q-elsewhere") == []
    after = services.store.get_person(person.person_id)
    assert after is not None and after.version == person.version  # nothing written to the record


def test_a_resident_code_inquiry_naming_two_residents_is_refused(
    services: Services, local_system: LocalSystem
) -> None:
    given = unique_given_name()
    named_resident(services, given)
    named_resident(services, given)
    name = inquiry_name(given)
    domicile = {"domicile": "静岡県静岡市葵区追手町5番地", "head": "移行花子"}
    ambiguous = local_system.peers.koseki.send_resident_code_inquiry(
        "Q-two", name, date(1990, 4, 1), domicile
    )
    receive(local_system)
    assert reason(local_system, services, "koseki", ambiguous) == "PERSON_AMBIGUOUS"
    assert not services.store.received(f"koseki#{ambiguous}")
