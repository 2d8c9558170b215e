"""The rules that word a certificate: each kind and layout, the items printed and omitted, 和暦
and 西暦, the standard order of members, and the refusals with their codes.

The made-up records here (the 駿府 household, a foreign resident, a removed record, a 転出) are
also what tests/unit/test_certificate_pdf.py renders."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from juki.domain.certificate_rules import MyNumberNotOpened, compose, numbers_to_open, standard_order
from juki.domain.certificates import (
    CertificateDocument,
    CertificateKind,
    CertificateRequest,
    CertificateSubject,
    FeeCategory,
    Layout,
    OptionalItem,
    RequesterKind,
)
from juki.domain.errors import DomainError, NotFound
from juki.domain.my_number import SealedMyNumber
from juki.domain.record_items import ForeignResident, ForeignResidentCategory, KosekiDomicile, NameDetails
from juki.domain.records import HouseholdRecord, MoveOutDetails, PersonRecord, Removal
from juki.domain.values import (
    Address,
    MovementKind,
    OtherAddress,
    PersonName,
    RemovalReason,
    ResidentStatus,
    Sex,
)

TODAY = date(2026, 11, 26)  # 令和8年11月26日
NOW = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
HOUSEHOLD = "0000000019"
HEAD, WIFE, CHILD, LODGER = "0000000019", "0000000027", "0000000035", "0000000043"
OTHER_HOUSEHOLD = "0000000051"
ADDRESS = Address(
    postal_code="420-0853", ward="葵区", town="追手町", lot="5番1号", katagaki="追手町レジデンス203号室"
)
KOSEKI = KosekiDomicile(domicile="静岡県静岡市葵区追手町5番地", head="駿府 家康")
SEALED = SealedMyNumber(ciphertext="c2VhbGVk", blind_index="0" * 64)
DESTINATION = OtherAddress(prefecture="東京都", municipality="千代田区", street="霞が関二丁目1番2号")
MAYOR = "静岡市長 駿府 太郎"


def person(
    pid: str, given: str, kana: str, born: date, sex: Sex, relationship: str, **changes: Any
) -> PersonRecord:
    return PersonRecord(
        person_id=pid, version=1, household_id=HOUSEHOLD, resident_code=f"1{pid}",
        name=PersonName(family_name="駿府", given_name=given, family_name_kana="スンプ", given_name_kana=kana),
        birth_date=born, sex=sex, relationship=relationship, koseki=KOSEKI, address=ADDRESS,
        previous_address=OtherAddress(prefecture="愛知県", municipality="岡崎市", street="康生町1番地"),
        resident_since=date(2020, 4, 1), address_since=date(2020, 4, 1), notified_date=date(2020, 4, 3),
        status=ResidentStatus.RESIDENT, movement_id="m" * 32, movement_kind=MovementKind.MOVE_IN,
        effective_date=date(2020, 4, 1), recorded_at=NOW,
    ).model_copy(update=changes)  # fmt: skip


def household(member_ids: list[str], head: str | None = HEAD, hid: str = HOUSEHOLD) -> HouseholdRecord:
    return HouseholdRecord(
        household_id=hid, version=1, head_person_id=head, member_ids=member_ids, address=ADDRESS,
        movement_id="m" * 32, effective_date=date(2020, 4, 1), recorded_at=NOW,
    )  # fmt: skip


def family() -> list[PersonRecord]:
    return [
        person(HEAD, "家康", "イエヤス", date(1975, 1, 31), Sex.MALE, "世帯主", my_number=SEALED),
        person(WIFE, "築山", "ツキヤマ", date(1977, 3, 3), Sex.FEMALE, "妻", my_number=SEALED),
        person(CHILD, "信康", "ノブヤス", date(2010, 3, 5), Sex.MALE, "子"),
    ]


def foreign_lodger() -> PersonRecord:
    return person(
        LODGER, "メアリー", "メアリー", date(1990, 6, 15), Sex.FEMALE, "同居人", koseki=None,
        name=PersonName(family_name="スミス", given_name="メアリー", family_name_kana="スミス", given_name_kana="メアリー"),
        name_details=NameDetails(romaji_name="SMITH MARY", alias="駿河 花子"),
        foreign_resident=ForeignResident(
            category=ForeignResidentCategory.MID_TO_LONG_TERM, residence_status_code="12", period_of_stay="3年",
            expiry_date=date(2028, 3, 31), card_number="AB12345678CD", nationality_code="826",
            nationality="英国", became_foreign_resident_on=date(2021, 4, 1),
        ),
    )  # fmt: skip


def moved_out(record: PersonRecord, card: bool = False) -> PersonRecord:
    details = MoveOutDetails(
        planned_date=date(2026, 12, 10), planned_destination=DESTINATION, notified_date=date(2026, 11, 20),
        card_move_out=card,
    )  # fmt: skip
    return record.model_copy(
        update={
            "status": ResidentStatus.REMOVED,
            "removal": Removal(reason=RemovalReason.MOVE_OUT, removed_on=details.planned_date),
            "move_out": details,
            "movement_kind": MovementKind.MOVE_OUT,
        }
    )


def subject(
    persons: list[PersonRecord],
    households: list[HouseholdRecord] | None = None,
    as_of: date = TODAY,
) -> CertificateSubject:
    households = households or [household([HEAD, WIFE, CHILD])]
    by_id = {h.household_id: h for h in households}
    heads = {
        p.household_id: p
        for p in [*family(), *persons]
        if p.person_id == by_id[p.household_id].head_person_id
    }
    return CertificateSubject(
        as_of=as_of, today=TODAY, municipality_name="静岡市", mayor_title_and_name=MAYOR,
        persons=persons, households=by_id, heads=heads,
    )  # fmt: skip


def request(kind: CertificateKind, person_ids: list[str], **fields: Any) -> CertificateRequest:
    body: dict[str, Any] = {
        "kind": kind, "person_ids": person_ids, "requester_kind": RequesterKind.SELF,
        "requester_name": "駿府 家康", "purpose": "勤務先に提出", "fee_category": FeeCategory.PAID,
    } | fields  # fmt: skip
    return CertificateRequest(**body)


def items_of(document: CertificateDocument, person_index: int = 0) -> dict[str, str]:
    return {item.label: item.value for item in document.persons[person_index].items}


def household_items(document: CertificateDocument) -> dict[str, str]:
    return {item.label: item.value for item in document.household_items}


ALL_ITEMS = list(OptionalItem)
NUMBERS = {HEAD: "123456789018", WIFE: "234567890125"}


# -- kinds and layouts ---------------------------------------------------------------------------


def test_household_copy_is_one_document_with_the_members_in_the_standard_order() -> None:
    records = family()
    # Asked in another order: the head first, then as the household lists them.
    documents = compose(request(CertificateKind.RESIDENT_COPY, [CHILD, HEAD, WIFE]), subject(records[::-1]))

    assert len(documents) == 1
    document = documents[0]
    assert document.title == "住民票の写し"
    assert document.layout is Layout.HOUSEHOLD
    assert [p.person_id for p in document.persons] == [HEAD, WIFE, CHILD]
    assert [p.name for p in document.persons] == ["駿府 家康", "駿府 築山", "駿府 信康"]
    assert household_items(document)["住所"] == "静岡市葵区追手町5番1号 追手町レジデンス203号室"
    assert document.certification_text == "この写しは、世帯全員の住民票の原本と相違ないことを証明する。"
    assert document.issued_on_text == "令和8年11月26日"
    assert document.mayor_title_and_name == MAYOR
    assert document.as_of_text is None
    assert not document.official_use
    assert document.machine_readable is None


def test_some_members_of_a_household_are_certified_without_the_whole_household_wording() -> None:
    document = compose(request(CertificateKind.RESIDENT_COPY, [WIFE, CHILD]), subject(family()[1:]))[0]

    assert [p.person_id for p in document.persons] == [WIFE, CHILD]
    assert document.certification_text == "この写しは、住民票の原本と相違ないことを証明する。"


def test_individual_layout_gives_one_document_per_person() -> None:
    documents = compose(
        request(CertificateKind.RESIDENT_COPY, [WIFE, HEAD], layout=Layout.INDIVIDUAL), subject(family()[:2])
    )

    assert [[p.person_id for p in d.persons] for d in documents] == [[WIFE], [HEAD]]
    assert all(d.layout is Layout.INDIVIDUAL for d in documents)
    assert household_items(documents[0])["住所"].startswith("静岡市葵区追手町")


def test_each_kind_has_its_title_and_certification_text() -> None:
    resident = family()
    removed = [moved_out(r) for r in resident]
    cases = {
        CertificateKind.RESIDENT_ENTRY: (resident, "住民票記載事項証明書", "住民票に記載されている"),
        CertificateKind.REMOVED_COPY: (removed, "住民票の除票の写し", "住民票の除票の原本と相違ない"),
        CertificateKind.REMOVED_ENTRY: (removed, "除票記載事項証明書", "住民票の除票に記載されている"),
        CertificateKind.MOVE_OUT: (removed, "転出証明書", "転出の届出をした"),
    }
    for kind, (records, title, wording) in cases.items():
        document = compose(request(kind, [HEAD]), subject(records[:1]), NUMBERS)[0]
        assert document.title == title
        assert wording in document.certification_text


# -- items printed and omitted -------------------------------------------------------------------


def test_the_legal_items_are_printed_in_wareki_and_the_optional_ones_stated_as_omitted() -> None:
    document = compose(request(CertificateKind.RESIDENT_COPY, [HEAD]), subject(family()[:1]))[0]
    printed = items_of(document)

    assert printed["フリガナ"] == "スンプ イエヤス"
    assert printed["生年月日"] == "昭和50年1月31日"
    assert printed["性別"] == "男"
    assert printed["住民となった年月日"] == "令和2年4月1日"
    assert printed["住所を定めた年月日"] == "令和2年4月1日 (令和2年4月3日届出)"
    assert printed["前住所"] == "愛知県岡崎市康生町1番地"
    for absent in ("続柄", "本籍", "筆頭者", "住民票コード", "個人番号"):
        assert absent not in printed
    assert "世帯主" not in household_items(document)
    assert document.omissions == [
        "世帯主の氏名及び世帯主との続柄の記載を省略",
        "本籍・筆頭者の記載を省略",
        "住民票コードの記載を省略",
        "個人番号の記載を省略",
    ]


def test_items_asked_for_are_printed_and_not_listed_as_omitted() -> None:
    document = compose(
        request(CertificateKind.RESIDENT_COPY, [HEAD, WIFE, CHILD], items=ALL_ITEMS),
        subject(family()),
        NUMBERS,
    )[0]

    assert household_items(document)["世帯主"] == "駿府 家康"
    head, wife, child = (items_of(document, i) for i in range(3))
    assert (head["続柄"], wife["続柄"], child["続柄"]) == ("世帯主", "妻", "子")
    assert head["本籍"] == "静岡県静岡市葵区追手町5番地"
    assert head["筆頭者"] == "駿府 家康"
    assert head["住民票コード"] == f"1{HEAD}"
    assert (head["個人番号"], wife["個人番号"]) == ("123456789018", "234567890125")
    assert child["個人番号"] == "なし"  # no number on record
    assert document.omissions == []


def test_only_the_koseki_asked_for_leaves_the_other_omissions_stated() -> None:
    document = compose(
        request(CertificateKind.RESIDENT_COPY, [HEAD], items=[OptionalItem.KOSEKI]), subject(family()[:1])
    )[0]

    assert "本籍" in items_of(document)
    assert "本籍・筆頭者の記載を省略" not in document.omissions
    assert "住民票コードの記載を省略" in document.omissions


def test_a_my_number_the_caller_did_not_open_is_a_fault_of_the_caller() -> None:
    asked = request(CertificateKind.RESIDENT_COPY, [HEAD, CHILD], items=[OptionalItem.MY_NUMBER])
    records = subject([family()[0], family()[2]])

    assert numbers_to_open(asked, records) == [HEAD]
    with pytest.raises(MyNumberNotOpened):
        compose(asked, records)
    assert numbers_to_open(request(CertificateKind.RESIDENT_COPY, [HEAD]), records) == []


def test_a_foreign_resident_has_birth_and_expiry_in_seireki_and_the_foreign_resident_items() -> None:
    lodger = foreign_lodger()
    records = subject([lodger], [household([HEAD, WIFE, CHILD, LODGER])])
    asked = [OptionalItem.KOSEKI, OptionalItem.NATIONALITY, OptionalItem.RESIDENCE_STATUS]
    document = compose(request(CertificateKind.RESIDENT_COPY, [LODGER], items=asked), records)[0]
    printed = items_of(document)

    assert document.persons[0].name == "スミス メアリー"
    assert printed["生年月日"] == "1990年6月15日"
    assert printed["在留期間等の満了の日"] == "2028年3月31日"
    assert printed["国籍・地域"] == "英国"
    assert printed["法第30条の45に規定する区分"] == "中長期在留者"
    assert printed["在留資格"] == "法律・会計業務"  # by name, not the ledger's code "12"
    assert printed["在留期間等"] == "3年"
    assert printed["在留カード等の番号"] == "AB12345678CD"
    assert printed["通称"] == "駿河 花子"
    assert printed["氏名 (英字)"] == "SMITH MARY"
    assert printed["住民となった年月日"] == "令和2年4月1日"  # other dates stay in 和暦
    assert "本籍" not in printed  # no koseki for a foreign resident, even when asked
    assert not any("国籍" in note or "在留資格" in note for note in document.omissions)


def test_a_copy_omits_the_foreign_resident_items_unless_asked_for() -> None:
    """住基法第12条第5項 (as read with 第30条の45): 国籍・地域 and the 在留資格 items are left out of a
    copy unless specially asked for, and the omission is stated; the name, 通称 and the day the
    person became a foreign resident are always printed."""
    lodger = foreign_lodger()
    records = subject([lodger], [household([HEAD, WIFE, CHILD, LODGER])])
    document = compose(request(CertificateKind.RESIDENT_COPY, [LODGER]), records)[0]
    printed = items_of(document)

    for label in ("国籍・地域", "法第30条の45に規定する区分", "在留資格", "在留期間等", "在留期間等の満了の日",
                  "在留カード等の番号"):  # fmt: skip
        assert label not in printed
    assert "AB12345678CD" not in json.dumps(document.model_dump(), ensure_ascii=False)
    assert printed["通称"] == "駿河 花子"
    assert printed["外国人住民となった年月日"] == "令和3年4月1日"
    assert "国籍・地域の記載を省略" in document.omissions
    assert any(note.startswith("法第30条の45に規定する区分・在留資格") for note in document.omissions)

    only_nationality = compose(
        request(CertificateKind.RESIDENT_COPY, [LODGER], items=[OptionalItem.NATIONALITY]), records
    )[0]
    assert items_of(only_nationality)["国籍・地域"] == "英国"
    assert "在留資格" not in items_of(only_nationality)


def test_a_japanese_residents_copy_states_no_foreign_resident_omission() -> None:
    document = compose(request(CertificateKind.RESIDENT_COPY, [HEAD, WIFE, CHILD]), subject(family()))[0]
    assert not any("国籍" in note or "在留" in note for note in document.omissions)
    assert "本籍・筆頭者の記載を省略" in document.omissions


def test_a_household_copy_with_a_foreign_member_states_the_omission_once() -> None:
    members = [*family(), foreign_lodger()]
    records = subject(members, [household([HEAD, WIFE, CHILD, LODGER])])
    document = compose(request(CertificateKind.RESIDENT_COPY, [HEAD, WIFE, CHILD, LODGER]), records)[0]
    assert document.omissions.count("国籍・地域の記載を省略") == 1
    assert "国籍・地域" not in items_of(document, 3)


def test_a_removed_record_prints_the_removal_and_the_destination() -> None:
    document = compose(request(CertificateKind.REMOVED_COPY, [WIFE]), subject([moved_out(family()[1])]))[0]
    printed = items_of(document)

    assert printed["消除の事由"] == "転出"
    assert printed["消除の年月日"] == "令和8年12月10日"
    assert printed["転出先 (予定)"] == "東京都千代田区霞が関二丁目1番2号"


def test_a_removed_member_no_longer_listed_follows_the_listed_members() -> None:
    gone = moved_out(family()[2])
    listed = household([HEAD, WIFE])
    order = standard_order([gone, family()[1], family()[0]], listed)

    assert [p.person_id for p in order] == [HEAD, WIFE, CHILD]


# -- 転出証明書 -------------------------------------------------------------------------------------


def test_move_out_certificate_prints_the_move_and_a_machine_readable_copy() -> None:
    records = [moved_out(r) for r in family()]
    document = compose(request(CertificateKind.MOVE_OUT, [WIFE, HEAD, CHILD]), subject(records), NUMBERS)[0]
    printed = household_items(document)

    assert printed["転出先"] == "東京都千代田区霞が関二丁目1番2号"
    assert printed["転出予定年月日"] == "令和8年12月10日"
    assert printed["届出年月日"] == "令和8年11月20日"
    assert printed["世帯主"] == "駿府 家康"
    assert items_of(document, 0)["個人番号"] == "123456789018"  # 施行令第23条: printed on a 転出証明書
    assert items_of(document, 1)["続柄"] == "妻"
    assert document.omissions == []
    assert document.machine_readable is not None
    data = json.loads(document.machine_readable)
    assert data["to"] == "東京都千代田区霞が関二丁目1番2号"
    assert data["planned"] == "2026-12-10"
    assert data["notified"] == "2026-11-20"
    assert [p["name"] for p in data["persons"]] == ["駿府 家康", "駿府 築山", "駿府 信康"]
    assert "123456789018" not in document.machine_readable  # 個人番号 stays off the code
    assert document.machine_readable == json.dumps(data, ensure_ascii=False, separators=(",", ":"))  # compact


def test_the_stored_move_out_certificate_prints_no_my_number_and_says_so() -> None:
    records = [moved_out(r) for r in family()]
    withheld = request(CertificateKind.MOVE_OUT, [HEAD, WIFE, CHILD], without_my_number=True)
    assert numbers_to_open(withheld, subject(records)) == []  # nothing opened at all
    document = compose(withheld, subject(records))[0]  # no numbers given, none needed

    assert "個人番号" not in items_of(document, 0)
    assert items_of(document, 0)["住民票コード"] == "10000000019"  # 施行令第23条, the rest as always
    assert household_items(document)["転出先"] == "東京都千代田区霞が関二丁目1番2号"
    assert document.omissions == ["個人番号の記載を省略 (記載したものは窓口で交付します)"]
    assert numbers_to_open(request(CertificateKind.MOVE_OUT, [HEAD]), subject(records)) != []


def test_only_a_move_out_certificate_may_withhold_the_my_number() -> None:
    with pytest.raises(ValueError, match="転出証明書"):
        request(CertificateKind.RESIDENT_COPY, [HEAD], without_my_number=True)


def test_move_out_certificate_for_a_card_move_out_is_refused() -> None:
    with pytest.raises(DomainError) as refused:
        compose(
            request(CertificateKind.MOVE_OUT, [HEAD]), subject([moved_out(family()[0], card=True)]), NUMBERS
        )
    assert refused.value.code == "CARD_MOVE_OUT"


# -- 和暦 notes, 公用 ----------------------------------------------------------------------------------


def test_a_copy_as_of_a_past_day_says_so() -> None:
    document = compose(
        request(CertificateKind.RESIDENT_COPY, [HEAD], as_of=date(2025, 4, 1)),
        subject(family()[:1], as_of=date(2025, 4, 1)),
    )[0]

    assert document.as_of_text == "令和7年4月1日現在の内容です"
    assert document.issued_on_text == "令和8年11月26日"


def test_official_use_is_marked() -> None:
    asked = request(
        CertificateKind.RESIDENT_COPY, [HEAD], requester_kind=RequesterKind.OFFICIAL,
        requester_name="静岡県警察本部", fee_category=FeeCategory.OFFICIAL,
    )  # fmt: skip
    assert compose(asked, subject(family()[:1]))[0].official_use


def test_a_partial_birth_date_is_printed_as_recorded() -> None:
    from juki.domain.dates import PartialDate

    record = family()[0].model_copy(update={"birth_date_partial": PartialDate.parse("昭和○○年頃")})
    document = compose(request(CertificateKind.RESIDENT_COPY, [HEAD]), subject([record]))[0]

    assert items_of(document)["生年月日"] == "昭和○○年頃"


# -- refusals ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "record", "code"),
    [
        (CertificateKind.RESIDENT_COPY, moved_out(family()[0]), "NOT_RESIDENT"),
        (CertificateKind.RESIDENT_ENTRY, moved_out(family()[0]), "NOT_RESIDENT"),
        (CertificateKind.REMOVED_COPY, family()[0], "NOT_REMOVED"),
        (CertificateKind.REMOVED_ENTRY, family()[0], "NOT_REMOVED"),
        (CertificateKind.MOVE_OUT, family()[0], "NO_MOVE_OUT"),
    ],
)
def test_a_kind_the_record_does_not_allow_is_refused(
    kind: CertificateKind, record: PersonRecord, code: str
) -> None:
    with pytest.raises(DomainError) as refused:
        compose(request(kind, [HEAD]), subject([record]), NUMBERS)
    assert refused.value.code == code
    assert refused.value.status == 422
    assert refused.value.message  # Japanese, for the counter


def test_household_layout_refuses_persons_of_two_households() -> None:
    stranger = person(
        LODGER, "花子", "ハナコ", date(1980, 1, 1), Sex.FEMALE, "世帯主", household_id=OTHER_HOUSEHOLD
    )
    records = subject(
        [family()[0], stranger],
        [household([HEAD, WIFE, CHILD]), household([LODGER], LODGER, OTHER_HOUSEHOLD)],
    )
    with pytest.raises(DomainError) as refused:
        compose(request(CertificateKind.RESIDENT_COPY, [HEAD, LODGER]), records)
    assert refused.value.code == "NOT_SAME_HOUSEHOLD"

    # The same two persons, each on a certificate of their own, are fine.
    documents = compose(
        request(CertificateKind.RESIDENT_COPY, [HEAD, LODGER], layout=Layout.INDIVIDUAL), records
    )
    assert [household_items(d).get("世帯主") for d in documents] == [None, None]
    assert len(documents) == 2


def test_a_person_missing_from_the_records_and_a_future_day_are_refused() -> None:
    with pytest.raises(NotFound) as missing:
        compose(request(CertificateKind.RESIDENT_COPY, [HEAD, WIFE]), subject(family()[:1]))
    assert missing.value.code == "PERSON_NOT_FOUND"

    future = subject(family()[:1], as_of=date(2027, 1, 1))
    with pytest.raises(DomainError) as refused:
        compose(request(CertificateKind.RESIDENT_COPY, [HEAD]), future)
    assert refused.value.code == "AS_OF_IN_FUTURE"
