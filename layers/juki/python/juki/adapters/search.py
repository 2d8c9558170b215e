"""Search over the ledger's search indexes (GSIs ``by_kana``, ``by_name``, ``by_birth``,
``by_address``, ``by_town_code``), through pynamodb.

The index attributes are set on every person version item (``PERSON#<id>``/``V#…``), never on
the ``CURRENT`` copy, so each version is found once and old names and addresses stay findable.
The indexes project the whole item, so a hit carries the version it matched.
"""

from __future__ import annotations

from collections.abc import Iterator

from pynamodb.attributes import UnicodeAttribute
from pynamodb.expressions.condition import Condition
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from juki.adapters.dynamodb import LedgerItem
from juki.adapters.tables import bind
from juki.domain.my_number import STORAGE
from juki.domain.records import PersonRecord
from juki.domain.search import IndexHit, IndexQuery, SearchIndex

_HIGHEST = "\U0010ffff"  # sorts after every other character (DynamoDB compares UTF-8 bytes)


def _index(index: SearchIndex) -> GlobalSecondaryIndex[SearchItem]:
    meta = type("Meta", (), {"index_name": index.value, "projection": AllProjection()})
    declared = type(
        f"_{index.name.title()}Index",
        (GlobalSecondaryIndex,),
        {
            "Meta": meta,
            index.partition_attribute: UnicodeAttribute(hash_key=True),
            index.sort_attribute: UnicodeAttribute(range_key=True),
        },
    )
    found: GlobalSecondaryIndex[SearchItem] = declared()
    return found


class SearchItem(LedgerItem):
    """The ledger's items as the search indexes return them."""

    by_kana = _index(SearchIndex.KANA)
    by_name = _index(SearchIndex.NAME)
    by_birth = _index(SearchIndex.BIRTH)
    by_address = _index(SearchIndex.ADDRESS)
    by_town_code = _index(SearchIndex.TOWN_CODE)
    by_my_number = _index(SearchIndex.MY_NUMBER)
    by_card = _index(SearchIndex.CARD)


class DynamoSearchIndex:
    """Implements ``SearchIndexReader`` on the ledger table."""

    def __init__(self, ledger_table: str, region: str, host: str | None = None) -> None:
        self._items = bind(SearchItem, ledger_table, region, host)

    def hits(self, query: IndexQuery, after: str | None, page_size: int) -> Iterator[IndexHit]:
        """The versions in the index partition, in sort-key order, from just after ``after``.

        Reads page by page as the caller iterates (GSI reads are eventually consistent)."""
        index: GlobalSecondaryIndex[SearchItem] = getattr(self._items, query.index.value)
        sort: UnicodeAttribute = getattr(self._items, query.index.sort_attribute)
        condition: Condition | None = None
        if after is not None:
            condition = sort.between(after, query.prefix + _HIGHEST) if query.prefix else sort > after
        elif query.prefix:
            condition = sort.startswith(query.prefix)
        for item in index.query(query.partition, condition, page_size=page_size):
            sort_key: str = getattr(item, query.index.sort_attribute)
            if sort_key != after and item.body is not None:
                yield IndexHit(sort_key, PersonRecord.model_validate_json(item.body, context=STORAGE))
