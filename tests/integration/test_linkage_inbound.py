"""Inbound linkage: files the CS leaves in the exchange bucket's drop zone, applied at most once by
the real linkage-receive state machine (docs/linkage.md, "Inbound messages")."""

from __future__ import annotations

import json
import time
import uuid
from datetime import date, timedelta
from typing import Any

from juki.adapters.retention_stores import SENDING_ADDRESS_PREFIX, DynamoMoveOutCertificates
from juki.adapters.system import JST, SystemClock
from juki.bootstrap import Services
from juki.domain.codes import my_number_check_digit, resident_code_check_digit
from juki.domain.commands import MoveIn, MoveOut
from juki.domain.model import MovementStatus
from juki.domain.record_items import KosekiDomicile
from juki.domain.records import HouseholdRecord, PersonRecord
from juki.domain.staff import Actor, Role
from juki.domain.values import Address, MovementKind, PersonName, ResidentStatus, Sex
from juki.services.movements import received_id
from juki_local.system import LocalSystem

CLERK = Actor("S1001", frozenset({Role.CLERK}), "葵区役所", "T1", "caller", "r-inbound")
APPROVER = Actor("S2001", frozenset({Role.APPROVER}), "葵区役所", "T2", "caller", "r-inbound")
ELSEWHERE = {"prefecture": "愛知県", "municipality": "名古屋市中区", "street": "三の丸三丁目1番1号"}


def today() -> date:
    return SystemClock().now().date()


def final(services: Services, command: Any) -> list[str]:
    """Entered by the clerk, approved by the approver: the person ids it wrote."""
    draft = services.movements.enter(command, CLERK)
    outcome = services.movements.approve(draft.movement_id, APPROVER, wait_seconds=20)
    assert outcome.movement.status == MovementStatus.FINAL, outcome
    assert outcome.movement.result is not None
    return outcome.movement.result.person_ids


def new_resident(services: Services) -> str:
    """A resident nobody else in the session has (a random reading), without a 個人番号."""
    kana = "".join("アイウエオカキクケコサシスセソタ"[int(c, 16)] for c in uuid.uuid4().hex[:6])
    member = {
        "name": {"family_name": "連携", "given_name": "花子", "family_name_kana": kana, "given_name_kana": "ハナコ"},
        "birth_date": "1990-04-01", "sex": "female", "relationship": "世帯主",
        "koseki": {"domicile": "静岡県静岡市葵区追手町5番地", "head": "連携花子"},
    }  # fmt: skip
    command = MoveIn.model_validate({
        "kind": "move_in", "effective_date": (today() - timedelta(days=20)).isoformat(),
        "notified_date": (today() - timedelta(days=18)).isoformat(),
        "address": {"postal_code": "420-0853", "ward": "葵区", "town": "追手町", "lot": "5番1号",
                    "katagaki": "追手町ハイツ101"},
        "previous_address": ELSEWHERE, "members": [member],
    })  # fmt: skip
    (person_id,) = final(services, command)
    return person_id


def migrated_resident(services: Services, **changes: Any) -> PersonRecord:
    """A resident brought in by the migration import (no movement, so no message asks the CS for
    a 個人番号: only the test's file designates one), with a 住民票コード and no 個人番号 (unless
    ``changes`` say otherwise)."""
    (person_id,) = services.store.reserve_sequence("person", 1)
    (household_id,) = services.store.reserve_sequence("household", 1)
    first10 = f"{uuid.uuid4().int % 10**10:010d}"
    code = first10 + str(resident_code_check_digit(first10))
    kana = "".join("アイウエオカキクケコサシスセソタ"[int(c, 16)] for c in uuid.uuid4().hex[:6])
    now, since = SystemClock().now(), today() - timedelta(days=400)
    address = Address(
        postal_code="420-0853", ward="葵区", town="追手町", lot="5番1号", katagaki="追手町ハイツ101"
    )
    person = PersonRecord(
        person_id=person_id, version=1, household_id=household_id, resident_code=code,
        name=PersonName(family_name="移行", given_name="花子", family_name_kana=kana, given_name_kana="ハナコ"),
        birth_date=date(1990, 4, 1), sex=Sex.FEMALE, relationship="世帯主",
        koseki=KosekiDomicile(domicile="静岡県静岡市葵区追手町5番地", head="移行花子"), address=address,
        resident_since=since, address_since=since, notified_date=since, status=ResidentStatus.RESIDENT,
        movement_id=f"migration-{uuid.uuid4().hex}", movement_kind=MovementKind.MIGRATION,
        effective_date=since, recorded_at=now,
    ).model_copy(update=changes)  # fmt: skip
    household = HouseholdRecord(
        household_id=household_id, version=1, head_person_id=person_id, member_ids=[person_id],
        address=address, movement_id=person.movement_id, effective_date=since, recorded_at=now,
    )  # fmt: skip
    services.store.import_records([person], [household])
    return person


def new_number() -> str:
    first11 = f"{uuid.uuid4().int % 10**11:011d}"
    return first11 + str(my_number_check_digit(first11))


def drop(local_system: LocalSystem, services: Services, kind: str, data: Any, message_id: str = "") -> str:
    """A file as the CS simulator writes it; returns its message id."""
    message_id = message_id or f"cs-{uuid.uuid4().hex}"
    envelope = {
        "message_id": message_id,
        "kind": kind,
        "sent_at": SystemClock().now().isoformat(),
        "data": data,
    }
    put(local_system, services, f"inbound/cs/{today().isoformat()}/{message_id}.json", json.dumps(envelope))
    return message_id


def put(local_system: LocalSystem, services: Services, key: str, body: str) -> None:
    s3 = local_system.emulator.client("s3")
    s3.put_object(Bucket=services.settings.exchange_bucket, Key=key, Body=body.encode())


def exists(local_system: LocalSystem, services: Services, key: str) -> bool:
    s3 = local_system.emulator.client("s3")
    found = s3.list_objects_v2(Bucket=services.settings.exchange_bucket, Prefix=key)
    return any(item["Key"] == key for item in found.get("Contents", []))


def read_json(local_system: LocalSystem, services: Services, key: str) -> Any:
    s3 = local_system.emulator.client("s3")
    return json.loads(s3.get_object(Bucket=services.settings.exchange_bucket, Key=key)["Body"].read())


def receive(local_system: LocalSystem, runs: int = 1) -> dict[str, Any]:
    """Runs the linkage-receive machine (``runs`` executions started together) to the end; each
    must succeed. The first one's output."""
    sfn = local_system.emulator.client("stepfunctions")
    arns = [
        sfn.start_execution(
            stateMachineArn=local_system.resources.state_machines["linkage-receive"],
            name=f"test-{uuid.uuid4().hex}",
            input="{}",
        )["executionArn"]
        for _ in range(runs)
    ]
    outputs: list[dict[str, Any]] = []
    for arn in arns:
        for _ in range(1200):
            described = sfn.describe_execution(executionArn=arn)
            if described["status"] != "RUNNING":
                assert described["status"] == "SUCCEEDED", described
                outputs.append(json.loads(described["output"]))
                break
            time.sleep(0.1)
        else:
            raise AssertionError("the execution did not finish")
    return outputs[0]


def processed(message_id: str) -> str:
    return f"processed/cs/{today().isoformat()}/{message_id}.json"


def rejected(message_id: str) -> str:
    return f"rejected/cs/{today().isoformat()}/{message_id}.json"


def test_a_move_out_certificate_is_stored_once(services: Services, local_system: LocalSystem) -> None:
    certificate_id = f"MOC-{uuid.uuid4().hex[:12]}"
    data = {
        "certificate_id": certificate_id, "from_municipality_code": "131016",
        "persons": [{"name": {"family_name": "転入", "given_name": "一郎", "family_name_kana": "テンニュウ",
                              "given_name_kana": "イチロウ"},
                     "birth_date": "1985-05-05", "sex": "male", "resident_code": None, "head_of_household": True}],
        "previous_address": {"prefecture": "東京都", "municipality": "千代田区", "street": "霞が関二丁目1番2号"},
        "planned_destination": {"prefecture": "静岡県", "municipality": "静岡市葵区", "street": "追手町5番1号"},
        "planned_date": today().isoformat(),
    }  # fmt: skip
    message_id = drop(local_system, services, "move_out_certificate", data)
    receive(local_system)

    certificates = DynamoMoveOutCertificates(
        services.settings.ledger_table, services.settings.oplog_table,
        region=services.settings.region, host=services.settings.endpoint_url,
    )  # fmt: skip
    stored = certificates.get(certificate_id)
    assert stored is not None and stored.certificate is not None
    assert stored.certificate.persons[0].name.given_name == "一郎"
    assert services.store.received(f"cs#{message_id}")
    assert exists(local_system, services, processed(message_id))
    assert not exists(local_system, services, f"inbound/cs/{today().isoformat()}/{message_id}.json")

    # The CS sends the same message again: read again, applied no second time.
    drop(local_system, services, "move_out_certificate", data, message_id)
    second = receive(local_system)
    assert second["duplicates"] >= 1
    again = certificates.get(certificate_id)
    assert again is not None and again.received_at == stored.received_at


def test_a_move_in_notice_confirms_the_planned_move_out_once(
    services: Services, local_system: LocalSystem
) -> None:
    person_id = new_resident(services)
    final(services, MoveOut.model_validate({
        "kind": "move_out", "person_ids": [person_id], "planned_date": (today() - timedelta(days=3)).isoformat(),
        "notified_date": (today() - timedelta(days=5)).isoformat(), "destination": ELSEWHERE,
    }))  # fmt: skip
    person = services.store.get_person(person_id)
    assert person is not None and person.resident_code and person.move_out
    assert person.move_out.confirmed_date is None
    notice = {
        "resident_code": person.resident_code, "moved_in_date": (today() - timedelta(days=2)).isoformat(),
        "destination": {**ELSEWHERE, "street": "栄三丁目1番1号"}, "notified_date": today().isoformat(),
    }  # fmt: skip
    message_id = drop(local_system, services, "move_in.notice", notice)
    receive(local_system)

    confirmed = services.store.get_person(person_id)
    assert confirmed is not None and confirmed.move_out is not None
    assert confirmed.move_out.confirmed_date == today() - timedelta(days=2)
    assert confirmed.move_out.confirmed_destination is not None
    assert confirmed.move_out.confirmed_destination.street == "栄三丁目1番1号"
    assert confirmed.move_out.planned_destination.street == ELSEWHERE["street"]  # kept
    movement = services.store.get_movement(received_id(f"cs#{message_id}"))
    assert movement is not None and movement.status == MovementStatus.FINAL
    assert movement.entered_by == movement.approved_by == "system:linkage-cs"
    assert services.store.received(f"cs#{message_id}")

    # The same file again (a retried step, another run): no second version.
    drop(local_system, services, "move_in.notice", notice, message_id)
    receive(local_system)
    after = services.store.get_person(person_id)
    assert after is not None and after.version == confirmed.version
    assert exists(local_system, services, processed(message_id))


def test_a_designated_my_number_is_recorded_and_yields_one_sending_address_file(
    services: Services, local_system: LocalSystem
) -> None:
    person = migrated_resident(services)
    person_id, number = person.person_id, new_number()
    data = {"person_id": person_id, "resident_code": person.resident_code, "my_number": number}
    message_id = drop(local_system, services, "my_number.designated", data)
    receive(local_system)

    shown = services.inquiry.reveal_my_number(person_id, "送付先情報の確認 (試験)", APPROVER)
    assert shown.my_number == number
    movement = services.store.get_movement(received_id(f"cs#{message_id}"))
    assert movement is not None and movement.status == MovementStatus.FINAL and movement.approved_at
    key = (
        f"{SENDING_ADDRESS_PREFIX}{movement.approved_at.astimezone(JST).date().isoformat()}/{message_id}.json"
    )
    record = read_json(local_system, services, key)
    recorded = services.store.get_person(person_id)
    assert recorded is not None and recorded.my_number is not None
    assert record["my_number_sealed"] == recorded.my_number.model_dump()  # 個人番号 (別添2), sealed
    assert number not in json.dumps(record)
    kept = read_json(local_system, services, processed(message_id))
    assert kept["data"]["my_number"] != number and kept["data"]["person_id"] == person_id
    s3 = local_system.emulator.client("s3")
    inbound_key = f"inbound/cs/{today().isoformat()}/{message_id}.json"
    left = s3.list_object_versions(Bucket=services.settings.exchange_bucket, Prefix=inbound_key)
    assert not left.get("Versions") and not left.get("DeleteMarkers")  # no version keeps the number
    assert record["resident_code"] == person.resident_code
    assert record["sending_management_number"] == message_id
    assert record["address"].endswith("葵区追手町5番1号 追手町ハイツ101")

    drop(local_system, services, "my_number.designated", data, message_id)
    receive(local_system)
    versions = s3.list_object_versions(Bucket=services.settings.exchange_bucket, Prefix=key)
    assert len(versions.get("Versions", [])) == 1  # the retry wrote no second file
    again = services.store.get_person(person_id)
    assert again is not None and again.version == person.version + 1

    # A new message with the same number changes nothing; one with another number is refused.
    same = drop(local_system, services, "my_number.designated", data)
    other = drop(local_system, services, "my_number.designated", {**data, "my_number": new_number()})
    receive(local_system)
    assert exists(local_system, services, processed(same))
    assert (
        read_json(local_system, services, rejected(other) + ".reason.json")["code"]
        == "MY_NUMBER_ALREADY_RECORDED"
    )
    last = services.store.get_person(person_id)
    assert last is not None and last.version == again.version
    assert (
        services.inquiry.reveal_my_number(person_id, "送付先情報の確認 (試験)", APPROVER).my_number == number
    )


def test_two_runs_at_once_apply_a_file_once(services: Services, local_system: LocalSystem) -> None:
    before = {p.person_id: p for p in (migrated_resident(services) for _ in range(2))}
    messages = []
    for person_id, person in before.items():
        data = {"person_id": person_id, "resident_code": person.resident_code, "my_number": new_number()}
        messages.append(drop(local_system, services, "my_number.designated", data))

    receive(local_system, runs=2)

    for person_id, person in before.items():
        after = services.store.get_person(person_id)
        assert after is not None
        assert after.version == person.version + 1 and after.my_number is not None
    s3 = local_system.emulator.client("s3")
    for message_id in messages:
        assert exists(local_system, services, processed(message_id))
        found = s3.list_objects_v2(Bucket=services.settings.exchange_bucket, Prefix=SENDING_ADDRESS_PREFIX)
        assert [o["Key"] for o in found.get("Contents", []) if o["Key"].endswith(f"/{message_id}.json")]


def test_bad_files_are_set_aside_with_a_reason_and_the_run_succeeds(
    services: Services, local_system: LocalSystem
) -> None:
    resident = services.store.get_person(new_resident(services))
    assert resident is not None
    day = today().isoformat()
    unreadable = f"cs-{uuid.uuid4().hex}"
    put(local_system, services, f"inbound/cs/{day}/{unreadable}.json", "{not json")
    unknown = drop(local_system, services, "weather.report", {"sunny": True})
    invalid = drop(local_system, services, "move_in.notice", {"resident_code": "123"})
    no_move_out = drop(local_system, services, "move_in.notice", {
        "resident_code": resident.resident_code, "moved_in_date": day, "destination": ELSEWHERE,
        "notified_date": day,
    })  # fmt: skip
    good = drop(local_system, services, "move_out_certificate", {
        "certificate_id": f"MOC-{uuid.uuid4().hex[:12]}", "from_municipality_code": "131016",
        "persons": [{"name": {"family_name": "良好", "given_name": "次郎", "family_name_kana": "リョウコウ",
                              "given_name_kana": "ジロウ"}, "birth_date": "1980-01-01", "sex": "male"}],
        "previous_address": ELSEWHERE, "planned_destination": ELSEWHERE, "planned_date": day,
    })  # fmt: skip

    output = receive(local_system)

    assert output["rejected"] >= 4
    expected = {
        unreadable: "INBOUND_UNREADABLE",
        unknown: "INBOUND_KIND_UNKNOWN",
        invalid: "INBOUND_DATA_INVALID",
        no_move_out: "NO_MOVE_OUT",
    }
    for message_id, code in expected.items():
        # A file that is not JSON is not kept at all (only its reason): nothing could blank it.
        assert exists(local_system, services, rejected(message_id)) == (message_id != unreadable), code
        reason = read_json(local_system, services, rejected(message_id) + ".reason.json")
        assert reason["code"] == code
        assert not exists(local_system, services, f"inbound/cs/{day}/{message_id}.json")
    assert exists(local_system, services, processed(good))  # a bad neighbour stops nothing
    unchanged = services.store.get_person(resident.person_id)
    assert unchanged is not None and unchanged.version == resident.version
