"""申請管理 (the online application system): forwards what residents send through the portal. It
only drops files: ``inbound/application/<YYYY-MM-DD>/<message_id>.json`` in the exchange bucket
(docs/linkage.md, "Inbound messages"); the product keeps each as a draft for the counter."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from simulators.cs import JST, ObjectWriter

INBOUND_PREFIX = "inbound/application"


class ApplicationSimulator:
    def __init__(self, now: Callable[[], datetime] = lambda: datetime.now(JST)) -> None:
        self.s3: ObjectWriter | None = None
        self.exchange_bucket: str | None = None
        self._now = now

    def send_online_move_out(
        self,
        resident_codes: list[str],
        planned_date: date,
        destination: Mapping[str, Any],
        notified_date: date,
    ) -> str:
        """A 転出届 sent online (the 特例転出: the card authenticated the applicant). Returns the
        message id."""
        if self.s3 is None or self.exchange_bucket is None:
            raise RuntimeError("the application simulator is not connected to the exchange bucket")
        message_id = f"app-{uuid.uuid4().hex}"
        sent_at = self._now().astimezone(JST)
        envelope = {
            "message_id": message_id,
            "kind": "move_out.online",
            "sent_at": sent_at.isoformat(),
            "data": {
                "application_id": message_id,
                "resident_codes": resident_codes,
                "planned_date": planned_date.isoformat(),
                "notified_date": notified_date.isoformat(),
                "destination": dict(destination),
                "card_move_out": True,
            },
        }
        key = f"{INBOUND_PREFIX}/{sent_at.date().isoformat()}/{message_id}.json"
        body = json.dumps(envelope, ensure_ascii=False).encode()
        self.s3.put_object(Bucket=self.exchange_bucket, Key=key, Body=body, ContentType="application/json")
        return message_id
