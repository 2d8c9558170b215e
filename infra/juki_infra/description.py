"""The one description of the system's resources.

Both the CDK app (``juki_infra.stack``) and the local system (``juki_local``) build
exactly what is listed here: tables and their indexes, KMS keys, buckets, queues,
functions (with the handler each runs and what each may touch) and state machines
(with the ASL file and the substitutions each needs). Neither side keeps a second,
hand-written list. Changing a resource means changing it here.

Names are physical names, derived from the municipality code, so that a deployment
per municipality never collides with another and the local system uses the same names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from juki.adapters import settings as env
from juki.services.resident_codes import RESIDENT_CODE_POOL_LOW

REPO_ROOT = Path(__file__).resolve().parents[2]
STATEMACHINES_DIR = REPO_ROOT / "statemachines"
FUNCTIONS_DIR = REPO_ROOT / "functions"
LAYER_DIR = REPO_ROOT / "layers" / "juki"


class Access(StrEnum):
    READ = "read"
    READ_WRITE = "read_write"


@dataclass(frozen=True)
class KeySpec:
    """A customer-managed KMS key; functions that use it directly get its ARN in ``env_var``."""

    id: str
    description: str
    env_var: str | None = None


@dataclass(frozen=True)
class IndexSpec:
    name: str
    partition_key: str
    sort_key: str


@dataclass(frozen=True)
class TableSpec:
    id: str
    env_var: str
    key: str  # KeySpec.id of the customer-managed key that encrypts it
    partition_key: str = "pk"
    sort_key: str = "sk"
    indexes: tuple[IndexSpec, ...] = ()
    ttl_attribute: str | None = None
    description: str = ""


@dataclass(frozen=True)
class BucketSpec:
    """A bucket. ``key`` None means S3-managed encryption, which only the access-log bucket
    uses: S3 cannot deliver server access logs to an SSE-KMS bucket."""

    id: str
    env_var: str | None
    key: str | None
    description: str = ""
    # Object Lock in compliance mode with this default retention: nobody, root included, can
    # delete or overwrite an object version before it ends.
    object_lock_days: int | None = None
    # Objects move to S3 Glacier Instant Retrieval after this many days (still read in
    # milliseconds) and expire after ``expire_days``.
    cold_after_days: int | None = None
    expire_days: int | None = None
    # Objects under a prefix that expire after so many days (e.g. documents handed out once).
    expire_prefixes: tuple[tuple[str, int], ...] = ()
    # Object-created events go to EventBridge (a state machine starts on them).
    events_to_eventbridge: bool = False

    @property
    def has_lifecycle(self) -> bool:
        return self.cold_after_days is not None or self.expire_days is not None or bool(self.expire_prefixes)


@dataclass(frozen=True)
class QueueSpec:
    """A queue with a dead-letter queue ``<id>-dlq`` that takes a message after
    ``max_receive_count`` failed receives."""

    id: str
    env_var: str
    key: str
    description: str = ""
    max_receive_count: int = 5

    @property
    def dead_letter_id(self) -> str:
        return f"{self.id}-dlq"


@dataclass(frozen=True)
class FunctionSpec:
    """A Lambda function: the handler it runs and the resources it may touch.

    ``handler`` is the same dotted path locally and in Lambda (``functions/`` is the
    asset root, ``layers/juki/python`` the layer).
    """

    id: str
    handler: str
    description: str
    tables: dict[str, Access] = field(default_factory=dict)
    buckets: dict[str, Access] = field(default_factory=dict)
    queues: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()
    starts_state_machines: tuple[str, ...] = ()
    memory_mb: int = 512
    timeout_seconds: int = 29
    alarm_codes: tuple[str, ...] = ()  # codes whose log lines ({"code": …}) raise an alarm


@dataclass(frozen=True)
class StateMachineSpec:
    """A state machine whose ASL lives in ``statemachines/``.

    ``functions`` maps each ``${Name}`` placeholder in the ASL to the id of the
    function whose ARN replaces it.
    """

    id: str
    definition_file: str
    env_var: str
    description: str
    functions: dict[str, str] = field(default_factory=dict)
    # An EventBridge schedule expression (rate(...) or cron(...), UTC); None: started by the API only.
    schedule: str | None = None
    # Started by hand through the operations API (委託事業者の運用) besides its schedule.
    operable: bool = False
    # A Distributed Map whose ItemReader lists these buckets: the machine reads them, and starts
    # and watches its own child executions.
    map_reads_buckets: tuple[str, ...] = ()
    # A Distributed Map whose ItemReader reads one object (a JSON array of items): (bucket id, key
    # pattern); the machine may read those objects (and decrypt them with the bucket's key).
    map_reads_objects: tuple[tuple[str, str], ...] = ()
    # Started when an object is created under this (bucket id, key prefix): S3 → EventBridge.
    started_by_objects: tuple[str, str] | None = None

    @property
    def definition_path(self) -> Path:
        return STATEMACHINES_DIR / self.definition_file

    @property
    def distributed_map(self) -> bool:
        return bool(self.map_reads_buckets or self.map_reads_objects)


@dataclass(frozen=True)
class SystemDescription:
    municipality_code: str
    keys: tuple[KeySpec, ...]
    tables: tuple[TableSpec, ...]
    buckets: tuple[BucketSpec, ...]
    queues: tuple[QueueSpec, ...]
    functions: tuple[FunctionSpec, ...]
    state_machines: tuple[StateMachineSpec, ...]

    @property
    def scheduled_jobs(self) -> tuple[StateMachineSpec, ...]:
        """The state machines an operator may start by hand (and that usually run on a schedule)."""
        return tuple(machine for machine in self.state_machines if machine.operable)

    @property
    def data_buckets(self) -> tuple[BucketSpec, ...]:
        """The buckets that hold the municipality's data (KMS-encrypted, access-logged)."""
        return tuple(bucket for bucket in self.buckets if bucket.key is not None)

    @property
    def prefix(self) -> str:
        return f"juki-{self.municipality_code}"

    def name(self, resource_id: str) -> str:
        """Physical name of a table, queue, function or state machine."""
        return f"{self.prefix}-{resource_id}"

    def bucket_name(self, bucket_id: str, account: str) -> str:
        """Bucket names are global, so they carry the account too."""
        return f"{self.prefix}-{bucket_id}-{account}"

    def key_alias(self, key_id: str) -> str:
        return f"alias/{self.prefix}-{key_id}"

    def table(self, table_id: str) -> TableSpec:
        return _by_id(self.tables, table_id)

    def function(self, function_id: str) -> FunctionSpec:
        return _by_id(self.functions, function_id)

    def state_machine(self, machine_id: str) -> StateMachineSpec:
        return _by_id(self.state_machines, machine_id)


def _by_id[T: (TableSpec, FunctionSpec, StateMachineSpec)](items: tuple[T, ...], wanted: str) -> T:
    for item in items:
        if item.id == wanted:
            return item
    raise KeyError(wanted)


OPS_KEY = "ops"  # log groups, the alarm topic and the trail

DISCLOSURE_KEPT_DAYS = 90
EXTRACT_KEPT_DAYS = 14
EXPORT_KEPT_DAYS = 7

# Scheduled jobs (each a function and the state machine that runs it, under the same id).
OPLOG_SEAL = "oplog-seal"
OPLOG_VERIFY = "oplog-verify"
OPLOG_PURGE = "oplog-purge"
UNUSUAL_ACCESS = "unusual-access"
RETENTION = "retention"
LINKAGE_DISPATCH = "linkage-dispatch"
LINKAGE_RECEIVE = "linkage-receive"
CONSISTENCY_CHECK = "consistency-check"
RESIDENT_CODE_TOPUP = "resident-code-topup"
PLATFORM_EXTRACT = "platform-extract"
# Log codes that raise an alarm (the functions log {"code": …} when they find these).
OPLOG_CHAIN_BROKEN = "OPLOG_CHAIN_BROKEN"
UNUSUAL_ACCESS_FOUND = "UNUSUAL_ACCESS_FOUND"
LINKAGE_PARKED = "LINKAGE_PARKED"
LINKAGE_INBOUND_REJECTED = "LINKAGE_INBOUND_REJECTED"
CONSISTENCY_DIFFERENCES = "CONSISTENCY_DIFFERENCES"
ACCESS_LOG_BUCKET = "access-logs"

# Environment variables every function receives besides its resources. The names are the
# ones the functions read (juki.adapters.settings), so the two cannot drift apart.
ENV_MUNICIPALITY_CODE = env.ENV_MUNICIPALITY_CODE
ENV_TOKEN_ISSUER = env.ENV_TOKEN_ISSUER
ENV_TOKEN_AUDIENCE = env.ENV_TOKEN_AUDIENCE
ENV_TOKEN_PUBLIC_KEYS = env.ENV_TOKEN_PUBLIC_KEYS


def describe(municipality_code: str) -> SystemDescription:
    """The resources of one municipality's deployment."""
    ledger_rw = {
        "ledger": Access.READ_WRITE,
        "oplog": Access.READ_WRITE,
        "outbox": Access.READ_WRITE,
        "staff": Access.READ,
    }
    jobs = (
        OPLOG_SEAL,
        OPLOG_VERIFY,
        OPLOG_PURGE,
        UNUSUAL_ACCESS,
        RETENTION,
        LINKAGE_DISPATCH,
        LINKAGE_RECEIVE,
        CONSISTENCY_CHECK,
        RESIDENT_CODE_TOPUP,
    )
    return SystemDescription(
        municipality_code=municipality_code,
        keys=(
            KeySpec("data", "Encrypts the ledger tables, buckets and queues at rest"),
            KeySpec("pii", "Field-level encryption of 個人番号 (Encryption SDK)", env.ENV_PII_KEY_ARN),
            KeySpec(OPS_KEY, "Encrypts log groups, the alarm topic and the trail (infrastructure)"),
        ),
        tables=(
            TableSpec(
                "ledger",
                env.ENV_LEDGER_TABLE,
                key="data",
                indexes=(
                    IndexSpec("gsi1", "gsi1pk", "gsi1sk"),
                    # Search (juki.domain.search): set on every person version item, never on CURRENT.
                    IndexSpec("by_kana", "kana_pk", "kana_sk"),
                    IndexSpec("by_name", "name_pk", "name_sk"),
                    IndexSpec("by_birth", "birth_pk", "birth_sk"),
                    IndexSpec("by_address", "address_pk", "address_sk"),
                    IndexSpec("by_town_code", "town_code_pk", "town_code_sk"),
                    IndexSpec("by_my_number", "my_number_pk", "my_number_sk"),
                    IndexSpec("by_card", "card_pk", "card_sk"),
                ),
                description="住民基本台帳: person and household versions, movements, counters",
            ),
            TableSpec(
                "oplog",
                env.ENV_OPLOG_TABLE,
                key="data",
                indexes=(IndexSpec("by_staff", "staff_id", "sk"),),
                description="操作ログ: every read and write of personal data",
            ),
            TableSpec(
                "staff",
                env.ENV_STAFF_TABLE,
                key="data",
                description="職員: accounts, roles and office scope, with every earlier version",
            ),
            TableSpec(
                "outbox",
                env.ENV_OUTBOX_TABLE,
                key="data",
                indexes=(
                    # Sparse: only messages waiting (pending or parked), in lane and sequence order.
                    IndexSpec("by_status", "status", "queue_sk"),
                    IndexSpec("by_recipient", "prov_recipient", "prov_sk"),  # 提供・移転の記録
                ),
                description="Linkage: outgoing messages (written with their change), lanes, provisions",
            ),
        ),
        buckets=(
            BucketSpec(
                "documents",
                env.ENV_DOCUMENTS_BUCKET,
                key="data",
                description="Certificates and reports (PDF and JSON)",
                # A disclosure (開示請求) is handed over once; the copy kept for re-issue lasts 90 days.
                expire_prefixes=(("disclosures/", DISCLOSURE_KEPT_DAYS),),
            ),
            BucketSpec(
                "exchange",
                env.ENV_EXCHANGE_BUCKET,
                key="data",
                description="Peer drop zones (in and out), exports of the whole-ledger jobs",
                events_to_eventbridge=True,
                # A recipient's full extract is collected within days; a consistency check's export
                # serves its one run. Neither is kept (the 送付先情報 files are purged by retention).
                expire_prefixes=(("outbound/platform/", EXTRACT_KEPT_DAYS), ("exports/", EXPORT_KEPT_DAYS)),
            ),
            BucketSpec(
                "audit-archive",
                env.ENV_AUDIT_ARCHIVE_BUCKET,
                key="data",
                description="Sealed operation-log batches and their chain digests (Object Lock)",
                object_lock_days=env.DEFAULT_OPLOG_RETENTION_DAYS,
            ),
            BucketSpec(
                "records-archive",
                env.ENV_RECORDS_ARCHIVE_BUCKET,
                key="data",
                description="除票: removed records moved out of the ledger after five years, kept 150 years",
                cold_after_days=0,
                expire_days=env.REMOVED_RECORD_RETENTION_DAYS,
            ),
            BucketSpec(
                ACCESS_LOG_BUCKET, None, key=None, description="S3 server access logs of the other buckets"
            ),
        ),
        # No queue: the linkage outbox is a table (ordered lanes, conditional writes, the parked state
        # as its dead-letter store: docs/linkage.md); the machinery stays for a peer that needs one.
        queues=(),
        functions=(
            FunctionSpec(
                "api",
                "juki_fn.api.lambda_handler",
                "Private API for counter terminals and calling systems",
                tables={**ledger_rw, "staff": Access.READ_WRITE},
                buckets={"documents": Access.READ_WRITE, "records-archive": Access.READ},
                keys=("pii",),
                starts_state_machines=("movement-approval", PLATFORM_EXTRACT, *jobs),
            ),
            FunctionSpec(
                "movement-commit",
                "juki_fn.movement_tasks.commit_handler",
                "Checks an approved movement against the current ledger and commits it in one transaction",
                tables=ledger_rw,
                starts_state_machines=(LINKAGE_DISPATCH,),
                alarm_codes=(RESIDENT_CODE_POOL_LOW,),
                timeout_seconds=60,
            ),
            FunctionSpec(
                "movement-fail",
                "juki_fn.movement_tasks.fail_handler",
                "Records why an approved movement could not be committed",
                tables=ledger_rw,
                timeout_seconds=60,
            ),
            FunctionSpec(
                "movement-print",
                "juki_fn.movement_tasks.print_move_out_certificate_handler",
                "Prints the 転出証明書 of a committed non-card move-out (numbered, stored, in the 交付履歴)",
                tables=ledger_rw,
                buckets={"documents": Access.READ_WRITE},
                keys=("pii",),
                timeout_seconds=60,
                memory_mb=1024,
            ),
            FunctionSpec(
                OPLOG_SEAL,
                "juki_fn.oplog_tasks.seal_handler",
                "Chains the operation log's new entries by hash and archives the sealed batch",
                tables={"oplog": Access.READ_WRITE},
                buckets={"audit-archive": Access.READ_WRITE},
                alarm_codes=(OPLOG_CHAIN_BROKEN,),
                timeout_seconds=300,
                memory_mb=1024,
            ),
            FunctionSpec(
                OPLOG_VERIFY,
                "juki_fn.oplog_tasks.verify_handler",
                "Checks the operation log's hash chain against the archived seals",
                tables={"oplog": Access.READ},
                buckets={"audit-archive": Access.READ},
                alarm_codes=(OPLOG_CHAIN_BROKEN,),
                timeout_seconds=900,
                memory_mb=1024,
            ),
            FunctionSpec(
                OPLOG_PURGE,
                "juki_fn.oplog_tasks.purge_handler",
                "Removes operation-log days past their retention, once sealed and archived",
                tables={"oplog": Access.READ_WRITE},
                buckets={"audit-archive": Access.READ},
                alarm_codes=(OPLOG_CHAIN_BROKEN,),
                timeout_seconds=900,
            ),
            FunctionSpec(
                UNUSUAL_ACCESS,
                "juki_fn.audit_tasks.unusual_access_handler",
                "Looks for unusual access in the operation log and writes the findings report",
                tables={"oplog": Access.READ_WRITE, "ledger": Access.READ, "staff": Access.READ},
                buckets={"documents": Access.READ_WRITE},
                alarm_codes=(UNUSUAL_ACCESS_FOUND,),
                timeout_seconds=900,
                memory_mb=1024,
            ),
            FunctionSpec(
                RETENTION,
                "juki_fn.retention_tasks.handler",
                "Removes data at the end of its retention period and archives old removed records",
                tables=ledger_rw,
                buckets={"exchange": Access.READ_WRITE, "records-archive": Access.READ_WRITE},
                timeout_seconds=900,
            ),
            FunctionSpec(
                LINKAGE_DISPATCH,
                "juki_fn.linkage_tasks.dispatch_handler",
                "Delivers waiting linkage messages to the peers in order per person, with provision records",
                tables=ledger_rw,
                keys=("pii",),
                alarm_codes=(LINKAGE_PARKED,),
                timeout_seconds=300,
            ),
            FunctionSpec(
                LINKAGE_RECEIVE,
                "juki_fn.inbound_tasks.receive_handler",
                "Applies the files peers left in the inbound drop zone, each at most once",
                tables=ledger_rw,
                buckets={"exchange": Access.READ_WRITE},
                keys=("pii",),
                alarm_codes=(LINKAGE_INBOUND_REJECTED,),
                timeout_seconds=300,
            ),
            FunctionSpec(
                "consistency-export",
                "juki_fn.consistency_tasks.export_handler",
                "Exports the ledger's current identity items in parts for the consistency check",
                tables={"ledger": Access.READ, "oplog": Access.READ_WRITE},
                buckets={"exchange": Access.READ_WRITE},
                timeout_seconds=900,
            ),
            FunctionSpec(
                "consistency-compare",
                "juki_fn.consistency_tasks.compare_handler",
                "Compares one exported part with the CS's identity records (one Distributed Map item)",
                buckets={"exchange": Access.READ_WRITE},
                keys=("pii",),
                timeout_seconds=300,
            ),
            FunctionSpec(
                "consistency-report",
                "juki_fn.consistency_tasks.report_handler",
                "Writes the consistency check's report from the compared parts",
                tables={"oplog": Access.READ_WRITE},
                buckets={"exchange": Access.READ_WRITE, "documents": Access.READ_WRITE},
                alarm_codes=(CONSISTENCY_DIFFERENCES,),
                timeout_seconds=300,
            ),
            FunctionSpec(
                "platform-extract-list",
                "juki_fn.extract_tasks.list_handler",
                "Lists the ledger's persons in parts for a recipient system's full extract",
                tables={"ledger": Access.READ, "outbox": Access.READ, "oplog": Access.READ_WRITE},
                buckets={"exchange": Access.READ_WRITE},
                timeout_seconds=900,
            ),
            FunctionSpec(
                "platform-extract-part",
                "juki_fn.extract_tasks.part_handler",
                "Writes one part of a full extract (approved fields only) with its provision records",
                tables={"ledger": Access.READ, "outbox": Access.READ_WRITE, "oplog": Access.READ_WRITE},
                buckets={"exchange": Access.READ_WRITE},
                timeout_seconds=300,
            ),
            FunctionSpec(
                "platform-extract-finish",
                "juki_fn.extract_tasks.finish_handler",
                "Writes the extract's manifest once every part is written",
                tables={"outbox": Access.READ, "oplog": Access.READ_WRITE},
                buckets={"exchange": Access.READ_WRITE},
                timeout_seconds=120,
            ),
            FunctionSpec(
                RESIDENT_CODE_TOPUP,
                "juki_fn.pool_tasks.topup_handler",
                "Asks the CS for 住民票コード when the pool runs low",
                tables=ledger_rw,
                alarm_codes=(RESIDENT_CODE_POOL_LOW,),
                timeout_seconds=120,
            ),
        ),
        state_machines=(
            StateMachineSpec(
                "movement-approval",
                "movement_approval.asl.json",
                env.ENV_MOVEMENT_STATE_MACHINE_ARN,
                "Checks again and commits an approved movement (本登録)",
                functions={
                    "CommitFunctionArn": "movement-commit",
                    "FailFunctionArn": "movement-fail",
                    "PrintFunctionArn": "movement-print",
                },
            ),
            StateMachineSpec(
                OPLOG_SEAL,
                "oplog_seal.asl.json",
                env.ENV_OPLOG_SEAL_STATE_MACHINE_ARN,
                "Seals the operation log: chains new entries by hash, archives the batch under Object Lock",
                functions={"SealFunctionArn": OPLOG_SEAL},
                schedule="rate(10 minutes)",
                operable=True,
            ),
            StateMachineSpec(
                OPLOG_VERIFY,
                "oplog_verify.asl.json",
                env.ENV_OPLOG_VERIFY_STATE_MACHINE_ARN,
                "Verifies the operation log's hash chain against the archive; a break raises the alarm",
                functions={"VerifyFunctionArn": OPLOG_VERIFY},
                schedule="cron(30 17 * * ? *)",  # 02:30 JST
                operable=True,
            ),
            StateMachineSpec(
                OPLOG_PURGE,
                "oplog_purge.asl.json",
                env.ENV_OPLOG_PURGE_STATE_MACHINE_ARN,
                "Removes operation-log days past the retention period (sealed and archived first)",
                functions={"PurgeFunctionArn": OPLOG_PURGE},
                schedule="cron(0 18 * * ? *)",  # 03:00 JST
                operable=True,
            ),
            StateMachineSpec(
                UNUSUAL_ACCESS,
                "unusual_access.asl.json",
                env.ENV_UNUSUAL_ACCESS_STATE_MACHINE_ARN,
                "Flags unusual access in the operation log; findings go to a report and an alarm",
                functions={"DetectFunctionArn": UNUSUAL_ACCESS},
                schedule="cron(0 21 * * ? *)",  # 06:00 JST, before the offices open
                operable=True,
            ),
            StateMachineSpec(
                RETENTION,
                "retention.asl.json",
                env.ENV_RETENTION_STATE_MACHINE_ARN,
                "Purges 送付先情報 and unclaimed 転出証明書情報, archives removed records after five years",
                functions={"RetentionFunctionArn": RETENTION},
                schedule="cron(30 18 * * ? *)",  # 03:30 JST
                operable=True,
            ),
            StateMachineSpec(
                LINKAGE_DISPATCH,
                "linkage_dispatch.asl.json",
                env.ENV_LINKAGE_DISPATCH_STATE_MACHINE_ARN,
                "Delivers the outbox to the peers (also started by every commit)",
                functions={"DispatchFunctionArn": LINKAGE_DISPATCH},
                schedule="rate(1 minute)",
                operable=True,
            ),
            StateMachineSpec(
                LINKAGE_RECEIVE,
                "linkage_receive.asl.json",
                env.ENV_LINKAGE_RECEIVE_STATE_MACHINE_ARN,
                "Applies inbound files from the peers (also started by the drop zone's events)",
                functions={"ReceiveFunctionArn": LINKAGE_RECEIVE},
                schedule="rate(1 minute)",
                operable=True,
                started_by_objects=("exchange", "inbound/"),
            ),
            StateMachineSpec(
                CONSISTENCY_CHECK,
                "consistency_check.asl.json",
                env.ENV_CONSISTENCY_CHECK_STATE_MACHINE_ARN,
                "整合性確認: the whole ledger against the CS's identity records (Distributed Map)",
                functions={
                    "ExportFunctionArn": "consistency-export",
                    "CompareFunctionArn": "consistency-compare",
                    "ReportFunctionArn": "consistency-report",
                },
                schedule="cron(0 16 ? * SUN *)",  # 01:00 JST on Mondays
                operable=True,
                map_reads_buckets=("exchange",),
            ),
            StateMachineSpec(
                PLATFORM_EXTRACT,
                "platform_extract.asl.json",
                env.ENV_PLATFORM_EXTRACT_STATE_MACHINE_ARN,
                "A recipient system's full extract (approved fields only) to the 共通基盤's drop zone",
                functions={
                    "ListFunctionArn": "platform-extract-list",
                    "PartFunctionArn": "platform-extract-part",
                    "FinishFunctionArn": "platform-extract-finish",
                },
                map_reads_objects=(("exchange", "outbound/platform/*/extracts/*/ids/parts.json"),),
            ),
            StateMachineSpec(
                RESIDENT_CODE_TOPUP,
                "resident_code_topup.asl.json",
                env.ENV_RESIDENT_CODE_TOPUP_STATE_MACHINE_ARN,
                "Keeps the 住民票コード pool above its threshold with codes from the CS",
                functions={"TopupFunctionArn": RESIDENT_CODE_TOPUP},
                schedule="rate(1 hour)",
                operable=True,
            ),
        ),
    )
