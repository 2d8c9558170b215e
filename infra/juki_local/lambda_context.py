"""A stand-in for the Lambda context object, for handlers invoked in-process by the local system.

Powertools (Logger.inject_lambda_context, Tracer, idempotency) reads these attributes; the values follow
what the Lambda runtime provides.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass
class LocalLambdaContext:
    """The attributes and the one method of the Lambda context that handlers and Powertools use."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    deadline_monotonic: float
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = ""

    def __post_init__(self) -> None:
        if not self.log_group_name:
            self.log_group_name = f"/aws/lambda/{self.function_name}"
        if not self.log_stream_name:
            today = datetime.now(UTC).strftime("%Y/%m/%d")
            self.log_stream_name = f"{today}/[{self.function_version}]{uuid.uuid4().hex}"

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the (simulated) timeout; never negative."""
        return max(0, int((self.deadline_monotonic - time.monotonic()) * 1000))


def new_context(
    function_name: str, arn: str, timeout_seconds: int, memory_mb: int = 512
) -> LocalLambdaContext:
    """A fresh context for one invocation: new request id, deadline `timeout_seconds` from now."""
    return LocalLambdaContext(
        function_name=function_name,
        invoked_function_arn=arn,
        memory_limit_in_mb=memory_mb,
        deadline_monotonic=time.monotonic() + timeout_seconds,
    )
