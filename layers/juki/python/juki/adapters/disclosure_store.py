"""What the disclosure service (開示請求) reads and writes outside the ledger store: linkage
messages in the outbox (by key), and the report's JSON and PDF in the documents bucket.

Documents are stored under ``disclosures/<report id>/report.json`` and ``report.pdf`` (the bucket is
encrypted with the data key by default). The PDF is handed out as a presigned GET URL of a few
minutes: the requester's terminal reads it directly from S3, and nothing long-lived points to it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from juki.adapters.certificates import certificate_issuances
from juki.adapters.dynamodb import OutboxItem
from juki.adapters.linkage import DynamoLinkageStore, build_linkage_store
from juki.adapters.pdf.disclosure_pdf import DisclosurePdf
from juki.adapters.restrictions import DynamoRestrictionStore
from juki.adapters.system import SystemClock, UuidSource
from juki.adapters.tables import bind
from juki.domain.linkage import ProvisionRecord
from juki.domain.restrictions import Restriction, SupportMeasure
from juki.services.disclosure import DisclosureService, OutboxMessage

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from juki.bootstrap import Services

PREFIX = "disclosures"
MESSAGE_SK = "MSG"
BATCH_GET_MAX = 100


def message_key(message_id: str) -> str:
    return f"MSG#{message_id}"


class DynamoOutboxRecords:
    """Reads linkage messages by id (BatchGetItem, at most 100 keys a call; pynamodb pages them)."""

    def __init__(
        self, outbox_table: str, linkage: DynamoLinkageStore, region: str, host: str | None = None
    ) -> None:
        self._outbox = bind(OutboxItem, outbox_table, region, host)
        self._linkage = linkage

    def messages(self, message_ids: list[str]) -> list[OutboxMessage]:
        keys = [(message_key(mid), MESSAGE_SK) for mid in dict.fromkeys(message_ids)]
        return [
            OutboxMessage(
                message_id=item.pk.removeprefix("MSG#"),
                status=item.state or item.status or "pending",
                body=_plain(item.body.as_dict()),  # type: ignore[no-untyped-call]
            )
            for item in self._outbox.batch_get(keys)
        ]

    def provisions(self, person_id: str) -> list[ProvisionRecord]:
        return self._linkage.provisions_for(person_id)


class RestrictionReader:
    """Every restriction and support measure on given persons and households, for the report
    (the restriction service's own listing needs ``restriction.manage``; a disclosure is authorised
    by ``disclosure.prepare`` and logged as one export)."""

    def __init__(self, store: DynamoRestrictionStore) -> None:
        self._store = store

    def on_targets(
        self, person_ids: list[str], household_ids: list[str]
    ) -> list[Restriction | SupportMeasure]:
        return self._store.on_targets(person_ids, household_ids)


class S3ReportArchive:
    """Implements ``ReportArchive`` on the documents bucket."""

    def __init__(self, bucket: str, region: str, endpoint_url: str | None = None) -> None:
        self._bucket = bucket
        config = Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"} if endpoint_url else {},
        )
        self._s3: S3Client = boto3.client("s3", region_name=region, endpoint_url=endpoint_url, config=config)

    def store(self, report_id: str, report_json: bytes, pdf: bytes) -> tuple[str, str]:
        json_key = f"{PREFIX}/{report_id}/report.json"
        pdf_key = f"{PREFIX}/{report_id}/report.pdf"
        self._s3.put_object(
            Bucket=self._bucket, Key=json_key, Body=report_json, ContentType="application/json; charset=utf-8"
        )
        self._s3.put_object(
            Bucket=self._bucket,
            Key=pdf_key,
            Body=pdf,
            ContentType="application/pdf",
            ContentDisposition='inline; filename="disclosure.pdf"',
        )
        return json_key, pdf_key

    def link(self, key: str, seconds: int) -> str:
        return self._s3.generate_presigned_url(
            "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=seconds
        )


def build_disclosure(services: Services) -> DisclosureService:
    """For ``services().part(build_disclosure)``: built once per ``Services``."""
    settings = services.settings
    restrictions = DynamoRestrictionStore(
        settings.ledger_table, settings.oplog_table, region=settings.region, host=settings.endpoint_url
    )
    return DisclosureService(
        ledger=services.store,
        restrictions=RestrictionReader(restrictions),
        outbox=DynamoOutboxRecords(
            settings.outbox_table, services.part(build_linkage_store), settings.region, settings.endpoint_url
        ),
        certificates=services.part(certificate_issuances),
        vault=services.my_numbers,
        renderer=DisclosurePdf(),
        archive=S3ReportArchive(settings.documents_bucket, settings.region, settings.endpoint_url),
        log=services.store,
        clock=SystemClock(),
        ids=UuidSource(),
        removed=services.inquiry.archive,
    )


def _plain(value: Any) -> Any:
    """pynamodb returns numbers of a map as Decimal or int; the body is plain JSON again."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value
