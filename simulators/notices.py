"""The peers that only send notices, as files dropped in the exchange bucket:
``inbound/<peer>/<YYYY-MM-DD>/<message_id>.json`` holding ``{"message_id", "kind", "sent_at",
"data"}`` (docs/linkage.md, "Inbound messages").

* 法務省 (``moj``): 法第30条の50の通知 (a foreign resident's status, period or card changed);
* 戸籍 (``koseki``): 住民票記載事項通知, 本籍照合通知 and 住民票コード照会 from the 本籍地;
* the 共通基盤 (``platform``): a qualification set or ended by a department's system.

Each writer returns the message id; ``message_id`` may be given to send the same message again.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from simulators.cs import JST, ObjectWriter


class NoticeSender:
    """Drops the files of one peer."""

    def __init__(self, peer: str, now: Callable[[], datetime] = lambda: datetime.now(JST)) -> None:
        self.s3: ObjectWriter | None = None
        self.exchange_bucket: str | None = None
        self.peer = peer
        self._now = now

    def send(self, kind: str, data: Mapping[str, Any], message_id: str | None = None) -> str:
        if self.s3 is None or self.exchange_bucket is None:
            raise RuntimeError(f"the {self.peer} simulator is not connected to the exchange bucket")
        message_id = message_id or f"{self.peer}-{uuid.uuid4().hex}"
        sent_at = self._now().astimezone(JST)
        envelope = {
            "message_id": message_id,
            "kind": kind,
            "sent_at": sent_at.isoformat(),
            "data": dict(data),
        }
        key = f"inbound/{self.peer}/{sent_at.date().isoformat()}/{message_id}.json"
        body = json.dumps(envelope, ensure_ascii=False).encode()
        self.s3.put_object(Bucket=self.exchange_bucket, Key=key, Body=body, ContentType="application/json")
        return message_id


class MojSimulator(NoticeSender):
    """法務省: notices of changes to a foreign resident's items (法第30条の50)."""

    def __init__(self, now: Callable[[], datetime] = lambda: datetime.now(JST)) -> None:
        super().__init__("moj", now)

    def send_foreign_resident_notice(
        self,
        card_number: str,
        foreign_resident: Mapping[str, Any],
        effective_date: date,
        notified_date: date,
        *,
        message_id: str | None = None,
    ) -> str:
        """``card_number``: the card the person holds now; ``foreign_resident``: the new items."""
        data = {
            "card_number": card_number,
            "foreign_resident": dict(foreign_resident),
            "effective_date": effective_date.isoformat(),
            "notified_date": notified_date.isoformat(),
        }
        return self.send("foreign_resident.notice", data, message_id)


class KosekiSimulator(NoticeSender):
    """戸籍 (the 本籍地's 戸籍 system)."""

    def __init__(self, now: Callable[[], datetime] = lambda: datetime.now(JST)) -> None:
        super().__init__("koseki", now)

    def send_resident_entry_notice(
        self,
        resident_code: str,
        koseki: Mapping[str, Any],
        effective_date: date,
        notified_date: date,
        *,
        name: Mapping[str, Any] | None = None,
        message_id: str | None = None,
    ) -> str:
        """住民票記載事項通知 (住基法第9条第2項): the 本籍・筆頭者, and the name if it changed."""
        data: dict[str, Any] = {
            "resident_code": resident_code,
            "koseki": dict(koseki),
            "effective_date": effective_date.isoformat(),
            "notified_date": notified_date.isoformat(),
        }
        if name is not None:
            data["name"] = dict(name)
        return self.send("resident_entry.notice", data, message_id)

    def send_domicile_check(
        self, resident_code: str, koseki: Mapping[str, Any], message_id: str | None = None
    ) -> str:
        """本籍照合通知: the 本籍・筆頭者 the 戸籍 holds, for the municipality to compare."""
        data = {"resident_code": resident_code, "koseki": dict(koseki)}
        return self.send("domicile_check.notice", data, message_id)

    def send_resident_code_inquiry(
        self,
        inquiry_id: str,
        name: Mapping[str, Any],
        birth_date: date,
        koseki: Mapping[str, Any],
        *,
        message_id: str | None = None,
    ) -> str:
        """住民票コード照会 (from the 戸籍附票 side): the answer comes back through the CS
        (``resident_code.answer``, carrying ``inquiry_id``)."""
        data = {
            "inquiry_id": inquiry_id,
            "name": dict(name),
            "birth_date": birth_date.isoformat(),
            "koseki": dict(koseki),
        }
        return self.send("resident_code.inquiry", data, message_id)


class PlatformNoticeSimulator(NoticeSender):
    """The 共通基盤 forwarding a department's qualification (国保, 国民年金, 介護保険, 後期高齢者医療,
    児童手当)."""

    def __init__(self, now: Callable[[], datetime] = lambda: datetime.now(JST)) -> None:
        super().__init__("platform", now)

    def send_qualification(
        self,
        person_id: str,
        group: str,
        value: Mapping[str, Any] | None,
        *,
        effective_date: date,
        notified_date: date,
        source_system: str = "業務システム",
        message_id: str | None = None,
    ) -> str:
        """``value``: the group's items, or None when the qualification ends."""
        data = {
            "person_id": person_id,
            "group": group,
            "value": dict(value) if value is not None else None,
            "source_system": source_system,
            "effective_date": effective_date.isoformat(),
            "notified_date": notified_date.isoformat(),
        }
        return self.send("qualification.changed", data, message_id)
