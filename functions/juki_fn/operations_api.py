"""Routes for the operator (委託事業者の運用): the scheduled jobs, started by hand and watched.

(No ``from __future__ import annotations`` here: Powertools reads the route signatures at run time.)
"""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path
from juki.adapters.jobs import build_operations
from juki.bootstrap import services
from juki.domain.staff import Permission
from juki.observability import tracer
from juki.services.operations import JobList, JobRun, OperationsService

from juki_fn.acting import current_actor

JSON = "application/json"
TAGS = ["運用"]

ROUTES: dict[tuple[str, str], Permission] = {
    ("GET", "/operations/jobs"): Permission.OPERATIONS,
    ("POST", "/operations/jobs/{job_id}/runs"): Permission.OPERATIONS,
    ("GET", "/operations/jobs/{job_id}/runs/{run_id}"): Permission.OPERATIONS,
}

router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated

JobId = Annotated[str, Path(description="定期処理", pattern=r"^[a-z][a-z-]{1,40}$")]
RunId = Annotated[str, Path(description="実行ID", pattern=r"^[A-Za-z0-9_-]{1,80}$")]


def _operations() -> OperationsService:
    return services().part(build_operations)


@router.get("/operations/jobs", summary="定期処理と最近の実行", tags=TAGS)
@tracer.capture_method(capture_response=False, capture_error=False)
def list_jobs() -> JobList:
    return _operations().list(current_actor())


@router.post(
    "/operations/jobs/<job_id>/runs",
    summary="定期処理をいま実行する",
    description="スケジュールとは別に実行します。誰が実行したかは操作ログに残ります。",
    responses={202: {"description": "開始した実行", "content": {JSON: {"model": JobRun}}}},
    tags=TAGS,
)
@tracer.capture_method(capture_response=False, capture_error=False)
def start_job(job_id: JobId) -> Response[str]:
    run = _operations().start(job_id, current_actor())
    return Response(status_code=202, content_type=JSON, body=run.model_dump_json())


@router.get("/operations/jobs/<job_id>/runs/<run_id>", summary="実行の状況と結果", tags=TAGS)
@tracer.capture_method(capture_response=False, capture_error=False)
def get_job_run(job_id: JobId, run_id: RunId) -> JobRun:
    return _operations().run(job_id, run_id, current_actor())
