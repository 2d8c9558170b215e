"""The auditor's route to the consistency check's reports (整合性確認の報告), included by ``juki_fn.api``.

(No ``from __future__ import annotations`` here: Powertools reads the route signatures at run time.)
"""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path
from juki.adapters.consistency import build_consistency
from juki.bootstrap import services
from juki.domain.consistency import ConsistencyReport
from juki.domain.staff import Permission
from juki.observability import tracer

from juki_fn.acting import current_actor

TAGS = ["監査"]

ROUTES: dict[tuple[str, str], Permission] = {
    ("GET", "/audit/consistency/{run_id}"): Permission.AUDIT,
}

router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated

RunId = Annotated[
    str,
    Path(
        description="整合性確認の実行ID (Step Functions の実行名)",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$",
    ),
]


@router.get(
    "/audit/consistency/<run_id>",
    summary="整合性確認の報告",
    description=(
        "住民基本台帳と市町村CSの本人確認情報を照合した結果を返します。差異ごとに宛名番号、住民票コードの"
        "末尾4桁、項目、どちら側に値があるかのみを示し、値そのものは含みません。報告がまだない実行IDは 404 "
        "(CONSISTENCY_REPORT_NOT_FOUND) です。"
    ),
    responses={
        404: {"description": "その実行の報告はありません (CONSISTENCY_REPORT_NOT_FOUND)"},
    },
    tags=TAGS,
)
@tracer.capture_method(capture_response=False, capture_error=False)
def consistency_report(run_id: RunId) -> ConsistencyReport:
    return services().part(build_consistency).read_report(run_id, current_actor())
