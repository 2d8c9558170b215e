"""委託事業者の運用: the operator starts and watches the scheduled jobs (sealing and verifying the
operation log, retention, unusual-access detection) without seeing any resident's data. A job's
output is counts and keys only, by the jobs' own contract."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, Field, computed_field

from juki.domain.errors import NotFound
from juki.domain.oplog import entry_for
from juki.domain.staff import Actor, Permission
from juki.services.access import require
from juki.services.ports import Clock, IdSource, OperationLog

FUNCTION_OPERATIONS = "operations.run"
RECENT_RUNS = 5


class JobRun(BaseModel):
    job: str = Field(description="処理")
    run_id: str = Field(description="実行ID")
    status: str = Field(description="状態 (RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED)")
    started_at: datetime = Field(description="開始日時")
    stopped_at: datetime | None = Field(default=None, description="終了日時")
    output: dict[str, Any] | None = Field(default=None, description="結果 (件数など、個人の情報は含まない)")
    error: str | None = Field(default=None, description="エラー名")

    @computed_field(description="所要時間 (秒、終了した実行のみ)")  # type: ignore[prop-decorator]
    @property
    def duration_seconds(self) -> float | None:
        return (self.stopped_at - self.started_at).total_seconds() if self.stopped_at else None


class Job(BaseModel):
    job: str = Field(description="処理")
    recent_runs: list[JobRun] = Field(description="最近の実行 (新しい順)")


class JobList(BaseModel):
    jobs: list[Job] = Field(description="定期処理")


class JobRunner(Protocol):
    def jobs(self) -> list[str]: ...

    def start(self, job: str, run_id: str, payload: dict[str, Any]) -> JobRun: ...

    def runs(self, job: str, limit: int) -> list[JobRun]: ...

    def run(self, job: str, run_id: str) -> JobRun | None: ...


class OperationsService:
    def __init__(self, runner: JobRunner, log: OperationLog, clock: Clock, ids: IdSource) -> None:
        self._runner = runner
        self._log = log
        self._clock = clock
        self._ids = ids

    def list(self, actor: Actor) -> JobList:
        require(actor, Permission.OPERATIONS)
        return JobList(
            jobs=[
                Job(job=job, recent_runs=self._runner.runs(job, RECENT_RUNS)) for job in self._runner.jobs()
            ]
        )

    def start(self, job: str, actor: Actor) -> JobRun:
        """Starts a job now, besides its schedule; who started it is in the operation log."""
        require(actor, Permission.OPERATIONS)
        self._known(job)
        run_id = f"manual-{self._clock.now():%Y%m%dT%H%M%S}-{self._ids.new_id()[:8]}"
        self._log.append(
            entry_for(
                actor,
                entry_id=self._ids.new_id(),
                at=self._clock.now(),
                function=FUNCTION_OPERATIONS,
                action="run",
                subject=f"job:{job}:{run_id}",
            )
        )
        return self._runner.start(job, run_id, {"requested_by": actor.staff_id})

    def run(self, job: str, run_id: str, actor: Actor) -> JobRun:
        require(actor, Permission.OPERATIONS)
        self._known(job)
        found = self._runner.run(job, run_id)
        if found is None:
            raise NotFound("JOB_RUN_NOT_FOUND", "その実行は見つかりません", "run_id")
        return found

    def _known(self, job: str) -> None:
        if job not in self._runner.jobs():
            raise NotFound("JOB_NOT_FOUND", "その定期処理はありません", "job_id")
