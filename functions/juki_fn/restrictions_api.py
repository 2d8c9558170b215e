"""Routes for restrictions (抑止) and support measures (支援措置), included by ``juki_fn.api``.

(No ``from __future__ import annotations`` here: Powertools reads the route signatures at run time.)

The acting staff member comes from ``juki_fn.acting`` (set by the handler before it resolves the
request). ``ROUTES`` names the permission of each route, for ``ROUTE_PERMISSIONS``.
"""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from juki.bootstrap import services
from juki.domain.restrictions import (
    NewRestriction,
    NewSupportMeasure,
    Restriction,
    SupportMeasure,
    TargetKind,
    TemporaryReleaseRequest,
)
from juki.domain.staff import Permission
from juki.observability import tracer
from juki.services.restrictions import RestrictionList, SupportMeasureList

from juki_fn.acting import current_actor

JSON = "application/json"
TAGS = ["抑止・支援措置"]

ROUTES: dict[tuple[str, str], Permission] = {
    ("POST", "/restrictions"): Permission.RESTRICTION_MANAGE,
    ("POST", "/restrictions/{restriction_id}/release"): Permission.RESTRICTION_MANAGE,
    ("POST", "/restrictions/{restriction_id}/end"): Permission.RESTRICTION_MANAGE,
    ("GET", "/persons/{person_id}/restrictions"): Permission.RESTRICTION_MANAGE,
    ("GET", "/households/{household_id}/restrictions"): Permission.RESTRICTION_MANAGE,
    ("POST", "/support-measures"): Permission.RESTRICTION_MANAGE,
    ("GET", "/support-measures"): Permission.RESTRICTION_MANAGE,
    ("POST", "/support-measures/{measure_id}/extend"): Permission.RESTRICTION_MANAGE,
    ("POST", "/support-measures/{measure_id}/decide"): Permission.RESTRICTION_MANAGE,
    ("POST", "/support-measures/{measure_id}/end"): Permission.RESTRICTION_MANAGE,
}

router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated

RestrictionId = Annotated[str, Path(description="抑止番号", pattern=r"^[0-9a-f]{32}$")]
MeasureId = Annotated[str, Path(description="支援措置番号", pattern=r"^[0-9a-f]{32}$")]
PersonId = Annotated[str, Path(description="宛名番号 (10桁、検査数字付き)", pattern=r"^\d{10}$")]
HouseholdId = Annotated[str, Path(description="世帯番号 (10桁、検査数字付き)", pattern=r"^\d{10}$")]
ExpiringWithinDays = Annotated[
    int | None,
    Query(ge=0, le=366, description="この日数以内に期間が終了するものだけ (省略するとすべての有効な措置)"),
]


def _created(record: Restriction | SupportMeasure) -> Response[str]:
    return Response(status_code=201, content_type=JSON, body=record.model_dump_json())


@router.post(
    "/restrictions",
    summary="抑止の設定",
    description=(
        "個人または世帯に、業務 (異動入力・証明発行・照会) ごとの抑止を設定します。"
        "error は処理不可、alert は警告 (権限のある職員は続行可) です。"
    ),
    responses={201: {"description": "設定した抑止", "content": {JSON: {"model": Restriction}}}},
    tags=TAGS,
)
@tracer.capture_method(capture_response=False, capture_error=False)
def add_restriction(request: Annotated[NewRestriction, Body(description="抑止の内容")]) -> Response[str]:
    return _created(services().restrictions.add(request, current_actor()))


@router.post(
    "/restrictions/<restriction_id>/release",
    summary="抑止の一時解除",
    description="指定した日時 (最長7日後) まで抑止を止めます。その日時を過ぎると自動的に抑止に戻ります。",
    tags=TAGS,
)
@tracer.capture_method(capture_response=False, capture_error=False)
def release_restriction(
    restriction_id: RestrictionId, request: Annotated[TemporaryReleaseRequest, Body()]
) -> Restriction:
    return services().restrictions.release(restriction_id, request, current_actor())


@router.post(
    "/restrictions/<restriction_id>/end",
    summary="抑止の解除 (終了)",
    description="今から抑止を終了します。記録は残ります。",
    tags=TAGS,
)
@tracer.capture_method(capture_response=False, capture_error=False)
def end_restriction(restriction_id: RestrictionId) -> Restriction:
    return services().restrictions.end(restriction_id, current_actor())


@router.get("/persons/<person_id>/restrictions", summary="個人の抑止・支援措置の一覧", tags=TAGS)
@tracer.capture_method(capture_response=False, capture_error=False)
def person_restrictions(person_id: PersonId) -> RestrictionList:
    return services().restrictions.on_target(TargetKind.PERSON, person_id, current_actor())


@router.get("/households/<household_id>/restrictions", summary="世帯の抑止の一覧", tags=TAGS)
@tracer.capture_method(capture_response=False, capture_error=False)
def household_restrictions(household_id: HouseholdId) -> RestrictionList:
    return services().restrictions.on_target(TargetKind.HOUSEHOLD, household_id, current_actor())


@router.post(
    "/support-measures",
    summary="支援措置・仮支援措置の開始",
    description=(
        "支援措置の期間は開始日から1年です。仮支援措置は支援措置の決定まで、開始日から最長30日です。"
        "支援措置の対象者は証明発行ができず、照会と異動入力ではアラートになります。"
    ),
    responses={201: {"description": "開始した支援措置", "content": {JSON: {"model": SupportMeasure}}}},
    tags=TAGS,
)
@tracer.capture_method(capture_response=False, capture_error=False)
def add_support_measure(
    request: Annotated[NewSupportMeasure, Body(description="支援措置の内容")],
) -> Response[str]:
    return _created(services().restrictions.add_support_measure(request, current_actor()))


@router.get(
    "/support-measures",
    summary="支援措置の一覧 (期間終了が近いもの)",
    description="期間が終了していない支援措置・仮支援措置を終了日の順に返します。",
    tags=TAGS,
)
@tracer.capture_method(capture_response=False, capture_error=False)
def list_support_measures(expiring_within_days: ExpiringWithinDays = None) -> SupportMeasureList:
    return services().restrictions.support_measures(current_actor(), expiring_within_days)


@router.post(
    "/support-measures/<measure_id>/extend",
    summary="支援措置の延長",
    description="期間終了の1か月前から終了日までに限り、さらに1年延長します。",
    tags=TAGS,
)
@tracer.capture_method(capture_response=False, capture_error=False)
def extend_support_measure(measure_id: MeasureId) -> SupportMeasure:
    return services().restrictions.extend(measure_id, current_actor())


@router.post(
    "/support-measures/<measure_id>/decide",
    summary="仮支援措置から支援措置への決定",
    description="確認の結果、支援措置とします。期間は今日から1年です。",
    tags=TAGS,
)
@tracer.capture_method(capture_response=False, capture_error=False)
def decide_support_measure(measure_id: MeasureId) -> SupportMeasure:
    return services().restrictions.decide(measure_id, current_actor())


@router.post(
    "/support-measures/<measure_id>/end",
    summary="支援措置の終了",
    description="今から支援措置を終了します (本人の申出など)。記録は残ります。",
    tags=TAGS,
)
@tracer.capture_method(capture_response=False, capture_error=False)
def end_support_measure(measure_id: MeasureId) -> SupportMeasure:
    return services().restrictions.end_support_measure(measure_id, current_actor())
