"""Certificate issuance through the service on the local system: the PDF stored and linked, the
交付履歴 with the stored PDF's hash, the export in the operation log, the rules that refuse (a
draft, a restriction, an alert not acknowledged), a copy as of a past date, and the issue numbers
under concurrent issuance."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import shutil
import subprocess
import threading
import uuid
from datetime import date, datetime, timedelta
from typing import Any

import pytest
import requests
from api_support import oplog_bodies
from juki.adapters.certificates import build_certificates, certificate_issuances
from juki.adapters.system import JST
from juki.bootstrap import Services
from juki.domain.certificates import CertificateRequest
from juki.domain.codes import my_number_check_digit
from juki.domain.commands import Death
from juki.domain.errors import DomainError
from juki.domain.record_items import ForeignResident
from juki.domain.restrictions import NewRestriction, NewSupportMeasure
from juki.domain.staff import Actor, Role
from juki.domain.values import PersonName
from juki.services.certificates import CertificateService, IssuedResult, KioskCertificateRequest
from juki_local.system import LocalSystem

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("juki.domain.certificate_rules") is None
    or importlib.util.find_spec("juki.adapters.pdf.certificates") is None,
    reason="the certificate rules or the PDF renderer are not there yet (issue 5, another part)",
)

CLERK = Actor("S1001", frozenset({Role.CLERK}), "葵区役所", "AOI-COUNTER-01", "caller", "r-cert")
MANAGER = Actor("S2001", frozenset({Role.APPROVER}), "葵区役所", "AOI-REVIEW-01", "caller", "r-cert")
VIEWER = Actor("S3001", frozenset({Role.VIEWER}), "葵区役所", "AOI-VIEW-01", "caller", "r-cert")
KIOSK = Actor("system:kiosk", frozenset({Role.KIOSK}), "コンビニ交付", "KIOSK-0001", "caller", "r-cert")
TODAY = datetime.now(JST).date()
DIGITS = "一二三四五六七八九十"


def certificates(services: Services) -> CertificateService:
    return services.part(build_certificates)


def unique_family_name() -> str:
    return "証" + "".join(DIGITS[int(c, 16) % 10] for c in uuid.uuid4().hex[:5])


def fresh_household(
    services: Services,
    members: int = 1,
    *,
    card: str | None = None,
    since: date | None = None,
) -> list[str]:
    """A household of its own (so nothing set here touches another test's people), imported as a
    migration would, every member resident since ``since``."""
    template = services.store.get_person("0000000019")
    assert template is not None
    template_household = services.store.get_household(template.household_id)
    assert template_household is not None
    person_ids = services.store.reserve_sequence("person", members)
    (household_id,) = services.store.reserve_sequence("household", 1)
    start = since or TODAY - timedelta(days=400)
    family = unique_family_name()
    persons = []
    for index, person_id in enumerate(person_ids):
        kana = "".join("アイウエオカキクケコサシスセソタ"[int(c, 16)] for c in uuid.uuid4().hex[:6])
        name = PersonName(
            family_name=family, given_name=f"{DIGITS[index]}郎", family_name_kana=kana, given_name_kana="ロウ"
        )
        update: dict[str, Any] = {
            "person_id": person_id,
            "household_id": household_id,
            "name": name,
            "resident_code": None,
            "my_number": None,
            "relationship": "世帯主" if index == 0 else "子",
            "effective_date": start,
            "resident_since": start,
            "address_since": start,
            "notified_date": start,
        }
        if card and index == 0:
            update["koseki"] = None
            update["foreign_resident"] = ForeignResident.model_validate(
                {
                    "category": "special_permanent",
                    "card_number": card,
                    "nationality_code": "410",
                    "nationality": "韓国",
                    "became_foreign_resident_on": start.isoformat(),
                }
            )
        persons.append(template.model_copy(update=update))
    household = template_household.model_copy(
        update={
            "household_id": household_id,
            "head_person_id": person_ids[0],
            "member_ids": person_ids,
            "effective_date": start,
        }
    )
    services.store.import_records(persons, [household])
    return person_ids


def request_for(person_ids: list[str], **changes: Any) -> CertificateRequest:
    body: dict[str, Any] = {
        "kind": "resident_copy",
        "layout": "household",
        "person_ids": person_ids,
        "items": ["head_and_relationship"],
        "requester_kind": "self",
        "requester_name": "本人",
        "purpose": "勤務先への提出",
        "fee_category": "paid",
    }
    return CertificateRequest.model_validate(body | changes)


def pdf_text(pdf: bytes) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    done = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True)
    return done.stdout.decode()


def fetched(result: IssuedResult) -> bytes:
    assert result.pdf_url is not None
    response = requests.get(result.pdf_url, timeout=30)
    assert response.status_code == 200
    return response.content


def logged(local_system: LocalSystem, person_id: str) -> list[dict[str, Any]]:
    return [
        body
        for body in oplog_bodies(local_system)
        if person_id in body["persons"] and body["function"].startswith("certificate.")
    ]


def restricted(services: Services, person_id: str, level: str) -> None:
    services.restrictions.add(
        NewRestriction.model_validate(
            {
                "target": "person",
                "target_id": person_id,
                "processes": ["certificate"],
                "level": level,
                "reason": "試験",
                "starts_on": (TODAY - timedelta(days=1)).isoformat(),
            }
        ),
        MANAGER,
    )


def test_issue_stores_the_pdf_and_records_history_and_log(
    services: Services, local_system: LocalSystem
) -> None:
    head, child = fresh_household(services, 2)
    result = certificates(services).issue(request_for([head, child]), CLERK)

    pdf = fetched(result)
    assert pdf.startswith(b"%PDF")
    assert hashlib.sha256(pdf).hexdigest() == result.pdf_sha256
    text = pdf_text(pdf)
    head_record = services.store.get_person(head)
    assert head_record is not None
    assert head_record.name.family_name in text
    assert result.issue_numbers[0] in text.replace(" ", "")
    assert len(result.issue_numbers) == 1  # 世帯連記式: one certificate for the household

    stored = local_system.emulator.client("s3").get_object(
        Bucket=services.settings.documents_bucket, Key=f"certificates/{result.issue_id}.pdf"
    )
    assert stored["ServerSideEncryption"] == "aws:kms"

    for person_id in (head, child):
        (record,) = certificates(services).history(person_id, CLERK).issuances
        assert record.issue_id == result.issue_id
        assert record.pdf_sha256 == hashlib.sha256(pdf).hexdigest()
        assert record.fee_category == "paid"
        assert record.staff_id == CLERK.staff_id
        assert record.terminal == CLERK.terminal
        assert record.channel == "counter"
        assert record.issue_number == result.issue_numbers[0]

    entries = logged(local_system, head)
    (export,) = [e for e in entries if e["action"] == "export"]
    assert export["function"] == "certificate.issue"
    assert export["outcome"] == "success"
    assert sorted(export["persons"]) == sorted([head, child])
    assert export["households"] == [head_record.household_id]
    assert export["my_number_shown"] is False
    reads = [e for e in entries if e["action"] == "read"]
    assert len(reads) == 1  # the history read of the head


def test_individual_layout_numbers_each_person_and_history_is_newest_first(services: Services) -> None:
    head, child = fresh_household(services, 2)
    first = certificates(services).issue(request_for([head, child], layout="individual"), CLERK)
    second = certificates(services).issue(request_for([head]), CLERK)
    assert len(first.issue_numbers) == 2
    sequences = [int(n.rsplit("-", 1)[1]) for n in first.issue_numbers]
    assert sequences[1] == sequences[0] + 1
    history = certificates(services).history(head, CLERK).issuances
    assert [h.issue_id for h in history] == [second.issue_id, first.issue_id]
    (child_record,) = certificates(services).history(child, CLERK).issuances
    assert child_record.issue_number == first.issue_numbers[1]
    disclosed = services.part(certificate_issuances).for_person(head)
    assert disclosed.source_available
    assert [i.certificate for i in disclosed.issuances] == ["住民票の写し", "住民票の写し"]


def test_a_pending_draft_refuses_and_is_logged(services: Services, local_system: LocalSystem) -> None:
    (person,) = fresh_household(services)
    death = Death.model_validate(
        {
            "kind": "death",
            "person_id": person,
            "effective_date": TODAY.isoformat(),
            "notified_date": TODAY.isoformat(),
        }
    )
    draft = services.movements.enter(death, CLERK)
    try:
        with pytest.raises(DomainError) as refused:
            certificates(services).issue(request_for([person]), CLERK)
        assert refused.value.code == "DRAFT_PENDING"
        assert refused.value.status == 409
    finally:
        services.movements.reject(draft.movement_id, MANAGER, "試験のため差戻し")
    (entry,) = logged(local_system, person)
    assert (entry["outcome"], entry["code"]) == ("refused", "DRAFT_PENDING")
    assert certificates(services).issue(request_for([person]), CLERK).issue_numbers  # decided: issued


def test_an_error_restriction_refuses_with_its_code(services: Services) -> None:
    (person,) = fresh_household(services)
    restricted(services, person, "error")
    with pytest.raises(DomainError) as refused:
        certificates(services).issue(request_for([person]), CLERK)
    assert (refused.value.code, refused.value.status) == ("RESTRICTED", 403)
    assert certificates(services).history(person, CLERK).issuances == []


def test_a_support_measure_refuses_the_certificate(services: Services) -> None:
    (person,) = fresh_household(services)
    services.restrictions.add_support_measure(
        NewSupportMeasure.model_validate({"person_id": person, "starts_on": TODAY.isoformat()}), MANAGER
    )
    with pytest.raises(DomainError) as refused:
        certificates(services).issue(request_for([person]), CLERK)
    assert (refused.value.code, refused.value.status) == ("SUPPORT_MEASURE", 403)


def test_an_alert_needs_acknowledgement_which_is_recorded(
    services: Services, local_system: LocalSystem
) -> None:
    (person,) = fresh_household(services)
    restricted(services, person, "alert")
    with pytest.raises(DomainError) as refused:
        certificates(services).issue(request_for([person]), CLERK)
    assert (refused.value.code, refused.value.status) == ("ALERT_ACKNOWLEDGEMENT_REQUIRED", 409)
    assert [i.code for i in refused.value.issues] == ["RESTRICTED_ALERT"]

    result = certificates(services).issue(request_for([person], acknowledged_alerts=True), CLERK)
    assert [a.code for a in result.acknowledged_alerts] == ["RESTRICTED_ALERT"]
    (export,) = [e for e in logged(local_system, person) if e["outcome"] == "success"]
    assert export["code"] == "ALERT_ACKNOWLEDGED"
    table = local_system.emulator.client("dynamodb")
    items = table.query(
        TableName=services.settings.ledger_table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"CERTIFICATES#{person}"}},
    )["Items"]
    assert [item["acknowledged"]["S"] for item in items] == ["RESTRICTED_ALERT"]


def test_a_copy_as_of_a_past_date_shows_that_day(services: Services) -> None:
    (person,) = fresh_household(services, since=TODAY - timedelta(days=60))
    before = services.store.get_person(person)
    assert before is not None
    renamed = before.model_copy(
        update={
            "version": 2,
            "name": before.name.model_copy(update={"family_name": unique_family_name()}),
            "effective_date": TODAY - timedelta(days=10),
            "movement_id": uuid.uuid4().hex,
        }
    )
    services.store.import_records([renamed], [])
    as_of = TODAY - timedelta(days=30)

    past = certificates(services).issue(request_for([person], as_of=as_of.isoformat()), CLERK)
    text = pdf_text(fetched(past))
    assert before.name.family_name in text
    assert renamed.name.family_name not in text
    assert "現在の内容です" in text
    assert past.as_of == as_of
    now = certificates(services).issue(request_for([person]), CLERK)
    assert renamed.name.family_name in pdf_text(fetched(now))
    assert [h.as_of for h in certificates(services).history(person, CLERK).issuances] == [TODAY, as_of]


def test_my_number_is_opened_only_when_printed_and_logged_with_the_purpose(
    services: Services, local_system: LocalSystem
) -> None:
    (person,) = fresh_household(services)
    first11 = f"{uuid.uuid4().int % 10**11:011d}"
    number = first11 + str(my_number_check_digit(first11))
    record = services.store.get_person(person)
    assert record is not None
    sealed = services.my_numbers.seal(number, person)
    services.store.import_records([record.model_copy(update={"version": 2, "my_number": sealed})], [])

    without = certificates(services).issue(request_for([person]), CLERK)
    assert number not in pdf_text(fetched(without))
    shown = certificates(services).issue(request_for([person], items=["my_number"]), CLERK)
    assert shown.pdf_url is None
    assert shown.pdf_base64 is not None
    pdf = base64.b64decode(shown.pdf_base64)
    assert hashlib.sha256(pdf).hexdigest() == shown.pdf_sha256
    assert number in pdf_text(pdf).replace(" ", "")
    listed = local_system.emulator.client("s3").list_objects_v2(
        Bucket=services.settings.documents_bucket, Prefix=f"certificates/{shown.issue_id}"
    )
    assert listed.get("KeyCount", 0) == 0  # a PDF with a 個人番号 is never stored
    exports = sorted(
        (e for e in logged(local_system, person) if e["action"] == "export"), key=lambda e: e["at"]
    )
    assert [(e["my_number_shown"], e["purpose"]) for e in exports] == [
        (False, None),
        (True, "勤務先への提出"),
    ]


def test_permissions_are_checked(services: Services) -> None:
    (person,) = fresh_household(services)
    for actor in (VIEWER, KIOSK):
        with pytest.raises(DomainError) as refused:
            certificates(services).issue(request_for([person]), actor)
        assert refused.value.code == "PERMISSION_DENIED"
    with pytest.raises(DomainError):
        certificates(services).issue_at_kiosk(KioskCertificateRequest(card_serial="AB12345678CD"), CLERK)


def test_the_kiosk_finds_the_resident_by_card_and_refuses_alerts(
    services: Services, local_system: LocalSystem
) -> None:
    card = f"KS{uuid.uuid4().int % 10**8:08d}CD"
    head, child = fresh_household(services, 2, card=card)
    result = certificates(services).issue_at_kiosk(
        KioskCertificateRequest(card_serial=card.lower(), layout="household"), KIOSK
    )
    assert result.person_ids == [head, child]
    (record,) = certificates(services).history(head, CLERK).issuances
    assert (record.channel, record.staff_id, record.requester_kind) == ("kiosk", "system:kiosk", "self")
    assert record.terminal == KIOSK.terminal
    assert any(
        e["function"] == "certificate.kiosk" and e["action"] == "export" for e in logged(local_system, head)
    )

    with pytest.raises(DomainError) as unknown:
        certificates(services).issue_at_kiosk(KioskCertificateRequest(card_serial="ZZ00000000ZZ"), KIOSK)
    assert unknown.value.code == "CARD_NOT_FOUND"

    restricted(services, head, "alert")
    with pytest.raises(DomainError) as refused:
        certificates(services).issue_at_kiosk(KioskCertificateRequest(card_serial=card), KIOSK)
    assert (refused.value.code, refused.value.status) == ("RESTRICTED_ALERT", 403)


def test_concurrent_issuance_gives_distinct_consecutive_numbers(services: Services) -> None:
    """8 threads × 3 issuances at once: 24 numbers, no repeat, no gap (nothing failed)."""
    persons = fresh_household(services, 8)
    service = certificates(services)
    numbers: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def issue(person_id: str) -> None:
        try:
            start.wait()
            for _ in range(3):
                result = service.issue(request_for([person_id]), CLERK)
                with lock:
                    numbers.extend(result.issue_numbers)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=issue, args=(p,)) for p in persons]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    sequences = sorted(int(n.rsplit("-", 1)[1]) for n in numbers)
    assert len(sequences) == len(set(sequences)) == 24
    assert sequences == list(range(sequences[0], sequences[0] + 24))
