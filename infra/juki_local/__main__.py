"""``make run``: the whole system on this machine. Ctrl-C stops it."""

from __future__ import annotations

import argparse
import signal
import threading
import time

from juki.domain.ids import make_id

from juki_local.system import COUNTER_SYSTEM, LocalOptions, LocalSystem
from juki_local.tokens import DEMO_STAFF


def _options() -> LocalOptions:
    parser = argparse.ArgumentParser(prog="make run", description="Juki local system")
    parser.add_argument("--port", type=int, default=8080, help="API port (default 8080)")
    parser.add_argument("--residents", type=int, default=1000, help="demo residents, up to 700000")
    parser.add_argument("--seed", type=int, default=221007, help="demo data seed")
    args = parser.parse_args()
    if not 0 <= args.residents <= 700_000:
        parser.error("--residents must be between 0 and 700000")
    # The scheduled jobs run on their schedules, as EventBridge runs them in the deployment.
    return LocalOptions(api_port=args.port, residents=args.residents, seed=args.seed, scheduler=True)


def main() -> None:
    options = _options()
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    started = time.monotonic()
    print(f"Juki: starting the local system (demo 静岡市, {options.residents:,} residents)…", flush=True)
    system = LocalSystem(options).start()
    try:
        persons, households = system.loaded
        tokens = system.demo_tokens()
        url = system.api_url
        print(
            f"""
Juki local system is up ({time.monotonic() - started:.1f} s)
  API            {url}
  OpenAPI        {url}/openapi.json
  API browser    {url}/docs
  AWS emulator   {system.emulator.url} (moto server; Step Functions execute the real ASL)
  Peers          {system.peers.cs_url} (CS), {system.peers.platform_url} (共通基盤),
                 {system.peers.intermediate_url} (中間サーバー): simulators
  Scheduled jobs every state machine with a schedule (linkage every minute; docs/linkage.md)
  Demo ledger    {persons:,} residents in {households:,} households (seed {options.seed})

Calling system (SigV4, service execute-api, region {system.emulator.region}):
  access key     {COUNTER_SYSTEM.access_key_id}
  secret key     {COUNTER_SYSTEM.secret_access_key}

Staff tokens (header X-Juki-Staff-Token, valid 12 hours), one registered account per role
(what each may do: docs/permissions.md):""",
            flush=True,
        )
        for staff in DEMO_STAFF:
            print(f"  {staff.role:<19} {staff.staff_id} {staff.name} ({staff.office}, {staff.terminal})")
            print(f"      {tokens[staff.role]}")
        print(
            f"""
Try it:
  curl -s --aws-sigv4 "aws:amz:{system.emulator.region}:execute-api" \\
       --user {COUNTER_SYSTEM.access_key_id}:{COUNTER_SYSTEM.secret_access_key} \\
       -H "X-Juki-Staff-Token: <viewer token>" {url}/households/{make_id(1)}

Press Ctrl-C to stop.""",
            flush=True,
        )
        stop.wait()
    finally:
        print("\nJuki: stopping…", flush=True)
        system.stop()
        print("Juki: stopped.", flush=True)


if __name__ == "__main__":
    main()
