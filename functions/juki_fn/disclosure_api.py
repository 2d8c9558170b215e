"""The disclosure request (開示請求) route, included by ``juki_fn.api``.

(No ``from __future__ import annotations`` here: Powertools reads the route signatures at run time.)

The route only calls the service: what goes into the report, the permission, the storage of the
JSON and the PDF and the operation-log entry are ``juki.services.disclosure``'s.
"""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from juki.adapters.disclosure_store import build_disclosure
from juki.bootstrap import services
from juki.domain.staff import Permission
from juki.observability import logger, tracer
from juki.services.disclosure import DisclosureRequest, PreparedDisclosure

from juki_fn.acting import current_actor

JSON = "application/json"

ROUTES: dict[tuple[str, str], Permission] = {
    ("POST", "/persons/{person_id}/disclosure"): Permission.DISCLOSURE,
}

router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated

PersonId = Annotated[str, Path(description="宛名番号 (10桁、検査数字付き)", pattern=r"^\d{10}$")]


@router.post(
    "/persons/<person_id>/disclosure",
    summary="開示請求への回答の作成",
    description=(
        "本人 (または代理人) からの開示請求に対し、システムが保有するその方の情報 (住民票のすべての版、"
        "属した世帯、異動、抑止・支援措置、個人番号、提供・移転の記録、証明書の交付履歴) をまとめた"
        "開示資料を作成し、JSON と PDF を文書バケットに保存します。PDF は5分間有効の署名付き URL で返します。"
        "請求者と確認した本人確認書類は必須です。抑止・支援措置があっても本人の開示は妨げません。"
    ),
    responses={201: {"description": "作成した開示資料", "content": {JSON: {"model": PreparedDisclosure}}}},
    tags=["開示請求"],
)
@tracer.capture_method(capture_response=False, capture_error=False)
def prepare_disclosure(
    person_id: PersonId, request: Annotated[DisclosureRequest, Body(description="開示請求の受付")]
) -> Response[str]:
    prepared = services().part(build_disclosure).prepare(person_id, request, current_actor())
    logger.info(
        "disclosure prepared",
        extra={
            "report_id": prepared.report.report_id,
            "versions": len(prepared.report.records),
            "provisions": len(prepared.report.provisions),
        },
    )
    return Response(status_code=201, content_type=JSON, body=prepared.model_dump_json())
