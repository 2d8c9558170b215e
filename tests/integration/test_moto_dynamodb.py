"""The local emulator's transactions: atomic (a failed one leaves every item as it was) and
isolated (concurrent ones never both win), at the cost of the items they touch."""

from __future__ import annotations

import threading
import uuid

import pytest
from botocore.exceptions import ClientError
from juki_local import moto_dynamodb
from juki_local.system import LocalSystem
from moto.dynamodb.models.table import Table


@pytest.fixture(scope="module")
def table(local_system: LocalSystem) -> str:
    name = f"tx-{uuid.uuid4().hex[:8]}"
    local_system.emulator.client("dynamodb").create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    )
    return name


def key(pk: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": pk}, "sk": {"S": "x"}}


def test_a_cancelled_transaction_restores_updated_and_new_items(
    local_system: LocalSystem, table: str
) -> None:
    dynamodb = local_system.emulator.client("dynamodb")
    dynamodb.put_item(TableName=table, Item={**key("kept"), "n": {"N": "1"}})
    dynamodb.put_item(TableName=table, Item={**key("gone"), "n": {"N": "1"}})
    with pytest.raises(ClientError) as raised:
        dynamodb.transact_write_items(
            TransactItems=[
                {"Update": {"TableName": table, "Key": key("kept"), "UpdateExpression": "SET n = :two",
                            "ExpressionAttributeValues": {":two": {"N": "2"}}}},
                {"Put": {"TableName": table, "Item": {**key("new"), "n": {"N": "1"}}}},
                {"Delete": {"TableName": table, "Key": key("gone")}},
                {"ConditionCheck": {"TableName": table, "Key": key("absent"),
                                    "ConditionExpression": "attribute_exists(pk)"}},
            ]
        )  # fmt: skip
    assert raised.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert dynamodb.get_item(TableName=table, Key=key("kept"))["Item"]["n"] == {"N": "1"}
    assert "Item" not in dynamodb.get_item(TableName=table, Key=key("new"))
    assert dynamodb.get_item(TableName=table, Key=key("gone"))["Item"]["n"] == {"N": "1"}


def test_concurrent_conditional_transactions_never_lose_an_update(
    local_system: LocalSystem, table: str
) -> None:
    dynamodb = local_system.emulator.client("dynamodb")
    dynamodb.put_item(TableName=table, Item={**key("counter"), "v": {"N": "0"}})
    wins: list[int] = []

    def bump() -> None:
        for _ in range(5):
            seen = dynamodb.get_item(TableName=table, Key=key("counter"), ConsistentRead=True)["Item"]["v"][
                "N"
            ]
            try:
                dynamodb.transact_write_items(
                    TransactItems=[
                        {"Update": {"TableName": table, "Key": key("counter"), "UpdateExpression": "SET v = :new",
                                    "ConditionExpression": "v = :seen",
                                    "ExpressionAttributeValues": {":seen": {"N": seen}, ":new": {"N": str(int(seen) + 1)}}}},
                        {"Put": {"TableName": table, "Item": {**key(f"log-{uuid.uuid4().hex}"), "seen": {"N": seen}}}},
                    ]
                )  # fmt: skip
                wins.append(int(seen))
            except ClientError as error:
                assert error.response["Error"]["Code"] == "TransactionCanceledException"

    threads = [threading.Thread(target=bump) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    final = int(dynamodb.get_item(TableName=table, Key=key("counter"))["Item"]["v"]["N"])
    assert final == len(wins)
    assert sorted(wins) == list(range(final))  # each value was won exactly once


def test_a_query_by_key_answers_as_dynamodb_does(local_system: LocalSystem, table: str) -> None:
    """The Query shortcut (only the partition asked for is read) changes no answer: order, ranges,
    filters, pages, the reverse order and an absent partition all behave as before."""
    assert Table.query is moto_dynamodb.keyed_query, "the shortcut is installed with the emulator"
    dynamodb = local_system.emulator.client("dynamodb")
    partition = f"q-{uuid.uuid4().hex[:6]}"
    for n in (3, 1, 2, 5, 4):
        dynamodb.put_item(
            TableName=table, Item={"pk": {"S": partition}, "sk": {"S": f"{n:02d}"}, "n": {"N": str(n)}}
        )
    dynamodb.put_item(TableName=table, Item={"pk": {"S": f"{partition}-other"}, "sk": {"S": "01"}})

    def query(**extra: object) -> list[str]:
        answer = dynamodb.query(
            TableName=table,
            KeyConditionExpression="pk = :p" + extra.pop("range", ""),  # type: ignore[operator]
            ExpressionAttributeValues={":p": {"S": partition}, **extra.pop("values", {})},  # type: ignore[dict-item]
            **extra,
        )
        return [item["sk"]["S"] for item in answer["Items"]]

    assert query() == ["01", "02", "03", "04", "05"]
    assert query(ScanIndexForward=False) == ["05", "04", "03", "02", "01"]
    assert query(range=" AND sk BETWEEN :a AND :b", values={":a": {"S": "02"}, ":b": {"S": "04"}}) == [
        "02", "03", "04",
    ]  # fmt: skip
    assert query(FilterExpression="n > :two", values={":two": {"N": "2"}}) == ["03", "04", "05"]
    first = dynamodb.query(
        TableName=table,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": partition}},
        Limit=2,
    )
    rest = dynamodb.query(
        TableName=table,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": partition}},
        ExclusiveStartKey=first["LastEvaluatedKey"],
    )
    assert [i["sk"]["S"] for i in first["Items"] + rest["Items"]] == ["01", "02", "03", "04", "05"]
    empty = dynamodb.query(
        TableName=table, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "absent"}}
    )
    assert empty["Items"] == []
