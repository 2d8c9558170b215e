"""The private API for counter terminals and calling systems.

(No ``from __future__ import annotations`` here: Powertools reads the route signatures at run time.)

Calling systems authenticate with SigV4 (API Gateway's IAM authorisation); the acting staff
member with the short-lived token in ``X-Juki-Staff-Token``, checked before anything else.
Every route names the permission it needs in ``ROUTE_PERMISSIONS``; a route without an entry
is refused (deny by default).
"""

import json
import re
import traceback
from datetime import date
from functools import partial
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.shared.json_encoder import Encoder
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from aws_lambda_powertools.utilities.typing import LambdaContext
from juki.adapters.staff_token import unverified_subject
from juki.bootstrap import services
from juki.domain.commands import MovementCommand
from juki.domain.errors import DomainError, Forbidden, NotFound, Unauthenticated
from juki.domain.model import MovementStatus
from juki.domain.staff import Actor, Permission, Role
from juki.observability import logger, tracer
from juki.services.inquiry import (
    HouseholdList,
    HouseholdView,
    PersonHistory,
    PersonList,
    PersonView,
    RevealedMyNumber,
)
from juki.services.movements import MovementView, Preview
from pydantic import BaseModel, Field, StringConstraints

from juki_fn.acting import acting_as, current_actor, done
from juki_fn.audit_api import ROUTES as AUDIT_ROUTES
from juki_fn.audit_api import router as audit_router
from juki_fn.certificates_api import ROUTES as CERTIFICATE_ROUTES
from juki_fn.certificates_api import router as certificates_router
from juki_fn.consistency_api import ROUTES as CONSISTENCY_ROUTES
from juki_fn.consistency_api import router as consistency_router
from juki_fn.disclosure_api import ROUTES as DISCLOSURE_ROUTES
from juki_fn.disclosure_api import router as disclosure_router
from juki_fn.errors import (
    ERROR_STATUSES,
    ErrorResponse,
    UnsupportedMediaType,
    error_body,
    validation_error_body,
)
from juki_fn.extracts_api import ROUTES as EXTRACT_ROUTES
from juki_fn.extracts_api import router as extracts_router
from juki_fn.linkage_api import ROUTES as LINKAGE_ROUTES
from juki_fn.linkage_api import router as linkage_router
from juki_fn.operations_api import ROUTES as OPERATIONS_ROUTES
from juki_fn.operations_api import router as operations_router
from juki_fn.restrictions_api import ROUTES as RESTRICTION_ROUTES
from juki_fn.restrictions_api import router as restriction_router
from juki_fn.search_api import ROUTES as SEARCH_ROUTES
from juki_fn.search_api import router as search_router
from juki_fn.staff_api import ROUTES as STAFF_ROUTES
from juki_fn.staff_api import router as staff_router
from juki_fn.unusual_access_api import ROUTES as UNUSUAL_ACCESS_ROUTES
from juki_fn.unusual_access_api import router as unusual_access_router

STAFF_TOKEN_HEADER = "X-Juki-Staff-Token"
JSON = "application/json"

ROUTE_PERMISSIONS: dict[tuple[str, str], Permission] = {
    ("POST", "/movements"): Permission.MOVEMENT_ENTER,
    ("GET", "/movements"): Permission.RESIDENT_READ,
    ("GET", "/movements/{movement_id}"): Permission.RESIDENT_READ,
    ("GET", "/movements/{movement_id}/preview"): Permission.MOVEMENT_APPROVE,
    ("POST", "/movements/{movement_id}/approve"): Permission.MOVEMENT_APPROVE,
    ("POST", "/movements/{movement_id}/reject"): Permission.MOVEMENT_APPROVE,
    ("GET", "/households/{household_id}"): Permission.RESIDENT_READ,
    ("GET", "/persons/{person_id}"): Permission.RESIDENT_READ,
    ("GET", "/persons/{person_id}/history"): Permission.RESIDENT_READ,
    ("POST", "/persons/{person_id}/my-number"): Permission.MY_NUMBER_REVEAL,
    ("GET", "/lists/unconfirmed-move-outs"): Permission.RESIDENT_READ,
    ("GET", "/lists/headless-households"): Permission.RESIDENT_READ,
    **RESTRICTION_ROUTES,
    **SEARCH_ROUTES,
    **STAFF_ROUTES,
    **OPERATIONS_ROUTES,
    **UNUSUAL_ACCESS_ROUTES,
    **CONSISTENCY_ROUTES,
    **DISCLOSURE_ROUTES,
    **AUDIT_ROUTES,
    **CERTIFICATE_ROUTES,
    **LINKAGE_ROUTES,
    **EXTRACT_ROUTES,
}

# Japanese stays readable in responses (UTF-8), rather than \u escapes.
app = APIGatewayRestResolver(
    enable_validation=True,
    serializer=partial(json.dumps, separators=(",", ":"), ensure_ascii=False, cls=Encoder),
)

MovementId = Annotated[str, Path(description="異動番号", pattern=r"^[0-9a-f]{32}$")]
HouseholdId = Annotated[str, Path(description="世帯番号 (10桁、検査数字付き)", pattern=r"^\d{10}$")]
PersonId = Annotated[str, Path(description="宛名番号 (10桁、検査数字付き)", pattern=r"^\d{10}$")]
AsOf = Annotated[date | None, Query(description="この日の内容 (YYYY-MM-DD、省略すると今日)")]


class Rejection(BaseModel):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] = Field(
        description="差戻しの理由"
    )


class RevealRequest(BaseModel):
    purpose: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] = Field(
        description="表示の目的 (例: 個人番号カード交付の本人確認)"
    )


class MovementList(BaseModel):
    movements: list[MovementView] = Field(description="異動 (入力日時の順)")


def _json(status: int, body: Any) -> Response[str]:
    return Response(status_code=status, content_type=JSON, body=json.dumps(body, ensure_ascii=False))


def _template_pattern(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template)) + "/?$")


# Fixed templates first, then those with fewer parameters: "/search/persons/by-my-number" wins over
# a template with a parameter in that place.
_ROUTE_PATTERNS = sorted(
    ((method, template, _template_pattern(template)) for method, template in ROUTE_PERMISSIONS),
    key=lambda route: (route[1].count("{"), -len(route[1])),
)


def permission_for(method: str, path: str) -> Permission | None:
    """The permission a request needs, from the one table; None when no route matches."""
    for route_method, template, pattern in _ROUTE_PATTERNS:
        if route_method == method and pattern.match(path):
            return ROUTE_PERMISSIONS[(route_method, template)]
    return None


def _authorise_request(actor: Actor, method: str, path: str) -> None:
    """Deny before anything else reads the request: a caller who may not use a route learns
    nothing about it, not even whether the request would have been valid."""
    permission = permission_for(method, path)
    if permission is None:
        raise NotFound("ROUTE_NOT_FOUND", "そのような操作はありません")
    if not actor.may(permission):
        raise Forbidden("PERMISSION_DENIED", "この操作の権限がありません")


def _only_json(request: APIGatewayProxyEvent) -> None:
    """The API reads JSON bodies only; any other declared type is refused before it is parsed."""
    declared = (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    if request.body and declared and declared != JSON and not declared.endswith("+json"):
        raise UnsupportedMediaType(
            "UNSUPPORTED_MEDIA_TYPE", "本文は application/json で送ってください", "Content-Type"
        )


def authorise(router: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[Any]:
    """The same check on the route Powertools matched (defence in depth: both must agree)."""
    route = router.context.get("_route")
    permission = ROUTE_PERMISSIONS.get((route.method, route.openapi_path)) if route else None
    if permission is None:  # no such route, or a route nobody may call: nothing runs
        raise NotFound("ROUTE_NOT_FOUND", "そのような操作はありません")
    if not current_actor().may(permission):
        raise Forbidden("PERMISSION_DENIED", "この操作の権限がありません")
    return next_middleware(router)


app.use(middlewares=[authorise])
app.include_router(restriction_router)
app.include_router(search_router)
app.include_router(staff_router)
app.include_router(operations_router)
app.include_router(unusual_access_router)
app.include_router(consistency_router)
app.include_router(disclosure_router)
app.include_router(audit_router)
app.include_router(certificates_router)
app.include_router(linkage_router)
app.include_router(extracts_router)


@app.post(
    "/movements",
    summary="異動の仮登録",
    description=(
        "届出 (転入・転居・転出・出生・死亡・世帯主変更・世帯分離・職権修正・異動の取消し など) を"
        "仮登録します。"
        "kind で種類を選びます。別の職員が決裁するまで台帳には記録されません。"
    ),
    responses={201: {"description": "仮登録した異動", "content": {JSON: {"model": MovementView}}}},
    tags=["異動"],
)
@tracer.capture_method(capture_response=False, capture_error=False)
def enter_movement(command: Annotated[MovementCommand, Body(description="届出の内容")]) -> Response[str]:
    movement = services().movements.enter(command, current_actor())
    return Response(status_code=201, content_type=JSON, body=movement.model_dump_json())


@app.get("/movements", summary="決裁待ちの異動の一覧", tags=["異動"])
@tracer.capture_method(capture_response=False, capture_error=False)
def list_drafts() -> MovementList:
    return MovementList(movements=services().movements.drafts(current_actor()))


@app.get("/movements/<movement_id>", summary="異動の照会", tags=["異動"])
@tracer.capture_method(capture_response=False, capture_error=False)
def get_movement(movement_id: MovementId) -> MovementView:
    return services().movements.get(movement_id, current_actor())


@app.get(
    "/movements/<movement_id>/preview",
    summary="審査: 異動の変更前・変更後",
    description="決裁の前に、今の台帳で確認したエラー・アラートと、記録ごとの変更前・変更後を返します。",
    tags=["異動"],
)
@tracer.capture_method(capture_response=False, capture_error=False)
def preview_movement(movement_id: MovementId) -> Preview:
    return services().movements.preview(movement_id, current_actor())


@app.post(
    "/movements/<movement_id>/approve",
    summary="異動の決裁 (本登録)",
    description=(
        "入力者と別の職員が決裁し、状態機械が現在の台帳で再確認して一つのトランザクションで本登録します。"
        "本登録が終われば 200、処理中なら 202 を返します。"
    ),
    responses={
        200: {"description": "本登録した異動", "content": {JSON: {"model": MovementView}}},
        202: {"description": "決裁済み、本登録の処理中", "content": {JSON: {"model": MovementView}}},
    },
    tags=["異動"],
)
@tracer.capture_method(capture_response=False, capture_error=False)
def approve_movement(movement_id: MovementId) -> Response[str]:
    settings = services().settings
    outcome = services().movements.approve(movement_id, current_actor(), settings.approval_wait_seconds)
    status = 200 if outcome.movement.status == MovementStatus.FINAL else 202
    return Response(status_code=status, content_type=JSON, body=outcome.movement.model_dump_json())


@app.post("/movements/<movement_id>/reject", summary="異動の差戻し", tags=["異動"])
@tracer.capture_method(capture_response=False, capture_error=False)
def reject_movement(movement_id: MovementId, rejection: Annotated[Rejection, Body()]) -> MovementView:
    return services().movements.reject(movement_id, current_actor(), rejection.reason)


@app.get("/households/<household_id>", summary="世帯の照会 (世帯員を含む、過去の日付も可)", tags=["照会"])
@tracer.capture_method(capture_response=False, capture_error=False)
def get_household(household_id: HouseholdId, as_of: AsOf = None) -> HouseholdView:
    return services().inquiry.household(household_id, current_actor(), as_of)


@app.get("/persons/<person_id>", summary="住民の照会 (過去の日付も可)", tags=["照会"])
@tracer.capture_method(capture_response=False, capture_error=False)
def get_person(person_id: PersonId, as_of: AsOf = None) -> PersonView:
    return services().inquiry.person(person_id, current_actor(), as_of)


@app.get("/persons/<person_id>/history", summary="住民の履歴 (すべての版)", tags=["照会"])
@tracer.capture_method(capture_response=False, capture_error=False)
def get_person_history(person_id: PersonId) -> PersonHistory:
    return services().inquiry.person_history(person_id, current_actor())


@app.post(
    "/persons/<person_id>/my-number",
    summary="個人番号の表示 (目的を記録)",
    description="権限のある職員が目的を示して個人番号を表示します。表示したことと目的は操作ログに記録されます。",
    tags=["照会"],
)
@tracer.capture_method(capture_response=False, capture_error=False)
def reveal_my_number(person_id: PersonId, request: Annotated[RevealRequest, Body()]) -> RevealedMyNumber:
    return services().inquiry.reveal_my_number(person_id, request.purpose, current_actor())


@app.get("/lists/unconfirmed-move-outs", summary="転入通知が届いていない転出の一覧", tags=["一覧"])
@tracer.capture_method(capture_response=False, capture_error=False)
def list_unconfirmed_move_outs() -> PersonList:
    return services().inquiry.unconfirmed_move_outs(current_actor())


@app.get("/lists/headless-households", summary="世帯主のいない世帯の一覧", tags=["一覧"])
@tracer.capture_method(capture_response=False, capture_error=False)
def list_headless_households() -> HouseholdList:
    return services().inquiry.headless_households(current_actor())


@app.exception_handler(DomainError)
def domain_error(error: DomainError) -> Response[str]:
    logger.info("refused", extra={"code": error.code, "status": error.status})
    return _json(error.status, error_body(error.code, error.message, error.field, list(error.issues)))


@app.exception_handler(RequestUnsupportedContentType)
def unsupported_content_type(error: RequestUnsupportedContentType) -> Response[str]:
    logger.info("refused", extra={"code": "UNSUPPORTED_MEDIA_TYPE", "status": 415})
    return _json(
        415, error_body("UNSUPPORTED_MEDIA_TYPE", "本文は application/json で送ってください", "Content-Type")
    )


@app.exception_handler([UnicodeDecodeError, RecursionError])
def unreadable_body(error: Exception) -> Response[str]:
    logger.info("unreadable body", extra={"error": type(error).__name__})
    return _json(
        400,
        error_body("BODY_INVALID", "リクエスト本文を読み取れません (UTF-8 の JSON で送ってください)", "body"),
    )


@app.exception_handler(Exception)
def unexpected_error(error: Exception) -> Response[str]:
    """A fault of ours: the client gets a code and the request id, the log gets the error's type
    and where it happened, never its message (it could carry personal data)."""
    logger.error(
        "unexpected error",
        extra={"error": type(error).__name__, "at": traceback.format_tb(error.__traceback__)[-3:]},
    )
    request_id = app.current_event.request_context.request_id
    return _json(
        500, error_body("INTERNAL_ERROR", f"システムエラーが発生しました (リクエストID {request_id})")
    )


@app.exception_handler(RequestValidationError)
def request_validation_error(error: RequestValidationError) -> Response[str]:
    body = validation_error_body(error.errors())
    logger.info("invalid request", extra={"code": body["error"]["code"], "field": body["error"]["field"]})
    return _json(422, body)


def openapi_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(
        app.get_openapi_json_schema(
            title="Juki 住民記録システム API",
            version="0.1.0",
            description=(
                "閉域網の庁内端末・連携システムから呼び出すプライベートAPI。呼出元システムは SigV4 で署名し、"
                f"操作する職員は {STAFF_TOKEN_HEADER} ヘッダーの短期トークン (ES256) で識別します。"
            ),
            security_schemes={
                "sigv4": APIKey(name="Authorization", in_=APIKeyIn.header, description="AWS SigV4 (IAM)"),
                "staffToken": APIKey(
                    name=STAFF_TOKEN_HEADER, in_=APIKeyIn.header, description="職員トークン"
                ),
            },
            security=[{"sigv4": [], "staffToken": []}],
        )
    )
    return _with_error_responses(schema)


def _with_error_responses(schema: dict[str, Any]) -> dict[str, Any]:
    """Every operation documents the one error shape for the statuses it can answer with; the
    validation error Powertools describes (``HTTPValidationError``) is not what the API returns."""
    error_schema = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(error_schema.pop("$defs", {}))
    schemas["ErrorResponse"] = error_schema
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    reference = {JSON: {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}
    for operations in schema.get("paths", {}).values():
        for method, operation in operations.items():
            has_body = "requestBody" in operation
            for status, text in ERROR_STATUSES.items():
                if status in (400, 415) and not has_body:
                    continue
                if status == 409 and method not in ("post", "put"):
                    continue
                described = operation["responses"].get(str(status), {}).get("description")
                operation["responses"][str(status)] = {"description": described or text, "content": reference}
    return schema


KIOSK_PREFIX = "/kiosk/"
KIOSK_TERMINAL_HEADER = "X-Juki-Kiosk-Terminal"
KIOSK_TERMINAL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{2,39}$")


def _authenticate(event: APIGatewayProxyEvent) -> Actor:
    """A valid token of a registered, active staff member signing in from one of their offices.
    The roles come from the staff register, read on every request, so a disabled or transferred
    account is refused at once. The ``/kiosk/`` routes are the certificate-issuing system's
    (コンビニ交付): a machine, identified by its IAM role alone, acting for a card-authenticated
    resident; no staff token there, and no other caller may use them."""
    caller = event.request_context.identity.user_arn or "unknown"
    if event.path.startswith(KIOSK_PREFIX):
        return _kiosk(event, caller)
    claims = services().tokens.claims(event.headers.get(STAFF_TOKEN_HEADER))
    roles = services().staff.admit(claims.staff_id, claims.office)
    return Actor(
        staff_id=claims.staff_id,
        roles=roles,
        office=claims.office,
        terminal=claims.terminal,
        caller=caller,
        request_id=event.request_context.request_id,
    )


def _kiosk(event: APIGatewayProxyEvent, caller: str) -> Actor:
    if caller not in services().settings.kiosk_callers:
        raise Forbidden("KIOSK_CALLER_NOT_ALLOWED", "この呼出元はコンビニ交付の操作を使えません")
    terminal = event.headers.get(KIOSK_TERMINAL_HEADER) or ""
    if not KIOSK_TERMINAL.match(terminal):
        raise Unauthenticated(
            "KIOSK_TERMINAL_MISSING", "キオスク端末の識別がありません", KIOSK_TERMINAL_HEADER
        )
    return Actor(
        staff_id="system:kiosk",
        roles=frozenset({Role.KIOSK}),
        office="コンビニ交付",
        terminal=terminal,
        caller=caller,
        request_id=event.request_context.request_id,
    )


def _log_refused_sign_in(event: APIGatewayProxyEvent, error: DomainError) -> None:
    services().staff.record_refused_sign_in(
        claimed=unverified_subject(event.headers.get(STAFF_TOKEN_HEADER)),
        caller=event.request_context.identity.user_arn or "unknown",
        request_id=event.request_context.request_id,
        route=f"{event.http_method} {event.resource or event.path}",
        code=error.code,
    )


def _refusal(error: DomainError, status: int | None = None) -> dict[str, Any]:
    return {
        "statusCode": status or error.status,
        "headers": {"Content-Type": JSON},
        "body": json.dumps(error_body(error.code, error.message, error.field), ensure_ascii=False),
        "isBase64Encoded": False,
    }


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Who is acting is settled first, before the request is read any further: a caller without
    a valid staff token learns nothing, not even whether its body would have been valid."""
    request = APIGatewayProxyEvent(event)
    try:
        actor = _authenticate(request)
    except DomainError as error:
        logger.info("refused", extra={"code": error.code, "status": error.status})
        try:
            _log_refused_sign_in(request, error)
        except Exception as fault:  # the refusal stands even if its log entry fails
            logger.error("refused sign-in not logged", extra={"error": type(fault).__name__})
        return _refusal(error)
    except Exception as fault:  # the register could not be read: nobody is let in
        logger.error("sign-in check failed", extra={"error": type(fault).__name__})
        return _refusal(
            DomainError("SERVICE_UNAVAILABLE", "職員の確認ができません。しばらくしてからやり直してください"),
            status=503,
        )
    try:
        _authorise_request(actor, request.http_method, request.path)
        _only_json(request)
    except DomainError as error:
        logger.info("refused", extra={"code": error.code, "status": error.status, "staff_id": actor.staff_id})
        return _refusal(error)
    logger.append_keys(staff_id=actor.staff_id, terminal=actor.terminal)
    token = acting_as(actor)
    try:
        return app.resolve(event, context)
    finally:
        done(token)
