"""Linkage routes (連携), included by ``juki_fn.api``: provision records (提供・移転の記録), parked
messages and their redrive, and the registry of recipient systems (docs/linkage.md).

(No ``from __future__ import annotations`` here: Powertools reads the route signatures at run time.)
"""

from datetime import datetime
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from juki.adapters.linkage import build_linkage
from juki.adapters.retention_stores import build_retention
from juki.adapters.system import JST
from juki.bootstrap import services
from juki.domain.linkage import ProvisionRecord
from juki.domain.recipients import NewRecipient, RecipientRegistration
from juki.domain.retention import MoveOutCertificate
from juki.domain.staff import Permission
from juki.observability import tracer
from pydantic import BaseModel, Field

from juki_fn.acting import current_actor

JSON = "application/json"
TAGS = ["連携"]

ROUTES: dict[tuple[str, str], Permission] = {
    ("GET", "/persons/{person_id}/provisions"): Permission.AUDIT,
    ("GET", "/linkage/provisions"): Permission.AUDIT,
    ("GET", "/linkage/parked"): Permission.OPERATIONS,
    ("POST", "/linkage/parked/{message_id}/redrive"): Permission.OPERATIONS,
    ("GET", "/linkage/recipients"): Permission.LINKAGE_MANAGE,
    ("POST", "/linkage/recipients"): Permission.LINKAGE_MANAGE,
    ("POST", "/linkage/recipients/{system_id}/approve"): Permission.LINKAGE_MANAGE,
    ("POST", "/linkage/recipients/{system_id}/suspend"): Permission.LINKAGE_MANAGE,
    ("PUT", "/linkage/recipients/{system_id}/fields"): Permission.LINKAGE_MANAGE,
    ("GET", "/move-out-certificates/{certificate_id}"): Permission.MOVEMENT_ENTER,
}

router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated

PersonId = Annotated[str, Path(pattern=r"^\d{10}$", description="宛名番号")]
MessageId = Annotated[
    str, Path(min_length=1, max_length=300, pattern=r"^[0-9A-Za-z:._-]+$", description="通知番号")
]
CertificateId = Annotated[str, Path(pattern=r"^[0-9A-Za-z_-]{1,64}$", description="転出証明書情報の識別子")]
SystemId = Annotated[str, Path(pattern=r"^[a-z][a-z0-9-]{1,39}$", description="連携先システムID")]


class ProvisionList(BaseModel):
    provisions: list[ProvisionRecord]


class ParkedMessage(BaseModel):
    message_id: str = Field(description="通知番号")
    recipient: str = Field(description="送信先")
    kind: str = Field(description="通知の種類")
    lane: str = Field(description="順序の単位 (送信先の種類と宛名番号)")
    sequence: int = Field(description="更新順番号 (記録の履歴番号)")
    attempts: int = Field(description="送信を試みた回数")
    last_error: str | None = Field(description="最後の失敗のコード")


class ParkedList(BaseModel):
    messages: list[ParkedMessage]


class RecipientList(BaseModel):
    recipients: list[RecipientRegistration]


class FieldChange(BaseModel):
    fields: list[str] = Field(min_length=1, description="受け取る項目 (変更後は承認まで送信しません)")


@router.get(
    "/persons/<person_id>/provisions",
    summary="提供・移転の記録 (本人ごと)",
    description="その人の情報を送った記録 (送信先、根拠法令、項目、日時、結果)。照会は操作ログに残ります。",
    tags=TAGS,
)
@tracer.capture_method(capture_response=False, capture_error=False)
def person_provisions(person_id: PersonId) -> ProvisionList:
    return ProvisionList(provisions=services().part(build_linkage).provisions_for(person_id, current_actor()))


@router.get(
    "/linkage/provisions",
    summary="提供・移転の記録 (送信先と期間)",
    description="送信先ごとの記録を期間 (31日以内) で検索します。",
    tags=TAGS,
)
@tracer.capture_method(capture_response=False, capture_error=False)
def provisions_to(
    recipient: Annotated[
        str, Query(min_length=2, max_length=60, pattern=r"^[a-z][a-z0-9.-]+$", description="送信先")
    ],
    start: Annotated[datetime, Query(alias="from", description="開始日時 (ISO 8601)")],
    end: Annotated[datetime, Query(alias="to", description="終了日時 (ISO 8601)")],
) -> ProvisionList:
    # The records are keyed by their time in JST: a bound given in another zone is moved into it.
    start, end = (
        (moment.astimezone(JST) if moment.tzinfo else moment.replace(tzinfo=JST)) for moment in (start, end)
    )
    found = services().part(build_linkage).provisions_to(recipient, start, end, current_actor())
    return ProvisionList(provisions=found)


@router.get(
    "/linkage/parked",
    summary="保留中の連携メッセージ",
    description=(
        "再送を繰り返しても届かず保留になったメッセージ (個人の情報は含みません)。"
        "保留の間、同じ人の後続は送られません。"
    ),
    tags=TAGS,
)
@tracer.capture_method(capture_response=False, capture_error=False)
def parked_messages() -> ParkedList:
    waiting = services().part(build_linkage).parked(current_actor())
    return ParkedList(
        messages=[
            ParkedMessage(
                message_id=w.message.message_id,
                recipient=w.message.recipient,
                kind=w.message.kind,
                lane=w.message.lane,
                sequence=w.message.sequence,
                attempts=w.attempts,
                last_error=w.last_error,
            )
            for w in waiting
        ]
    )


@router.post(
    "/linkage/parked/<message_id>/redrive",
    summary="保留メッセージの再送",
    description="保留を解除して送信待ちに戻します (試行回数は 0 から)。次の送信で順に送られます。",
    responses={202: {"description": "送信待ちに戻しました"}},
    tags=TAGS,
)
@tracer.capture_method(capture_response=False, capture_error=False)
def redrive(message_id: MessageId) -> Response[str]:
    services().part(build_linkage).redrive(message_id, current_actor())
    return Response(status_code=202, content_type=JSON, body='{"status": "pending"}')


@router.get("/linkage/recipients", summary="連携先システムの一覧", tags=TAGS)
@tracer.capture_method(capture_response=False, capture_error=False)
def list_recipients() -> RecipientList:
    return RecipientList(recipients=services().part(build_linkage).recipients(current_actor()))


@router.post(
    "/linkage/recipients",
    summary="連携先システムの登録",
    description="根拠法令と受け取る項目を登録します。別の職員が承認するまで何も送りません。",
    responses={201: {"description": "登録した連携先", "content": {JSON: {"model": RecipientRegistration}}}},
    tags=TAGS,
)
@tracer.capture_method(capture_response=False, capture_error=False)
def register_recipient(new: Annotated[NewRecipient, Body(description="連携先")]) -> Response[str]:
    registration = services().part(build_linkage).register(new, current_actor())
    return Response(status_code=201, content_type=JSON, body=registration.model_dump_json())


@router.post("/linkage/recipients/<system_id>/approve", summary="連携先システムの承認", tags=TAGS)
@tracer.capture_method(capture_response=False, capture_error=False)
def approve_recipient(system_id: SystemId) -> RecipientRegistration:
    return services().part(build_linkage).approve(system_id, current_actor())


@router.post("/linkage/recipients/<system_id>/suspend", summary="連携先システムの停止", tags=TAGS)
@tracer.capture_method(capture_response=False, capture_error=False)
def suspend_recipient(system_id: SystemId) -> RecipientRegistration:
    return services().part(build_linkage).suspend(system_id, current_actor())


@router.put("/linkage/recipients/<system_id>/fields", summary="受け取る項目の変更", tags=TAGS)
@tracer.capture_method(capture_response=False, capture_error=False)
def change_recipient_fields(
    system_id: SystemId, change: Annotated[FieldChange, Body()]
) -> RecipientRegistration:
    return services().part(build_linkage).change_fields(system_id, change.fields, current_actor())


@router.get(
    "/move-out-certificates/<certificate_id>",
    summary="転出証明書情報 (特例転入の受付)",
    description=(
        "CS から受信した転出証明書情報を返します。窓口はこれを本人と確認して特例転入 (move_in_type=card) "
        "を入力します。使用済み・期間切れ・未受信は 404 または 422。照会は操作ログに残ります。"
    ),
    responses={404: {"description": "受信前、使用済み、または消去済み (MOVE_OUT_CERTIFICATE_NOT_FOUND)"}},
    tags=TAGS,
)
@tracer.capture_method(capture_response=False, capture_error=False)
def move_out_certificate(certificate_id: CertificateId) -> MoveOutCertificate:
    return services().part(build_retention).move_out_certificate(certificate_id, current_actor())
