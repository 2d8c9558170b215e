"""Reports (JSON) as objects in the documents bucket; SSE-KMS with the data key is the bucket's default."""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3
from botocore.exceptions import ClientError

from juki.adapters.system import SystemClock, UuidSource
from juki.services.unusual_access import UnusualAccessService

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from juki.bootstrap import Services


class S3ReportStore:
    """Reports as objects in the documents bucket (SSE-KMS is the bucket's default encryption)."""

    def __init__(self, client: S3Client, bucket: str) -> None:
        self._s3 = client
        self._bucket = bucket

    def get(self, key: str) -> bytes | None:
        try:
            response = self._s3.get_object(Bucket=self._bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                return None
            raise
        return response["Body"].read()

    def put(self, key: str, body: bytes) -> None:
        self._s3.put_object(Bucket=self._bucket, Key=key, Body=body, ContentType="application/json")


def build_unusual_access(parts: Services) -> UnusualAccessService:
    """For ``services().part(build_unusual_access)``: the detection job and the auditor's route."""
    settings = parts.settings
    s3 = boto3.client("s3", region_name=settings.region, endpoint_url=settings.endpoint_url)
    return UnusualAccessService(
        parts.oplog_reader,
        S3ReportStore(s3, settings.documents_bucket),
        parts.store,
        SystemClock(),
        UuidSource(),
    )
