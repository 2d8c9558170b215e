"""One HTTP server on 127.0.0.1 for every simulated peer: the CS under ``/cs``, the 共通基盤 under
``/platform``. Started and stopped from Python (``with PeerSimulators(...) as peers:``).

Faults are applied before anything is read from the body's content, in this order: an outage
(``down_for``), an injected failure (``fail_next``), slowness (``slow_for``); a lost answer
(``lose_answers``) is decided after a message has been applied. The server logs nothing: the
request lines would name persons' lanes, and the bodies are personal data.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

from simulators.application import ApplicationSimulator
from simulators.cs import CsSimulator, ObjectWriter
from simulators.delivery import BadMessage, Outcome
from simulators.faults import Clock
from simulators.intermediate import IntermediateSimulator
from simulators.notices import KosekiSimulator, MojSimulator, PlatformNoticeSimulator
from simulators.peer import Peer
from simulators.platform import PlatformSimulator

_PLATFORM_MESSAGES = re.compile(r"^/platform/v1/recipients/([A-Za-z0-9_-]{1,64})/messages$")
_INTERMEDIATE_MESSAGES = "/intermediate/v1/messages"


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a request asleep in slow_for never holds up stop()
    peers: PeerSimulators

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: a client that timed out and hung up is the point of ``slow_for``."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the product's HTTP client pools connections
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Nothing is logged (see the module docstring)."""

    def do_GET(self) -> None:
        self._read_body()
        if self.path == "/health":
            self._answer(200, {"status": "ok"})
        else:
            self._answer(404, {"code": "NOT_FOUND"})

    def do_POST(self) -> None:
        raw = self._read_body()
        found = self._route(self.path.split("?", 1)[0])
        if found is None:
            self._answer(404, {"code": "NOT_FOUND"})
            return
        peer, handle = found
        refusal = peer.faults.admit()
        if refusal is not None:
            self._answer(refusal.status, {"code": refusal.code})
            return
        try:
            body = json.loads(raw) if raw else None
        except ValueError:  # json.JSONDecodeError, UnicodeDecodeError
            self._answer(400, {"code": "BAD_MESSAGE", "reason": "the body must be JSON"})
            return
        try:
            handle(body, self.headers.get("Idempotency-Key"))
        except BadMessage as error:
            self._answer(400, {"code": "BAD_MESSAGE", "reason": str(error)})
        except Exception as error:
            self._answer(500, {"code": "INTERNAL", "error": type(error).__name__})

    def _route(self, path: str) -> tuple[Peer, Callable[[Any, str | None], None]] | None:
        """The peer a path belongs to (for its faults) and what answers the request."""
        peers = self.server.peers
        cs, intermediate, platform = peers.cs, peers.intermediate, peers.platform
        routes: dict[str, tuple[Peer, Callable[[Any, str | None], None]]] = {
            "/cs/v1/messages": (cs, lambda body, key: self._answer_delivery(cs, cs.deliver(body, key))),
            "/cs/v1/identity-records:query": (cs, lambda body, _: self._answer(200, cs.query(body))),
            "/cs/v1/resident-codes:allocate": (cs, lambda body, _: self._answer(200, cs.allocate(body))),
            _INTERMEDIATE_MESSAGES: (
                intermediate,
                lambda body, key: self._answer_delivery(intermediate, intermediate.deliver(body, key)),
            ),
        }
        if path in routes:
            return routes[path]
        recipient = _PLATFORM_MESSAGES.match(path)
        if recipient is None:
            return None
        system_id = recipient.group(1)
        return platform, lambda body, key: self._answer_delivery(
            platform, platform.deliver(system_id, body, key)
        )

    def _answer_delivery(self, peer: Peer, outcome: Outcome) -> None:
        if outcome.applied is not None and peer.faults.take_lost_answer():
            self._answer(500, {"code": "ANSWER_LOST"})
        else:
            self._answer(outcome.status, outcome.body)

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        payload = json.dumps(body, ensure_ascii=False).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up waiting


class PeerSimulators:
    """The CS and the 共通基盤 behind one server. ``s3`` and ``exchange_bucket`` are where the CS
    drops its files (a boto3 S3 client and the exchange bucket's name); without them the CS still
    answers messages but cannot send files."""

    def __init__(
        self,
        s3: ObjectWriter | None = None,
        exchange_bucket: str | None = None,
        *,
        seed: int = 0,
        my_number_delay: float = 0.0,
        port: int = 0,
        clock: Clock = time.monotonic,
    ) -> None:
        self.application = ApplicationSimulator()  # drops files only: no HTTP route
        self.moj = MojSimulator()  # 法務省, 戸籍 and the 共通基盤's notices: files only too
        self.koseki = KosekiSimulator()
        self.platform_notices = PlatformNoticeSimulator()
        self.cs = CsSimulator(s3, exchange_bucket, seed=seed, my_number_delay=my_number_delay, clock=clock)
        self.platform = PlatformSimulator(clock)
        self.intermediate = IntermediateSimulator(clock)  # 中間サーバー
        self._port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        if self._server is not None:
            raise RuntimeError("already started")
        server = _Server(("127.0.0.1", self._port), _Handler)
        server.peers = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="peer-simulators", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self.cs.cancel_pending()
        self.cs.faults.wake_all()
        self.platform.faults.wake_all()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def connect(self, s3: ObjectWriter, exchange_bucket: str) -> None:
        """Where the CS, 申請管理, 法務省, 戸籍 and the 共通基盤's notices drop their files, once the
        bucket exists (the server starts before it)."""
        self.cs.s3 = s3
        self.cs.exchange_bucket = exchange_bucket
        for sender in (self.application, self.moj, self.koseki, self.platform_notices):
            sender.s3 = s3
            sender.exchange_bucket = exchange_bucket

    def reset(self) -> None:
        """Clears the faults of every peer."""
        self.cs.reset()
        self.platform.reset()
        self.intermediate.reset()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def cs_url(self) -> str:
        return f"{self.url}/cs"

    @property
    def platform_url(self) -> str:
        return f"{self.url}/platform"

    @property
    def intermediate_url(self) -> str:
        return f"{self.url}/intermediate"
