"""The notices a clerk enters (届出 and 職権): one model per kind of movement (異動).

Each names what it changes and nothing else: a field a kind does not know is refused, so a
転居 cannot carry a name change. The API takes any of them on ``POST /movements``, told apart
by ``kind``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, Field, ValidationInfo, model_validator

from juki.domain import relationships
from juki.domain.dates import PartialDate
from juki.domain.my_number import MyNumberInput, Sealed
from juki.domain.record_items import (
    Cards,
    ChildAllowance,
    ElectoralEligibility,
    ForeignResident,
    KosekiDomicile,
    LateElderlyMedical,
    LongTermCareInsurance,
    NameDetails,
    NationalHealthInsurance,
    NationalPension,
    Notes,
    Qualifications,
    SealRegistration,
)
from juki.domain.values import (
    Address,
    Day,
    Frozen,
    MovementKind,
    OtherAddress,
    PersonName,
    RecordId,
    ResidentCode,
    Sex,
    ShortText,
)

MAX_MEMBERS_PER_MOVEMENT = 20


def _relationship(value: str) -> str:
    try:
        return relationships.normalise(value)
    except ValueError:
        raise ValueError("続柄が語彙にありません") from None


# A 続柄 from the vocabulary (「の」 chains longer than four steps become 縁故者), wherever it appears.
Relationship = Annotated[
    ShortText,
    AfterValidator(_relationship),
    Field(description="続柄 (世帯主、妻、子、子の妻 …)", examples=["子"]),
]


def _refuse_given_seal(data: object, info: ValidationInfo) -> object:
    """Only the system seals a 個人番号; a notice arriving with a sealed one is refused (a record
    read back from storage carries the STORAGE context and passes)."""
    storage = bool(info.context and info.context.get("storage"))
    if isinstance(data, dict) and data.get("sealed_my_number") is not None and not storage:
        raise ValueError("sealed_my_number は指定できません (個人番号は my_number に入力してください)")
    return data


def _distinct(value: list[str]) -> list[str]:
    if len(set(value)) != len(value):
        raise ValueError("同じ人が重複しています")
    return value


PersonIds = Annotated[
    list[RecordId], Field(min_length=1, max_length=MAX_MEMBERS_PER_MOVEMENT), AfterValidator(_distinct)
]


class Dated(Frozen):
    effective_date: Day = Field(description="異動日")
    notified_date: Day = Field(description="届出日 (職権の場合は処理の基となった日)")


class NewPerson(Frozen):
    """A person entering the ledger."""

    name: PersonName = Field(description="氏名")
    birth_date: Day = Field(description="生年月日 (西暦 YYYY-MM-DD)")
    sex: Sex = Field(description="性別")
    relationship: Relationship
    birth_date_partial: PartialDate | None = Field(
        default=None, description="生年月日が不詳の場合の表示 (例: 昭和○○年頃)。birth_date はその範囲の日付"
    )
    koseki: KosekiDomicile | None = Field(default=None, description="本籍・筆頭者 (日本人住民は必須)")
    foreign_resident: ForeignResident | None = Field(default=None, description="外国人住民の記載事項")
    name_details: NameDetails | None = Field(default=None, description="英字氏名・通称・旧氏")
    resident_code: ResidentCode | None = Field(
        default=None, description="住民票コード (転出証明書の記載。なければ本登録で払い出す)"
    )
    my_number: MyNumberInput | None = Field(
        default=None,
        repr=False,
        description="個人番号 (12桁。受け付けた時点で暗号化され、平文では保存されない)",
    )
    sealed_my_number: Sealed | None = Field(default=None, description="暗号化した個人番号 (システムが設定)")

    _no_forged_seal = model_validator(mode="before")(lambda cls, data, info: _refuse_given_seal(data, info))

    @model_validator(mode="after")
    def _birth_within_partial(self) -> Self:
        partial = self.birth_date_partial
        if partial is not None and not partial.earliest() <= self.birth_date <= partial.latest():
            raise ValueError("生年月日が不詳日の範囲に入っていません")
        return self

    previous_person_id: RecordId | None = Field(
        default=None, description="再転入: 以前の除票の宛名番号 (同じ宛名番号で記載する)"
    )


class MoveIn(Dated):
    """転入: people move into the municipality, as a new household or into an existing one."""

    kind: Literal[MovementKind.MOVE_IN] = Field(description="異動の種類 (move_in = 転入)")
    move_in_type: Literal["domestic", "card", "from_abroad", "unnotified", "ex_officio"] = Field(
        default="domestic",
        description=(
            "domestic=国内転入 (転出証明書), card=特例転入 (マイナンバーカードを利用した転入。"
            "市町村CSから受信した転出証明書情報を使う), from_abroad=国外転入, unnotified=未届転入, "
            "ex_officio=職権記載"
        ),
    )
    move_out_certificate_id: str | None = Field(
        default=None,
        pattern=r"^[0-9A-Za-z_-]{1,64}$",
        description=(
            "特例転入で使う転出証明書情報の識別子 (move_in_type=card のときは必須、それ以外は指定不可)。"
            "世帯員は転出証明書情報の記載 (氏名・生年月日・性別・住民票コード) と一致し、"
            "前住所は転出証明書情報の転出地の住所と同じであること"
        ),
    )
    address: Address = Field(description="転入先の住所")
    previous_address: OtherAddress = Field(description="前住所")
    join_household_id: RecordId | None = Field(
        default=None, description="既存の世帯に入る場合の世帯番号 (省略すると新しい世帯)"
    )
    members: list[NewPerson] = Field(
        min_length=1,
        max_length=MAX_MEMBERS_PER_MOVEMENT,
        description="転入する人 (新しい世帯なら世帯主を含む)",
    )

    @model_validator(mode="after")
    def _certificate_for_card_only(self) -> Self:
        """特例転入 starts from the 転出証明書情報 the CS sent; no other kind of move-in names one."""
        if self.move_in_type == "card" and self.move_out_certificate_id is None:
            raise ValueError("特例転入には転出証明書情報の識別子 (move_out_certificate_id) が必要です")
        if self.move_in_type != "card" and self.move_out_certificate_id is not None:
            raise ValueError("転出証明書情報の識別子は特例転入 (move_in_type=card) のときだけ指定できます")
        return self


class NewHousehold(Frozen):
    mode: Literal["new_household"] = Field(description="移る人で新しい世帯をつくる")
    head_person_id: RecordId = Field(description="新しい世帯の世帯主 (移る人の一人)")


class ExistingHousehold(Frozen):
    mode: Literal["existing_household"] = Field(description="移る先の既存の世帯に入る")
    household_id: RecordId = Field(description="入る世帯の世帯番号")


class SameHousehold(Frozen):
    mode: Literal["same_household"] = Field(description="世帯全員がそのまま移る")


Destination = Annotated[NewHousehold | ExistingHousehold | SameHousehold, Field(discriminator="mode")]


class InCityMove(Dated):
    """転居: people move to another address in the municipality. Only the address may change."""

    kind: Literal[MovementKind.IN_CITY_MOVE] = Field(description="異動の種類 (in_city_move = 転居)")
    person_ids: PersonIds = Field(description="移る人")
    address: Address = Field(description="新しい住所")
    destination: Destination = Field(description="移った先の世帯")
    relationships: dict[RecordId, Relationship] = Field(
        default_factory=dict, description="新しい世帯・入る世帯での続柄 (宛名番号ごと)"
    )

    @model_validator(mode="before")
    @classmethod
    def _only_the_address(cls, data: object) -> object:
        allowed = {
            "kind",
            "effective_date",
            "notified_date",
            "person_ids",
            "address",
            "destination",
            "relationships",
        }
        if isinstance(data, dict) and set(data) - allowed:
            raise ValueError("転居で変更できるのは住所だけです (氏名・生年月日などは職権修正で)")
        return data


class MoveOut(Frozen):
    """転出: people leave for another municipality or abroad. The planned date may be ahead."""

    kind: Literal[MovementKind.MOVE_OUT] = Field(description="異動の種類 (move_out = 転出)")
    person_ids: PersonIds = Field(description="転出する人")
    planned_date: Day = Field(description="転出予定日 (未来の日付も可)")
    notified_date: Day = Field(description="届出日")
    destination: OtherAddress = Field(description="転出先")
    card_move_out: bool = Field(default=False, description="特例転出 (マイナンバーカード利用)")


class MoveOutConfirmation(Frozen):
    """転入通知: the new municipality confirms a 転出; the planned data is kept, not overwritten."""

    kind: Literal[MovementKind.MOVE_OUT_CONFIRMATION] = Field(description="異動の種類 (転入通知)")
    person_id: RecordId = Field(description="転出した人")
    moved_in_date: Day = Field(description="転入先での転入日")
    destination: OtherAddress = Field(description="確定した転出先の住所")
    notified_date: Day = Field(description="転入通知を受けた日")


class Birth(Dated):
    """出生: a child is recorded in a household (effective date: the birth date)."""

    kind: Literal[MovementKind.BIRTH] = Field(description="異動の種類 (birth = 出生)")
    household_id: RecordId = Field(description="記載する世帯")
    name: PersonName = Field(description="氏名")
    sex: Sex = Field(description="性別")
    relationship: Relationship
    koseki: KosekiDomicile | None = Field(default=None, description="本籍・筆頭者 (日本人は必須)")
    foreign_resident: ForeignResident | None = Field(
        default=None, description="外国人住民の記載事項 (出生による経過滞在者)"
    )


class Death(Dated):
    """死亡・失踪・職権消除: the person's record is removed (effective date: the date it happened)."""

    kind: Literal[MovementKind.DEATH] = Field(description="異動の種類 (death = 死亡・失踪・職権消除)")
    cause: Literal["death", "missing", "ex_officio"] = Field(
        default="death",
        description="death=死亡, missing=失踪宣告, ex_officio=職権消除 (居住の実態がない など)",
    )
    person_id: RecordId = Field(description="消除する人")


class HeadChange(Dated):
    """世帯主変更: another member becomes the head; every member's relationship is restated."""

    kind: Literal[MovementKind.HEAD_CHANGE] = Field(description="異動の種類 (head_change = 世帯主変更)")
    household_id: RecordId = Field(description="世帯")
    new_head_person_id: RecordId = Field(description="新しい世帯主")
    relationships: dict[RecordId, Relationship] = Field(description="新しい世帯主から見た各世帯員の続柄")


class HouseholdSplit(Dated):
    """世帯分離: some members form a new household at the same address."""

    kind: Literal[MovementKind.HOUSEHOLD_SPLIT] = Field(description="異動の種類 (household_split = 世帯分離)")
    household_id: RecordId = Field(description="元の世帯")
    person_ids: PersonIds = Field(description="分かれる人")
    new_head_person_id: RecordId = Field(description="新しい世帯の世帯主")
    relationships: dict[RecordId, Relationship] = Field(
        default_factory=dict, description="新しい世帯での続柄"
    )


class HouseholdMerge(Dated):
    """世帯合併: every member of one household joins another at the same address; the first ends."""

    kind: Literal[MovementKind.HOUSEHOLD_MERGE] = Field(description="異動の種類 (household_merge = 世帯合併)")
    from_household_id: RecordId = Field(description="合併される世帯 (消滅する)")
    into_household_id: RecordId = Field(description="合併先の世帯")
    relationships: dict[RecordId, Relationship] = Field(description="合併される世帯の全員の、合併先での続柄")


class HouseholdChange(Dated):
    """世帯変更: some members move to another existing household at the same address."""

    kind: Literal[MovementKind.HOUSEHOLD_CHANGE] = Field(
        description="異動の種類 (household_change = 世帯変更)"
    )
    person_ids: PersonIds = Field(description="移る人")
    into_household_id: RecordId = Field(description="移る先の世帯")
    relationships: dict[RecordId, Relationship] = Field(description="移る先での続柄")


class NameDetailsChange(Dated):
    """通称・旧氏・英字氏名の記載・変更・削除: the name items beyond 氏名 are restated as a whole."""

    kind: Literal[MovementKind.NAME_DETAILS_CHANGE] = Field(description="異動の種類 (通称・旧氏などの変更)")
    person_id: RecordId = Field(description="対象の人")
    name_details: NameDetails = Field(description="変更後の英字氏名・通称・旧氏 (削除は項目を省く)")


class ForeignResidentChange(Dated):
    """外国人住民の記載事項の変更 (在留資格・期間・カード; 法務省通知), 帰化・国籍取得 (日本人住民に),
    国籍喪失 (外国人住民に)."""

    kind: Literal[MovementKind.FOREIGN_RESIDENT_CHANGE] = Field(
        description="異動の種類 (外国人住民に関する異動)"
    )
    person_id: RecordId = Field(description="対象の人")
    reason: Literal["status_change", "naturalization", "nationality_acquisition", "nationality_loss"] = Field(
        description="status_change=在留資格等の変更, naturalization=帰化, nationality_acquisition=国籍取得, "
        "nationality_loss=国籍喪失"
    )
    foreign_resident: ForeignResident | None = Field(default=None, description="変更後の外国人住民の記載事項")
    koseki: KosekiDomicile | None = Field(default=None, description="帰化・国籍取得の本籍・筆頭者")


class MyNumberChange(Dated):
    """個人番号の変更 (漏えいのおそれ等で新しい番号が指定された場合): the new number replaces the old."""

    kind: Literal[MovementKind.MY_NUMBER_CHANGE] = Field(description="異動の種類 (個人番号の変更)")
    person_id: RecordId = Field(description="対象の人")
    my_number: MyNumberInput | None = Field(
        default=None, repr=False, description="新しい個人番号 (12桁。受け付けた時点で暗号化される)"
    )
    sealed_my_number: Sealed | None = Field(default=None, description="暗号化した個人番号 (システムが設定)")

    _no_forged_seal = model_validator(mode="before")(lambda cls, data, info: _refuse_given_seal(data, info))

    @model_validator(mode="after")
    def _a_number(self) -> MyNumberChange:
        if self.my_number is None and self.sealed_my_number is None:
            raise ValueError("新しい個人番号を入力してください")
        return self


class ResidentCodeChange(Dated):
    """住民票コードの変更請求: a new code is given from the pool; the old one is kept as 旧住民票コード."""

    kind: Literal[MovementKind.RESIDENT_CODE_CHANGE] = Field(description="異動の種類 (住民票コードの変更)")
    person_id: RecordId = Field(description="対象の人")


QualificationGroup = Literal[
    "national_health_insurance",
    "national_pension",
    "long_term_care",
    "late_elderly_medical",
    "child_allowance",
]
QualificationValue = (
    NationalHealthInsurance | NationalPension | LongTermCareInsurance | LateElderlyMedical | ChildAllowance
)


class QualificationChange(Dated):
    """資格情報の記載・変更・削除 (国保・国民年金・介護保険・後期高齢者医療・児童手当; 共通基盤から):
    ONE group is set, or removed when the qualification ends. The other groups are not part of the
    notice: the commit merges this group into the record as it stands then, so two notices for
    different groups, committed one after the other, never undo each other."""

    kind: Literal[MovementKind.QUALIFICATION_CHANGE] = Field(
        description="異動の種類 (qualification_change = 資格情報の変更)"
    )
    person_id: RecordId = Field(description="対象の人")
    group: QualificationGroup = Field(
        description=(
            "資格の種類: national_health_insurance=国民健康保険, national_pension=国民年金, "
            "long_term_care=介護保険, late_elderly_medical=後期高齢者医療, child_allowance=児童手当"
        )
    )
    value: QualificationValue | None = Field(
        description="変更後のその資格の記載事項 (資格がなくなった場合は null)"
    )
    source_system: ShortText | None = Field(default=None, description="通知元の業務システム")

    @model_validator(mode="before")
    @classmethod
    def _value_of_its_group(cls, data: object) -> object:
        """The value is read as the model of its group (the groups' shapes overlap, so the union
        alone could pick another)."""
        if isinstance(data, dict) and isinstance(data.get("value"), dict):
            group = data.get("group")
            model = _QUALIFICATION_MODELS.get(group) if isinstance(group, str) else None
            if model is not None:
                data = {**data, "value": model.model_validate(data["value"])}
        return data

    @model_validator(mode="after")
    def _value_matches_group(self) -> Self:
        if self.value is not None and not isinstance(self.value, _QUALIFICATION_MODELS[self.group]):
            raise ValueError("資格の種類と記載事項が合いません")
        return self

    def merged(self, current: Qualifications) -> Qualifications:
        """The record's 資格情報 with this group replaced and every other group kept."""
        update: dict[str, Any] = {self.group: self.value}
        return current.model_copy(update=update)


_QUALIFICATION_MODELS: dict[str, type[QualificationValue]] = {
    "national_health_insurance": NationalHealthInsurance,
    "national_pension": NationalPension,
    "long_term_care": LongTermCareInsurance,
    "late_elderly_medical": LateElderlyMedical,
    "child_allowance": ChildAllowance,
}


class PersonChanges(Frozen):
    """The items a correction sets, each replaced whole (a group such as ``notes`` or ``cards``
    is restated entirely)."""

    name: PersonName | None = Field(default=None, description="正しい氏名")
    birth_date: Day | None = Field(default=None, description="正しい生年月日")
    birth_date_partial: PartialDate | None = Field(
        default=None, description="生年月日が不詳の場合の表示 (不詳日)"
    )
    sex: Sex | None = Field(default=None, description="正しい性別")
    relationship: Relationship | None = None
    koseki: KosekiDomicile | None = Field(default=None, description="本籍・筆頭者 (戸籍の通知による記載など)")
    qualifications: Qualifications | None = Field(
        default=None, description="国保・国年・介護・後期高齢・児童手当"
    )
    electoral: ElectoralEligibility | None = Field(default=None, description="選挙資格")
    seal_registration: SealRegistration | None = Field(default=None, description="印鑑登録")
    cards: Cards | None = Field(default=None, description="住基カード・個人番号カード・自動交付機カード")
    notes: Notes | None = Field(default=None, description="覚書・備考")

    @model_validator(mode="after")
    def _something(self) -> PersonChanges:
        if not self.model_dump(exclude_none=True):
            raise ValueError("修正する項目がありません")
        return self


class Correction(Dated):
    """職権修正・誤記修正: a recorded item is put right; the old version stays in the history."""

    kind: Literal[MovementKind.CORRECTION] = Field(description="異動の種類 (correction = 職権修正・誤記修正)")
    basis: Literal["ex_officio", "error"] = Field(description="ex_officio=職権修正, error=誤記修正")
    person_id: RecordId = Field(description="修正する人")
    changes: PersonChanges = Field(description="修正後の値 (変える項目だけ)")
    reason: ShortText = Field(description="修正の理由")


class Cancellation(Frozen):
    """異動の取消し: a final movement is undone by new versions that restore the earlier state."""

    kind: Literal[MovementKind.CANCELLATION] = Field(description="異動の種類 (cancellation = 異動の取消し)")
    movement_id: str = Field(pattern=r"^[0-9a-f]{32}$", description="取り消す異動の異動番号")
    notified_date: Day = Field(description="取消しの基となった日")
    reason: ShortText = Field(description="取消しの理由")


MovementCommand = Annotated[
    MoveIn
    | InCityMove
    | MoveOut
    | MoveOutConfirmation
    | Birth
    | Death
    | HeadChange
    | HouseholdSplit
    | HouseholdMerge
    | HouseholdChange
    | NameDetailsChange
    | ForeignResidentChange
    | ResidentCodeChange
    | MyNumberChange
    | QualificationChange
    | Correction
    | Cancellation,
    Field(discriminator="kind"),
]
