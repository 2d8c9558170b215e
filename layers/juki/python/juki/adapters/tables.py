"""Binding pynamodb models to physical tables, and reading a cancelled transaction."""

from __future__ import annotations

from pynamodb.exceptions import TransactWriteError
from pynamodb.models import Model

from juki.domain.errors import Conflict


def bind[M: Model](model: type[M], table_name: str, region: str, host: str | None) -> type[M]:
    """A subclass of ``model`` bound to a physical table (names come from the environment)."""
    meta = type("Meta", (), {"table_name": table_name, "region": region, "host": host})
    return type(model.__name__, (model,), {"Meta": meta, "_connection": None})


def conflict_from(error: TransactWriteError) -> Conflict | TransactWriteError:
    """A transaction cancelled by a failed condition is a concurrent change (409); anything else
    is returned as it is, to be raised."""
    reasons = [reason.code for reason in error.cancellation_reasons if reason is not None]
    if "ConditionalCheckFailed" in reasons:
        return Conflict(
            "CONCURRENT_CHANGE",
            "同じ記録が同時に更新されました。最新の状態を確認してやり直してください",
        )
    return error
