"""Clock and identifiers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

JST = timezone(timedelta(hours=9), "JST")  # Japan keeps no daylight saving time


class SystemClock:
    """Japan time: a municipality's dates (異動日, 処理日) are dates in Japan."""

    def now(self) -> datetime:
        return datetime.now(UTC).astimezone(JST)


class UuidSource:
    def new_id(self) -> str:
        return uuid.uuid4().hex
