"""Runs Lambda invocations in this process, with the handler each function names.

moto's Step Functions interpreter invokes Lambda tasks through moto's Lambda API. With
Docker off, moto's simple Lambda backend would only echo the input; here its ``invoke`` is
replaced by one that imports the function's own ``Handler`` (the same dotted path the CDK
app deploys) and calls it, reporting a raised exception the way Lambda does
(``X-Amz-Function-Error: Unhandled`` and ``{"errorType", "errorMessage"}``).
"""

from __future__ import annotations

import importlib
import json
import sys
import traceback
from collections.abc import Callable
from typing import Any

from moto.awslambda_simple.models import LambdaSimpleBackend

from juki_local.lambda_context import new_context

Handler = Callable[[Any, Any], Any]
_original_invoke = LambdaSimpleBackend.invoke


def resolve_handler(dotted: str) -> Handler:
    module_name, _, attribute = dotted.rpartition(".")
    handler: Handler = getattr(importlib.import_module(module_name), attribute)
    return handler


def _invoke_in_process(  # noqa: PLR0917 - the signature of the moto method it replaces
    self: LambdaSimpleBackend,
    function_name: str,
    qualifier: str | None,
    body: Any,
    headers: Any,
    response_headers: Any,
) -> bytes:
    function = self.get_function(function_name, qualifier)
    event = json.loads(body) if body else {}
    context = new_context(
        function.function_name, function.function_arn, int(function.timeout), int(function.memory_size)
    )
    try:
        result = resolve_handler(str(function.handler))(event, context)
    except Exception as error:  # report it as Lambda does; the state machine decides
        traceback.print_exc(file=sys.stderr)
        response_headers["x-amz-function-error"] = "Unhandled"
        return json.dumps({"errorType": type(error).__name__, "errorMessage": str(error)}).encode()
    return json.dumps(result).encode()


def install() -> None:
    LambdaSimpleBackend.invoke = _invoke_in_process  # type: ignore[method-assign]


def uninstall() -> None:
    LambdaSimpleBackend.invoke = _original_invoke  # type: ignore[method-assign]
