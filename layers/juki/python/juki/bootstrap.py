"""The composition root: builds the application services from the environment, once per process.

Nothing here reads the environment or opens a connection at import time; handlers call
``services()`` on their first request, and tests pass their own ``Settings``. (The Powertools
``Tracer`` in ``juki.observability`` does patch botocore for X-Ray when imported, as designed.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from threading import RLock

import boto3

from juki.adapters.dynamodb import DynamoLedgerStore
from juki.adapters.my_number_vault import KmsMyNumberVault
from juki.adapters.oplog_reader import DynamoOperationLogReader
from juki.adapters.records_archive import RemovedRecordArchive
from juki.adapters.resident_code_pool import DynamoResidentCodePool
from juki.adapters.restrictions import DynamoRestrictionStore
from juki.adapters.search import DynamoSearchIndex
from juki.adapters.settings import Settings
from juki.adapters.staff import DynamoStaffDirectory
from juki.adapters.staff_token import StaffTokenVerifier
from juki.adapters.stepfunctions import StepFunctionsWorkflow
from juki.adapters.system import SystemClock, UuidSource
from juki.services.inquiry import InquiryService
from juki.services.movements import MovementService
from juki.services.resident_codes import ResidentCodeService
from juki.services.restrictions import RestrictionService
from juki.services.search import SearchService
from juki.services.staff import StaffService


@dataclass(frozen=True)
class Services:
    settings: Settings
    store: DynamoLedgerStore
    movements: MovementService
    inquiry: InquiryService
    restrictions: RestrictionService
    search: SearchService
    resident_codes: ResidentCodeService
    my_numbers: KmsMyNumberVault
    tokens: StaffTokenVerifier
    staff: StaffService
    oplog_reader: DynamoOperationLogReader
    _parts: dict[Callable[[Services], object], object] = field(default_factory=dict, repr=False)
    _parts_lock: RLock = field(default_factory=RLock, repr=False)

    def part[T](self, build: Callable[[Services], T]) -> T:
        """A further service, built by ``build`` from these on first use and kept with them (so a
        new emulator, which builds new ``Services``, builds it again)."""
        with self._parts_lock:
            if build not in self._parts:
                self._parts[build] = build(self)
            return self._parts[build]  # type: ignore[return-value]


def build(settings: Settings) -> Services:
    store = DynamoLedgerStore(
        settings.ledger_table,
        settings.oplog_table,
        settings.outbox_table,
        region=settings.region,
        host=settings.endpoint_url,
    )
    sfn = boto3.client("stepfunctions", region_name=settings.region, endpoint_url=settings.endpoint_url)
    workflow = StepFunctionsWorkflow(sfn, settings.movement_state_machine_arn or "")
    clock, ids = SystemClock(), UuidSource()
    search_index = DynamoSearchIndex(
        settings.ledger_table, region=settings.region, host=settings.endpoint_url
    )
    vault = KmsMyNumberVault(
        settings.pii_key_arn,
        settings.ledger_table,
        region=settings.region,
        host=settings.endpoint_url,
        municipality_code=settings.municipality_code,
    )
    restriction_store = DynamoRestrictionStore(
        settings.ledger_table, settings.oplog_table, region=settings.region, host=settings.endpoint_url
    )
    restrictions = RestrictionService(restriction_store, store, store, clock, ids)
    oplog_reader = DynamoOperationLogReader(
        settings.oplog_table, region=settings.region, host=settings.endpoint_url
    )
    staff_directory = DynamoStaffDirectory(
        settings.staff_table, settings.oplog_table, region=settings.region, host=settings.endpoint_url
    )
    return Services(
        settings=settings,
        store=store,
        movements=MovementService(
            store,
            store,
            workflow,
            clock,
            ids,
            restrictions=restrictions,
            vault=vault,
            index=search_index,
            certificates=store,  # the 転出証明書情報 a card move-in claims, in the ledger table
            retention=settings.retention,
        ),
        inquiry=InquiryService(
            store,
            store,
            clock,
            ids,
            restrictions=restrictions,
            vault=vault,
            archive=RemovedRecordArchive(
                boto3.client("s3", region_name=settings.region, endpoint_url=settings.endpoint_url),
                settings.records_archive_bucket,
            ),
        ),
        restrictions=restrictions,
        search=SearchService(
            store,
            search_index,
            store,
            clock,
            ids,
            vault=vault,
            restrictions=restrictions,
        ),
        resident_codes=ResidentCodeService(
            DynamoResidentCodePool(settings.ledger_table, region=settings.region, host=settings.endpoint_url),
            settings.resident_code_low_threshold,
        ),
        my_numbers=vault,
        tokens=StaffTokenVerifier(
            settings.token_public_keys,
            settings.token_issuer,
            settings.token_audience,
            settings.token_max_lifetime_seconds,
        ),
        staff=StaffService(staff_directory, oplog_reader, store, clock, ids),
        oplog_reader=oplog_reader,
    )


@cache
def services() -> Services:
    return build(Settings.from_env())
