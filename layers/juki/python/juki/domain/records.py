"""Resident records (住民票) and households (世帯), one immutable version at a time.

Nothing is overwritten: each change adds version n+1 of every person and household it touches,
and each version says which movement made it and from which date it holds (``effective_date``).
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from juki.domain.dates import PartialDate
from juki.domain.my_number import Sealed
from juki.domain.record_items import (
    Cards,
    ElectoralEligibility,
    ForeignResident,
    KosekiDomicile,
    NameDetails,
    Notes,
    Qualifications,
    SealRegistration,
)
from juki.domain.values import (
    Address,
    Frozen,
    HouseholdStatus,
    MovementKind,
    OtherAddress,
    PersonName,
    RemovalReason,
    ResidentStatus,
    Sex,
)


class Removal(Frozen):
    """消除: why and from when the record is a removed record (除票)."""

    reason: RemovalReason = Field(description="消除区分")
    removed_on: date = Field(description="消除の日 (転出は転出予定日、転入通知の転入日が早ければその日)")


class MoveOutDetails(Frozen):
    """転出: the planned destination, kept as entered, and what the move-in notice confirmed."""

    planned_date: date = Field(description="転出予定日")
    planned_destination: OtherAddress = Field(description="転出先 (予定)")
    notified_date: date = Field(description="転出届の届出日")
    card_move_out: bool = Field(description="特例転出 (マイナンバーカードによる転出)")
    confirmed_date: date | None = Field(default=None, description="確定した転入日 (転入通知)")
    confirmed_destination: OtherAddress | None = Field(default=None, description="確定転出先 (転入通知)")


class PersonRecord(Frozen):
    """One version (履歴番号) of a resident record (住民票)."""

    person_id: str = Field(description="宛名番号")
    version: int = Field(ge=1, description="履歴番号")
    household_id: str = Field(description="世帯番号")
    resident_code: str | None = Field(default=None, description="住民票コード")
    previous_resident_codes: list[str] = Field(default_factory=list, description="旧住民票コード (古い順)")
    my_number: Sealed | None = Field(
        default=None, description="個人番号 (暗号化して保存。表示は権限と目的のある開示でだけ)"
    )
    name: PersonName = Field(description="氏名")
    birth_date: date = Field(description="生年月日 (不詳日の場合はその範囲の日付)")
    birth_date_partial: PartialDate | None = Field(
        default=None, description="不詳日の生年月日 (例: 昭和○○年頃)"
    )
    sex: Sex = Field(description="性別")
    relationship: str = Field(description="続柄")
    name_details: NameDetails = Field(default_factory=NameDetails, description="英字氏名・通称・旧氏")
    koseki: KosekiDomicile | None = Field(default=None, description="本籍・筆頭者 (日本人住民)")
    foreign_resident: ForeignResident | None = Field(default=None, description="外国人住民の記載事項")
    qualifications: Qualifications = Field(
        default_factory=Qualifications, description="国保・国年・介護・後期高齢・児童手当"
    )
    electoral: ElectoralEligibility | None = Field(default=None, description="選挙資格")
    seal_registration: SealRegistration | None = Field(default=None, description="印鑑登録")
    cards: Cards = Field(default_factory=Cards, description="住基カード・個人番号カード・自動交付機カード")
    notes: Notes = Field(default_factory=Notes, description="覚書 (証明書に載らない)・備考")
    address: Address = Field(description="住所")
    previous_address: OtherAddress | None = Field(default=None, description="前住所")
    resident_since: date = Field(description="住民となった年月日")
    address_since: date = Field(description="住所を定めた年月日")
    notified_date: date = Field(description="この版の届出日")
    status: ResidentStatus = Field(description="resident=在住, removed=除票")
    removal: Removal | None = Field(default=None, description="消除 (除票の場合)")
    move_out: MoveOutDetails | None = Field(default=None, description="転出の予定と確定")
    movement_id: str = Field(description="この版を作った異動")
    movement_kind: MovementKind = Field(description="この版を作った異動の種類")
    effective_date: date = Field(description="この版の異動日 (この日からこの内容)")
    recorded_at: datetime = Field(description="処理日時")


class HouseholdRecord(Frozen):
    """One version of a household (世帯)."""

    household_id: str = Field(description="世帯番号")
    version: int = Field(ge=1, description="履歴番号")
    status: HouseholdStatus = Field(default=HouseholdStatus.ACTIVE, description="active=存続, dissolved=消滅")
    head_person_id: str | None = Field(description="世帯主の宛名番号 (世帯主のいない世帯は null)")
    member_ids: list[str] = Field(description="世帯員の宛名番号 (現に属する人)")
    address: Address = Field(description="住所")
    notes: Notes = Field(default_factory=Notes, description="世帯覚書・世帯備考")
    movement_id: str = Field(description="この版を作った異動")
    effective_date: date = Field(description="この版の異動日 (この日からこの内容)")
    recorded_at: datetime = Field(description="処理日時")
