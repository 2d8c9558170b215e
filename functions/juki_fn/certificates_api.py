"""Certificate routes (証明書の交付), included by ``juki_fn.api``.

(No ``from __future__ import annotations`` here: Powertools reads the route signatures at run time.)

The routes only call the service: the rules (drafts, restrictions, alerts), the numbering, the
storage of the PDF, the 交付履歴 and the operation-log entry are ``juki.services.certificates``'s.
The ``/kiosk/`` route is the certificate-issuing system's (コンビニ交付), authenticated by the
handler from the caller's IAM role and terminal header, never by a staff token.
"""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from juki.adapters.certificates import build_certificates
from juki.bootstrap import services
from juki.domain.certificates import CertificateRequest
from juki.domain.staff import Permission
from juki.observability import logger, tracer
from juki.services.certificates import CertificateHistoryList, IssuedResult, KioskCertificateRequest

from juki_fn.acting import current_actor

JSON = "application/json"

# The history is listed with ``certificate.issue``, not ``resident.read``: it names who asked for
# a person's certificates and why (third parties included), which the counter issuing them needs
# and other departments do not.
ROUTES: dict[tuple[str, str], Permission] = {
    ("POST", "/certificates"): Permission.CERTIFICATE_ISSUE,
    ("GET", "/persons/{person_id}/certificates"): Permission.CERTIFICATE_ISSUE,
    ("POST", "/kiosk/certificates"): Permission.KIOSK_ISSUE,
    ("POST", "/movements/{movement_id}/move-out-certificate"): Permission.CERTIFICATE_ISSUE,
    ("GET", "/movements/{movement_id}/move-out-certificate"): Permission.CERTIFICATE_ISSUE,
}

router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated

PersonId = Annotated[str, Path(description="宛名番号 (10桁、検査数字付き)", pattern=r"^\d{10}$")]
MovementId = Annotated[str, Path(description="異動番号", pattern=r"^[0-9a-f]{32}$")]


def _issued_responses() -> dict[int, OpenAPIResponse]:
    return {201: {"description": "交付した証明書", "content": {JSON: {"model": IssuedResult}}}}


def _issued(result: IssuedResult) -> Response[str]:
    logger.info(
        "certificate issued",
        extra={"issue_id": result.issue_id, "documents": len(result.issue_numbers), "pages": result.pages},
    )
    return Response(status_code=201, content_type=JSON, body=result.model_dump_json())


@router.post(
    "/certificates",
    summary="証明書の交付",
    description=(
        "住民票の写し・除票の写し・記載事項証明書・転出証明書を作成し、PDF を文書バケットに保存して"
        "5分間有効の署名付き URL で返します (個人番号を記載した PDF は保存せず pdf_base64 で返します)。"
        "仮登録中の異動がある人、抑止・支援措置でエラーになる人は"
        "交付できません。アラートは内容を確認した職員が acknowledged_alerts を true にして請求し直します。"
        "交付履歴と操作ログは一つのトランザクションで記録します。"
    ),
    responses=_issued_responses(),
    tags=["証明書"],
)
@tracer.capture_method(capture_response=False, capture_error=False)
def issue_certificate(
    request: Annotated[CertificateRequest, Body(description="証明書の請求")],
) -> Response[str]:
    return _issued(services().part(build_certificates).issue(request, current_actor()))


@router.get(
    "/persons/<person_id>/certificates",
    summary="証明書の交付履歴",
    description=(
        "その人が記載された証明書の交付履歴 (請求者・目的・記載項目・職員・端末・PDF のハッシュ) を"
        "新しい順に返します。"
    ),
    tags=["証明書"],
)
@tracer.capture_method(capture_response=False, capture_error=False)
def list_certificates(person_id: PersonId) -> CertificateHistoryList:
    return services().part(build_certificates).history(person_id, current_actor())


@router.post(
    "/kiosk/certificates",
    summary="コンビニ交付: 住民票の写し",
    description=(
        "証明発行システムが、カードで本人確認した住民の住民票の写し (本人のみ・世帯全員) を請求します。"
        "抑止・支援措置はエラーもアラートも交付不可です。すべての請求を操作ログに記録します。"
    ),
    responses=_issued_responses(),
    tags=["証明書"],
)
@tracer.capture_method(capture_response=False, capture_error=False)
def issue_at_kiosk(
    request: Annotated[KioskCertificateRequest, Body(description="コンビニ交付の請求")],
) -> Response[str]:
    return _issued(services().part(build_certificates).issue_at_kiosk(request, current_actor()))


@router.get(
    "/movements/<movement_id>/move-out-certificate",
    summary="自動印刷した転出証明書",
    description=(
        "特例転出でない転出の本登録に続けて自動で作成した転出証明書 (交付番号・枚数・ハッシュと、"
        "5分間有効の署名付き URL) を返します。保存する証明書なので個人番号は記載していません"
        " (省略の旨を記載)。まだ無いとき (本登録前、特例転出、印刷の失敗) は 404 "
        "MOVE_OUT_CERTIFICATE_NOT_PRINTED で、POST で交付できます。"
    ),
    tags=["証明書"],
)
@tracer.capture_method(capture_response=False, capture_error=False)
def automatic_move_out_certificate(movement_id: MovementId) -> IssuedResult:
    return services().part(build_certificates).automatic_move_out_certificate(movement_id, current_actor())


@router.post(
    "/movements/<movement_id>/move-out-certificate",
    summary="転出証明書の交付 (再印刷・個人番号の記載)",
    description=(
        "本登録した転出 (特例転出を除く) の転出証明書を、届出の内容のまま新しい交付番号で作成します。"
        "記載する人・転出先・転出予定日は異動から取り、手数料は無料です。個人番号を記載するため保存せず、"
        "pdf_base64 で返します (個人番号のない人だけなら保存して URL で返します)。"
    ),
    responses=_issued_responses(),
    tags=["証明書"],
)
@tracer.capture_method(capture_response=False, capture_error=False)
def issue_move_out_certificate(movement_id: MovementId) -> Response[str]:
    return _issued(services().part(build_certificates).issue_for_move_out(movement_id, current_actor()))
