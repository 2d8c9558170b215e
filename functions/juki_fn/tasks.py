"""What every state-machine task shares: the error a machine retries, and the guard that turns a
passing storage fault into it. The ASL files retry ``TransientError`` by name."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import BotoCoreError, ClientError
from juki.observability import logger
from pynamodb.exceptions import PynamoDBException

STORAGE_FAULTS = (PynamoDBException, BotoCoreError, ClientError)


class TransientError(Exception):
    """Worth trying again: another change won a race, or DynamoDB, S3 or KMS was briefly unavailable."""


@contextmanager
def storage_faults_retried(what: str, **keys: str) -> Iterator[None]:
    """A storage fault inside becomes ``TransientError`` (the machine retries); the log line names
    the fault's type and ``keys`` (ids only), never its message."""
    try:
        yield
    except STORAGE_FAULTS as error:
        logger.warning(f"{what} fault", extra={"error": type(error).__name__, **keys})
        raise TransientError(type(error).__name__) from None
