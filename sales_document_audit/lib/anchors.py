"""Anchor stores: signed checkpoints kept outside the database (no Odoo).

An anchor record is one JSON object::

    {"format": "sales_document_audit.anchor/1",
     "payload": {...signed checkpoint payload...}, "signature": "<base64>",
     "leaves": "<first 16 hex digits of each row hash>", "last_row_hash": "<hex>",
     "anchored_at": "YYYY-MM-DD HH:MM:SS"}

``payload`` and ``signature`` are what the database holds too; ``leaves``
lets a verifier name the first rewritten row of a range (the signed Merkle
root still decides whether the range is intact).

Two kinds of store share one interface, ``append(record)`` (returns where it
went) and ``records(database, company_id)``:

- ``LocalAnchorStore``: one JSON-lines file per database and company in a
  directory, opened with O_APPEND, flushed to disk, never rewritten;
- ``ObjectAnchorStore``: one object per checkpoint in an object store
  (``S3AnchorBackend`` for S3, with Object Lock retention when the bucket
  has it). Every stored version of an object is read back, so an
  overwritten anchor shows up as a conflict instead of replacing the first.
"""

import json
import os
import re
from datetime import UTC, datetime, timedelta

RECORD_FORMAT = "sales_document_audit.anchor/1"
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class AnchorError(Exception):
    """An anchor could not be written or read."""


def make_record(payload, signature, leaves, last_row_hash, anchored_at=None):
    """The anchor record of a signed checkpoint payload."""
    return {
        "format": RECORD_FORMAT,
        "payload": payload,
        "signature": signature,
        "leaves": leaves,
        "last_row_hash": last_row_hash,
        "anchored_at": (anchored_at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M:%S"),
    }


def encode(record):
    return json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n"


def decode(text):
    """The record of one line or object, or None when it is not a record."""
    try:
        record = json.loads(text)
    except ValueError:
        return None
    if not isinstance(record, dict) or record.get("format") != RECORD_FORMAT:
        return None
    if not isinstance(record.get("payload"), dict):
        return None
    return record


def _name_part(value):
    return _SAFE.sub("_", str(value)) or "_"


def company_part(company_id):
    return f"company{int(company_id or 0)}"


class LocalAnchorStore:
    """An append-only JSON-lines file per database and company, in ``directory``."""

    kind = "local"

    def __init__(self, directory):
        if not directory or not os.path.isabs(directory):
            raise AnchorError("The local anchor directory must be an absolute path.")
        self.directory = directory

    def describe(self):
        return self.directory

    def path(self, database, company_id):
        return os.path.join(self.directory, f"{_name_part(database)}-{company_part(company_id)}.jsonl")

    def append(self, record):
        """Append ``record`` (one line), flushed to disk; returns the file path."""
        payload = record["payload"]
        path = self.path(payload["database"], payload.get("company_id"))
        data = encode(record).encode("utf-8")
        try:
            os.makedirs(self.directory, mode=0o750, exist_ok=True)
            created = not os.path.exists(path)
            descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                # A torn last line (crash mid-write) must not glue onto this one.
                if os.fstat(descriptor).st_size and not self._ends_with_newline(path):
                    data = b"\n" + data
                written = os.write(descriptor, data)
                if written != len(data):
                    raise AnchorError(f"Short write to the anchor file {path}.")
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
            if created:
                self._fsync_directory()
        except OSError as exc:
            raise AnchorError(f"Cannot append to the anchor file {path}: {exc}") from None
        return path

    @staticmethod
    def _ends_with_newline(path):
        with open(path, "rb") as handle:
            handle.seek(-1, os.SEEK_END)
            return handle.read(1) == b"\n"

    def _fsync_directory(self):
        descriptor = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    def records(self, database, company_id):
        """Every record of the file, in the order written (unreadable lines skipped)."""
        path = self.path(database, company_id)
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                lines = handle.readlines()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise AnchorError(f"Cannot read the anchor file {path}: {exc}") from None
        return [record for record in map(decode, lines) if record is not None]


class ObjectAnchorStore:
    """One object per signed checkpoint in an object store.

    ``backend`` offers ``put(key, data)`` (returns a dict of what the store
    says: version, retention), ``keys(prefix)`` and ``versions(key)`` (the
    bytes of every stored version, oldest first) and ``describe()``.
    """

    kind = "object"

    def __init__(self, backend, prefix=""):
        self.backend = backend
        self.prefix = (prefix or "").strip("/")

    def describe(self):
        return self.backend.describe() + (f"/{self.prefix}" if self.prefix else "")

    def _base(self, database, company_id):
        parts = [self.prefix] if self.prefix else []
        parts += ["audit-anchors", _name_part(database), company_part(company_id)]
        return "/".join(parts) + "/"

    def key(self, payload):
        base = self._base(payload["database"], payload.get("company_id"))
        return f"{base}{int(payload['first_sequence']):012d}-{payload['hash'][:16]}.json"

    def append(self, record):
        """Store ``record`` as a new object; returns ``{'key', ...what the store says}``."""
        key = self.key(record["payload"])
        info = self.backend.put(key, encode(record).encode("utf-8"))
        return {"key": key, **(info or {})}

    def records(self, database, company_id):
        result = []
        for key in sorted(self.backend.keys(self._base(database, company_id))):
            for data in self.backend.versions(key):
                record = decode(data.decode("utf-8", errors="replace"))
                if record is not None:
                    result.append(record)
        return result


class S3AnchorBackend:
    """Objects in an S3 bucket; with Object Lock retention when the bucket has it enabled.

    ``lock_mode`` is ``COMPLIANCE`` or ``GOVERNANCE`` (or None: no
    retention even when the bucket supports it); ``retain_days`` how long
    nobody, the bucket owner included for COMPLIANCE, can delete or
    overwrite the stored version.
    """

    def __init__(self, bucket, endpoint_url=None, credentials=None, lock_mode="COMPLIANCE", retain_days=3650,
                 client=None):
        if not bucket:
            raise AnchorError("The S3 anchor store has no bucket.")
        self.bucket = bucket
        self.endpoint_url = endpoint_url or None
        self.lock_mode = lock_mode.upper() if lock_mode else None
        if self.lock_mode not in (None, "COMPLIANCE", "GOVERNANCE"):
            raise AnchorError(f"Unknown Object Lock mode {lock_mode!r}.")
        self.retain_days = int(retain_days or 0)
        self._client = client or self._make_client(credentials or {})
        self._lock_enabled = None

    def _make_client(self, credentials):
        import boto3
        from botocore.config import Config

        return boto3.session.Session(
            aws_access_key_id=credentials.get("access_key") or None,
            aws_secret_access_key=credentials.get("secret_key") or None,
            aws_session_token=credentials.get("session_token") or None,
            region_name=credentials.get("region") or "us-east-1",
        ).client(
            "s3", endpoint_url=self.endpoint_url,
            config=Config(connect_timeout=10, read_timeout=30, retries={"max_attempts": 3, "mode": "standard"}),
        )

    def describe(self):
        return f"{self.endpoint_url or 's3'}/{self.bucket}"

    def lock_enabled(self):
        """Whether the bucket has Object Lock enabled (asked once)."""
        if self._lock_enabled is None:
            try:
                config = self._client.get_object_lock_configuration(Bucket=self.bucket)
                enabled = config.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") == "Enabled"
            except Exception:  # noqa: BLE001 - no configuration (or no right to read it): no lock
                enabled = False
            self._lock_enabled = enabled
        return self._lock_enabled

    def put(self, key, data):
        extra = {}
        if self.lock_mode and self.retain_days > 0 and self.lock_enabled():
            until = datetime.now(UTC) + timedelta(days=self.retain_days)
            extra = {"ObjectLockMode": self.lock_mode, "ObjectLockRetainUntilDate": until}
        try:
            answer = self._client.put_object(
                Bucket=self.bucket, Key=key, Body=data, ContentType="application/json", **extra
            )
        except Exception as exc:  # noqa: BLE001 - any client or network error fails the anchoring
            raise AnchorError(f"S3 anchoring of {key} in bucket {self.bucket} failed: {exc}") from None
        info = {"version_id": answer.get("VersionId")}
        if extra:
            info.update(lock_mode=self.lock_mode, retain_until=extra["ObjectLockRetainUntilDate"].strftime(
                "%Y-%m-%d %H:%M:%S"))
        return info

    def keys(self, prefix):
        try:
            paginator = self._client.get_paginator("list_objects_v2")
            return [
                obj["Key"]
                for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix)
                for obj in page.get("Contents", [])
            ]
        except Exception as exc:  # noqa: BLE001
            raise AnchorError(f"Cannot list the anchors in bucket {self.bucket}: {exc}") from None

    def versions(self, key):
        try:
            listed = self._client.list_object_versions(Bucket=self.bucket, Prefix=key).get("Versions", [])
            # Oldest first: S3 lists the newest first, and two versions may share a second.
            ordered = sorted(enumerate(listed), key=lambda pair: (pair[1]["LastModified"], -pair[0]))
            version_ids = [version["VersionId"] for _index, version in ordered if version["Key"] == key]
            if not version_ids or version_ids == ["null"]:
                return [self._client.get_object(Bucket=self.bucket, Key=key)["Body"].read()]
            return [
                self._client.get_object(Bucket=self.bucket, Key=key, VersionId=version_id)["Body"].read()
                for version_id in version_ids
            ]
        except Exception as exc:  # noqa: BLE001
            raise AnchorError(f"Cannot read the anchor {key} in bucket {self.bucket}: {exc}") from None


def read_all(stores, database, company_id):
    """Records of every store, with duplicates (the same signed checkpoint) removed."""
    seen = set()
    result = []
    for store in stores:
        for record in store.records(database, company_id):
            marker = (json.dumps(record["payload"], sort_keys=True), record.get("signature"))
            if marker in seen:
                continue
            seen.add(marker)
            result.append(record)
    return result
