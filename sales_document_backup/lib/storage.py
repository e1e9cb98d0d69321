"""Backup destinations: a local directory and S3-compatible object storage.

Both expose the same small interface used by the addon and by retention:
``put(local_path, name)``, ``get(name, local_path)``, ``list()``,
``delete(name)``, and ``discard(name)`` that also removes what an upload
interrupted by a killed process left behind. ``put`` reads every object back after writing it and
compares its SHA-256 with the source; a failed or mismatching upload removes
what it left behind and raises StorageError, so a destination never holds a
partial object that looks complete.
"""

import glob
import hashlib
import os
import shutil
import uuid
from datetime import UTC, datetime

from .errors import BackupLibError, _lt

BUFFER = 1024 * 1024
PARTIAL_SUFFIX = ".partial"


class StorageError(BackupLibError):
    """A destination could not store, read or delete an object."""


# What failed on S3, one whole sentence each (they are translated as they are).
S3_FAILURES = {
    "upload": _lt("S3 upload of %(name)s in bucket %(bucket)s failed: %(error)s"),
    "download": _lt("S3 download of %(name)s in bucket %(bucket)s failed: %(error)s"),
    "listing": _lt("S3 listing of %(name)s in bucket %(bucket)s failed: %(error)s"),
    "deletion": _lt("S3 deletion of %(name)s in bucket %(bucket)s failed: %(error)s"),
    "clean-up": _lt("S3 clean-up of %(name)s in bucket %(bucket)s failed: %(error)s"),
    "check": _lt("S3 check of %(name)s in bucket %(bucket)s failed: %(error)s"),
}


def _sha256_path(path):
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(BUFFER), b""):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def _copy_blocks(src, dst, progress=None):
    """Copy ``src`` to ``dst`` block by block, telling ``progress`` each size."""
    for block in iter(lambda: src.read(BUFFER), b""):
        dst.write(block)
        if progress is not None:
            progress(len(block))


def resolve_within(path, roots):
    """``path`` with symbolic links and ``..`` resolved when it lies inside one
    of ``roots`` (resolved directories), else None."""
    if not path or not os.path.isabs(path):
        return None
    resolved = os.path.realpath(path)
    for root in roots:
        if resolved == root or resolved.startswith(root.rstrip(os.sep) + os.sep):
            return resolved
    return None


def _check_name(name):
    if not name or name.startswith("/") or ".." in name.split("/"):
        raise StorageError(_lt("Invalid object name %(name)s."), name=repr(name))


class LocalStorage:
    """A directory on this server (or a mounted network share)."""

    kind = "local"

    def __init__(self, path):
        if not path:
            raise StorageError(_lt("The local destination has no directory."))
        self.path = os.path.abspath(path)

    def describe(self):
        return self.path

    def _full(self, name):
        _check_name(name)
        return os.path.join(self.path, *name.split("/"))

    def put(self, local_path, name, progress=None):
        """Copy ``local_path`` to ``name``; returns {'size', 'sha256', 'name'}.

        ``progress`` is called with the number of bytes of each block copied.
        """
        target = self._full(name)
        partial = f"{target}.{uuid.uuid4().hex[:8]}{PARTIAL_SUFFIX}"
        try:
            source_sha, source_size = _sha256_path(local_path)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(local_path, "rb") as src, open(partial, "wb") as dst:
                _copy_blocks(src, dst, progress)
                dst.flush()
                os.fsync(dst.fileno())
            copy_sha, copy_size = _sha256_path(partial)
            if (copy_sha, copy_size) != (source_sha, source_size):
                raise StorageError(
                    _lt("The copy written to %(path)s does not match the archive (checksum differs)."), path=target
                )
            os.replace(partial, target)
        except OSError as exc:
            self._remove(partial)
            raise StorageError(_lt("Cannot write %(path)s: %(error)s"), path=target, error=exc.strerror or exc) from None
        except BaseException:
            self._remove(partial)
            raise
        return {"name": name, "size": source_size, "sha256": source_sha}

    @staticmethod
    def _remove(path):
        try:
            os.unlink(path)
        except OSError:
            pass

    def get(self, name, local_path):
        """Copy object ``name`` to ``local_path``; returns its SHA-256."""
        source = self._full(name)
        try:
            with open(source, "rb") as src, open(local_path, "wb") as dst:
                shutil.copyfileobj(src, dst, BUFFER)
        except OSError as exc:
            self._remove(local_path)
            raise StorageError(_lt("Cannot read %(path)s: %(error)s"), path=source, error=exc.strerror or exc) from None
        return _sha256_path(local_path)[0]

    def list(self, prefix=""):
        """Objects under ``prefix``: list of {'name', 'size', 'modified'}."""
        result = []
        if not os.path.isdir(self.path):
            return result
        for root, _dirs, files in os.walk(self.path):
            for filename in files:
                full = os.path.join(root, filename)
                name = os.path.relpath(full, self.path).replace(os.sep, "/")
                if not name.startswith(prefix) or name.endswith(PARTIAL_SUFFIX):
                    continue
                stat = os.stat(full)
                result.append({
                    "name": name,
                    "size": stat.st_size,
                    "modified": datetime.fromtimestamp(stat.st_mtime, tz=UTC),
                })
        return sorted(result, key=lambda item: item["name"])

    def delete(self, name):
        """Remove object ``name`` (missing objects are not an error)."""
        try:
            os.unlink(self._full(name))
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise StorageError(_lt("Cannot delete %(path)s: %(error)s"), path=name, error=exc.strerror or exc) from None

    def discard(self, name):
        """Remove object ``name`` and the partial copies an interrupted upload left.

        Returns the number of files removed.
        """
        target = self._full(name)
        removed = 0
        for path in [target, *glob.glob(f"{glob.escape(target)}.*{PARTIAL_SUFFIX}")]:
            try:
                os.unlink(path)
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise StorageError(_lt("Cannot delete %(path)s: %(error)s"), path=path, error=exc.strerror or exc) from None
            removed += 1
        return removed

    def check(self):
        """Raise StorageError unless the directory exists and is writable."""
        probe = os.path.join(self.path, f".probe-{uuid.uuid4().hex[:8]}")
        try:
            os.makedirs(self.path, exist_ok=True)
            with open(probe, "wb") as handle:
                handle.write(b"ok")
            os.unlink(probe)
        except OSError as exc:
            raise StorageError(
                _lt("The directory %(path)s is not writable: %(error)s"), path=self.path, error=exc.strerror or exc
            ) from None


class S3Storage:
    """A bucket on AWS S3 or an S3-compatible server (MinIO, Ceph, ...)."""

    kind = "s3"

    def __init__(self, bucket, endpoint_url=None, prefix="", credentials=None,
                 multipart_threshold=64 * 1024 * 1024, multipart_chunksize=16 * 1024 * 1024,
                 connect_timeout=10, read_timeout=120, max_attempts=3):
        import boto3
        from boto3.s3.transfer import TransferConfig
        from botocore.config import Config

        if not bucket:
            raise StorageError(_lt("The S3 destination has no bucket."))
        credentials = credentials or {}
        self.bucket = bucket
        self.endpoint_url = endpoint_url or None
        self.prefix = (prefix or "").strip("/")
        session = boto3.session.Session(
            aws_access_key_id=credentials.get("access_key") or None,
            aws_secret_access_key=credentials.get("secret_key") or None,
            aws_session_token=credentials.get("session_token") or None,
            region_name=credentials.get("region") or "us-east-1",
        )
        self._client = session.client(
            "s3",
            endpoint_url=self.endpoint_url,
            config=Config(
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
                retries={"max_attempts": max_attempts, "mode": "standard"},
                signature_version="s3v4",
            ),
        )
        self._transfer = TransferConfig(
            multipart_threshold=multipart_threshold,
            multipart_chunksize=multipart_chunksize,
            max_concurrency=2,
            use_threads=True,
        )

    def describe(self):
        where = self.endpoint_url or "s3"
        return f"{where}/{self.bucket}/{self.prefix}".rstrip("/")

    def _key(self, name):
        _check_name(name)
        return f"{self.prefix}/{name}" if self.prefix else name

    def _error(self, action, name, exc):
        from botocore.exceptions import BotoCoreError, ClientError

        if isinstance(exc, ClientError):
            detail = exc.response.get("Error", {}).get("Message") or exc.response.get("Error", {}).get("Code")
        elif isinstance(exc, BotoCoreError):
            detail = str(exc)
        else:
            detail = str(exc)
        return StorageError(S3_FAILURES[action], name=name, bucket=self.bucket, error=detail)

    def put(self, local_path, name, progress=None):
        """Upload ``local_path`` (multipart when large) and verify it by reading it back.

        ``progress`` is called with the number of bytes of each part sent.
        """
        key = self._key(name)
        source_sha, source_size = _sha256_path(local_path)
        try:
            self._client.upload_file(
                local_path, self.bucket, key,
                ExtraArgs={"Metadata": {"sha256": source_sha}},
                Config=self._transfer,
                Callback=progress,
            )
            copy_sha, copy_size = self._read_back(key)
        except Exception as exc:
            self._cleanup(key)
            if isinstance(exc, StorageError):
                raise
            raise self._error("upload", name, exc) from None
        if (copy_sha, copy_size) != (source_sha, source_size):
            self._cleanup(key)
            raise StorageError(
                _lt("The object %(key)s read back from bucket %(bucket)s does not match the archive."),
                key=key, bucket=self.bucket,
            )
        return {"name": name, "size": source_size, "sha256": source_sha}

    def _read_back(self, key):
        body = self._client.get_object(Bucket=self.bucket, Key=key)["Body"]
        digest = hashlib.sha256()
        size = 0
        for block in body.iter_chunks(BUFFER):
            digest.update(block)
            size += len(block)
        return digest.hexdigest(), size

    def _cleanup(self, key):
        """Remove a failed object and any unfinished multipart upload of it."""
        try:
            self._client.delete_object(Bucket=self.bucket, Key=key)
        except Exception:  # noqa: BLE001 - best effort, the storage may be down
            pass
        try:
            uploads = self._client.list_multipart_uploads(Bucket=self.bucket, Prefix=key)
            for upload in uploads.get("Uploads", []):
                if upload["Key"] == key:
                    self._client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload["UploadId"])
        except Exception:  # noqa: BLE001 - best effort, the storage may be down
            pass

    def get(self, name, local_path):
        """Download ``name`` to ``local_path``; returns its SHA-256."""
        try:
            self._client.download_file(self.bucket, self._key(name), local_path, Config=self._transfer)
        except Exception as exc:
            LocalStorage._remove(local_path)
            raise self._error("download", name, exc) from None
        return _sha256_path(local_path)[0]

    def list(self, prefix=""):
        """Objects under ``prefix``: list of {'name', 'size', 'modified'}."""
        result = []
        base = f"{self.prefix}/" if self.prefix else ""
        try:
            paginator = self._client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=base + prefix):
                for obj in page.get("Contents", []):
                    result.append({
                        "name": obj["Key"][len(base):],
                        "size": obj["Size"],
                        "modified": obj["LastModified"],
                    })
        except Exception as exc:
            raise self._error("listing", prefix or "/", exc) from None
        return sorted(result, key=lambda item: item["name"])

    def delete(self, name):
        """Remove object ``name``."""
        try:
            self._client.delete_object(Bucket=self.bucket, Key=self._key(name))
        except Exception as exc:
            raise self._error("deletion", name, exc) from None

    def discard(self, name):
        """Remove object ``name`` and abort any unfinished multipart upload of it.

        Returns the number of objects and uploads removed.
        """
        key = self._key(name)
        removed = 0
        try:
            found = self._client.list_objects_v2(Bucket=self.bucket, Prefix=key).get("Contents", [])
            if any(obj["Key"] == key for obj in found):
                self._client.delete_object(Bucket=self.bucket, Key=key)
                removed += 1
            uploads = self._client.list_multipart_uploads(Bucket=self.bucket, Prefix=key)
            for upload in uploads.get("Uploads", []):
                if upload["Key"] == key:
                    self._client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload["UploadId"])
                    removed += 1
        except Exception as exc:
            raise self._error("clean-up", name, exc) from None
        return removed

    def check(self):
        """Raise StorageError unless the bucket answers."""
        try:
            self._client.head_bucket(Bucket=self.bucket)
        except Exception as exc:
            raise self._error("check", self.bucket, exc) from None
