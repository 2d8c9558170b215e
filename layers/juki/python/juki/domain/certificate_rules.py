"""The rules that word a certificate: which records a kind may certify, which items it prints, in
which order, and what it says about the items left out.

``compose(request, subject, my_numbers=None)`` turns the records of ``subject`` (as they were on
``subject.as_of``) into ``CertificateDocument``s: one per person for 個人票, one per household for
世帯連記式. Everything is worded here (和暦, 西暦 for foreign residents' birth and expiry dates,
the standard order of members, the omissions, the certification text) so that the renderer
decides nothing and a test can read a certificate's content without a PDF.

個人番号 is never held in plaintext: the caller opens the numbers it may print and passes them in
``my_numbers`` (person_id → 12 digits). A parameter rather than a field of ``CertificateSubject``
keeps the opened numbers out of a model that is logged, cached and compared; ``numbers_to_open``
says which persons need one. A missing number that the certificate must print is the caller's
fault (``MyNumberNotOpened``, a programming error), never a silently blank item.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date

from juki.domain.certificates import (
    FOREIGN_RESIDENT_ITEMS,
    REMOVED_KINDS,
    TITLES,
    CertificateDocument,
    CertificateKind,
    CertificateRequest,
    CertificateSubject,
    FeeCategory,
    Layout,
    OptionalItem,
    PrintedItem,
    PrintedPerson,
)
from juki.domain.dates import to_seireki, to_wareki
from juki.domain.errors import DomainError, NotFound
from juki.domain.record_items import ForeignResident, ForeignResidentCategory
from juki.domain.records import HouseholdRecord, PersonRecord
from juki.domain.residence_status import residence_status_text
from juki.domain.values import Address, OtherAddress, RemovalReason, ResidentStatus, Sex

RESIDENT_KINDS = frozenset({CertificateKind.RESIDENT_COPY, CertificateKind.RESIDENT_ENTRY})

SEX_NAMES = {Sex.MALE: "男", Sex.FEMALE: "女"}
REMOVAL_NAMES = {
    RemovalReason.MOVE_OUT: "転出",
    RemovalReason.DEATH: "死亡",
    RemovalReason.MISSING: "失踪宣告",
    RemovalReason.EX_OFFICIO: "職権消除",
    RemovalReason.CANCELLED: "異動の取消し",
}
CATEGORY_NAMES = {
    ForeignResidentCategory.MID_TO_LONG_TERM: "中長期在留者",
    ForeignResidentCategory.SPECIAL_PERMANENT: "特別永住者",
    ForeignResidentCategory.TEMPORARY_REFUGE: "一時庇護許可者",
    ForeignResidentCategory.PROVISIONAL_STAY: "仮滞在許可者",
    ForeignResidentCategory.TRANSITIONAL_STAY: "経過滞在者",
}
OMISSION_NOTES = {
    OptionalItem.HEAD_AND_RELATIONSHIP: "世帯主の氏名及び世帯主との続柄の記載を省略",
    OptionalItem.KOSEKI: "本籍・筆頭者の記載を省略",
    OptionalItem.RESIDENT_CODE: "住民票コードの記載を省略",
    OptionalItem.MY_NUMBER: "個人番号の記載を省略",
    OptionalItem.NATIONALITY: "国籍・地域の記載を省略",
    OptionalItem.RESIDENCE_STATUS: (
        "法第30条の45に規定する区分・在留資格・在留期間等・在留カード等の番号の記載を省略"
    ),
}
# The 転出証明書 kept for the counter (printed automatically after the 本登録) is stored, and a
# stored PDF never prints a 個人番号: the certificate says so, and where the number is to be had.
MY_NUMBER_WITHHELD_NOTE = "個人番号の記載を省略 (記載したものは窓口で交付します)"
CERTIFICATION_TEXTS = {
    CertificateKind.RESIDENT_COPY: "この写しは、住民票の原本と相違ないことを証明する。",
    CertificateKind.REMOVED_COPY: "この写しは、住民票の除票の原本と相違ないことを証明する。",
    CertificateKind.RESIDENT_ENTRY: "上記の事項は、住民票に記載されていることを証明する。",
    CertificateKind.REMOVED_ENTRY: "上記の事項は、住民票の除票に記載されていることを証明する。",
    CertificateKind.MOVE_OUT: "上記の者は、転出の届出をしたことを証明する。",
}
WHOLE_HOUSEHOLD_TEXT = "この写しは、世帯全員の住民票の原本と相違ないことを証明する。"
NONE_TEXT = "なし"


class MyNumberNotOpened(ValueError):
    """The certificate prints a 個人番号 the caller did not open: a fault of the caller, not the client."""


# -- entry point ---------------------------------------------------------------------------------


def compose(
    request: CertificateRequest, subject: CertificateSubject, my_numbers: Mapping[str, str] | None = None
) -> list[CertificateDocument]:
    """The documents of a request: one per person (個人票) or one per household (世帯連記式).

    Raises ``DomainError`` (stable code, Japanese message) when the records do not allow the kind:
    NOT_RESIDENT, NOT_REMOVED, NO_MOVE_OUT, CARD_MOVE_OUT, NOT_SAME_HOUSEHOLD, AS_OF_IN_FUTURE;
    ``NotFound`` (PERSON_NOT_FOUND, HOUSEHOLD_NOT_FOUND) when a requested record is not given.
    """
    opened = dict(my_numbers or {})
    persons = _persons_in_request_order(request, subject)
    if subject.as_of > subject.today:
        raise DomainError("AS_OF_IN_FUTURE", "未来の日現在の証明書は交付できません", "as_of")
    for person in persons:
        _check_kind(request.kind, person)
    groups: list[list[PersonRecord]]
    if request.layout is Layout.HOUSEHOLD:
        if len({p.household_id for p in persons}) != 1:
            raise DomainError(
                "NOT_SAME_HOUSEHOLD", "世帯連記式には同じ世帯の人だけを記載できます", "person_ids"
            )
        groups = [persons]
    else:
        groups = [[person] for person in persons]
    return [_document(request, subject, group, opened) for group in groups]


def numbers_to_open(request: CertificateRequest, subject: CertificateSubject) -> list[str]:
    """The persons whose 個人番号 the certificate prints (so the caller opens just those): asked
    for, or a 転出証明書 (施行令第23条), and recorded."""
    move_out = request.kind is CertificateKind.MOVE_OUT and not request.without_my_number
    prints = move_out or OptionalItem.MY_NUMBER in request.items
    return [p.person_id for p in subject.persons if prints and p.my_number is not None]


# -- checks --------------------------------------------------------------------------------------


def _persons_in_request_order(request: CertificateRequest, subject: CertificateSubject) -> list[PersonRecord]:
    by_id = {p.person_id: p for p in subject.persons}
    missing = [pid for pid in request.person_ids if pid not in by_id]
    if missing:
        raise NotFound("PERSON_NOT_FOUND", "指定された人の住民票がありません", "person_ids")
    return [by_id[pid] for pid in request.person_ids]


def _check_kind(kind: CertificateKind, person: PersonRecord) -> None:
    if kind in RESIDENT_KINDS and person.status is not ResidentStatus.RESIDENT:
        raise DomainError(
            "NOT_RESIDENT",
            "住民票の写し・記載事項証明書は在住の人についてだけ交付できます (除票は除票の写しを請求)",
            "person_ids",
        )
    if kind in REMOVED_KINDS and person.removal is None:
        raise DomainError(
            "NOT_REMOVED", "除票の写し・除票記載事項証明書は除票についてだけ交付できます", "person_ids"
        )
    if kind is CertificateKind.MOVE_OUT:
        if person.move_out is None:
            raise DomainError("NO_MOVE_OUT", "転出の届出がない人の転出証明書は交付できません", "person_ids")
        if person.move_out.card_move_out:
            raise DomainError(
                "CARD_MOVE_OUT",
                "マイナンバーカードによる転出 (特例転出) では転出証明書を交付しません",
                "person_ids",
            )


# -- the document --------------------------------------------------------------------------------


def _document(
    request: CertificateRequest,
    subject: CertificateSubject,
    group: list[PersonRecord],
    my_numbers: dict[str, str],
) -> CertificateDocument:
    household_id = group[0].household_id
    household = subject.households.get(household_id)
    if household is None:
        raise NotFound("HOUSEHOLD_NOT_FOUND", "世帯の記録がありません", "person_ids")
    head = subject.heads.get(household_id)
    members = standard_order(group, household)
    kind = request.kind
    move_out = kind is CertificateKind.MOVE_OUT
    chosen = _chosen(request)
    persons = [_printed_person(kind, person, chosen, my_numbers) for person in members]
    return CertificateDocument(
        kind=kind,
        layout=request.layout,
        title=TITLES[kind],
        municipality_name=subject.municipality_name,
        mayor_title_and_name=subject.mayor_title_and_name,
        issued_on_text=to_wareki(subject.today),
        as_of_text=f"{to_wareki(subject.as_of)}現在の内容です" if subject.as_of < subject.today else None,
        official_use=request.fee_category is FeeCategory.OFFICIAL,
        household_items=_household_items(kind, subject.municipality_name, members, household, head, chosen),
        persons=persons,
        omissions=_omissions(request, chosen, members),
        certification_text=_certification_text(request, members, household),
        machine_readable=_machine_readable(subject, members, household, head) if move_out else None,
    )


def _chosen(request: CertificateRequest) -> set[OptionalItem]:
    """The optional items printed: those asked for; a 転出証明書 prints every item 施行令第23条
    names (the 個人番号 too, unless it is the stored copy)."""
    if request.kind is not CertificateKind.MOVE_OUT:
        return set(request.items)
    every = set(OptionalItem)
    return every - {OptionalItem.MY_NUMBER} if request.without_my_number else every


def _omissions(
    request: CertificateRequest, chosen: set[OptionalItem], members: list[PersonRecord]
) -> list[str]:
    """The omissions stated (住基法第12条第5項): an item not chosen, the foreign-resident items
    only where a foreign resident is printed (a Japanese resident's certificate has none to omit)."""
    if request.kind is CertificateKind.MOVE_OUT:
        return [MY_NUMBER_WITHHELD_NOTE] if request.without_my_number else []
    foreign = any(p.foreign_resident is not None for p in members)
    return [
        note
        for item, note in OMISSION_NOTES.items()
        if item not in chosen and (foreign or item not in FOREIGN_RESIDENT_ITEMS)
    ]


def standard_order(persons: Sequence[PersonRecord], household: HouseholdRecord) -> list[PersonRecord]:
    """The head first, then the members as the household lists them, then anyone no longer
    listed (a removed record), in the order asked."""
    position = {pid: index for index, pid in enumerate(household.member_ids)}
    asked = {p.person_id: index for index, p in enumerate(persons)}

    def key(person: PersonRecord) -> tuple[int, int, int]:
        if person.person_id == household.head_person_id:
            return (0, 0, 0)
        if person.person_id in position:
            return (1, position[person.person_id], 0)
        return (2, 0, asked[person.person_id])

    return sorted(persons, key=key)


def _certification_text(
    request: CertificateRequest, members: list[PersonRecord], household: HouseholdRecord
) -> str:
    whole = set(household.member_ids) <= {p.person_id for p in members}
    if request.kind is CertificateKind.RESIDENT_COPY and request.layout is Layout.HOUSEHOLD and whole:
        return WHOLE_HOUSEHOLD_TEXT
    return CERTIFICATION_TEXTS[request.kind]


def _household_items(  # noqa: PLR0917 - the parts of one household block, each used once
    kind: CertificateKind,
    municipality: str,
    members: list[PersonRecord],
    household: HouseholdRecord,
    head: PersonRecord | None,
    chosen: set[OptionalItem],
) -> list[PrintedItem]:
    # A removed record's address is the one it was removed from; the household may have moved since.
    address = household.address if kind in RESIDENT_KINDS else members[0].address
    label = "転出前の住所" if kind is CertificateKind.MOVE_OUT else "住所"
    rows = [PrintedItem(label=label, value=address_text(municipality, address))]
    if OptionalItem.HEAD_AND_RELATIONSHIP in chosen:
        rows.append(PrintedItem(label="世帯主", value=full_name(head) if head is not None else NONE_TEXT))
    details = members[0].move_out
    if kind is CertificateKind.MOVE_OUT and details is not None:
        rows += [
            PrintedItem(label="転出先", value=other_address_text(details.planned_destination)),
            PrintedItem(label="転出予定年月日", value=to_wareki(details.planned_date)),
            PrintedItem(label="届出年月日", value=to_wareki(details.notified_date)),
        ]
    return rows


def _printed_person(
    kind: CertificateKind, person: PersonRecord, chosen: set[OptionalItem], my_numbers: dict[str, str]
) -> PrintedPerson:
    foreign = person.foreign_resident
    rows: list[PrintedItem] = [
        PrintedItem(label="フリガナ", value=f"{person.name.family_name_kana} {person.name.given_name_kana}")
    ]
    details = person.name_details
    if details.alias is not None:
        rows.append(PrintedItem(label="通称", value=details.alias))
    if details.romaji_name is not None:
        rows.append(PrintedItem(label="氏名 (英字)", value=details.romaji_name))
    if details.former_surname is not None:
        rows.append(PrintedItem(label="旧氏", value=details.former_surname))
    rows += [
        PrintedItem(label="生年月日", value=birth_text(person)),
        PrintedItem(label="性別", value=SEX_NAMES[person.sex]),
    ]
    if OptionalItem.HEAD_AND_RELATIONSHIP in chosen:
        rows.append(PrintedItem(label="続柄", value=person.relationship))
    if foreign is not None:
        rows += _foreign_resident_items(foreign, chosen)
    rows += [
        PrintedItem(label="住民となった年月日", value=to_wareki(person.resident_since)),
        PrintedItem(
            label="住所を定めた年月日",
            value=f"{to_wareki(person.address_since)} ({to_wareki(person.notified_date)}届出)",
        ),
    ]
    if person.previous_address is not None:
        rows.append(PrintedItem(label="前住所", value=other_address_text(person.previous_address)))
    if OptionalItem.KOSEKI in chosen and person.koseki is not None:
        rows += [
            PrintedItem(label="本籍", value=person.koseki.domicile),
            PrintedItem(label="筆頭者", value=person.koseki.head),
        ]
    if OptionalItem.RESIDENT_CODE in chosen:
        rows.append(PrintedItem(label="住民票コード", value=person.resident_code or NONE_TEXT))
    if OptionalItem.MY_NUMBER in chosen:
        rows.append(PrintedItem(label="個人番号", value=_my_number(person, my_numbers)))
    if person.removal is not None and kind is not CertificateKind.MOVE_OUT:
        rows += _removal_items(person)
    return PrintedPerson(person_id=person.person_id, name=full_name(person), items=rows)


def _foreign_resident_items(foreign: ForeignResident, chosen: set[OptionalItem]) -> list[PrintedItem]:
    """法第30条の45 items. 国籍・地域 and the status items (区分, 在留資格, 在留期間等, 満了の日 in
    西暦, card number) only when asked for (第12条第5項); 外国人住民となった年月日 always, as 住民と
    なった年月日 is. 通称 is part of the name (施行令第30条の26) and printed with it, above."""
    stay: list[tuple[str, str | None]] = []
    if OptionalItem.NATIONALITY in chosen:
        stay.append(("国籍・地域", foreign.nationality))
    if OptionalItem.RESIDENCE_STATUS in chosen:
        code = foreign.residence_status_code
        stay += [
            ("法第30条の45に規定する区分", CATEGORY_NAMES[foreign.category]),
            ("在留資格", residence_status_text(code) if code is not None else None),
            ("在留期間等", foreign.period_of_stay),
            ("在留期間等の満了の日", to_seireki(foreign.expiry_date) if foreign.expiry_date else None),
            ("在留カード等の番号", foreign.card_number),
        ]
    stay.append(("外国人住民となった年月日", to_wareki(foreign.became_foreign_resident_on)))
    return [PrintedItem(label=label, value=value) for label, value in stay if value is not None]


def _removal_items(person: PersonRecord) -> list[PrintedItem]:
    assert person.removal is not None
    removal = person.removal
    rows = [
        PrintedItem(label="消除の事由", value=REMOVAL_NAMES[removal.reason]),
        PrintedItem(label="消除の年月日", value=to_wareki(removal.removed_on)),
    ]
    moved = person.move_out
    if removal.reason is RemovalReason.MOVE_OUT and moved is not None:
        destination = moved.confirmed_destination or moved.planned_destination
        label = "転出先" if moved.confirmed_destination is not None else "転出先 (予定)"
        rows.append(PrintedItem(label=label, value=other_address_text(destination)))
    return rows


def _my_number(person: PersonRecord, my_numbers: dict[str, str]) -> str:
    if person.my_number is None:
        return NONE_TEXT
    number = my_numbers.get(person.person_id)
    if number is None:
        raise MyNumberNotOpened(f"my_number of {person.person_id} not opened by the caller")
    return number


def _machine_readable(
    subject: CertificateSubject,
    members: list[PersonRecord],
    household: HouseholdRecord,
    head: PersonRecord | None,
) -> str:
    """The 転出 items as compact JSON (for the printed code): what the new municipality keys in.
    Dates in ISO form (machine-read); 個人番号 is left out: a code is copied more easily than paper."""
    details = members[0].move_out
    assert details is not None
    data = {
        "v": 1,
        "type": "move_out",
        "municipality": subject.municipality_name,
        "from": address_text(subject.municipality_name, members[0].address),
        "to": other_address_text(details.planned_destination),
        "planned": details.planned_date.isoformat(),
        "notified": details.notified_date.isoformat(),
        "head": full_name(head) if head is not None else None,
        "persons": [
            {
                "name": full_name(p),
                "kana": f"{p.name.family_name_kana} {p.name.given_name_kana}",
                "birth": p.birth_date.isoformat(),
                "sex": p.sex.value,
                "relationship": p.relationship,
                "resident_code": p.resident_code,
            }
            for p in members
        ],
        "household_id": household.household_id,
    }
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


# -- wording of values ---------------------------------------------------------------------------


def full_name(person: PersonRecord) -> str:
    return f"{person.name.family_name} {person.name.given_name}"


def birth_text(person: PersonRecord) -> str:
    """和暦; a foreign resident's in 西暦; a 不詳日 as recorded (「昭和○○年頃」)."""
    if person.birth_date_partial is not None:
        partial = person.birth_date_partial
        return partial.to_seireki() if person.foreign_resident else partial.to_wareki()
    return to_seireki(person.birth_date) if person.foreign_resident else to_wareki(person.birth_date)


def address_text(municipality: str, address: Address) -> str:
    text = f"{municipality}{address.ward}{address.town}{address.lot}"
    return f"{text} {address.katagaki}" if address.katagaki else text


def other_address_text(address: OtherAddress) -> str:
    parts = f"{address.prefecture or ''}{address.municipality or ''}{address.street}"
    if address.katagaki:
        parts = f"{parts} {address.katagaki}"
    return f"{address.country} {parts}" if address.country else parts


def as_of_day(request: CertificateRequest, today: date) -> date:
    """The day whose records the certificate shows: the one asked for, else today."""
    return request.as_of or today
