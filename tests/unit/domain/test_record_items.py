from datetime import date
from typing import Any

import pytest
from juki.domain.dates import PartialDate
from juki.domain.record_items import (
    STATELESS,
    AliasHistoryEntry,
    BasicResidentCard,
    Cards,
    CardStatus,
    ChildAllowance,
    CombinedEntryKind,
    ElectoralEligibility,
    ForeignResident,
    ForeignResidentCategory,
    KioskCard,
    KosekiDomicile,
    LateElderlyMedical,
    LongTermCareInsurance,
    MovementItems,
    MovementRecord,
    MyNumberCard,
    NameDetails,
    NationalHealthInsurance,
    NationalPension,
    Notes,
    OtherMunicipalityAddress,
    Qualifications,
    RecordStatusItems,
    ResidencyDates,
    ResidentKind,
    SealRegistration,
    municipality_check_digit,
    seion_kana_name,
)
from juki.domain.values import OtherAddress, PersonName
from pydantic import BaseModel, ValidationError


@pytest.mark.parametrize(
    "code",
    [
        "221007",  # 静岡市
        "221015",  # 静岡市葵区
        "221023",  # 静岡市駿河区
        "221031",  # 静岡市清水区
        "131016",  # 東京都千代田区
        "011002",  # 札幌市
        "131041",  # 新宿区: remainder 0 → 1
        "281000",  # 神戸市: remainder 1 → 0
        "141003",  # 横浜市
        "130001",  # 東京都
        "010006",  # 北海道
    ],
)
def test_municipality_check_digit_of_known_codes(code: str) -> None:
    assert municipality_check_digit(code[:5]) == code[5]
    assert RecordStatusItems(resident_kind=ResidentKind.JAPANESE, ward_code=code).ward_code == code


@pytest.mark.parametrize("code", ["221008", "131010", "22100", "2210071", "22100A", ""])
def test_municipality_code_refused(code: str) -> None:
    with pytest.raises(ValidationError, match="地方公共団体コード"):
        RecordStatusItems(resident_kind=ResidentKind.JAPANESE, ward_code=code)


def test_municipality_check_digit_needs_five_digits() -> None:
    with pytest.raises(ValueError, match="5桁"):
        municipality_check_digit("2210")


def _foreign(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "category": "mid_to_long_term",
        "residence_status_code": "12",
        "period_of_stay": "3年",
        "expiry_date": "2028-03-31",
        "card_number": "AB12345678CD",
        "nationality_code": "156",
        "nationality": "中国",
        "became_foreign_resident_on": "2025-04-01",
    }
    return {key: value for key, value in {**fields, **changes}.items() if value is not None}


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"card_number": "ab12345678cd"},
        {"card_number": "ＡＢ１２３４５６７８ＣＤ"},
        {"card_number": None},
        {"period_of_stay": "1年6月"},
        {"period_of_stay": "90日"},
        {
            "category": "special_permanent",
            "residence_status_code": None,
            "period_of_stay": None,
            "expiry_date": None,
        },
        {
            "category": "temporary_refuge",
            "residence_status_code": None,
            "period_of_stay": "6月",
            "card_number": "一時庇護許可書第123号",
        },
        {"category": "provisional_stay", "card_number": None},
        {
            "category": "transitional_stay",
            "residence_status_code": None,
            "period_of_stay": None,
            "card_number": None,
        },
        {"nationality_code": STATELESS, "nationality": "無国籍"},
    ],
)
def test_foreign_resident_accepted(changes: dict[str, Any]) -> None:
    resident = ForeignResident.model_validate(_foreign(**changes))
    if resident.card_number is not None and resident.category is ForeignResidentCategory.MID_TO_LONG_TERM:
        assert resident.card_number == "AB12345678CD"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"card_number": "A123456789CD"}, "英字2桁・数字8桁・英字2桁"),
        ({"card_number": "AB1234567CD"}, "英字2桁・数字8桁・英字2桁"),
        ({"card_number": "AB12345678C"}, "英字2桁・数字8桁・英字2桁"),
        ({"category": "special_permanent", "card_number": "AB12345678"}, "特別永住者には"),
        ({"expiry_date": None}, "中長期在留者は"),
        ({"residence_status_code": None}, "中長期在留者は"),
        ({"category": "provisional_stay", "expiry_date": None}, "満了の日を指定してください"),
        ({"category": "中長期在留者"}, "Input should be"),
        ({"period_of_stay": "3years"}, "String should match pattern"),
        ({"period_of_stay": ""}, "at least 2 characters"),
        ({"nationality_code": "CN"}, "String should match pattern"),
        ({"became_foreign_resident_on": None}, "Field required"),
        ({"alias": "x"}, "Extra inputs are not permitted"),
    ],
)
def test_foreign_resident_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ForeignResident.model_validate(_foreign(**changes))


@pytest.mark.parametrize(
    ("domicile", "head"),
    [
        ("静岡県静岡市葵区追手町5番地", "静岡太郎"),
        ("静岡県静岡市葵区追手町5番地", "不明"),
        ("なし", "なし"),
        ("不明", "不明"),
    ],
)
def test_koseki_domicile_accepted(domicile: str, head: str) -> None:
    koseki = KosekiDomicile(domicile=domicile, head=head)
    assert koseki.is_known is (domicile not in ("なし", "不明"))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"domicile": "なし", "head": "静岡太郎"}, "本籍が「なし」のときは筆頭者も「なし」"),
        ({"domicile": "不明", "head": "なし"}, "本籍が「不明」のときは筆頭者も「不明」"),
        (
            {"domicile": "静岡県静岡市葵区追手町5番地", "head": "なし"},
            "筆頭者「なし」は本籍「なし」のときだけ",
        ),
        ({"domicile": "不明", "head": "不明", "domicile_municipality_code": "221007"}, "本籍地コード"),
        ({"domicile": "", "head": "静岡太郎"}, "at least 1 character"),
        ({"head": "静岡太郎"}, "Field required"),
    ],
)
def test_koseki_domicile_refused(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        KosekiDomicile.model_validate(fields)


def _alias_entry(**changes: Any) -> dict[str, Any]:
    return {
        "alias": "山田花子",
        "recorded_on": "2020-04-01",
        "recorded_municipality_code": "221007",
        "recorded_municipality": "静岡市",
        **changes,
    }


def test_name_details() -> None:
    details = NameDetails.model_validate(
        {
            "romaji_name": "smith john",
            "katakana_notation": "すみす じょん",
            "alias": "山田花子",
            "alias_kana": "ﾔﾏﾀﾞﾊﾅｺ",
            "kana_confirmed": True,
            "alias_history": [
                _alias_entry(
                    alias="山田はな",
                    recorded_on="2015-01-05",
                    removed_on="2020-03-31",
                    removed_municipality_code="131016",
                    removed_municipality="千代田区",
                ),
                _alias_entry(),
            ],
        }
    )
    assert details.romaji_name == "SMITH JOHN"
    assert details.alias_kana == "ヤマダハナコ"
    assert details.katakana_notation == "スミス ジョン"
    assert NameDetails().kana_confirmed is False


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"alias_kana": "ヤマダ"}, "通称のフリガナは通称とともに"),
        ({"former_surname_kana": "ヤマダ"}, "旧氏のフリガナ・ローマ字は旧氏とともに"),
        ({"former_surname_romaji": "YAMADA"}, "旧氏のフリガナ・ローマ字は旧氏とともに"),
        ({"former_surname": "山田", "former_surname_kana": "山田"}, "全角カタカナ"),
        ({"romaji_name": "山田"}, "String should match pattern"),
        ({"alias": "山田花子", "alias_history": [_alias_entry(), _alias_entry(alias="山田はな")]}, "1つまで"),
        ({"alias": "山田はな", "alias_history": [_alias_entry()]}, "一致しません"),
        ({"alias_history": [_alias_entry()]}, "一致しません"),
        (
            {"alias_history": [_alias_entry(removed_on="2021-01-01")]},
            "年月日・市町村コード・市町村名をそろえて",
        ),
        (
            {
                "alias_history": [
                    _alias_entry(
                        removed_on="2019-01-01",
                        removed_municipality_code="221007",
                        removed_municipality="静岡市",
                    )
                ]
            },
            "削除日は記載日以後",
        ),
        ({"alias_history": [_alias_entry(recorded_municipality_code="221008")]}, "地方公共団体コード"),
        ({"nickname": "x"}, "Extra inputs are not permitted"),
    ],
)
def test_name_details_refused(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        NameDetails.model_validate(fields)


def test_seion_kana_name() -> None:
    name = PersonName(
        family_name="静岡", given_name="治", family_name_kana="シズオカ", given_name_kana="ジョウジ"
    )
    assert seion_kana_name(name) == "シスオカ シヨウシ"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"street": "霞が関二丁目1番2号", "prefecture": "東京都", "municipality": "千代田区"},
            "国内の住所は",
        ),
        (
            {"street": "1 Main St", "country": "アメリカ合衆国", "postal_code": "100-0013"},
            "国外の住所には",
        ),
        (
            {
                "street": "霞が関二丁目1番2号",
                "prefecture": "東京都",
                "municipality": "千代田区",
                "municipality_code": "131017",
            },
            "地方公共団体コード",
        ),
        (
            {
                "street": "霞が関二丁目1番2号",
                "prefecture": "東京都",
                "municipality": "千代田区",
                "municipality_code": "131016",
                "postal_code": "1000013",
            },
            "String should match pattern",
        ),
        ({"street": "x", "country": "米国", "ward": "x"}, "Extra inputs are not permitted"),
    ],
)
def test_other_municipality_address_refused(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        OtherMunicipalityAddress.model_validate(fields)


def test_other_municipality_address_is_an_other_address() -> None:
    domestic = OtherMunicipalityAddress(
        prefecture="東京都",
        municipality="千代田区",
        municipality_code="131016",
        street="霞が関二丁目1番2号",
        postal_code="100-0013",
        head_name="霞太郎",
        head_name_romaji="kasumi taro",
    )
    abroad = OtherMunicipalityAddress(street="1 Main St, Springfield", country="アメリカ合衆国")
    assert isinstance(domestic, OtherAddress)
    assert domestic.head_name_romaji == "KASUMI TARO"
    assert abroad.municipality_code is None


def test_movement_items_and_residency_dates() -> None:
    items = MovementItems(
        entry=MovementRecord(
            reason_code="11", effective_date=date(2020, 4, 1), notified_date=date(2020, 4, 3)
        ),
        address_set=MovementRecord(reason_code="21", effective_date=date(2022, 5, 1)),
    )
    assert items.move_out is None
    assert items.address_set is not None and items.address_set.notified_date is None
    dates = ResidencyDates.model_validate({"resident_since": "昭和○○年頃", "address_since": "S55.4.1"})
    assert dates.resident_since.to_wareki() == "昭和○○年頃"
    assert dates.address_since == PartialDate.of(date(1980, 4, 1))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"reason_code": "", "effective_date": "2020-04-01"}, "String should match pattern"),
        ({"reason_code": "転入", "effective_date": "2020-04-01"}, "String should match pattern"),
        ({"reason_code": "11", "effective_date": "2020/04/01"}, "YYYY-MM-DD"),
        ({"reason_code": "11"}, "Field required"),
        ({"reason_code": "11", "effective_date": "2020-04-01", "processed": "x"}, "Extra inputs"),
    ],
)
def test_movement_record_refused(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        MovementRecord.model_validate(fields)


def test_qualifications_all_optional() -> None:
    assert Qualifications() == Qualifications.model_validate({})
    full = Qualifications.model_validate(
        {
            "national_health_insurance": {
                "card_number": "12-345",
                "category": "1",
                "acquired_on": "2020-04-01",
                "retiree_kind": "2",
                "retiree_from": "2020-04-01",
                "retiree_until": "2021-03-31",
            },
            "national_pension": {"number": "1234-567890", "kind": "1", "acquired_on": "2000-04-01"},
            "long_term_care": {"insured_number": "0000123456", "category": "1", "valid_from": "2024-04-01"},
            "late_elderly_medical": {
                "insured_number": "12345678",
                "acquisition_code": "01",
                "applies_from": "2024-04-01",
            },
            "child_allowance": {"payment_from": "2024-05-01"},
        }
    )
    assert full.national_pension is not None and full.national_pension.kind == "1"


@pytest.mark.parametrize(
    ("model", "fields", "message"),
    [
        (
            NationalHealthInsurance,
            {"acquired_on": "2020-04-01", "lost_on": "2020-03-31"},
            "資格喪失日は資格取得日以後",
        ),
        (
            NationalHealthInsurance,
            {"retiree_from": "2020-04-01", "retiree_until": "2020-03-31"},
            "マル退非該当日",
        ),
        (NationalPension, {"number": "12345"}, "String should match pattern"),
        (NationalPension, {"acquired_on": "2020-04-01", "changed_on": "2020-03-31"}, "資格変更日"),
        (LongTermCareInsurance, {"valid_from": "2024-04-01", "valid_until": "2024-03-31"}, "有効終了日"),
        (LongTermCareInsurance, {"acquired_on": "2024-04-01", "lost_on": "2024-03-31"}, "資格喪失日"),
        (LateElderlyMedical, {"applies_from": "2024-04-01", "applies_until": "2024-03-31"}, "適用終了日"),
        (LateElderlyMedical, {"acquisition_code": "01234"}, "String should match pattern"),
        (ChildAllowance, {"payment_from": "2024-05-01", "payment_until": "2024-04-30"}, "支給終了日"),
        (ChildAllowance, {"amount": 10000}, "Extra inputs"),
        (Qualifications, {"pension": {}}, "Extra inputs"),
    ],
)
def test_qualifications_refused(model: type[BaseModel], fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        model.model_validate(fields)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"registered": True, "removed_on": "2024-01-01"}, "登録中の人に名簿抹消日"),
        (
            {"registered": False, "registered_on": "2024-01-01", "removed_on": "2023-01-01"},
            "名簿抹消日は名簿登録日以後",
        ),
        ({}, "Field required"),
    ],
)
def test_electoral_eligibility_refused(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ElectoralEligibility.model_validate(fields)


def test_electoral_eligibility_and_seal_registration() -> None:
    assert ElectoralEligibility(
        registered=True, registered_on=date(2020, 9, 2), polling_district="12"
    ).registered
    assert SealRegistration(number="ｓ-000123").number == "S-000123"
    with pytest.raises(ValidationError, match="String should match pattern"):
        SealRegistration(number="印鑑")


def test_cards() -> None:
    cards = Cards.model_validate(
        {
            "basic_resident_card": {
                "status": "returned",
                "expiry_date": "2025-03-31",
                "returned_on": "2024-06-01",
                "face_version": "2",
            },
            "my_number_card": {"status": "issued", "expiry_date": "2034-05-01"},
            "kiosk_card": {
                "number": "00012345",
                "kind": "1",
                "state": "registered",
                "registered_on": "2010-04-01",
            },
        }
    )
    assert cards.my_number_card == MyNumberCard(status=CardStatus.ISSUED, expiry_date=date(2034, 5, 1))
    assert MyNumberCard(status=CardStatus.NOT_ISSUED).expiry_date is None


@pytest.mark.parametrize(
    ("model", "fields", "message"),
    [
        (MyNumberCard, {"status": "returned", "expiry_date": "2034-05-01"}, "回収日は回収済みのカードにだけ"),
        (
            MyNumberCard,
            {"status": "issued", "expiry_date": "2034-05-01", "returned_on": "2030-01-01"},
            "回収日は",
        ),
        (MyNumberCard, {"status": "issued"}, "有効期限を指定してください"),
        (MyNumberCard, {"status": "lost"}, "Input should be"),
        (
            MyNumberCard,
            {"status": "issued", "expiry_date": "2034-05-01", "face_version": "1"},
            "Extra inputs",
        ),
        (BasicResidentCard, {"status": "expired"}, "有効期限を指定してください"),
        (
            KioskCard,
            {"number": "1", "kind": "1", "state": "abolished", "registered_on": "2010-04-01"},
            "廃止年月日は",
        ),
        (
            KioskCard,
            {
                "number": "1",
                "kind": "1",
                "state": "abolished",
                "registered_on": "2010-04-01",
                "abolished_on": "2009-01-01",
            },
            "廃止年月日は登録年月日以後",
        ),
        (KioskCard, {"number": "1", "kind": "1", "state": "registered"}, "Field required"),
    ],
)
def test_cards_refused(model: type[BaseModel], fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        model.model_validate(fields)


def test_notes_memo_is_never_on_a_certificate() -> None:
    notes = Notes.model_validate(
        {
            "memo": "窓口で本人確認に時間を要した\n次回は要予約",
            "remarks": "氏名のカタカナ表記: スミス ジョン",
            "combined_entries": [{"kind": "attention", "text": "旧氏併記", "recorded_on": "2024-01-10"}],
        }
    )
    printable = notes.for_certificate()
    assert printable.memo is None
    assert printable.remarks == notes.remarks
    assert printable.combined_entries[0].kind is CombinedEntryKind.ATTENTION


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"memo": "   "}, "at least 1 character"),
        ({"memo": "a\tb"}, "String should match pattern"),
        ({"combined_entries": [{"kind": "D", "text": "x", "recorded_on": "2024-01-10"}]}, "Input should be"),
        ({"combined_entries": [{"kind": "remark", "text": "x"}]}, "Field required"),
        ({"printed": False}, "Extra inputs"),
    ],
)
def test_notes_refused(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Notes.model_validate(fields)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"ward_code": "221015"}, "Field required"),
        ({"resident_kind": "alien", "ward_code": "221015"}, "Input should be"),
        ({"resident_kind": "japanese", "ward_code": "221015", "recreated_on": "R1.5.1"}, "YYYY-MM-DD"),
        ({"resident_kind": "japanese", "ward_code": "221015", "removed_on": "2024-01-01"}, "Extra inputs"),
    ],
)
def test_record_status_items_refused(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        RecordStatusItems.model_validate(fields)


def test_groups_are_frozen() -> None:
    status = RecordStatusItems(resident_kind=ResidentKind.FOREIGN, ward_code="221023")
    with pytest.raises(ValidationError):
        status.ward_code = "221031"  # type: ignore[misc]


def test_every_field_has_a_japanese_description() -> None:
    groups: list[type[BaseModel]] = [
        AliasHistoryEntry,
        NameDetails,
        KosekiDomicile,
        OtherMunicipalityAddress,
        MovementRecord,
        MovementItems,
        ResidencyDates,
        ForeignResident,
        NationalHealthInsurance,
        NationalPension,
        LongTermCareInsurance,
        LateElderlyMedical,
        ChildAllowance,
        Qualifications,
        ElectoralEligibility,
        SealRegistration,
        BasicResidentCard,
        MyNumberCard,
        KioskCard,
        Cards,
        Notes,
        RecordStatusItems,
    ]
    for group in groups:
        for name, field in group.model_fields.items():
            assert field.description, f"{group.__name__}.{name}"
            assert any(ord(c) > 0x3000 for c in field.description), f"{group.__name__}.{name}"
