"""Search (照会・検索) routes, included in the API by ``juki_fn.api``.

(No ``from __future__ import annotations`` here: Powertools reads the route signatures at run time.)
"""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from juki.bootstrap import services
from juki.domain.search import DEFAULT_LIMIT, MAX_LIMIT, SearchQuery
from juki.domain.staff import Permission
from juki.observability import tracer
from juki.services.search import SearchResult
from pydantic import BaseModel, Field, ValidationError

from juki_fn.acting import current_actor

SEARCH_PERSONS = "/search/persons"

SEARCH_BY_MY_NUMBER = "/search/persons/by-my-number"
ROUTES: dict[tuple[str, str], Permission] = {
    ("GET", SEARCH_PERSONS): Permission.RESIDENT_READ,
    ("POST", SEARCH_BY_MY_NUMBER): Permission.MY_NUMBER_REVEAL,
}

router = Router()  # type: ignore[no-untyped-call]


def _text(description: str) -> Any:
    return Query(description=description, max_length=100)


@router.get(
    SEARCH_PERSONS,
    summary="住民の検索",
    description=(
        "フリガナ (濁点・半濁点・小書き文字の違いは無視)、氏名 (漢字)、生年月日 (西暦・和暦)、住所、"
        "宛名番号、世帯番号で住民を検索します。過去の氏名・住所でも見つかります。"
        "条件を複数指定すると、すべてを満たす人を返します。"
        "除票は include_removed を指定した場合だけ返します。"
        "検索は操作ログに記録されます。"
    ),
    tags=["照会"],
)
@tracer.capture_method(capture_response=False, capture_error=False)
def search_persons(
    *,
    family_name_kana: Annotated[str | None, _text("氏 (フリガナ)。濁点・半濁点・小書き文字は無視")] = None,
    given_name_kana: Annotated[str | None, _text("名 (フリガナ) の前方一致 (氏のフリガナと一緒に)")] = None,
    family_name: Annotated[str | None, _text("氏 (漢字)")] = None,
    given_name: Annotated[str | None, _text("名 (漢字) の前方一致 (氏と一緒に)")] = None,
    birth_date: Annotated[str | None, _text("生年月日 (1980-04-01、昭和55年4月1日、S55.4.1 など)")] = None,
    town: Annotated[str | None, _text("町丁目")] = None,
    town_code: Annotated[str | None, _text("町丁目コード")] = None,
    lot: Annotated[str | None, _text("番地・号の前方一致 (町丁目か町丁目コードと一緒に)")] = None,
    person_id: Annotated[str | None, _text("宛名番号")] = None,
    resident_code: Annotated[str | None, _text("住民票コード (旧住民票コードを含む)")] = None,
    card_number: Annotated[str | None, _text("在留カード等の番号 (完全一致)")] = None,
    household_id: Annotated[str | None, _text("世帯番号 (過去に属した人を含む)")] = None,
    include_removed: Annotated[bool, Query(description="除票も含める")] = False,
    limit: Annotated[
        int, Query(description=f"1ページの件数 (最大{MAX_LIMIT})", ge=1, le=MAX_LIMIT)
    ] = DEFAULT_LIMIT,
    next: Annotated[str | None, Query(description="次のページ (前の結果の next)", max_length=2000)] = None,
) -> SearchResult:
    given = {name: value for name, value in locals().items() if value not in (None, "")}
    try:
        query = SearchQuery.model_validate(given)
    except ValidationError as error:
        raise RequestValidationError(
            [{**issue, "loc": ("query", *issue["loc"])} for issue in error.errors(include_input=False)]
        ) from None
    return services().search.search(query, current_actor())


class MyNumberSearch(BaseModel):
    """個人番号 travel in a body, never in a URL (URLs reach access logs and traces)."""

    my_number: str = Field(description="個人番号 (12桁、完全一致)", repr=False)
    include_removed: bool = Field(default=False, description="除票も含める")


@router.post(
    SEARCH_BY_MY_NUMBER,
    summary="個人番号による住民の検索",
    description="個人番号の表示の権限がある職員だけが使えます。番号はブラインドインデックスで引き、検索は操作ログに記録されます。",
    tags=["照会"],
)
@tracer.capture_method(capture_response=False, capture_error=False)
def search_by_my_number(request: Annotated[MyNumberSearch, Body()]) -> SearchResult:
    try:
        query = SearchQuery(my_number=request.my_number, include_removed=request.include_removed)
    except ValidationError as error:
        raise RequestValidationError(
            [{**issue, "loc": ("body", *issue["loc"])} for issue in error.errors(include_input=False)]
        ) from None
    return services().search.search(query, current_actor())
