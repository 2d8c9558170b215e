"""The 個人番号 vault against the session's moto server: the Encryption SDK under the "pii" key with
the person bound in the encryption context, and the blind index under a KMS-wrapped key.

The tests that need the blind index key not to exist yet (the race of first users) run on a table
of their own, so the key of the session's ledger is never replaced under the other tests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from juki.adapters.my_number_vault import INDEX_KEY_PK, INDEX_KEY_SK, KmsMyNumberVault
from juki.domain import ids
from juki.domain.codes import MY_NUMBER_INVALID, my_number_check_digit
from juki.domain.errors import DomainError
from juki.domain.my_number import MyNumberBindingError, MyNumberVault, MyNumberVaultError, SealedMyNumber
from juki_local.system import LocalSystem


def random_my_number() -> str:
    first11 = f"{secrets.randbelow(10**11):011d}"
    return first11 + str(my_number_check_digit(first11))


def person_id() -> str:
    return ids.make_id(secrets.randbelow(10**9 - 1) + 1)


def new_vault(
    system: LocalSystem, table: str | None = None, municipality: str | None = None
) -> KmsMyNumberVault:
    return KmsMyNumberVault(
        system.resources.key_arns["pii"],
        table or system.description.name("ledger"),
        region=system.emulator.region,
        host=system.emulator.url,
        municipality_code=municipality or system.description.municipality_code,
    )


@pytest.fixture
def vault(local_system: LocalSystem) -> KmsMyNumberVault:
    return new_vault(local_system)


@pytest.fixture
def empty_table(local_system: LocalSystem) -> Iterator[str]:
    """A table with the ledger's keys and nothing in it: no blind index key yet."""
    client = local_system.emulator.client("dynamodb")
    name = f"juki-test-vault-{uuid.uuid4().hex[:12]}"
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    )
    try:
        yield name
    finally:
        client.delete_table(TableName=name)


def kms(system: LocalSystem) -> Any:
    return boto3.client("kms", region_name=system.emulator.region, endpoint_url=system.emulator.url)


def stored_key_item(system: LocalSystem, table: str) -> dict[str, Any]:
    item = system.emulator.client("dynamodb").get_item(
        TableName=table, Key={"pk": {"S": INDEX_KEY_PK}, "sk": {"S": INDEX_KEY_SK}}, ConsistentRead=True
    )
    assert "Item" in item
    result: dict[str, Any] = item["Item"]
    return result


def count_generate_data_key(vault: KmsMyNumberVault) -> list[int]:
    """Counts the vault's GenerateDataKey calls (white box: hooks its KMS client's events)."""
    calls: list[int] = []
    client = vault._client()
    client.meta.events.register("before-call.kms.GenerateDataKey", lambda **_: calls.append(1))
    return calls


def assert_no_digits(text: str, my_number: str) -> None:
    assert my_number not in text
    assert my_number[:6] not in text and my_number[6:] not in text


# -- sealing and opening ---------------------------------------------------------------------
def test_round_trip(vault: KmsMyNumberVault) -> None:
    number, pid = random_my_number(), person_id()
    sealed = vault.seal(number, pid)
    assert isinstance(sealed, SealedMyNumber)
    assert vault.open(sealed, pid) == number


def test_satisfies_the_protocol(vault: KmsMyNumberVault) -> None:
    port: MyNumberVault = vault
    assert port is vault


def test_typed_forms_are_normalised_before_sealing(vault: KmsMyNumberVault) -> None:
    number, pid = random_my_number(), person_id()
    typed = "".join(chr(ord(c) + 0xFEE0) for c in number)  # full-width digits
    typed = f"{typed[:4]} {typed[4:8]}-{typed[8:]}"
    sealed = vault.seal(typed, pid)
    assert vault.open(sealed, pid) == number
    assert sealed.blind_index == vault.blind_index(number)


def test_ciphertext_does_not_contain_the_digits(vault: KmsMyNumberVault) -> None:
    number = random_my_number()
    sealed = vault.seal(number, person_id())
    message = base64.b64decode(sealed.ciphertext)
    assert number.encode() not in message
    assert_no_digits(sealed.ciphertext, number)
    assert_no_digits(sealed.model_dump_json(), number)
    assert_no_digits(repr(sealed), number)


def test_each_seal_is_a_new_ciphertext(vault: KmsMyNumberVault) -> None:
    number, pid = random_my_number(), person_id()
    first, second = vault.seal(number, pid), vault.seal(number, pid)
    assert first.ciphertext != second.ciphertext
    assert first.blind_index == second.blind_index


def test_another_person_cannot_open_it(vault: KmsMyNumberVault) -> None:
    number, owner, other = random_my_number(), person_id(), person_id()
    sealed = vault.seal(number, owner)
    with pytest.raises(MyNumberBindingError) as raised:
        vault.open(sealed, other)
    error = raised.value
    for text in (str(error), repr(error), *map(str, error.args)):
        assert_no_digits(text, number)
    assert error.__cause__ is None and error.__suppress_context__ is False  # nothing chained under it
    assert vault.open(sealed, owner) == number  # and the owner still can


def test_another_municipality_cannot_open_it(local_system: LocalSystem, vault: KmsMyNumberVault) -> None:
    number, pid = random_my_number(), person_id()
    sealed = vault.seal(number, pid)
    elsewhere = new_vault(local_system, municipality="131016")
    with pytest.raises(MyNumberBindingError):
        elsewhere.open(sealed, pid)


def test_a_damaged_ciphertext_is_refused_without_the_value(vault: KmsMyNumberVault) -> None:
    number, pid = random_my_number(), person_id()
    sealed = vault.seal(number, pid)
    message = bytearray(base64.b64decode(sealed.ciphertext))
    message[-40] ^= 0x01  # inside the signature / last frame
    damaged = sealed.model_copy(update={"ciphertext": base64.b64encode(bytes(message)).decode()})
    with pytest.raises(MyNumberVaultError) as raised:
        vault.open(damaged, pid)
    assert_no_digits(str(raised.value), number)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    with pytest.raises(MyNumberVaultError):
        vault.open(sealed.model_copy(update={"ciphertext": "not base64!"}), pid)


def test_invalid_numbers_are_refused_before_any_aws_call(local_system: LocalSystem) -> None:
    # A vault whose key and endpoint do not exist: a refusal that is a DomainError and not a vault
    # error proves the number was checked before anything was asked of KMS or DynamoDB.
    unreachable = KmsMyNumberVault(
        "arn:aws:kms:ap-northeast-1:123456789012:key/00000000-0000-0000-0000-000000000000",
        "no-such-table",
        region=local_system.emulator.region,
        host="http://127.0.0.1:9",
        municipality_code=local_system.description.municipality_code,
    )
    good = random_my_number()
    wrong_check = good[:-1] + str((int(good[-1]) + 1) % 10)
    for bad in (wrong_check, "12345678901", "1234567890123", "abcdefghijkl", ""):
        with pytest.raises(DomainError) as raised:
            unreachable.seal(bad, person_id())
        assert raised.value.code == MY_NUMBER_INVALID
        assert_no_digits(f"{raised.value} {raised.value.message}", good)
        with pytest.raises(DomainError):
            unreachable.blind_index(bad)


def test_construction_touches_nothing(local_system: LocalSystem) -> None:
    # Nothing listens on port 9: a constructor that called KMS or DynamoDB would fail here.
    KmsMyNumberVault(
        local_system.resources.key_arns["pii"],
        "no-such-table",
        region=local_system.emulator.region,
        host="http://127.0.0.1:9",
        municipality_code="221007",
    )


def test_the_key_is_named_by_its_arn() -> None:
    with pytest.raises(ValueError, match="ARN"):
        KmsMyNumberVault(
            "alias/juki-221007-pii", "t", region="ap-northeast-1", host=None, municipality_code="1"
        )


# -- the blind index -------------------------------------------------------------------------
def test_blind_index_is_deterministic_and_differs_per_number(vault: KmsMyNumberVault) -> None:
    numbers = {random_my_number() for _ in range(20)}
    indexes = {number: vault.blind_index(number) for number in numbers}
    assert len(set(indexes.values())) == len(numbers)
    for number, index in indexes.items():
        assert vault.blind_index(number) == index
        assert len(index) == 64 and int(index, 16) >= 0
        assert number not in index
    pid = person_id()
    number = next(iter(numbers))
    assert vault.seal(number, pid).blind_index == indexes[number]


def test_two_containers_share_the_index_key(local_system: LocalSystem) -> None:
    number = random_my_number()
    first = new_vault(local_system)
    index = first.blind_index(number)
    second = new_vault(local_system)  # a second Lambda container: nothing in memory
    generated = count_generate_data_key(second)
    assert second.blind_index(number) == index
    assert generated == []  # it read the stored, wrapped key instead of making one
    sealed = first.seal(number, "P1")
    assert second.open(sealed, "P1") == number


def test_stored_key_item_holds_no_plaintext_key(local_system: LocalSystem, empty_table: str) -> None:
    vault = new_vault(local_system, table=empty_table)
    number = random_my_number()
    index = vault.blind_index(number)
    item = stored_key_item(local_system, empty_table)
    assert set(item) == {
        "pk",
        "sk",
        "kind",
        "encrypted_key",
        "kms_key_arn",
        "key_version",
        "algorithm",
        "created_at",
    }
    assert item["kms_key_arn"]["S"] == local_system.resources.key_arns["pii"]
    wrapped = base64.b64decode(item["encrypted_key"]["S"])
    # Only KMS, with the right context, turns the stored blob into the key the index uses.
    key = kms(local_system).decrypt(
        CiphertextBlob=wrapped,
        EncryptionContext={"purpose": "my_number_blind_index", "municipality": "221007"},
    )["Plaintext"]
    assert hmac.new(key, number.encode(), hashlib.sha256).hexdigest() == index
    stored_text = repr(item)
    for form in (key.hex(), base64.b64encode(key).decode(), key.decode("latin-1")):
        assert form not in stored_text
    assert key not in wrapped
    with pytest.raises(kms(local_system).exceptions.ClientError):
        kms(local_system).decrypt(CiphertextBlob=wrapped, EncryptionContext={"purpose": "other"})


def test_first_use_by_four_threads_creates_one_key(local_system: LocalSystem, empty_table: str) -> None:
    vault = new_vault(local_system, table=empty_table)
    generated = count_generate_data_key(vault)
    number = random_my_number()
    start = threading.Barrier(4)

    def first_use(_: int) -> str:
        start.wait()
        return vault.blind_index(number)

    with ThreadPoolExecutor(4) as pool:
        indexes = set(pool.map(first_use, range(4)))
    assert len(indexes) == 1
    assert len(generated) == 1
    stored_key_item(local_system, empty_table)


def test_first_use_by_four_containers_agrees_on_one_key(local_system: LocalSystem, empty_table: str) -> None:
    vaults = [new_vault(local_system, table=empty_table) for _ in range(4)]
    number = random_my_number()
    start = threading.Barrier(4)

    def first_use(vault: KmsMyNumberVault) -> str:
        start.wait()
        return vault.blind_index(number)

    with ThreadPoolExecutor(4) as pool:
        indexes = set(pool.map(first_use, vaults))
    assert len(indexes) == 1  # the losers of the conditional put unwrapped the winner's key
    items = local_system.emulator.client("dynamodb").scan(TableName=empty_table)["Items"]
    assert len(items) == 1
    later = new_vault(local_system, table=empty_table)
    assert later.blind_index(number) in indexes
