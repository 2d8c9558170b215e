"""Certificate issuance outside the domain: the issue-number counter, the 交付履歴 items, the PDFs in
the documents bucket, the pending movements a certificate must wait for, the card index, and the
composition of ``CertificateService`` (``build_certificates``, for ``services().part``).

Items in the ledger table:

| item                 | pk                           | sk                         | body           |
| -------------------- | ---------------------------- | -------------------------- | -------------- |
| issue-number counter | ``COUNTER#certificate``      | ``COUNTER``                | ``value``      |
| 交付履歴 (one person)  | ``CERTIFICATES#<person_id>`` | ``<issued_at>#<issue_id>`` | record as JSON |
| automatic 転出証明書   | ``MOVE_OUT_CERTIFICATE#<movement_id>`` | ``AUTOMATIC`` | issuance as JSON |

The PDF is ``certificates/<issue_id>.pdf`` in the documents bucket (SSE-KMS is the bucket's
default), handed out through a presigned GET link of five minutes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import boto3
from botocore.config import Config
from pynamodb.attributes import UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from juki.adapters.dynamodb import LedgerItem, OplogItem, movement_key, oplog_item
from juki.adapters.search import DynamoSearchIndex
from juki.adapters.system import SystemClock, UuidSource
from juki.adapters.tables import bind, conflict_from
from juki.domain.certificates import TITLES, IssuedCertificate, RequesterKind
from juki.domain.listings import DRAFTS
from juki.domain.model import Movement, MovementStatus
from juki.domain.my_number import STORAGE
from juki.domain.oplog import OperationLogEntry
from juki.domain.search import IndexQuery, SearchIndex
from juki.services.certificates import AutomaticIssuance, CertificateService, Certifier, Composer, Renderer
from juki.services.disclosure import CertificateHistory, CertificateIssuance

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from juki.bootstrap import Services

COUNTER_KEY = "COUNTER#certificate"
COUNTER_SK = "COUNTER"
PREFIX = "certificates"
APPROVED = f"MOVEMENT_STATUS#{MovementStatus.APPROVED.value}"
REQUESTERS = {
    RequesterKind.SELF: "本人",
    RequesterKind.HOUSEHOLD_MEMBER: "同一世帯の者",
    RequesterKind.REPRESENTATIVE: "代理人",
    RequesterKind.THIRD_PARTY: "第三者",
    RequesterKind.OFFICIAL: "公用",
}


AUTOMATIC_SK = "AUTOMATIC"


def history_key(person_id: str) -> str:
    return f"CERTIFICATES#{person_id}"


def automatic_key(movement_id: str) -> str:
    return f"MOVE_OUT_CERTIFICATE#{movement_id}"


class CertificateHistoryItem(Model):
    """One person's record of one issuance (the record is the same for every person on it)."""

    class Meta:
        table_name: ClassVar[str | None] = None

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute(default="certificate_issuance")
    body = UnicodeAttribute()  # IssuedCertificate as JSON: read whole, never filtered on
    acknowledged = UnicodeAttribute(null=True)  # codes of the alerts acknowledged, comma-separated


class DynamoIssueCounter:
    """The municipality's one sequence of issue numbers: an atomic ``ADD`` on one item, so two
    issuances at once never get the same number, and a number once given is never given again
    (a failed issuance leaves a gap, never a repeat)."""

    def __init__(self, ledger_table: str, region: str, host: str | None = None) -> None:
        self._ledger = bind(LedgerItem, ledger_table, region, host)

    def next_sequences(self, count: int) -> list[int]:
        if count <= 0:
            return []
        counter = self._ledger(pk=COUNTER_KEY, sk=COUNTER_SK)
        counter.update(actions=[self._ledger.value.add(count)])
        last = int(counter.value or 0)
        return list(range(last - count + 1, last + 1))


class DynamoIssuanceRecords:
    """Implements ``IssuanceRecords``: the 交付履歴 items and the log entry in one transaction."""

    def __init__(self, ledger_table: str, oplog_table: str, region: str, host: str | None = None) -> None:
        self._items = bind(CertificateHistoryItem, ledger_table, region, host)
        self._oplog = bind(OplogItem, oplog_table, region, host)
        self._connection = Connection(region=region, host=host)

    def save(
        self,
        records: dict[str, IssuedCertificate],
        acknowledged: list[str],
        log: OperationLogEntry,
        automatic: AutomaticIssuance | None = None,
    ) -> None:
        try:
            with TransactWrite(connection=self._connection) as tx:
                if automatic is not None:  # one per movement: a second attempt fails it all
                    claim = self._items(
                        pk=automatic_key(automatic.movement_id),
                        sk=AUTOMATIC_SK,
                        kind="automatic_move_out_certificate",
                        body=automatic.model_dump_json(),
                    )
                    tx.save(claim, condition=self._items.pk.does_not_exist())
                for person_id, record in records.items():
                    item = self._items(
                        pk=history_key(person_id),
                        sk=f"{record.issued_at.isoformat()}#{record.issue_id}",
                        body=record.model_dump_json(),
                        acknowledged=",".join(acknowledged) or None,
                    )
                    tx.save(item, condition=self._items.pk.does_not_exist())
                tx.save(oplog_item(log, self._oplog), condition=self._oplog.pk.does_not_exist())
        except TransactWriteError as error:
            raise conflict_from(error) from error

    def automatic(self, movement_id: str) -> AutomaticIssuance | None:
        try:
            item = self._items.get(automatic_key(movement_id), AUTOMATIC_SK, consistent_read=True)
        except DoesNotExist:
            return None
        return AutomaticIssuance.model_validate_json(item.body)

    def for_person(self, person_id: str) -> list[IssuedCertificate]:
        items = self._items.query(history_key(person_id), consistent_read=True, scan_index_forward=False)
        return [IssuedCertificate.model_validate_json(item.body) for item in items]


class DynamoPendingMovements:
    """Movements not yet final, from the ledger's status listing (gsi1): the drafts (仮登録) and
    the approved ones whose commit is running. A city has a few hundred at most at once (drafts
    are decided within the day), and the index projects the movement, so this is one Query per
    status, a page or two each, with no further reads."""

    def __init__(self, ledger_table: str, region: str, host: str | None = None) -> None:
        self._ledger = bind(LedgerItem, ledger_table, region, host)

    def pending(self) -> list[Movement]:
        return [
            Movement.model_validate_json(item.body, context=STORAGE)
            for listing in (DRAFTS, APPROVED)
            for item in self._ledger.gsi1.query(listing)
            if item.body is not None
        ]

    def get_movement(self, movement_id: str) -> Movement | None:
        try:
            item = self._ledger.get(movement_key(movement_id), "MOVEMENT", consistent_read=True)
        except DoesNotExist:
            return None
        return Movement.model_validate_json(item.body, context=STORAGE) if item.body else None


class IndexedCardHolders:
    """Implements ``CardHolders`` on the ledger's ``by_card`` index (every version's card number)."""

    def __init__(self, index: DynamoSearchIndex) -> None:
        self._index = index

    def holders(self, card_serial: str) -> set[str]:
        query = IndexQuery(SearchIndex.CARD, f"CARD#{card_serial}")
        return {hit.record.person_id for hit in self._index.hits(query, None, page_size=20)}


class S3CertificateFiles:
    """Implements ``CertificateFiles`` on the documents bucket (encrypted by its default key)."""

    def __init__(self, bucket: str, region: str, endpoint_url: str | None = None) -> None:
        self._bucket = bucket
        config = Config(signature_version="s3v4", s3={"addressing_style": "path"} if endpoint_url else {})
        self._s3: S3Client = boto3.client("s3", region_name=region, endpoint_url=endpoint_url, config=config)

    def store(self, issue_id: str, pdf: bytes) -> str:
        key = f"{PREFIX}/{issue_id}.pdf"
        self._s3.put_object(
            Bucket=self._bucket,
            Key=key,
            Body=pdf,
            ContentType="application/pdf",
            ContentDisposition='inline; filename="certificate.pdf"',
        )
        return key

    def link(self, key: str, seconds: int) -> str:
        return self._s3.generate_presigned_url(
            "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=seconds
        )


class CertificateIssuanceSource:
    """Implements the disclosure's ``CertificateIssuances``: the person's 交付履歴 in the report."""

    def __init__(self, records: DynamoIssuanceRecords) -> None:
        self._records = records

    def for_person(self, person_id: str) -> CertificateHistory:
        return CertificateHistory(
            source_available=True,
            issuances=[
                CertificateIssuance(
                    issued_at=record.issued_at,
                    certificate=TITLES[record.kind],
                    requester=f"{REQUESTERS[record.requester_kind]} {record.requester_name}",
                    copies=1,
                )
                for record in self._records.for_person(person_id)
            ],
        )


def issuance_records(services: Services) -> DynamoIssuanceRecords:
    """For ``services().part``: the 交付履歴 store (shared with the disclosure report)."""
    settings = services.settings
    return DynamoIssuanceRecords(
        settings.ledger_table, settings.oplog_table, region=settings.region, host=settings.endpoint_url
    )


def certificate_issuances(services: Services) -> CertificateIssuanceSource:
    """For ``services().part``: the disclosure report's source of 交付履歴."""
    return CertificateIssuanceSource(services.part(issuance_records))


def _composer() -> Composer:
    from juki.domain import certificate_rules  # noqa: PLC0415 - imported when first issuing

    return certificate_rules


def _renderer() -> Renderer:
    from juki.adapters.pdf.certificates import CertificatePdf  # noqa: PLC0415 - reportlab, fonts

    renderer: Renderer = CertificatePdf()
    return renderer


def build_certificates(services: Services) -> CertificateService:
    """For ``services().part(build_certificates)``: built once per ``Services``."""
    settings = services.settings
    region, host = settings.region, settings.endpoint_url
    return CertificateService(
        ledger=services.store,
        movements=DynamoPendingMovements(settings.ledger_table, region, host),
        restrictions=services.restrictions,
        composer=_composer(),
        renderer=_renderer(),
        counter=DynamoIssueCounter(settings.ledger_table, region, host),
        files=S3CertificateFiles(settings.documents_bucket, region, host),
        records=services.part(issuance_records),
        log=services.store,
        vault=services.my_numbers,
        cards=IndexedCardHolders(DynamoSearchIndex(settings.ledger_table, region=region, host=host)),
        certifier=Certifier(
            municipality_code=settings.municipality_code,
            municipality_name=settings.municipality_name,
            mayor_title_and_name=settings.mayor_title_and_name,
        ),
        clock=SystemClock(),
        ids=UuidSource(),
        archive=services.inquiry.archive,
    )
