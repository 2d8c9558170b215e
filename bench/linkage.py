"""Linkage (issue 6): how soon an approved change reaches the CS, and how fast the dispatcher drains
the outbox, each as a ratio to a baseline taken in the same run on the same emulator.

* **Approval to delivery**: a move-in is entered over HTTP and approved; the time from sending the
  approval to the moment the CS simulator applied the person's ``identity.created`` (its own clock
  stamps it), against the approval's own round trip (the commit is inside it). The commit starts
  the dispatcher, so the difference is the dispatcher's start, one round and the delivery.
* **Dispatcher throughput**: ``EVENTS`` committed-change events are put in the outbox at once (as a
  busy morning of commits would leave them), and the dispatcher service runs rounds until nothing
  is waiting; deliveries per second against plain SQS reads on the same emulator (``ReceiveMessage``
  of ten and ``DeleteMessageBatch`` until a queue of the same number of messages is empty). The
  dispatcher does far more per message (route, lease, read the version, an HTTP delivery, one
  transaction with the provision record): the ratio says what that costs.

``python -m bench linkage`` runs this section alone and replaces it in docs/benchmarks.md.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from juki import bootstrap
from juki.adapters.dynamodb import outbox_item
from juki.adapters.linkage import build_linkage, build_linkage_store
from juki.adapters.system import JST
from juki.domain.linkage import OutboundMessage, Recipient, event_id
from juki.domain.staff import SystemActor
from juki_local.system import LocalOptions, LocalSystem
from juki_local.tokens import DEMO_BY_ROLE

from bench.run import counting_requests, move_in_body, timed

APPROVALS = 10
EVENTS = 200
CLERK, APPROVER = DEMO_BY_ROLE["clerk"], DEMO_BY_ROLE["approver"]


@dataclass(frozen=True)
class LinkageFigures:
    approval_seconds: float  # median approval round trip (commit included)
    delivery_seconds: float  # median approval sent → applied at the CS simulator
    deliveries: int
    dispatch_seconds: float
    queue_messages: int
    queue_seconds: float
    requests_per_delivery: dict[str, float]


def _api(system: LocalSystem) -> Any:
    from tests.api_support import ApiClient

    return ApiClient(system)


def approval_to_delivery(system: LocalSystem) -> tuple[float, float]:
    api = _api(system)
    approvals: list[float] = []
    deliveries: list[float] = []
    for index in range(APPROVALS):
        created = api.request("POST", "/movements", CLERK, move_in_body(9000 + index))
        assert created.status_code == 201, created.text
        sent_at = time.time()  # the simulator stamps with time.time() too
        started = time.perf_counter()
        approved = api.request("POST", f"/movements/{created.json()['movement_id']}/approve", APPROVER)
        approvals.append(time.perf_counter() - started)
        assert approved.status_code == 200, approved.text
        person = approved.json()["result"]["person_ids"][0]
        lane = f"cs.identity:{person}"
        for _ in range(2000):
            applied = system.peers.cs.applied(lane)
            if applied:
                deliveries.append(applied[0].applied_at - sent_at)
                break
            time.sleep(0.005)
        else:
            raise AssertionError(f"{lane} never reached the CS")
    return statistics.median(approvals), statistics.median(deliveries)


def throughput(system: LocalSystem) -> tuple[int, float, Counter[str]]:
    services = bootstrap.services()
    store = services.part(build_linkage_store)
    linkage = services.part(build_linkage)
    persons = sorted(services.store.persons_by_id([f"{n:010d}" for n in range(1, 10**4)]))[:EVENTS]
    now = datetime.now(JST)
    for person_id in persons:
        record = services.store.get_person(person_id)
        assert record is not None
        message = OutboundMessage(
            message_id=event_id(f"bench-{person_id}", person_id, record.version),
            recipient=Recipient.ROUTER, kind="record.version", movement_id=f"bench-{person_id}",
            person_id=person_id, household_id=record.household_id, sequence=record.version, created_at=now,
        )  # fmt: skip
        outbox_item(message, store._queue).save()
    actor = SystemActor(name="bench", request_id="bench")
    delivered = 0
    with counting_requests() as counts:
        started = time.perf_counter()
        while True:
            result = linkage.dispatch(actor)
            delivered += result.delivered
            if not result.more and result.waiting == 0:
                break
        seconds = time.perf_counter() - started
    return delivered, seconds, counts


def queue_reads(system: LocalSystem, messages: int) -> float:
    sqs = system.emulator.client("sqs")
    url = sqs.create_queue(QueueName="bench-linkage-baseline")["QueueUrl"]
    for start in range(0, messages, 10):
        entries = [{"Id": str(i), "MessageBody": f"m{start + i}"} for i in range(min(10, messages - start))]
        sqs.send_message_batch(QueueUrl=url, Entries=entries)

    def drain() -> None:
        left = messages
        while left:
            received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if received:
                sqs.delete_message_batch(
                    QueueUrl=url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(received)
                    ],
                )
                left -= len(received)

    return timed(drain)


def measure() -> LinkageFigures:
    with LocalSystem(LocalOptions(api_port=0, residents=EVENTS + 50)) as system:
        approval, delivery = approval_to_delivery(system)
        delivered, seconds, counts = throughput(system)
        queue_seconds = queue_reads(system, delivered)
    per_delivery = {action: n / delivered for action, n in counts.items() if n >= delivered / 10}
    return LinkageFigures(
        approval_seconds=approval,
        delivery_seconds=delivery,
        deliveries=delivered,
        dispatch_seconds=seconds,
        queue_messages=delivered,
        queue_seconds=queue_seconds,
        requests_per_delivery=dict(sorted(per_delivery.items())),
    )


def section(figures: LinkageFigures) -> list[str]:
    rate = figures.deliveries / figures.dispatch_seconds
    queue_rate = figures.queue_messages / figures.queue_seconds
    requests = ", ".join(f"{action} {n:.2f}" for action, n in figures.requests_per_delivery.items())
    return [
        "## Linkage",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d} with `python -m bench linkage` (also part of `make bench`).",
        "",
        "| figure | ratio | what was compared |",
        "| ------ | ----- | ----------------- |",
        f"| approval → applied at the CS simulator | {figures.delivery_seconds / figures.approval_seconds:.2f} × "
        f"the approval's round trip | median of {APPROVALS} move-ins: {figures.delivery_seconds * 1000:.0f} ms "
        f"against {figures.approval_seconds * 1000:.0f} ms |",
        f"| dispatcher throughput | {rate / queue_rate:.3f} × plain SQS reads | {rate:.1f} deliveries/s "
        f"({figures.deliveries} deliveries from {EVENTS} events) against {queue_rate:.0f} messages/s "
        "received and deleted in tens |",
        "",
        f"Requests per delivery (moto, during the throughput run): {requests}.",
        "",
        "The commit starts the dispatcher, so a change reaches the CS within the approval plus one "
        "dispatcher start, well inside the minute of the scheduled run. Throughput is bound by the "
        "work each delivery does in order (route, lane lease, version read, HTTP delivery, one "
        "transaction with its provision record), one lane after another in a round.",
    ]


def write() -> list[str]:
    """Runs the section and replaces it in docs/benchmarks.md."""
    from bench.run import REPORT, replace_section

    lines = section(measure())
    previous = REPORT.read_text(encoding="utf-8").splitlines() if REPORT.exists() else ["# Benchmarks", ""]
    REPORT.write_text("\n".join(replace_section(previous, lines)), encoding="utf-8")
    return lines
