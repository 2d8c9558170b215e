"""What a recipient system's full extract touches (``juki.services.extracts``): the ledger's Scan and
current records, the registry and provision records in the linkage (outbox) table, the exchange
bucket's drop zone, and the ``platform-extract`` state machine.

Items of its own in the linkage table: ``EXTRACT#<extract_id>`` / ``PART#<NNNNN>``, written in one
transaction with the part's operation-log entry, so that a retried part logs once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import boto3
from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from juki.adapters.consistency import LedgerCurrentPersons
from juki.adapters.dynamodb import OplogItem, oplog_item
from juki.adapters.linkage import ProvisionItem, build_linkage_store, provision_item
from juki.adapters.reports import S3ReportStore
from juki.adapters.system import SystemClock, UuidSource
from juki.adapters.tables import bind
from juki.domain.linkage import ProvisionRecord
from juki.domain.oplog import OperationLogEntry
from juki.services.extracts import Execution, ExtractService

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

    from juki.bootstrap import Services


class ExtractPartItem(Model):
    """A part whose log entry is written (the marker that makes a retry log nothing more)."""

    class Meta:
        table_name: ClassVar[str | None] = None

    pk = UnicodeAttribute(hash_key=True)  # EXTRACT#<extract_id>
    sk = UnicodeAttribute(range_key=True)  # PART#<NNNNN>
    at = UnicodeAttribute()
    persons = NumberAttribute()


class DynamoExtractRecords:
    """Implements ``juki.services.extracts.ExtractRecords`` on the linkage and oplog tables."""

    def __init__(self, outbox_table: str, oplog_table: str, region: str, host: str | None = None) -> None:
        self._parts = bind(ExtractPartItem, outbox_table, region, host)
        self._provisions = bind(ProvisionItem, outbox_table, region, host)
        self._oplog = bind(OplogItem, oplog_table, region, host)
        self._connection = Connection(region=region, host=host)

    def log_part_once(self, extract_id: str, number: int, entry: OperationLogEntry) -> bool:
        marker = self._parts(
            pk=f"EXTRACT#{extract_id}", sk=f"PART#{number:05d}", at=entry.at.isoformat(),
            persons=len(entry.persons),
        )  # fmt: skip
        try:
            with TransactWrite(connection=self._connection) as tx:
                tx.save(marker, condition=self._parts.pk.does_not_exist())
                tx.save(oplog_item(entry, self._oplog), condition=self._oplog.pk.does_not_exist())
        except TransactWriteError as error:
            reasons = [reason.code for reason in error.cancellation_reasons if reason is not None]
            if "ConditionalCheckFailed" in reasons:
                return False  # logged by an earlier attempt of this part
            raise
        return True

    def write_provisions(self, provisions: Sequence[ProvisionRecord]) -> None:
        """BatchWriteItem (25 a request; pynamodb resends what comes back unprocessed). The keys
        are those of ``DynamoLinkageStore``'s provision items: one per person and message."""
        with self._provisions.batch_write() as batch:
            for provision in provisions:
                for person in provision.persons:
                    batch.save(provision_item(self._provisions, provision, person))


class S3Exchange(S3ReportStore):
    """Implements ``juki.services.extracts.Exchange``: the exchange bucket's objects, and their
    keys by listing (the finish step checks every part is there without reading 1,900 files)."""

    def keys(self, prefix: str) -> set[str]:
        found: set[str] = set()
        for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=self._bucket, Prefix=prefix):
            found |= {item["Key"] for item in page.get("Contents", [])}
        return found


class StepFunctionsExecutions:
    """Implements ``juki.services.extracts.Executions`` for one state machine."""

    def __init__(self, client: SFNClient, state_machine_arn: str) -> None:
        self._client = client
        self._arn = state_machine_arn

    def start(self, name: str, payload: dict[str, Any]) -> None:
        if not self._arn:
            raise RuntimeError("the platform-extract state machine is not configured")
        self._client.start_execution(stateMachineArn=self._arn, name=name, input=json.dumps(payload))

    def describe(self, name: str) -> Execution | None:
        if not self._arn:
            return None
        arn = f"{self._arn.replace(':stateMachine:', ':execution:', 1)}:{name}"
        try:
            described = self._client.describe_execution(executionArn=arn)
        except self._client.exceptions.ExecutionDoesNotExist:
            return None
        given = json.loads(described.get("input") or "{}")
        output = described.get("output")
        return Execution(
            status=described["status"],
            input=given if isinstance(given, dict) else {},
            output=json.loads(output) if output else None,
            error=_error_code(described.get("error"), described.get("cause")),
        )


def _error_code(error: str | None, cause: str | None) -> str | None:
    """The task's code (``PlatformExtractFailed("EXTRACT_PART_FAILED")``), else the error's name."""
    try:
        message = json.loads(cause or "").get("errorMessage")
    except (ValueError, AttributeError):
        message = None
    if isinstance(message, str) and re.fullmatch(r"[A-Z][A-Z0-9_]{2,60}", message):
        return message
    return error


def build_extracts(parts: Services) -> ExtractService:
    """For ``services().part(build_extracts)``: the API's two routes and the three tasks."""
    settings = parts.settings
    region, host = settings.region, settings.endpoint_url
    s3 = boto3.client("s3", region_name=region, endpoint_url=host)
    sfn = boto3.client("stepfunctions", region_name=region, endpoint_url=host)
    return ExtractService(
        parts.part(build_linkage_store),
        LedgerCurrentPersons(settings.ledger_table, region, host),
        parts.store,
        S3Exchange(s3, settings.exchange_bucket),
        extracts=DynamoExtractRecords(settings.outbox_table, settings.oplog_table, region, host),
        executions=StepFunctionsExecutions(sfn, settings.platform_extract_arn),
        log=parts.store,
        clock=SystemClock(),
        ids=UuidSource(),
        exchange_bucket=settings.exchange_bucket,
        municipality=settings.municipality_name,
    )
