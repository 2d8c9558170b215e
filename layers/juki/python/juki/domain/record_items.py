"""The item groups of a resident record (住民票) beyond the basic four.

The groups cover 別添2 (1) 住民基本台帳ファイル of the city's privacy impact assessment and the
ledger-held items of (2) 本人確認情報ファイル; docs/record-items.md maps every item to its field.
個人番号 and 住民票コード are not here: they are held by juki.domain.codes and the code pool.

Each group is an immutable value; a change to any item is a new version of the record.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Annotated, Self

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints, model_validator

from juki.domain.dates import PartialDate
from juki.domain.kana import katakana_input, match_key
from juki.domain.values import Day, Frozen, OtherAddress, PersonName, ShortText, ascii_upper

KOSEKI_NONE = "なし"  # 本籍・筆頭者 「なし」
KOSEKI_UNKNOWN = "不明"  # 本籍・筆頭者 「不明」
STATELESS = "999"  # 無国籍: ISO 3166-1 reserves 900-999 for user assignment

# ----------------------------------------------------------------------------------------------
# Value types


def municipality_check_digit(code5: str) -> str:
    """The check digit (検査数字) of a five-digit 全国地方公共団体コード (JIS X 0402).

    For the digits abcde: r = (6a + 5b + 4c + 3d + 2e) mod 11; the check digit is the last digit
    of 11 − r (r = 0 → 1, r = 1 → 0). 静岡市 22100 → 221007, 新宿区 13104 → 131041.
    """
    if not re.fullmatch(r"\d{5}", code5):
        raise ValueError("地方公共団体コードは5桁の数字です")
    remainder = sum(int(digit) * weight for digit, weight in zip(code5, (6, 5, 4, 3, 2), strict=True)) % 11
    return str((11 - remainder) % 10)


def _municipality_code(value: str) -> str:
    if not re.fullmatch(r"\d{6}", value) or municipality_check_digit(value[:5]) != value[5]:
        raise ValueError("地方公共団体コード (6桁、検査数字付き) が正しくありません")
    return value


# 全国地方公共団体コード: five digits and a check digit, e.g. 221007 (静岡市), 221015 (葵区).
MunicipalityCode = Annotated[str, BeforeValidator(ascii_upper), AfterValidator(_municipality_code)]
# Full-width katakana (hiragana and half-width kana are converted).
Kana = Annotated[str, BeforeValidator(katakana_input), StringConstraints(max_length=60)]
# A name in the Latin alphabet, upper case (氏名の英字表記).
RomajiName = Annotated[
    str, BeforeValidator(ascii_upper), StringConstraints(max_length=100, pattern=r"^[A-Z][A-Z .,'-]*$")
]
# A code of another department's or the CS's code table (資格区分, 異動事由コード, …).
Code = Annotated[str, BeforeValidator(ascii_upper), StringConstraints(pattern=r"^[0-9A-Z]{1,4}$")]
# A number issued by another department (被保険者証番号, 印鑑登録番号, …).
Number = Annotated[str, BeforeValidator(ascii_upper), StringConstraints(pattern=r"^[0-9A-Z-]{1,20}$")]
# Free text that may span lines (覚書, 備考).
LongText = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=1000, pattern=r"^[^\x00-\x09\x0b-\x1f\x7f]+$"
    ),
]


def _in_order(first: date | None, then: date | None, message: str) -> None:
    if first is not None and then is not None and then < first:
        raise ValueError(message)


# ----------------------------------------------------------------------------------------------
# Names (items 24, 48, 60; (2) 37-40)


class AliasHistoryEntry(Frozen):
    """通称の記載と削除に関する事項: one alias, where and when it was recorded and removed."""

    alias: ShortText = Field(description="通称", examples=["山田花子"])
    alias_kana: Kana | None = Field(default=None, description="通称のフリガナ")
    recorded_on: Day = Field(description="通称を記載した年月日")
    recorded_municipality_code: MunicipalityCode = Field(
        description="通称を記載した市町村の地方公共団体コード"
    )
    recorded_municipality: ShortText = Field(description="通称を記載した市町村名", examples=["静岡市"])
    removed_on: Day | None = Field(default=None, description="通称を削除した年月日 (削除していなければ null)")
    removed_municipality_code: MunicipalityCode | None = Field(
        default=None, description="通称を削除した市町村の地方公共団体コード"
    )
    removed_municipality: ShortText | None = Field(default=None, description="通称を削除した市町村名")

    @model_validator(mode="after")
    def _removal(self) -> Self:
        removal = (self.removed_on, self.removed_municipality_code, self.removed_municipality)
        if any(part is not None for part in removal) and any(part is None for part in removal):
            raise ValueError("通称の削除は年月日・市町村コード・市町村名をそろえて記録してください")
        _in_order(self.recorded_on, self.removed_on, "通称の削除日は記載日以後にしてください")
        return self


class NameDetails(Frozen):
    """氏名 beyond 氏・名・フリガナ: English name, alias, former surname, reading confirmed."""

    romaji_name: RomajiName | None = Field(
        default=None, description="氏名 (英字、外国人住民)", examples=["SMITH JOHN"]
    )
    katakana_notation: Kana | None = Field(
        default=None,
        description="氏名のカタカナ表記 (外国人住民、申出により備考に記載)",
        examples=["スミス ジョン"],
    )
    alias: ShortText | None = Field(default=None, description="通称 (外国人住民)")
    alias_kana: Kana | None = Field(default=None, description="通称のフリガナ")
    former_surname: ShortText | None = Field(default=None, description="旧氏 (漢字)", examples=["山田"])
    former_surname_kana: Kana | None = Field(default=None, description="旧氏のフリガナ", examples=["ヤマダ"])
    former_surname_romaji: RomajiName | None = Field(
        default=None, description="旧氏 (ローマ字)", examples=["YAMADA"]
    )
    kana_confirmed: bool = Field(default=False, description="フリガナを本人に確認済み")
    alias_history: list[AliasHistoryEntry] = Field(
        default_factory=list, description="通称の記載と削除に関する事項 (古い順)"
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.alias_kana is not None and self.alias is None:
            raise ValueError("通称のフリガナは通称とともに記録してください")
        if (self.former_surname_kana is not None or self.former_surname_romaji is not None) and (
            self.former_surname is None
        ):
            raise ValueError("旧氏のフリガナ・ローマ字は旧氏とともに記録してください")
        current = [entry.alias for entry in self.alias_history if entry.removed_on is None]
        if len(current) > 1:
            raise ValueError("削除されていない通称は1つまでです")
        if self.alias_history and current != ([self.alias] if self.alias is not None else []):
            raise ValueError("通称が通称の記載と削除に関する事項と一致しません")
        return self


def seion_kana_name(name: PersonName) -> str:
    """清音化かな氏名 for the CS: the reading without voicing marks and small kana, 氏 and 名 spaced.

    Derived at send time, never stored (see docs/record-items.md).
    """
    return f"{match_key(name.family_name_kana)} {match_key(name.given_name_kana)}"


# ----------------------------------------------------------------------------------------------
# 本籍・筆頭者 (items 20, 21)


class KosekiDomicile(Frozen):
    """本籍 and 筆頭者 of a Japanese resident. Never blank: 「なし」 or 「不明」 when so.

    When the 本籍 is 「なし」 or 「不明」 the 筆頭者 is the same word; a 筆頭者 「不明」 with a known
    本籍 is allowed (the register not yet confirmed), a 筆頭者 「なし」 is not.
    """

    domicile: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)] = Field(
        description="本籍 (「なし」「不明」も可)", examples=["静岡県静岡市葵区追手町5番地"]
    )
    head: ShortText = Field(description="筆頭者 (「なし」「不明」も可)", examples=["静岡太郎"])
    domicile_municipality_code: MunicipalityCode | None = Field(
        default=None, description="本籍地の地方公共団体コード (戸籍附票への通知先)"
    )

    @model_validator(mode="after")
    def _special_values(self) -> Self:
        special = (KOSEKI_NONE, KOSEKI_UNKNOWN)
        if self.domicile in special and self.head != self.domicile:
            raise ValueError(f"本籍が「{self.domicile}」のときは筆頭者も「{self.domicile}」です")
        if self.head == KOSEKI_NONE and self.domicile != KOSEKI_NONE:
            raise ValueError("筆頭者「なし」は本籍「なし」のときだけです")
        if self.domicile in special and self.domicile_municipality_code is not None:
            raise ValueError("本籍が「なし」「不明」のときは本籍地コードを指定できません")
        return self

    @property
    def is_known(self) -> bool:
        return self.domicile not in (KOSEKI_NONE, KOSEKI_UNKNOWN)


# ----------------------------------------------------------------------------------------------
# Addresses elsewhere and the movements that recorded them (items 25-34)


class OtherMunicipalityAddress(OtherAddress):
    """An address in another municipality or abroad: 転入前住所, 転出先, 確定転出先.

    Extends OtherAddress with the codes the CS and the statistics need and the name of the head
    of the household there. 番地・号・枝番 are part of ``street``.
    """

    municipality_code: MunicipalityCode | None = Field(
        default=None, description="地方公共団体コード (国外は null)", examples=["131016"]
    )
    town_code: str | None = Field(
        default=None, pattern=r"^\d{6,12}$", description="町丁目コード (大字・字コード)"
    )
    postal_code: str | None = Field(default=None, pattern=r"^\d{3}-\d{4}$", description="郵便番号")
    head_name: ShortText | None = Field(default=None, description="その住所の世帯主名 (漢字)")
    head_name_romaji: RomajiName | None = Field(default=None, description="その住所の世帯主名 (英字)")

    @model_validator(mode="after")
    def _domestic_or_abroad(self) -> Self:
        if self.country is not None:
            if (
                self.municipality_code is not None
                or self.town_code is not None
                or self.postal_code is not None
            ):
                raise ValueError("国外の住所には地方公共団体コード・町丁目コード・郵便番号を指定できません")
        elif self.municipality_code is None or self.prefecture is None or self.municipality is None:
            raise ValueError("国内の住所は都道府県・市区町村・地方公共団体コードを指定してください")
        return self


class MovementRecord(Frozen):
    """One movement as the record keeps it: 異動事由コード, 異動日, 届出日."""

    reason_code: Code = Field(description="異動事由コード (市の異動事由コード表)", examples=["11"])
    effective_date: Day = Field(description="異動日")
    notified_date: Day | None = Field(default=None, description="届出日 (職権による異動は null)")


class MovementItems(Frozen):
    """The movements whose reason and dates a record keeps (items 25, 28, 31, 34)."""

    entry: MovementRecord | None = Field(
        default=None, description="記載 (転入前) 異動: この住民票を記載した異動 (転入・出生・職権記載など)"
    )
    move_out: MovementRecord | None = Field(default=None, description="転出先異動 (転出届による転出予定)")
    confirmed_move_out: MovementRecord | None = Field(
        default=None, description="確定転出先異動 (転入通知による確定)"
    )
    address_set: MovementRecord | None = Field(
        default=None, description="住定異動: 現住所を定めた異動 (転入・転居など)"
    )


class ResidencyDates(Frozen):
    """住民となった日 and 住所を定めた日, which old paper ledgers may record as 不詳日 (item 23)."""

    resident_since: PartialDate = Field(description="住民となった年月日 (不詳日可)")
    resident_since_notified: Day | None = Field(default=None, description="住民となった日の届出日")
    address_since: PartialDate = Field(description="住所を定めた年月日 (不詳日可)")
    address_since_notified: Day | None = Field(default=None, description="住所を定めた日の届出日")


# ----------------------------------------------------------------------------------------------
# Foreign residents (items 49-55)


class ForeignResidentCategory(StrEnum):
    """法第30条の45 に規定する区分."""

    MID_TO_LONG_TERM = "mid_to_long_term"  # 中長期在留者
    SPECIAL_PERMANENT = "special_permanent"  # 特別永住者
    TEMPORARY_REFUGE = "temporary_refuge"  # 一時庇護許可者
    PROVISIONAL_STAY = "provisional_stay"  # 仮滞在許可者
    TRANSITIONAL_STAY = "transitional_stay"  # 出生による経過滞在者・国籍喪失による経過滞在者


# 在留カード番号 / 特別永住者証明書番号: two letters, eight digits, two letters (AB12345678CD).
CARD_NUMBER = re.compile(r"[A-Z]{2}\d{8}[A-Z]{2}")
_CARD_HOLDERS = (ForeignResidentCategory.MID_TO_LONG_TERM, ForeignResidentCategory.SPECIAL_PERMANENT)


class ForeignResident(Frozen):
    """外国人住民の記載事項. 生年月日 and 満了の日 are shown in 西暦 (dates.to_seireki).

    中長期在留者: 在留資格, 在留期間 and 満了の日 required. 特別永住者: none of the three.
    一時庇護許可者, 仮滞在許可者, 経過滞在者: 満了の日 required. The card number has the 在留カード /
    特別永住者証明書 shape for those two categories; a 許可書 number is free text.
    """

    category: ForeignResidentCategory = Field(
        description=(
            "法第30条の45に規定する区分: mid_to_long_term=中長期在留者, special_permanent=特別永住者, "
            "temporary_refuge=一時庇護許可者, provisional_stay=仮滞在許可者, transitional_stay=経過滞在者"
        )
    )
    residence_status_code: Code | None = Field(default=None, description="在留資格コード")
    period_of_stay: str | None = Field(
        default=None,
        min_length=2,
        pattern=r"^(\d{1,2}年)?(\d{1,2}月)?(\d{1,3}日)?$",
        description="在留期間等 (例: 3年, 6月, 1年6月, 90日)",
        examples=["3年"],
    )
    expiry_date: Day | None = Field(default=None, description="在留期間等の満了の日 (西暦で表示)")
    card_number: Annotated[str, BeforeValidator(ascii_upper), StringConstraints(max_length=20)] | None = (
        Field(
            default=None,
            max_length=20,
            description="在留カード等の番号 (在留カード・特別永住者証明書は英字2桁+数字8桁+英字2桁)",
        )
    )
    nationality_code: str = Field(
        pattern=r"^\d{3}$",
        description="国籍・地域コード (ISO 3166-1 数字コード、無国籍は 999)",
        examples=["156"],
    )
    nationality: ShortText = Field(description="国籍・地域 (表示名)", examples=["中国"])
    became_foreign_resident_on: Day = Field(description="外国人住民となった年月日")

    @model_validator(mode="after")
    def _by_category(self) -> Self:
        stay = (self.residence_status_code, self.period_of_stay, self.expiry_date)
        if self.category is ForeignResidentCategory.MID_TO_LONG_TERM and None in stay:
            raise ValueError("中長期在留者は在留資格・在留期間・満了の日を指定してください")
        if self.category is ForeignResidentCategory.SPECIAL_PERMANENT and stay != (None, None, None):
            raise ValueError("特別永住者には在留資格・在留期間・満了の日はありません")
        if self.category not in _CARD_HOLDERS and self.expiry_date is None:
            raise ValueError("在留期間等の満了の日を指定してください")
        if (
            self.category in _CARD_HOLDERS
            and self.card_number is not None
            and not CARD_NUMBER.fullmatch(self.card_number)
        ):
            raise ValueError("在留カード等の番号は英字2桁・数字8桁・英字2桁です")
        return self


# ----------------------------------------------------------------------------------------------
# Qualifications held by other departments (items 41-44, 47)


class NationalHealthInsurance(Frozen):
    """国民健康保険被保険者情報."""

    card_number: Number | None = Field(default=None, description="証番号")
    category: Code | None = Field(default=None, description="資格区分")
    acquired_on: Day | None = Field(default=None, description="資格取得日")
    lost_on: Day | None = Field(default=None, description="資格喪失日")
    retiree_kind: Code | None = Field(default=None, description="退職者医療 (マル退) 種別区分")
    retiree_from: Day | None = Field(default=None, description="マル退該当日")
    retiree_until: Day | None = Field(default=None, description="マル退非該当日")

    @model_validator(mode="after")
    def _dates(self) -> Self:
        _in_order(self.acquired_on, self.lost_on, "資格喪失日は資格取得日以後にしてください")
        _in_order(self.retiree_from, self.retiree_until, "マル退非該当日はマル退該当日以後にしてください")
        return self


class NationalPension(Frozen):
    """国民年金被保険者情報."""

    number: str | None = Field(default=None, pattern=r"^\d{4}-?\d{6}$", description="記号番号 (基礎年金番号)")
    kind: Code | None = Field(default=None, description="種別区分 (第1号・第3号・任意加入など)")
    acquired_on: Day | None = Field(default=None, description="資格取得日")
    lost_on: Day | None = Field(default=None, description="資格喪失日")
    changed_on: Day | None = Field(default=None, description="資格変更日 (種別変更)")

    @model_validator(mode="after")
    def _dates(self) -> Self:
        _in_order(self.acquired_on, self.lost_on, "資格喪失日は資格取得日以後にしてください")
        _in_order(self.acquired_on, self.changed_on, "資格変更日は資格取得日以後にしてください")
        return self


class LongTermCareInsurance(Frozen):
    """介護保険被保険者情報."""

    insured_number: Number | None = Field(default=None, description="介護保険被保険者証番号")
    acquired_on: Day | None = Field(default=None, description="資格取得日")
    lost_on: Day | None = Field(default=None, description="資格喪失日")
    category: Code | None = Field(default=None, description="資格区分 (第1号・第2号)")
    certified_on: Day | None = Field(default=None, description="要介護認定日")
    valid_from: Day | None = Field(default=None, description="認定有効開始日")
    valid_until: Day | None = Field(default=None, description="認定有効終了日")

    @model_validator(mode="after")
    def _dates(self) -> Self:
        _in_order(self.acquired_on, self.lost_on, "資格喪失日は資格取得日以後にしてください")
        _in_order(self.valid_from, self.valid_until, "有効終了日は有効開始日以後にしてください")
        return self


class LateElderlyMedical(Frozen):
    """後期高齢者医療被保険者情報."""

    insured_number: Number | None = Field(default=None, description="被保険者番号")
    acquisition_code: Code | None = Field(default=None, description="資格取得コード (資格取得事由)")
    acquired_on: Day | None = Field(default=None, description="資格取得日")
    lost_on: Day | None = Field(default=None, description="資格喪失日")
    applies_from: Day | None = Field(default=None, description="適用開始日")
    applies_until: Day | None = Field(default=None, description="適用終了日")

    @model_validator(mode="after")
    def _dates(self) -> Self:
        _in_order(self.acquired_on, self.lost_on, "資格喪失日は資格取得日以後にしてください")
        _in_order(self.applies_from, self.applies_until, "適用終了日は適用開始日以後にしてください")
        return self


class ChildAllowance(Frozen):
    """児童手当受給情報."""

    payment_from: Day | None = Field(default=None, description="支給開始日")
    payment_until: Day | None = Field(default=None, description="支給終了日")

    @model_validator(mode="after")
    def _dates(self) -> Self:
        _in_order(self.payment_from, self.payment_until, "支給終了日は支給開始日以後にしてください")
        return self


class Qualifications(Frozen):
    """資格情報 that other departments send and the record holds (住基法第7条第10号〜第11号の2)."""

    national_health_insurance: NationalHealthInsurance | None = Field(
        default=None, description="国民健康保険被保険者情報"
    )
    national_pension: NationalPension | None = Field(default=None, description="国民年金被保険者情報")
    long_term_care: LongTermCareInsurance | None = Field(default=None, description="介護保険被保険者情報")
    late_elderly_medical: LateElderlyMedical | None = Field(
        default=None, description="後期高齢者医療被保険者情報"
    )
    child_allowance: ChildAllowance | None = Field(default=None, description="児童手当受給情報")


# ----------------------------------------------------------------------------------------------
# Electoral roll, seal registration, cards (items 35-38, 45, 46, 57-59, 61)


class ElectoralEligibility(Frozen):
    """選挙資格情報 (選挙人名簿への登録, 選挙管理委員会から)."""

    registered: bool = Field(description="選挙人名簿に登録されている")
    registered_on: Day | None = Field(default=None, description="名簿登録日")
    removed_on: Day | None = Field(default=None, description="名簿抹消日")
    polling_district: Code | None = Field(default=None, description="投票区コード")

    @model_validator(mode="after")
    def _dates(self) -> Self:
        if self.registered and self.removed_on is not None:
            raise ValueError("登録中の人に名簿抹消日は指定できません")
        _in_order(self.registered_on, self.removed_on, "名簿抹消日は名簿登録日以後にしてください")
        return self


class SealRegistration(Frozen):
    """印鑑登録 (印鑑登録システムから)."""

    number: Number = Field(description="印鑑登録番号")


class CardStatus(StrEnum):
    """カードの発行状況."""

    NOT_ISSUED = "not_issued"  # 未交付
    ISSUED = "issued"  # 交付済み
    SUSPENDED = "suspended"  # 一時停止
    RETURNED = "returned"  # 返納・回収済み
    EXPIRED = "expired"  # 失効


class _IssuedCard(Frozen):
    status: CardStatus = Field(
        description=(
            "発行状況: not_issued=未交付, issued=交付済み, suspended=一時停止, "
            "returned=回収済み, expired=失効"
        )
    )
    expiry_date: Day | None = Field(default=None, description="有効期限")
    returned_on: Day | None = Field(default=None, description="回収日")

    @model_validator(mode="after")
    def _returned(self) -> Self:
        if (self.status is CardStatus.RETURNED) != (self.returned_on is not None):
            raise ValueError("回収日は回収済みのカードにだけ、必ず指定してください")
        if self.status is not CardStatus.NOT_ISSUED and self.expiry_date is None:
            raise ValueError("交付したカードには有効期限を指定してください")
        return self


class BasicResidentCard(_IssuedCard):
    """住民基本台帳カード (住基カード)."""

    face_version: Code | None = Field(default=None, description="表面記載バージョン情報")


class MyNumberCard(_IssuedCard):
    """個人番号カード (カードの番号・個人番号そのものは持たない)."""


class KioskCardState(StrEnum):
    REGISTERED = "registered"  # 登録
    SUSPENDED = "suspended"  # 一時停止
    ABOLISHED = "abolished"  # 廃止


class KioskCard(Frozen):
    """自動交付機カード情報."""

    number: Number = Field(description="カード番号")
    kind: Code = Field(description="カード区分 (印鑑登録証兼用など)")
    state: KioskCardState = Field(
        description="カード登録状態: registered=登録, suspended=一時停止, abolished=廃止"
    )
    registered_on: Day = Field(description="カード登録年月日")
    abolished_on: Day | None = Field(default=None, description="カード廃止年月日")

    @model_validator(mode="after")
    def _abolished(self) -> Self:
        if (self.state is KioskCardState.ABOLISHED) != (self.abolished_on is not None):
            raise ValueError("廃止年月日は廃止したカードにだけ、必ず指定してください")
        _in_order(self.registered_on, self.abolished_on, "廃止年月日は登録年月日以後にしてください")
        return self


class Cards(Frozen):
    """The cards a person holds or held."""

    basic_resident_card: BasicResidentCard | None = Field(default=None, description="住基カード")
    my_number_card: MyNumberCard | None = Field(default=None, description="個人番号カード")
    kiosk_card: KioskCard | None = Field(default=None, description="自動交付機カード")


# ----------------------------------------------------------------------------------------------
# Notes (items 6, 7, 39, 40) and the record's status items (3, 5, 15)


class CombinedEntryKind(StrEnum):
    """統合記載欄の種別."""

    MOVEMENT_HISTORY = "movement_history"  # A 異動履歴
    ATTENTION = "attention"  # B 留意事項
    REMARK = "remark"  # C 備考


class CombinedEntry(Frozen):
    """One line of the 統合記載欄, printed on certificates."""

    kind: CombinedEntryKind = Field(
        description="種別: movement_history=A 異動履歴, attention=B 留意事項, remark=C 備考"
    )
    text: LongText = Field(description="記載内容")
    recorded_on: Day = Field(description="記載した日")


class Notes(Frozen):
    """覚書 and 備考 of a person (個人覚書・個人備考) or a household (世帯覚書・世帯備考).

    The memo (覚書) is for staff only and is never printed on a certificate; ``for_certificate``
    gives what may be printed.
    """

    memo: LongText | None = Field(default=None, description="覚書 (職員用メモ。証明書には印字しない)")
    remarks: LongText | None = Field(default=None, description="備考 (証明書に印字できる)")
    combined_entries: list[CombinedEntry] = Field(
        default_factory=list, description="統合記載欄 (A 異動履歴, B 留意事項, C 備考)"
    )

    def for_certificate(self) -> Notes:
        """The notes without the memo."""
        return self.model_copy(update={"memo": None})


class ResidentKind(StrEnum):
    """住民区分."""

    JAPANESE = "japanese"  # 日本人住民
    FOREIGN = "foreign"  # 外国人住民


class RecordStatusItems(Frozen):
    """住民区分, 区コード and 改製年月日. 消除区分・除票年月日 are PersonRecord.removal."""

    resident_kind: ResidentKind = Field(description="住民区分: japanese=日本人住民, foreign=外国人住民")
    ward_code: MunicipalityCode = Field(
        description="区コード (行政区の地方公共団体コード)", examples=["221015"]
    )
    recreated_on: Day | None = Field(default=None, description="改製年月日")
