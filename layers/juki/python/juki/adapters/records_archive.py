"""The records archive: removed records (除票) moved out of the ledger, one object per person.

``records-archive`` bucket (SSE-KMS, versioned; lifecycle: Glacier Instant Retrieval, expiry
after 150 years)::

    removed-records/<person id>.json    juki.domain.retention.ArchivedPerson as JSON

Objects are written with StorageClass GLACIER_IR directly (cheaper than STANDARD from the first
day, still read in milliseconds, so inquiry can fall back to the archive in a request). Every
version is the ledger's stored body, so the 個人番号 stays the Encryption SDK ciphertext bound to
the person id; reading it back needs the "pii" key exactly as a ledger read does.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Literal

from botocore.exceptions import ClientError

from juki.domain.my_number import STORAGE
from juki.domain.records import PersonRecord
from juki.domain.retention import ArchivedPerson

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

ARCHIVE_PREFIX = "removed-records/"
STORAGE_CLASS: Literal["GLACIER_IR"] = "GLACIER_IR"


def archive_key(person_id: str) -> str:
    return f"{ARCHIVE_PREFIX}{person_id}.json"


class ArchiveMismatch(RuntimeError):
    """What was read back is not what was written: nothing is deleted from the ledger."""


class RemovedRecordArchive:
    """Writes archive documents and reads archived persons back (the inquiry's fallback)."""

    def __init__(self, s3: S3Client, bucket: str) -> None:
        self._s3 = s3
        self._bucket = bucket

    # -- writing (the retention job) ----------------------------------------------------------
    def write(self, document: ArchivedPerson) -> None:
        """Puts the document, reads it back and compares byte for byte; raises ArchiveMismatch
        if they differ, so the caller never deletes what the archive does not hold."""
        body = document.model_dump_json().encode()
        key = archive_key(document.person_id)
        put = self._s3.put_object(
            Bucket=self._bucket,
            Key=key,
            Body=body,
            ContentType="application/json",
            StorageClass=STORAGE_CLASS,
        )
        read = self._s3.get_object(Bucket=self._bucket, Key=key, VersionId=put["VersionId"])
        if read["Body"].read() != body:
            raise ArchiveMismatch(f"archive object for person {document.person_id} differs once read back")

    def document(self, person_id: str) -> ArchivedPerson | None:
        try:
            answer = self._s3.get_object(Bucket=self._bucket, Key=archive_key(person_id))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                return None
            raise
        return ArchivedPerson.model_validate_json(answer["Body"].read())

    def storage_class(self, person_id: str) -> str:
        head = self._s3.head_object(Bucket=self._bucket, Key=archive_key(person_id))
        return head.get("StorageClass", "STANDARD")

    # -- reading (inquiry's fallback) ---------------------------------------------------------
    def person_history(self, person_id: str) -> list[PersonRecord]:
        """Every archived version, oldest first; empty if the person is not archived."""
        document = self.document(person_id)
        if document is None:
            return []
        return [PersonRecord.model_validate(v, context=STORAGE) for v in document.versions]

    def person_as_of(self, person_id: str, day: date) -> PersonRecord | None:
        """The newest archived version in effect on ``day`` (history is monotonic in effective date)."""
        in_effect = [p for p in self.person_history(person_id) if p.effective_date <= day]
        return in_effect[-1] if in_effect else None

    def get_person(self, person_id: str) -> PersonRecord | None:
        """The newest archived version (the removed record itself)."""
        history = self.person_history(person_id)
        return history[-1] if history else None
