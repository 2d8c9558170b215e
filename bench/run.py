"""``make bench``: measures the foundation flow and writes docs/benchmarks.md.

Every figure is a ratio to a baseline taken in the same process and run, on the same
emulator, so the numbers compare across machines:

* DynamoDB requests per committed move-in (counted where moto receives them) and the wall
  time of a move-in (draft over HTTP, approval, state machine, commit) as a ratio to one
  plain PutItem;
* the cold import time of each handler module as a ratio to ``import boto3``;
* the cost of the protections (operation log, 個人番号 encryption), from ``bench.protection``, on
  a small local system of its own (``python -m bench protection`` runs that section alone).
"""

from __future__ import annotations

import copy
import json
import platform
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests
from juki.adapters.system import JST
from juki.domain.dates import to_wareki
from juki_infra.description import describe
from juki_local.sigv4 import sign_headers
from juki_local.system import COUNTER_SYSTEM, LocalOptions, LocalSystem
from juki_local.tokens import DEMO_BY_ROLE
from moto.core.responses import BaseResponse
from pynamodb.connection import Connection

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "docs" / "benchmarks.md"
MOVE_INS = 20
PUTS = 200
RESIDENTS = 100_000  # the search figures are for a municipality of this size
SEARCHES = 20
IMPORT_RUNS = 7
CLERK, APPROVER = DEMO_BY_ROLE["clerk"], DEMO_BY_ROLE["approver"]


@contextmanager
def counting_requests() -> Iterator[Counter[str]]:
    """Counts every request moto serves, by service and action."""
    counts: Counter[str] = Counter()
    original = BaseResponse.call_action

    def counted(self: BaseResponse) -> Any:
        counts[f"{self.service_name}:{self._get_action()}"] += 1
        return original(self)

    BaseResponse.call_action = counted  # type: ignore[method-assign]
    try:
        yield counts
    finally:
        BaseResponse.call_action = original  # type: ignore[method-assign]


def move_in_body(index: int) -> dict[str, Any]:
    kana = "".join("アイウエオカキクケコ"[int(d)] for d in f"{index:04d}")
    name = {
        "family_name": "計測",
        "given_name": "太郎",
        "family_name_kana": f"ケイ{kana}",
        "given_name_kana": "タロウ",
    }
    koseki = {"domicile": "静岡県静岡市葵区追手町5番地", "head": "計測太郎"}
    member = {
        "name": name,
        "birth_date": "1980-04-01",
        "sex": "male",
        "relationship": "世帯主",
        "koseki": koseki,
    }
    spouse = copy.deepcopy(member) | {"birth_date": "1982-05-03", "sex": "female", "relationship": "妻"}
    child = copy.deepcopy(member) | {"birth_date": "2015-06-10", "relationship": "子"}
    return {
        "kind": "move_in",
        "effective_date": day(-6),
        "notified_date": day(-1),
        "address": {"postal_code": "420-0853", "ward": "葵区", "town": "追手町", "lot": "5番1号"},
        "previous_address": {
            "prefecture": "東京都",
            "municipality": "千代田区",
            "street": "霞が関二丁目1番2号",
        },
        "members": [member, spouse, child],
    }


def day(offset: int) -> str:
    """A date relative to today in Japan, so the movements are never in the future."""
    return (datetime.now(JST).date() + timedelta(days=offset)).isoformat()


def call(system: LocalSystem, method: str, path: str, token: str, body: Any = None) -> dict[str, Any]:
    url = f"{system.api_url}{path}"
    data = b"" if body is None else json.dumps(body).encode()
    headers = {"X-Juki-Staff-Token": token} | ({"Content-Type": "application/json"} if data else {})
    signed = sign_headers(method, url, headers, data, COUNTER_SYSTEM, system.emulator.region)
    response = requests.request(method, url, headers=signed, data=data, timeout=60)
    if response.status_code >= 300:
        raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")
    result: dict[str, Any] = response.json()
    return result


def timed(action: Callable[[], Any]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def plain_put_seconds(system: LocalSystem) -> float:
    dynamodb = system.emulator.client("dynamodb")
    table = system.description.name("ledger")

    def put(index: int) -> None:
        item = {"pk": {"S": f"BENCH#{index}"}, "sk": {"S": "PUT"}, "n": {"N": str(index)}}
        dynamodb.put_item(TableName=table, Item=item)

    return statistics.median(timed(partial(put, index)) for index in range(PUTS))


def move_in_flow(system: LocalSystem) -> tuple[float, float, float, Counter[str], Counter[str]]:
    clerk, approver = system.token(CLERK), system.token(APPROVER)
    call(system, "POST", "/movements", clerk, move_in_body(9999))  # warm the handler modules
    entry_counts: Counter[str] = Counter()
    approval_counts: Counter[str] = Counter()
    totals, entries, approvals = [], [], []
    for index in range(MOVE_INS):
        with counting_requests() as counts:
            start = time.perf_counter()
            draft = call(system, "POST", "/movements", clerk, move_in_body(index))
            entered = time.perf_counter()
        entry_counts += counts
        with counting_requests() as counts:
            final = call(system, "POST", f"/movements/{draft['movement_id']}/approve", approver)
            done = time.perf_counter()
        approval_counts += counts
        if final["status"] != "final":
            raise RuntimeError(f"move-in {index} ended {final['status']}")
        totals.append(done - start)
        entries.append(entered - start)
        approvals.append(done - entered)
    return (
        statistics.median(totals),
        statistics.median(entries),
        statistics.median(approvals),
        entry_counts,
        approval_counts,
    )


def kind_bodies(household_id: str, person_ids: list[str], address: dict[str, str]) -> list[dict[str, Any]]:
    """One movement of each kind for one household, in an order the rules allow."""
    head, spouse, child = person_ids
    elsewhere = {"prefecture": "東京都", "municipality": "千代田区", "street": "霞が関二丁目1番2号"}
    koseki = {"domicile": "静岡県静岡市葵区追手町5番地", "head": "計測太郎"}
    name = {"family_name": "計測", "given_name": "花", "family_name_kana": "ケイ", "given_name_kana": "ハナ"}
    moved = {**address, "lot": "9番9号"}
    return [
        {"kind": "in_city_move", "effective_date": day(-5), "notified_date": day(-5), "person_ids": person_ids,
         "address": moved, "destination": {"mode": "same_household"}},
        {"kind": "correction", "basis": "error", "effective_date": day(-4), "notified_date": day(-4),
         "person_id": child, "changes": {"birth_date": "2015-06-11"}, "reason": "計測"},
        {"kind": "head_change", "effective_date": day(-3), "notified_date": day(-3), "household_id": household_id,
         "new_head_person_id": spouse, "relationships": {head: "夫", child: "子"}},
        {"kind": "move_out", "person_ids": [child], "planned_date": day(-2), "notified_date": day(-2),
         "destination": elsewhere},
        {"kind": "move_out_confirmation", "person_id": child, "moved_in_date": day(-2),
         "destination": elsewhere, "notified_date": day(-1)},
        {"kind": "birth", "effective_date": day(0), "notified_date": day(0), "household_id": household_id,
         "name": name, "sex": "female", "relationship": "子", "koseki": koseki},
        {"kind": "death", "effective_date": day(0), "notified_date": day(0), "person_id": head},
    ]  # fmt: skip


def approve_counted(
    system: LocalSystem, body: dict[str, Any]
) -> tuple[dict[str, Any], Counter[str], Counter[str]]:
    """Enter and approve one movement; the DynamoDB requests of each step."""
    with counting_requests() as entry:
        draft = call(system, "POST", "/movements", system.token(CLERK), body)
    with counting_requests() as approval:
        final = call(system, "POST", f"/movements/{draft['movement_id']}/approve", system.token(APPROVER))
    return final, dynamodb_only(entry), dynamodb_only(approval)


def per_kind(system: LocalSystem) -> dict[str, tuple[Counter[str], Counter[str]]]:
    """DynamoDB requests at entry and at approval (through the commit), for one movement of each kind."""
    first = move_in_body(7777)
    final, entry, approval = approve_counted(system, first)
    found = {"move_in": (entry, approval)}
    result = final["result"]
    for body in kind_bodies(result["household_ids"][0], result["person_ids"], first["address"]):
        _, entry, approval = approve_counted(system, body)
        found[body["kind"]] = (entry, approval)
    return found


@contextmanager
def counting_items() -> Iterator[Counter[str]]:
    """Items DynamoDB hands back to our adapters: what a Query returns (Count) and what a
    BatchGetItem returns, per operation."""
    items: Counter[str] = Counter()
    original = Connection._make_api_call

    def counted(self: Connection, operation_name: str, operation_kwargs: dict[str, Any]) -> dict[str, Any]:
        response: dict[str, Any] = original(self, operation_name, operation_kwargs)
        if operation_name == "Query":
            items["Query"] += int(response.get("Count", 0))
        elif operation_name == "BatchGetItem":
            items["BatchGetItem"] += sum(len(found) for found in response.get("Responses", {}).values())
        elif operation_name == "GetItem":
            items["GetItem"] += 1 if "Item" in response else 0
        return response

    Connection._make_api_call = counted  # type: ignore[method-assign]
    try:
        yield items
    finally:
        Connection._make_api_call = original  # type: ignore[method-assign]


def search_figures(system: LocalSystem) -> tuple[list[tuple[str, int, float, float]], float]:
    """For each kind of search: results returned, items read per item returned, and the time as a
    ratio to one plain Query on the same emulator. Also returns the plain Query's seconds."""
    dynamodb = system.emulator.client("dynamodb")
    table = system.description.name("ledger")

    def plain_query() -> None:
        dynamodb.query(TableName=table, KeyConditionExpression="pk = :pk",
                       ExpressionAttributeValues={":pk": {"S": "PERSON#0000000019"}})  # fmt: skip

    baseline = statistics.median(timed(plain_query) for _ in range(SEARCHES))
    viewer = system.token(DEMO_BY_ROLE["viewer"])
    sample = call(system, "GET", "/households/0000000019", viewer)["members"][0]
    queries = {
        "kana family name": f"family_name_kana={sample['name']['family_name_kana']}",
        "kana family + given name": f"family_name_kana={sample['name']['family_name_kana']}"
        f"&given_name_kana={sample['name']['given_name_kana']}",
        "birth date (和暦)": f"birth_date={to_wareki(date.fromisoformat(sample['birth_date']))}",
        "address (town)": f"town={sample['address']['town']}",
    }
    rows = []
    for label, query in queries.items():
        path = f"/search/persons?{quote(query, safe='=&')}&limit=20"
        with counting_items() as items:
            seconds = statistics.median(timed(partial(call, system, "GET", path, viewer)) for _ in range(3))
        returned = len(call(system, "GET", path, viewer)["persons"])
        rows.append((label, returned, items.total() / 3 / max(returned, 1), seconds / baseline))
    return rows, baseline


def import_seconds(module: str) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    samples = [
        float(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout)
        for _ in range(IMPORT_RUNS)
    ]
    return statistics.median(samples)


def dynamodb_only(counts: Counter[str]) -> Counter[str]:
    return Counter({key.split(":", 1)[1]: n for key, n in counts.items() if key.startswith("dynamodb:")})


def other_services(counts: Counter[str]) -> Counter[str]:
    return Counter({key: n for key, n in counts.items() if not key.startswith("dynamodb:")})


def per_one(counts: Counter[str]) -> str:
    return f"{counts.total()}: " + ", ".join(f"{action} {n}" for action, n in sorted(counts.items()))


def per_move_in(counts: Counter[str]) -> str:
    return ", ".join(f"{action} {n / MOVE_INS:g}" for action, n in sorted(counts.items()))


def main(argv: list[str] | None = None) -> None:
    """``python -m bench`` runs every section and writes the whole report; ``python -m bench
    protection`` (or ``certificates``, ``linkage``) runs that section alone and replaces only it."""
    from bench import certificates, linkage, protection

    sections = sys.argv[1:] if argv is None else argv
    if sections == ["certificates"]:  # issue 5: the certificate section alone
        print("\n".join(certificates.write()))
        return
    if sections == ["linkage"]:  # issue 6: the linkage section alone
        print("\n".join(linkage.write()))
        return
    if sections not in ([], ["protection"]):
        raise SystemExit("usage: python -m bench [protection | certificates | linkage]")
    protection_lines = protection.section(protection.measure())
    if sections == ["protection"]:
        previous = (
            REPORT.read_text(encoding="utf-8").splitlines() if REPORT.exists() else ["# Benchmarks", ""]
        )
        lines = replace_section(previous, protection_lines)
    else:
        lines = (
            foundation_report()
            + protection_lines
            + certificates.section(certificates.measure())
            + linkage.section(linkage.measure())
        )
    REPORT.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


def replace_section(report: list[str], section: list[str]) -> list[str]:
    """The report with the ``##`` section of the same heading replaced (or added at the end)."""
    heading = section[0]
    if heading not in report:
        return [*report, *([""] if report and report[-1] else []), *section]
    start = report.index(heading)
    end = next((i for i in range(start + 1, len(report)) if report[i].startswith("## ")), len(report))
    return [*report[:start], *section, *report[end:]]


def foundation_report() -> list[str]:
    """The move-in flow, the requests per movement kind, search and imports, on a municipality
    of ``RESIDENTS``: the report up to the protection section."""
    started = datetime.now(UTC)
    loading = time.perf_counter()
    with LocalSystem(LocalOptions(api_port=0, residents=RESIDENTS)) as system:
        loaded = time.perf_counter() - loading
        put = plain_put_seconds(system)
        total, entry, approval, entry_counts, approval_counts = move_in_flow(system)
        kinds = per_kind(system)
        searches, query_seconds = search_figures(system)
    entry_db, approval_db = dynamodb_only(entry_counts), dynamodb_only(approval_counts)
    handlers = sorted({f.handler.rsplit(".", 1)[0] for f in describe("221007").functions})
    boto3_import = import_seconds("boto3")
    imports = {module: import_seconds(module) for module in handlers}

    lines = [
        "# Benchmarks",
        "",
        f"Produced by `make bench` (`python -m bench`) on {started:%Y-%m-%d} "
        f"({platform.machine()}, {platform.python_implementation()} {platform.python_version()}). "
        "Every figure is a ratio to a baseline measured in the same run, on the same emulator.",
        "",
        "## The move-in flow (issue 2)",
        "",
        f"{MOVE_INS} move-ins of a three-person household over HTTP against the local system "
        f"(moto server, {RESIDENTS:,} demo residents): draft (`POST /movements`), then approval "
        "(`POST /movements/{id}/approve`), which runs the movement-approval state machine to the commit.",
        "",
        "| measure | value |",
        "| --- | --- |",
        f"| DynamoDB requests per committed move-in | {(entry_db + approval_db).total() / MOVE_INS:g} |",
        f"| … at entry (draft) | {entry_db.total() / MOVE_INS:g} ({per_move_in(entry_db)}) |",
        f"| … at approval and commit | {approval_db.total() / MOVE_INS:g} ({per_move_in(approval_db)}) |",
        f"| TransactWriteItems per move-in | {(entry_db + approval_db)['TransactWriteItems'] / MOVE_INS:g} |",
        f"| other AWS requests per move-in | {per_move_in(other_services(entry_counts + approval_counts))} |",
        f"| wall time of a move-in ÷ one PutItem | {total / put:.1f} |",
        f"| … entry ÷ one PutItem | {entry / put:.1f} |",
        f"| … approval to commit ÷ one PutItem | {approval / put:.1f} |",
        "",
        f"Baseline: the median of {PUTS} plain PutItem calls with boto3 on the same emulator "
        f"({put * 1000:.2f} ms here; absolute times are machine-dependent, the ratios are the figures).",
        "",
        "## DynamoDB requests per movement kind",
        "",
        "One movement of each kind on one household (after a move-in of three), entered over HTTP and"
        " approved. Reads are GetItem, BatchGetItem and Query; writes are the TransactWriteItems (and"
        " UpdateItem for id counters). The target is one read round and one transaction.",
        "",
        "| kind | at entry | at approval and commit |",
        "| --- | --- | --- |",
        *[
            f"| {kind} | {per_one(entry_db)} | {per_one(commit_db)} |"
            for kind, (entry_db, commit_db) in kinds.items()
        ],
        "",
        f"## Search on a municipality of {RESIDENTS:,} residents",
        "",
        f"`GET /search/persons` over HTTP (limit 20), median of 3. Items read are the index entries the"
        " Queries return plus the records fetched by BatchGetItem; the baseline is one plain Query by"
        f" partition key on the same emulator ({query_seconds * 1000:.2f} ms here). moto answers a query"
        " on a GSI by scanning the table, so the time ratio here grows with the ledger; DynamoDB's does"
        " not, and the items-read figure is the one that carries over.",
        "",
        "| search | results | items read per item returned | time ÷ one Query |",
        "| --- | --- | --- | --- |",
        *[
            f"| {label} | {returned} | {per_item:.1f} | {ratio:.1f} |"
            for label, returned, per_item, ratio in searches
        ],
        "",
        f"Loading the demo municipality of {RESIDENTS:,} residents into the emulator took {loaded:.0f} s.",
        "",
        "## Cold import of each handler module",
        "",
        f"Median of {IMPORT_RUNS} fresh interpreters each; the baseline is `import boto3` "
        f"({boto3_import * 1000:.0f} ms here).",
        "",
        "| module | ÷ import boto3 |",
        "| --- | --- |",
        *[f"| `{module}` | {seconds / boto3_import:.2f} |" for module, seconds in imports.items()],
        "",
    ]
    return lines


if __name__ == "__main__":
    main()
