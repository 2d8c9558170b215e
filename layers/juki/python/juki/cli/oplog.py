"""The operation log's seal, verify and purge commands (docs/audit-log.md).

    python -m juki.cli.oplog verify [--from 2025-04-01] [--to 2025-04-30] [--json]
    python -m juki.cli.oplog seal [--until 2025-04-30T12:00:00+09:00]
    python -m juki.cli.oplog purge

Reads the tables and buckets from the environment (``Settings.from_env()``), as the functions do.
``verify`` exits 0 when the log is intact, 1 when it names what is wrong; ``seal`` exits 1 when
it sealed entries it could not mark (gone or changed in the table: ``unmarked`` in its output).
The report names entries by id and sequence number only; the entries themselves are read with the
auditor's API.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import TextIO

from juki.adapters.dynamodb import DynamoLedgerStore
from juki.adapters.oplog_archive import oplog_audit_from
from juki.adapters.settings import Settings
from juki.domain.oplog_chain import VerifyReport
from juki.services.oplog_audit import OplogAudit

INTACT, BROKEN = 0, 1


def _audit(settings: Settings) -> OplogAudit:
    store = DynamoLedgerStore(
        settings.ledger_table,
        settings.oplog_table,
        settings.outbox_table,
        region=settings.region,
        host=settings.endpoint_url,
    )
    return oplog_audit_from(settings, store)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m juki.cli.oplog", description="操作ログの封印・検証・削除"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    verify = commands.add_parser("verify", help="ハッシュチェーンとアーカイブを照合する")
    verify.add_argument("--from", dest="from_day", type=date.fromisoformat, help="この日から (YYYY-MM-DD)")
    verify.add_argument("--to", dest="to_day", type=date.fromisoformat, help="この日まで (YYYY-MM-DD)")
    verify.add_argument("--json", action="store_true", help="報告を JSON で出力する")
    seal = commands.add_parser("seal", help="未封印のエントリを封印する")
    seal.add_argument(
        "--until",
        type=datetime.fromisoformat,
        help="この日時より前のエントリを封印する (省略すると現在から猶予時間を引いた日時)",
    )
    commands.add_parser("purge", help="保存期間を過ぎた日の操作ログを削除する")
    return parser


def print_report(report: VerifyReport, out: TextIO) -> None:
    verdict = "intact" if report.intact else "BROKEN"
    out.write(
        f"operation log {verdict}: batches {report.from_batch}..{report.to_batch} ({report.batches}),"
        f" entries {report.entries}, purged {report.purged_entries},"
        f" head {report.head_batch}/{report.head_seq}\n"
    )
    for finding in report.findings:
        out.write(
            f"  {finding.kind}: batch={finding.batch} seq={finding.seq} entry_id={finding.entry_id}"
            f" {finding.detail}\n"
        )


def main(
    argv: Sequence[str] | None = None, *, settings: Settings | None = None, out: TextIO | None = None
) -> int:
    args = _parser().parse_args(argv)
    out = out or sys.stdout
    audit = _audit(settings or Settings.from_env())
    if args.command == "verify":
        report = audit.verify(args.from_day, args.to_day)
        if args.json:
            out.write(report.model_dump_json(indent=2) + "\n")
        else:
            print_report(report, out)
        return INTACT if report.intact else BROKEN
    if args.command == "seal":
        results = audit.seal_all(args.until)
        for result in results:
            out.write(json.dumps(result.model_dump(mode="json"), ensure_ascii=False) + "\n")
        # Entries sealed but gone or changed before they could be marked: sealed all the same,
        # and named by the next verify; the exit code says so now.
        return BROKEN if any(result.unmarked for result in results) else 0
    purged = audit.purge(f"cli-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}")
    out.write(json.dumps(purged.model_dump(mode="json"), ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
