"""The auditor's route to the unusual-access reports (不審アクセスの報告), included by ``juki_fn.api``.

(No ``from __future__ import annotations`` here: Powertools reads the route signatures at run time.)
"""

from datetime import date
from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path
from juki.adapters.reports import build_unusual_access
from juki.bootstrap import services
from juki.domain.staff import Permission
from juki.domain.unusual_access import UnusualAccessReport
from juki.observability import tracer

from juki_fn.acting import current_actor

JSON = "application/json"
TAGS = ["監査"]

ROUTES: dict[tuple[str, str], Permission] = {
    ("GET", "/audit/unusual-access/{day}"): Permission.AUDIT,
}

router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated

Day = Annotated[date, Path(description="対象日 (YYYY-MM-DD、日本時間)")]


@router.get(
    "/audit/unusual-access/<day>",
    summary="不審アクセスの報告",
    description=(
        "その日の操作ログから検出した不審なアクセス (関係のない多数の照会、時間外の操作、大量の照会と出力、"
        "個人番号の表示の急増、ログイン拒否の繰返し) の報告を返します。職員ID・規則・件数・操作ログIDのみで、"
        "住民の氏名や住所は含みません。報告は毎朝、前日分が作られます。報告がない日は 404 "
        "(UNUSUAL_ACCESS_REPORT_NOT_FOUND) です。"
    ),
    responses={
        404: {"description": "その日の報告はまだありません (UNUSUAL_ACCESS_REPORT_NOT_FOUND)"},
    },
    tags=TAGS,
)
@tracer.capture_method(capture_response=False, capture_error=False)
def unusual_access_report(day: Day) -> UnusualAccessReport:
    return services().part(build_unusual_access).report(day, current_actor())
