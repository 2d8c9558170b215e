"""The operator's linkage commands (docs/linkage.md): list parked messages, redrive one.

    python -m juki.cli.linkage parked [--json]
    python -m juki.cli.linkage redrive <message_id> --operator <name>

Reads the tables from the environment (``Settings.from_env()``), as the functions do. A redrive is
logged in the operation log as ``system:linkage-cli`` with the operator's name as the request id;
the API (``POST /linkage/parked/{id}/redrive``) is the way for a signed-in operator. Output names
messages by id, lane and error code: never personal data.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TextIO

from juki.adapters.linkage import build_linkage
from juki.adapters.settings import Settings
from juki.bootstrap import build
from juki.domain.errors import DomainError
from juki.domain.staff import SystemActor

DONE, REFUSED = 0, 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m juki.cli.linkage", description="連携の保留メッセージの確認と再送"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    parked = commands.add_parser("parked", help="保留中のメッセージを一覧する")
    parked.add_argument("--json", action="store_true", help="JSON で出力する")
    redrive = commands.add_parser("redrive", help="保留中のメッセージを送信待ちに戻す")
    redrive.add_argument("message_id", help="通知番号")
    redrive.add_argument("--operator", required=True, help="実行する運用者 (操作ログに記録)")
    return parser


def main(
    argv: Sequence[str] | None = None, *, settings: Settings | None = None, out: TextIO | None = None
) -> int:
    args = _parser().parse_args(argv)
    out = out or sys.stdout
    linkage = build(settings or Settings.from_env()).part(build_linkage)
    if args.command == "parked":
        actor = SystemActor(name="linkage-cli", request_id="parked")
        rows = [
            {"message_id": w.message.message_id, "lane": w.message.lane, "sequence": w.message.sequence,
             "attempts": w.attempts, "last_error": w.last_error}
            for w in linkage.parked(actor)
        ]  # fmt: skip
        if args.json:
            out.write(json.dumps(rows, ensure_ascii=False) + "\n")
        else:
            for row in rows:
                out.write(f"{row['message_id']}  {row['lane']}  #{row['sequence']}  "
                          f"attempts={row['attempts']}  {row['last_error']}\n")  # fmt: skip
        return DONE
    actor = SystemActor(name="linkage-cli", request_id=args.operator)
    try:
        linkage.redrive(args.message_id, actor)
    except DomainError as refused:
        out.write(f"refused: {refused.code}\n")
        return REFUSED
    out.write(f"redriven: {args.message_id}\n")
    return DONE


if __name__ == "__main__":
    sys.exit(main())
