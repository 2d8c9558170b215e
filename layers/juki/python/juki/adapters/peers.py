"""The peers' HTTP endpoint for outbound messages (docs/linkage.md, "Delivery").

One ``POST <base>/v1/messages`` per message with its ``Idempotency-Key``; whatever happens, the
answer is a ``PeerAnswer`` (a status, or None when nothing came back): the dispatcher judges it.
The standard library's client is enough and keeps the layer small.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from typing import Any

from juki.domain.linkage import PeerAnswer, Recipient

_CODE_LENGTH = 40


class HttpPeers:
    """Implements ``juki.services.linkage.Peers``: the CS, the 中間サーバー, and the 共通基盤 for each
    recipient system."""

    def __init__(
        self, cs_url: str, platform_url: str, timeout_seconds: float, intermediate_url: str = ""
    ) -> None:
        self._cs_url = cs_url
        self._platform_url = platform_url
        self._intermediate_url = intermediate_url
        self._timeout = timeout_seconds

    def url(self, recipient: str) -> str | None:
        if recipient == Recipient.CS:
            return f"{self._cs_url}/v1/messages" if self._cs_url else None
        if recipient == Recipient.INTERMEDIATE:
            return f"{self._intermediate_url}/v1/messages" if self._intermediate_url else None
        system = recipient.removeprefix(f"{Recipient.PLATFORM}.")
        if system != recipient and self._platform_url:
            return f"{self._platform_url}/v1/recipients/{system}/messages"
        return None

    def connected(self, recipient: str) -> bool:
        """A peer with a configured URL. Routing sends nothing to the others (the 中間サーバー or the
        共通基盤 not connected yet); the CS is always routed to: without it messages wait and park."""
        return recipient == Recipient.CS or self.url(recipient) is not None

    def deliver(self, recipient: str, envelope: dict[str, Any]) -> PeerAnswer:
        url = self.url(recipient)
        if url is None:  # not connected: wait (and park in the end), never drop
            return PeerAnswer(status=None, code="PEER_NOT_CONFIGURED")
        request = urllib.request.Request(  # noqa: S310 - the URL is the configured peer's, http(s) only
            url,
            data=json.dumps(envelope, ensure_ascii=False).encode(),
            method="POST",
            headers={"Content-Type": "application/json", "Idempotency-Key": str(envelope["message_id"])},
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310
                return _answer(response.status, response.read())
        except urllib.error.HTTPError as error:
            try:
                return _answer(error.code, error.read())
            except (OSError, http.client.HTTPException):
                return PeerAnswer(status=error.code)
        except (OSError, http.client.HTTPException, ValueError):
            # Timeouts, refused or broken connections, an answer cut short, a malformed URL: no
            # answer to judge, so the message is tried again later.
            return PeerAnswer(status=None, code="NO_ANSWER")


def _answer(status: int, raw: bytes) -> PeerAnswer:
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    code = body.get("code")
    receipt = body.get("receipt")
    return PeerAnswer(
        status=status,
        code=str(code)[:_CODE_LENGTH] if code else None,
        receipt=str(receipt)[:200] if receipt else None,
    )
