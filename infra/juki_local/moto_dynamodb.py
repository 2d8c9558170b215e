"""Three corrections to moto's DynamoDB for the local system.

1. Cost. moto keeps a rollback copy of every table a transaction touches, made with
   ``copy.deepcopy`` once per operation, so one commit costs time in proportion to the whole
   ledger (seconds at 1,000 residents, hours at 700,000). Here only the items the transaction
   names are copied, and restored if it fails: the outcome is the same, the cost is that of
   the items touched, as in DynamoDB.
2. Isolation. moto's threaded server can run two writes at once, interleaving a transaction's
   condition checks and writes with another write; DynamoDB never lets two conflicting
   transactions both succeed, and a conditional write is atomic. Every write (put, update,
   delete, and the transactions that use them) is serialised here, so a failed transaction's
   restore cannot overwrite a write made meanwhile either.
3. Cost of a Query. moto answers a Query on the table's own key by reading every item of the
   table and keeping those under the partition key asked for, so a Query costs time in
   proportion to the whole table. Here it is shown only the items under that partition key
   (moto keeps them together); the answer is the same, the cost that of the partition, as in
   DynamoDB. Queries on an index are left as they are.
"""

from __future__ import annotations

import copy
import functools
import threading
import types
from collections.abc import Callable
from typing import Any

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table

_original_transact = DynamoDBBackend.transact_write_items
_SINGLE_WRITES = ("put_item", "update_item", "delete_item")
_original_writes: dict[str, Callable[..., Any]] = {
    name: getattr(DynamoDBBackend, name) for name in _SINGLE_WRITES
}
_original_copy_module = copy  # the module moto imported as ``copy``
_lock = threading.RLock()
_original_query = Table.query
_INDEX_NAME_POSITION = 7  # Table.query(hash_key, range_comparison, …, projection_expressions, index_name)


class _OnePartition:
    """A table as its own-key Query sees it: every attribute the table's, but its items only
    those under one partition key. Nothing is changed, so other requests are unaffected."""

    def __init__(self, table: Table, hash_key: DynamoType) -> None:
        self._table = table
        self._hash_key = hash_key

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)

    def all_items(self) -> list[Any]:
        found = self._table.items.get(self._hash_key)
        if found is None:
            return []
        return list(found.values()) if self._table.range_key_attr else [found]


def keyed_query(self: Table, hash_key: DynamoType | None, *args: Any, **kwargs: Any) -> Any:
    index_name = args[_INDEX_NAME_POSITION - 1] if len(args) >= _INDEX_NAME_POSITION else None
    if hash_key is None or kwargs.get("index_name") or index_name:
        return _original_query(self, hash_key, *args, **kwargs)
    return _original_query(_OnePartition(self, hash_key), hash_key, *args, **kwargs)  # type: ignore[arg-type]


def _deepcopy_except_tables(value: Any, memo: dict[int, Any] | None = None) -> Any:
    return value if isinstance(value, Table) else copy.deepcopy(value, memo)


_copy_without_tables = types.SimpleNamespace(deepcopy=_deepcopy_except_tables, copy=copy.copy)

Saved = tuple[Table, DynamoType, DynamoType | None, Any]


def _saved_items(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> list[Saved]:
    saved: list[Saved] = []
    for entry in transact_items:
        _, operation = next(iter(entry.items()))
        table = backend.get_table(operation["TableName"])
        key = operation.get("Key") or operation["Item"]
        hash_value = DynamoType(key[table.hash_key_attr])
        range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
        saved.append((table, hash_value, range_value, copy.deepcopy(table.get_item(hash_value, range_value))))
    return saved


def _restore(saved: list[Saved]) -> None:
    for table, hash_value, range_value, item in reversed(saved):
        if item is None:
            table.delete_item(hash_value, range_value)
        elif range_value is None:
            table.items[hash_value] = item
        else:
            table.items[hash_value][range_value] = item


def _transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    with _lock:
        try:
            saved = _saved_items(self, transact_items)
        except Exception:  # a malformed request: moto's own checks answer it, as before
            _use_copy(_original_copy_module)
            try:
                return _original_transact(self, transact_items)
            finally:
                _use_copy(_copy_without_tables)
        try:
            return _original_transact(self, transact_items)
        except Exception:
            _restore(saved)
            raise


def _serialised(write: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(write)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _lock:
            return write(*args, **kwargs)

    return locked


def _use_copy(module: object) -> None:
    """Which ``copy`` moto's DynamoDB backend module sees."""
    setattr(dynamodb_models, "copy", module)  # noqa: B010 - replacing a module global on purpose


def install() -> None:
    _use_copy(_copy_without_tables)
    for name, write in _original_writes.items():
        setattr(DynamoDBBackend, name, _serialised(write))
    DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
    Table.query = keyed_query  # type: ignore[method-assign]


def uninstall() -> None:
    _use_copy(_original_copy_module)
    for name, write in _original_writes.items():
        setattr(DynamoDBBackend, name, write)
    DynamoDBBackend.transact_write_items = _original_transact  # type: ignore[method-assign]
    Table.query = _original_query  # type: ignore[method-assign]
