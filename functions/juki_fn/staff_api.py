"""Routes for the staff register (職員管理) and its periodic review (点検), included by ``juki_fn.api``.

(No ``from __future__ import annotations`` here: Powertools reads the route signatures at run time.)
"""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from juki.bootstrap import services
from juki.domain.staff import Permission
from juki.domain.staff_registry import (
    NewStaffUser,
    OfficeChange,
    RoleChange,
    StaffStatus,
    StaffUser,
    StatusChange,
)
from juki.observability import tracer
from juki.services.staff import StaffHistory, StaffList, StaffReview

from juki_fn.acting import current_actor

JSON = "application/json"
TAGS = ["職員管理"]

ROUTES: dict[tuple[str, str], Permission] = {
    ("POST", "/staff"): Permission.STAFF_ADMIN,
    ("GET", "/staff"): Permission.STAFF_ADMIN,
    ("GET", "/staff/{staff_id}"): Permission.STAFF_ADMIN,
    ("PUT", "/staff/{staff_id}/roles"): Permission.STAFF_ADMIN,
    ("PUT", "/staff/{staff_id}/offices"): Permission.STAFF_ADMIN,
    ("POST", "/staff/{staff_id}/disable"): Permission.STAFF_ADMIN,
    ("POST", "/staff/{staff_id}/transfer"): Permission.STAFF_ADMIN,
    ("POST", "/staff/{staff_id}/enable"): Permission.STAFF_ADMIN,
    ("GET", "/audit/staff-review"): Permission.AUDIT,
}

router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated

StaffId = Annotated[str, Path(description="職員ID", pattern=r"^[A-Za-z][A-Za-z0-9]{2,15}$")]


@router.post(
    "/staff",
    summary="職員の登録",
    description=(
        "一人一アカウント: 職員番号が同じアカウントは作れません。自分のアカウントは登録・変更できません。"
    ),
    responses={201: {"description": "登録した職員", "content": {JSON: {"model": StaffUser}}}},
    tags=TAGS,
)
@tracer.capture_method(capture_response=False, capture_error=False)
def register_staff(command: Annotated[NewStaffUser, Body(description="職員")]) -> Response[str]:
    user = services().staff.register(command, current_actor())
    return Response(status_code=201, content_type=JSON, body=user.model_dump_json())


@router.get("/staff", summary="職員の一覧", tags=TAGS)
@tracer.capture_method(capture_response=False, capture_error=False)
def list_staff() -> StaffList:
    return services().staff.list_all(current_actor())


@router.get("/staff/<staff_id>", summary="職員の照会 (すべての版)", tags=TAGS)
@tracer.capture_method(capture_response=False, capture_error=False)
def get_staff(staff_id: StaffId) -> StaffHistory:
    return services().staff.get(staff_id.upper(), current_actor())


@router.put("/staff/<staff_id>/roles", summary="役割の変更", tags=TAGS)
@tracer.capture_method(capture_response=False, capture_error=False)
def change_roles(staff_id: StaffId, change: Annotated[RoleChange, Body()]) -> StaffUser:
    return services().staff.change_roles(staff_id.upper(), change, current_actor())


@router.put("/staff/<staff_id>/offices", summary="庁舎・所属の変更", tags=TAGS)
@tracer.capture_method(capture_response=False, capture_error=False)
def change_offices(staff_id: StaffId, change: Annotated[OfficeChange, Body()]) -> StaffUser:
    return services().staff.change_offices(staff_id.upper(), change, current_actor())


@router.post(
    "/staff/<staff_id>/disable",
    summary="アカウントの停止",
    description="停止したアカウントのトークンは次のリクエストから拒否されます。",
    tags=TAGS,
)
@tracer.capture_method(capture_response=False, capture_error=False)
def disable_staff(staff_id: StaffId, change: Annotated[StatusChange, Body()]) -> StaffUser:
    return services().staff.change_status(staff_id.upper(), StaffStatus.DISABLED, change, current_actor())


@router.post(
    "/staff/<staff_id>/transfer",
    summary="人事異動 (この業務の権限を失う)",
    description="異動した職員のトークンは次のリクエストから拒否されます。",
    tags=TAGS,
)
@tracer.capture_method(capture_response=False, capture_error=False)
def transfer_staff(staff_id: StaffId, change: Annotated[StatusChange, Body()]) -> StaffUser:
    return services().staff.change_status(staff_id.upper(), StaffStatus.TRANSFERRED, change, current_actor())


@router.post("/staff/<staff_id>/enable", summary="アカウントの再開", tags=TAGS)
@tracer.capture_method(capture_response=False, capture_error=False)
def enable_staff(staff_id: StaffId, change: Annotated[StatusChange, Body()]) -> StaffUser:
    return services().staff.change_status(staff_id.upper(), StaffStatus.ACTIVE, change, current_actor())


@router.get(
    "/audit/staff-review",
    summary="職員・権限の定期点検",
    description=(
        "使われていないアカウント、期間中に役割が変わったアカウント、誰も使わなかった権限、"
        "期限の近い委託事業者のアカウントを返します。"
    ),
    tags=["監査"],
)
@tracer.capture_method(capture_response=False, capture_error=False)
def staff_review(
    unused_days: Annotated[int, Query(ge=1, le=400, description="この日数使われていないアカウント")] = 90,
    period_days: Annotated[int, Query(ge=1, le=400, description="点検する期間 (日数)")] = 90,
) -> StaffReview:
    return services().staff.review(current_actor(), unused_days=unused_days, period_days=period_days)
