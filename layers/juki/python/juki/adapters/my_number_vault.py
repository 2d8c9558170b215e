"""The 個人番号 vault: the AWS Encryption SDK under the customer-managed KMS key "pii", and an
HMAC-SHA256 blind index under a data key that KMS generates and only KMS can unwrap.

Sealing (``seal``): the digits are checked (``parse_my_number``), then encrypted with
``EncryptionSDKClient.encrypt`` (commitment policy REQUIRE_ENCRYPT_REQUIRE_DECRYPT, the committing
and signing algorithm suite, one encrypted data key, wrapped by KMS under the pii key) with the
encryption context ``{"purpose": "my_number", "person_id": …, "municipality": …}``. KMS binds the
context to the wrapped data key and the SDK authenticates it in the message header.

Opening (``open``): ``EncryptionSDKClient.decrypt`` with the same key (strict: only data keys
wrapped by that ARN are tried), then the authenticated header's encryption context is compared
with the one expected for this person; on any difference the result is dropped and
``MyNumberBindingError`` raised. (This SDK version takes an expected context on decrypt only
with the Material Providers Library, which the layer does not ship, so the check is ours.)

The blind index key (item ``CONFIG#blind-index-key`` / ``KEY`` in the ledger table) holds only
the KMS ciphertext of a 256-bit data key (``GenerateDataKey``, context
``{"purpose": "my_number_blind_index", "municipality": …}``). The first user in the whole system
generates it and stores it with a conditional put; a concurrent first user that loses the race
discards its own key and unwraps the stored one, so every container computes the same index.
The plaintext key lives in this object's memory only.

Nothing here logs, and no exception carries the number: errors from KMS or the SDK are replaced
by ``MyNumberVaultError`` naming only the kind of failure.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

import boto3
import botocore.exceptions
from aws_encryption_sdk import CommitmentPolicy, EncryptionSDKClient
from aws_encryption_sdk.identifiers import Algorithm
from aws_encryption_sdk.key_providers.kms import KMSMasterKey
from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, PutError
from pynamodb.models import Model

from juki.adapters.tables import bind
from juki.domain.codes import is_valid_my_number, parse_my_number
from juki.domain.my_number import MyNumberBindingError, MyNumberVaultError, SealedMyNumber

if TYPE_CHECKING:
    from mypy_boto3_kms import KMSClient

PURPOSE = "my_number"
INDEX_KEY_PURPOSE = "my_number_blind_index"
INDEX_KEY_PK = "CONFIG#blind-index-key"
INDEX_KEY_SK = "KEY"
INDEX_KEY_VERSION = 1
INDEX_KEY_BYTES = 32
# Committing, signing suite: the message cannot be re-targeted to another data key, and whoever can
# only decrypt (kms:Decrypt) cannot forge a message that verifies.
ALGORITHM = Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384


class BlindIndexKeyItem(Model):
    """The blind index key, wrapped by KMS (the only form in which it is ever stored)."""

    class Meta:
        table_name: ClassVar[str | None] = None

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute()
    encrypted_key = UnicodeAttribute()  # base64 of GenerateDataKey's CiphertextBlob
    kms_key_arn = UnicodeAttribute()
    key_version = NumberAttribute()
    algorithm = UnicodeAttribute()
    created_at = UnicodeAttribute()


def _failure(action: str, error: Exception) -> MyNumberVaultError:
    """A vault error that names what failed and the error's kind (and AWS error code), nothing else."""
    detail = type(error).__name__
    if isinstance(error, botocore.exceptions.ClientError):
        detail = f"{detail} {error.response.get('Error', {}).get('Code', '')}".rstrip()
    return MyNumberVaultError(f"個人番号の{action}に失敗しました ({detail})")


class KmsMyNumberVault:
    """Implements ``MyNumberVault``. Lazy: builds its KMS client and touches KMS and DynamoDB on
    first use only; safe to share between threads."""

    def __init__(
        self, key_arn: str, ledger_table: str, region: str, host: str | None, municipality_code: str
    ) -> None:
        if not key_arn.startswith("arn:"):
            raise ValueError("the pii key must be given by its ARN (strict decryption needs it)")
        if not municipality_code:
            raise ValueError("a municipality code")
        self._key_arn = key_arn
        self._region = region
        self._host = host
        self._municipality = municipality_code
        self._items = bind(BlindIndexKeyItem, ledger_table, region, host)
        self._sdk = EncryptionSDKClient(
            commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT, max_encrypted_data_keys=1
        )
        self._lock = threading.Lock()
        self._kms: KMSClient | None = None
        self._master_key: Any = None  # KMSMasterKey (the SDK is untyped)
        self._index_key: bytes | None = None

    # -- MyNumberVault ----------------------------------------------------------------------
    def seal(self, my_number: str, person_id: str) -> SealedMyNumber:
        digits = parse_my_number(my_number)  # DomainError MY_NUMBER_INVALID, without the value
        context = self._context(person_id)
        master_key = self._ensure_master_key()
        try:
            message, _header = self._sdk.encrypt(
                source=digits.encode("ascii"),
                key_provider=master_key,
                encryption_context=context,
                algorithm=ALGORITHM,
            )
        except Exception as error:  # whatever it is, it leaves without the number
            raise _failure("暗号化", error) from None
        return SealedMyNumber(
            ciphertext=base64.b64encode(message).decode("ascii"), blind_index=self._hmac(digits)
        )

    def open(self, sealed: SealedMyNumber, person_id: str) -> str:
        expected = self._context(person_id)
        master_key = self._ensure_master_key()
        try:
            message = base64.b64decode(sealed.ciphertext, validate=True)
        except binascii.Error:
            raise MyNumberVaultError("暗号文の形式が正しくありません") from None
        try:
            plaintext, header = self._sdk.decrypt(source=message, key_provider=master_key)
        except Exception as error:  # SDK, KMS, cryptography (InvalidSignature) or a malformed message
            raise _failure("復号", error) from None
        found = header.encryption_context  # authenticated by the SDK (header tag and signature)
        if any(found.get(name) != value for name, value in expected.items()):
            del plaintext  # sealed for someone else: never returned, never part of the error
            raise MyNumberBindingError(
                "この個人番号の暗号文は指定された住民のものではありません（暗号化コンテキスト不一致）"
            )
        digits: str = plaintext.decode("ascii", errors="replace")
        if not is_valid_my_number(digits):
            raise MyNumberVaultError("復号した値が個人番号の形式ではありません")
        return digits

    def blind_index(self, my_number: str) -> str:
        return self._hmac(parse_my_number(my_number))

    # -- helpers ----------------------------------------------------------------------------
    def _context(self, person_id: str) -> dict[str, str]:
        if not person_id:
            raise ValueError("a person id")
        return {"purpose": PURPOSE, "person_id": person_id, "municipality": self._municipality}

    def _hmac(self, digits: str) -> str:
        return hmac.new(self._ensure_index_key(), digits.encode("ascii"), hashlib.sha256).hexdigest()

    def _client(self) -> KMSClient:
        """Called with the lock held. Its own boto3 session: the default one is not thread-safe."""
        if self._kms is None:
            session = boto3.session.Session(region_name=self._region)
            self._kms = session.client("kms", endpoint_url=self._host)
        return self._kms

    def _ensure_master_key(self) -> Any:
        """A ``KMSMasterKey`` for the pii key ARN on our own client (the endpoint is honoured): as a
        key provider it encrypts under that key only and decrypts only data keys wrapped by it."""
        if self._master_key is None:
            with self._lock:
                if self._master_key is None:
                    self._master_key = KMSMasterKey(key_id=self._key_arn, client=self._client())
        return self._master_key

    def _ensure_index_key(self) -> bytes:
        key = self._index_key
        if key is None:
            with self._lock:
                if self._index_key is None:
                    try:
                        self._index_key = self._load_or_create_index_key()
                    except MyNumberVaultError:
                        raise
                    except Exception as error:  # KMS or DynamoDB unavailable or refusing
                        raise _failure("索引キーの準備", error) from None
                key = self._index_key
        return key

    def _index_key_context(self) -> dict[str, str]:
        return {"purpose": INDEX_KEY_PURPOSE, "municipality": self._municipality}

    def _load_or_create_index_key(self) -> bytes:
        stored = self._read_index_key_item()
        if stored is not None:
            return self._unwrap(stored)
        generated = self._client().generate_data_key(
            KeyId=self._key_arn, NumberOfBytes=INDEX_KEY_BYTES, EncryptionContext=self._index_key_context()
        )
        item = self._items(
            pk=INDEX_KEY_PK,
            sk=INDEX_KEY_SK,
            kind="blind-index-key",
            encrypted_key=base64.b64encode(generated["CiphertextBlob"]).decode("ascii"),
            kms_key_arn=generated["KeyId"],
            key_version=INDEX_KEY_VERSION,
            algorithm="HMAC-SHA256",
            created_at=datetime.now(UTC).isoformat(),
        )
        try:
            item.save(condition=self._items.pk.does_not_exist())
        except PutError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise MyNumberVaultError(
                    f"索引キーの保存に失敗しました ({error.cause_response_code})"
                ) from None
            # Another container stored its key first: ours is discarded, theirs is the key.
            winner = self._read_index_key_item()
            if winner is None:
                raise MyNumberVaultError("索引キーが見つかりません") from None
            return self._unwrap(winner)
        return generated["Plaintext"]

    def _read_index_key_item(self) -> BlindIndexKeyItem | None:
        try:
            return self._items.get(INDEX_KEY_PK, INDEX_KEY_SK, consistent_read=True)
        except DoesNotExist:
            return None

    def _unwrap(self, item: BlindIndexKeyItem) -> bytes:
        response = self._client().decrypt(
            CiphertextBlob=base64.b64decode(item.encrypted_key),
            KeyId=self._key_arn,
            EncryptionContext=self._index_key_context(),
        )
        key = response["Plaintext"]
        if len(key) != INDEX_KEY_BYTES:
            raise MyNumberVaultError("索引キーの長さが正しくありません")
        return key
