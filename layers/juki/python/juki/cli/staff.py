"""The first staff administrator of a new deployment.

    python -m juki.cli.staff bootstrap --staff-id S0001 --name "静岡 一郎" \\
        --employee-number E-0001 --office 静岡市役所 [--office 葵区役所]

Every request needs a registered account, so the very first one (a staff administrator, who then
registers everyone else through the API) is made here, by someone with AWS credentials for the
deployment. It is written like any other account: a version, and its operation-log entry
(``system:bootstrap``). An account that already exists is left as it is.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from juki.adapters.settings import Settings
from juki.bootstrap import build
from juki.domain.staff import Role
from juki.domain.staff_registry import NewStaffUser


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m juki.cli.staff", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    first = commands.add_parser("bootstrap", help="register the first staff administrator")
    first.add_argument("--staff-id", required=True)
    first.add_argument("--name", required=True)
    first.add_argument("--employee-number", required=True)
    first.add_argument("--office", action="append", required=True)
    args = parser.parse_args(argv)
    account = NewStaffUser(
        staff_id=args.staff_id,
        name=args.name,
        employee_number=args.employee_number,
        roles=[Role.STAFF_ADMIN],
        offices=args.office,
    )
    staff = build(Settings.from_env()).staff
    staff.register_bootstrap([account], by="bootstrap")
    print(f"registered {account.staff_id} as {Role.STAFF_ADMIN.value} (or it was already registered)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
