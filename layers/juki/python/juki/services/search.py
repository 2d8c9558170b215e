"""Application service for search (照会・検索): residents by reading, name, birth date, address,
person id or household id, past names and addresses included, a page at a time.

A search reads the most selective index (``juki.domain.search.plan``), keeps the versions that meet
every criterion, reads the current record of each person found (removed records only on request)
and returns each person once. Every search is in the operation log, with the persons it returned.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import batched
from typing import Protocol

from pydantic import BaseModel, Field

from juki.domain.errors import DomainError, Issue
from juki.domain.my_number import MyNumberVault
from juki.domain.oplog import entry_for
from juki.domain.records import PersonRecord
from juki.domain.restrictions import Process
from juki.domain.search import (
    CursorInvalid,
    IndexHit,
    IndexQuery,
    SearchIndex,
    SearchQuery,
    decode_cursor,
    encode_cursor,
    matches,
    plan,
    position,
)
from juki.domain.staff import Actor, Permission
from juki.domain.values import ResidentStatus
from juki.domain.visibility import hidden_items, visible
from juki.services.access import require
from juki.services.ports import Clock, IdSource, LedgerStore, OperationLog, RestrictionCheck

FUNCTION_SEARCH = "resident.search"


class SearchIndexReader(Protocol):
    def hits(self, query: IndexQuery, after: str | None, page_size: int) -> Iterator[IndexHit]:
        """The versions filed under the query's partition and prefix, in order, after ``after``."""
        ...


class SearchHit(BaseModel):
    person: PersonRecord = Field(description="住民 (今の内容)")
    matched_version: int = Field(
        description="条件に一致した版の履歴番号 (過去の氏名・住所で一致した場合は古い版)"
    )
    alerts: list[Issue] = Field(default_factory=list, description="抑止・支援措置のアラート")


class SearchResult(BaseModel):
    persons: list[SearchHit] = Field(description="該当する住民 (一人一件、索引の順)")
    next: str | None = Field(description="次のページがある場合、次の検索で next に指定する値")
    masked_items: list[str] = Field(
        default_factory=list,
        description="表示の権限がなく伏せた項目 (resident_code, koseki, residence_status)",
    )


class SearchService:
    def __init__(
        self,
        store: LedgerStore,
        index: SearchIndexReader,
        log: OperationLog,
        clock: Clock,
        ids: IdSource,
        *,
        vault: MyNumberVault,
        restrictions: RestrictionCheck,
    ) -> None:
        self._vault = vault
        self._restrictions = restrictions
        self._store = store
        self._index = index
        self._log = log
        self._clock = clock
        self._ids = ids

    def search(self, query: SearchQuery, actor: Actor) -> SearchResult:
        require(actor, Permission.RESIDENT_READ)
        if query.my_number is not None:  # found by its blind index; the number itself is dropped here
            require(actor, Permission.MY_NUMBER_REVEAL)
            blind = self._vault.blind_index(query.my_number)
            query = query.model_copy(update={"my_number": None, "my_number_index": blind})
        try:
            after = decode_cursor(query, query.next) if query.next is not None else None
        except CursorInvalid as error:
            raise DomainError("CURSOR_INVALID", str(error), "next") from None
        index_query = plan(query)
        if index_query is None:
            hits = self._by_id(query, after)
        else:
            hits = self._index.hits(index_query, after, page_size=min(2 * (query.limit + 1), 100))
        index = index_query.index if index_query is not None else None
        found = self._first_persons(query, index, hits, query.limit + 1)
        window = found[: query.limit]
        page = self._unrestricted(window)
        more = len(found) > query.limit
        self._log.append(
            entry_for(
                actor,
                entry_id=self._ids.new_id(),
                at=self._clock.now(),
                function=FUNCTION_SEARCH,
                action="read",
                persons=[hit.person.person_id for _, hit in page],
                households=sorted({hit.person.household_id for _, hit in page}),
            )
        )
        permissions = actor.permissions
        return SearchResult(
            persons=[hit.model_copy(update={"person": visible(hit.person, permissions)}) for _, hit in page],
            next=encode_cursor(query, window[-1][0]) if more else None,
            masked_items=hidden_items(permissions),
        )

    def _unrestricted(self, page: list[tuple[str, SearchHit]]) -> list[tuple[str, SearchHit]]:
        """抑止 for inquiry: a person an error-level restriction or support measure protects is left out
        of the results (not even their presence is shown); alerts come with the hit."""
        kept = []
        now = self._clock.now()
        for place, hit in page:
            issues = self._restrictions.check(
                [hit.person.person_id], [hit.person.household_id], Process.INQUIRY, now
            )
            if not any(issue.severity == "error" for issue in issues):
                kept.append((place, hit.model_copy(update={"alerts": issues})))
        return kept

    def _by_id(self, query: SearchQuery, after: str | None) -> Iterator[IndexHit]:
        """Every version of the person named (by 宛名番号 or 住民票コード), or of each person the
        household ever had, by id."""
        if query.person_id is not None:
            person_ids = {query.person_id}
        elif query.resident_code is not None:
            holder = self._store.resident_code_holder(query.resident_code)
            person_ids = {holder} if holder else set()
        else:
            assert query.household_id is not None, "plan() reads no index only for an id"
            person_ids = {
                person_id
                for household in self._store.household_history(query.household_id)
                for person_id in household.member_ids
            }
        for person_id in sorted(person_ids):
            if after is None or person_id > after:
                yield from (IndexHit(person_id, record) for record in self._store.person_history(person_id))

    def _first_persons(
        self, query: SearchQuery, index: SearchIndex | None, hits: Iterator[IndexHit], wanted: int
    ) -> list[tuple[str, SearchHit]]:
        """Up to ``wanted`` persons, each once, with the sort key a next page starts after.

        A person whose current record meets the query is placed where the current record sits
        in the index, not where an older version does, so a page boundary never returns them twice.
        """
        found: list[tuple[str, SearchHit]] = []
        seen: set[str] = set()
        for chunk in batched(hits, max(wanted, 10)):
            candidates = [hit for hit in chunk if matches(query, hit.record)]
            unseen = [hit.record.person_id for hit in candidates if hit.record.person_id not in seen]
            current = self._store.persons_by_id(unseen) if unseen else {}
            for hit in candidates:
                person = current.get(hit.record.person_id)
                if person is None or person.person_id in seen:
                    continue
                if person.status == ResidentStatus.REMOVED and not query.include_removed:
                    continue
                now_matches = matches(query, person)
                if now_matches and position(index, person) != hit.sort_key:
                    continue  # found where the current record sits
                version = person.version if now_matches else hit.record.version
                seen.add(person.person_id)
                found.append((hit.sort_key, SearchHit(person=person, matched_version=version)))
                if len(found) == wanted:
                    return found
        return found
