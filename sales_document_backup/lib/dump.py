"""Full backups and restores: pg_dump + filestore, streamed, encrypted.

``create_backup`` writes one encrypted archive (see ``archive`` and
``crypto``) holding three sections: ``database.dump`` (``pg_dump
--format=custom``, compressed by pg_dump itself), ``filestore.tar``
(compressed with zlib) and ``manifest.json``. pg_dump runs as a child
process reading an exported snapshot, and the manifest's document
statistics are read in that very snapshot, so they describe exactly what
the dump contains. Data flows through fixed-size buffers: memory does not
grow with the database. Any failure (dump error, timeout, killed process,
disk full) removes the partial file and raises DumpError.

``extract_backup`` decrypts and checks an archive completely before
anything is restored; ``restore_database`` loads a dump into a new database
with ``pg_restore --exit-on-error``.
"""

import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import threading
import time

import psycopg2
from psycopg2 import sql

from . import archive, crypto, manifest
from .errors import BackupLibError, _lt

BUFFER = 1024 * 1024
FORMAT_VERSION = 1


class DumpError(BackupLibError):
    """A backup or restore step failed; the message says which and why."""


class HashingWriter:
    """Pass-through writer computing SHA-256 and size of what goes through."""

    def __init__(self, out, on_write=None):
        import hashlib

        self._out = out
        self._hash = hashlib.sha256()
        self._on_write = on_write
        self.size = 0

    def write(self, data):  # pylint: disable=method-required-super
        self._out.write(data)
        self._hash.update(data)
        self.size += len(data)
        if self._on_write is not None:
            self._on_write(self.size)
        return len(data)

    def flush(self):
        self._out.flush()

    def hexdigest(self):
        return self._hash.hexdigest()


def pg_environ(params):
    """Environment for pg_dump/pg_restore from {'host','port','user','password'}."""
    env = dict(os.environ)
    mapping = {"host": "PGHOST", "port": "PGPORT", "user": "PGUSER", "password": "PGPASSWORD"}
    for key, var in mapping.items():
        value = (params or {}).get(key)
        if value not in (None, "", False, "False"):
            env[var] = str(value)
    return env


def connect(dbname, params):
    """psycopg2 connection with the same parameters as the command line tools."""
    kwargs = {"dbname": dbname}
    for key in ("host", "port", "user", "password"):
        value = (params or {}).get(key)
        if value not in (None, "", False, "False"):
            kwargs[key] = value
    return psycopg2.connect(**kwargs)


class _Watchdog:
    """Kill a child process when the deadline passes."""

    def __init__(self, process, deadline):
        self.expired = False
        self._process = process
        self._timer = threading.Timer(max(deadline - time.monotonic(), 0), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self):
        self.expired = True
        try:
            self._process.kill()
        except OSError:
            pass

    def cancel(self):
        self._timer.cancel()


def _stderr_tail(handle):
    handle.seek(0)
    text = handle.read().decode(errors="replace").strip()
    return text[-2000:]


def _run_streaming(cmd, env, sink, deadline, what):
    """Run ``cmd``, copying its stdout into ``sink`` block by block."""
    with tempfile.TemporaryFile() as errors:
        try:
            process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errors, env=env)
        except OSError as exc:
            raise DumpError(_lt("%(program)s cannot be started: %(error)s"), program=what, error=exc.strerror or exc) from None
        watchdog = _Watchdog(process, deadline)
        try:
            for block in iter(lambda: process.stdout.read(BUFFER), b""):
                sink.write(block)
            code = process.wait()
        except BaseException:
            process.kill()
            process.wait()
            raise
        finally:
            watchdog.cancel()
            process.stdout.close()
        if watchdog.expired:
            raise DumpError(_lt("%(program)s was stopped: it exceeded its time limit."), program=what)
        if code < 0:
            raise DumpError(_lt("%(program)s was killed by signal %(signal)s before it finished."), program=what, signal=-code)
        if code:
            raise DumpError(
                _lt("%(program)s failed (exit code %(code)s): %(error)s"),
                program=what, code=code, error=_stderr_tail(errors),
            )


def _add_filestore(section, filestore, deadline):
    """Stream the filestore as a tar into ``section`` (files that vanish are skipped)."""
    with tarfile.open(fileobj=section, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        if not filestore or not os.path.isdir(filestore):
            return 0
        count = 0
        for root, dirs, files in os.walk(filestore):
            dirs.sort()
            for filename in sorted(files):
                if time.monotonic() > deadline:
                    raise DumpError(_lt("The filestore copy was stopped: it exceeded its time limit."))
                full = os.path.join(root, filename)
                arcname = os.path.relpath(full, filestore)
                try:
                    tar.add(full, arcname=arcname, recursive=False)
                except FileNotFoundError:
                    # Odoo's garbage collector removed it after the snapshot:
                    # the snapshot does not reference it either.
                    continue
                count += 1
        return count


def create_backup(out_path, dbname, public_key, *, params=None, filestore=None, timeout=3600,
                  extra_manifest=None, chunk_size=crypto.DEFAULT_CHUNK_SIZE, pg_dump="pg_dump",
                  lock_wait_timeout=300, progress=None):
    """Write an encrypted full backup of ``dbname`` to ``out_path``.

    Returns {'size', 'sha256' (of the encrypted file), 'manifest'}. Raises
    BackupKeyError without writing anything when no public key is given, and
    DumpError (after removing the partial file) on any other failure.
    ``progress`` (a ``progress.BackupProgress``) is told the current step and
    the bytes written so far.
    """
    if public_key is None:
        raise crypto.BackupKeyError(
            _lt("No public key is configured: backups are refused rather than written unencrypted.")
        )
    deadline = time.monotonic() + timeout
    started = time.time()
    conn = None
    try:
        conn = connect(dbname, params)
        conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
        with conn.cursor() as cursor:
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            stats = manifest.document_stats(cursor)
            modules = manifest.installed_modules(cursor)
        with open(out_path, "wb") as raw:
            hashed = HashingWriter(raw, progress.archive_written if progress is not None else None)
            encrypted = crypto.EncryptingWriter(hashed, public_key, chunk_size)
            container = archive.ArchiveWriter(encrypted)
            if progress is not None:
                progress.start_step("dump")
            section = container.open_section("database.dump")
            _run_streaming(
                [pg_dump, "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}",
                 # Fail instead of waiting forever behind an exclusive lock.
                 f"--lock-wait-timeout={int(lock_wait_timeout * 1000)}", dbname],
                pg_environ(params), section, deadline, "pg_dump",
            )
            dump_info = container.close_section()
            if progress is not None:
                progress.start_step("filestore")
            section = container.open_section("filestore.tar", archive.CODEC_ZLIB)
            files = _add_filestore(section, filestore, deadline)
            filestore_info = container.close_section()
            result_manifest = dict(extra_manifest or {})
            result_manifest.update({
                "format": FORMAT_VERSION,
                "database": dbname,
                "started": started,
                "finished": time.time(),
                "modules": modules,
                "documents": stats,
                "sections": {
                    "database.dump": dump_info,
                    "filestore.tar": dict(filestore_info, files=files),
                },
                "key_fingerprint": crypto.key_fingerprint(public_key),
            })
            container.add_bytes("manifest.json", manifest.canonical_json(result_manifest))
            container.close()
            encrypted.close()
            raw.flush()
            os.fsync(raw.fileno())
        return {"size": hashed.size, "sha256": hashed.hexdigest(), "manifest": result_manifest}
    except BaseException as exc:
        try:
            os.unlink(out_path)
        except OSError:
            pass
        if isinstance(exc, (DumpError, crypto.CryptoError, KeyboardInterrupt, SystemExit)):
            raise
        if isinstance(exc, OSError):
            raise DumpError(_lt("Writing the backup failed: %(error)s"), error=exc.strerror or exc) from None
        if isinstance(exc, psycopg2.Error):
            raise DumpError(_lt("Reading the database failed: %(error)s"), error=str(exc).strip()) from None
        raise
    finally:
        if conn is not None:
            conn.close()


def extract_backup(archive_path, private_key, work_dir, filestore_dir=None):
    """Decrypt and unpack an archive into ``work_dir``; everything is verified.

    Returns {'manifest', 'dump_path', 'filestore_dir'}. Raises CryptoError
    (wrong key, truncated or altered archive), archive.ArchiveError or
    DumpError; nothing is restored by this function.
    """
    dump_path = os.path.join(work_dir, "database.dump")
    filestore_dir = filestore_dir or os.path.join(work_dir, "filestore")
    found = {}
    with open(archive_path, "rb") as raw:
        reader = archive.ArchiveReader(crypto.DecryptingReader(raw, private_key))
        for name, blocks in reader:
            if name == "database.dump":
                with open(dump_path, "wb") as out:
                    for block in blocks:
                        out.write(block)
            elif name == "filestore.tar":
                os.makedirs(filestore_dir, exist_ok=True)
                with tarfile.open(fileobj=archive.BlockReader(blocks), mode="r|") as tar:
                    tar.extractall(filestore_dir, filter="data")
            elif name == "manifest.json":
                found["manifest"] = json.loads(b"".join(blocks))
            found[name] = True
    if "manifest" not in found or "database.dump" not in found:
        raise DumpError(_lt("The archive is incomplete (manifest or database dump missing)."))
    recorded = found["manifest"].get("sections", {})
    for name, info in recorded.items():
        actual = reader.sections.get(name)
        if not actual or actual["sha256"] != info.get("sha256"):
            raise DumpError(_lt("Section %(name)s does not match the checksum recorded in the manifest."), name=name)
    return {"manifest": found["manifest"], "dump_path": dump_path, "filestore_dir": filestore_dir}


def create_database(dbname, params, template="template0"):
    """Create an empty database (fails if it exists)."""
    conn = connect("postgres", params)
    try:
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {} ENCODING 'UTF8'").format(
                    sql.Identifier(dbname), sql.Identifier(template)
                )
            )
    except psycopg2.Error as exc:
        raise DumpError(
            _lt("Cannot create database %(database)s: %(error)s"), database=dbname, error=str(exc).strip()
        ) from None
    finally:
        conn.close()


def drop_database(dbname, params):
    """Drop ``dbname`` if it exists, disconnecting its sessions."""
    conn = connect("postgres", params)
    try:
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))
    finally:
        conn.close()


def restore_database(dump_path, dbname, params=None, timeout=3600, jobs=1, pg_restore="pg_restore",
                     before_data=(), after_data=()):
    """Create ``dbname`` and load ``dump_path`` into it, stopping at the first error.

    ``before_data`` statements run once the tables exist and before any row
    is loaded (e.g. a trigger that changes rows as they arrive),
    ``after_data`` statements once everything is restored. The database is
    dropped again when the restore fails.
    """
    create_database(dbname, params)
    base = [pg_restore, "--exit-on-error", "--no-owner", "--no-privileges", f"--dbname={dbname}"]
    if before_data:
        steps = [base + ["--section=pre-data", dump_path],
                 base + [f"--jobs={int(jobs)}", "--section=data", "--section=post-data", dump_path]]
    else:
        steps = [base + [f"--jobs={int(jobs)}", dump_path]]
    deadline = time.monotonic() + timeout
    try:
        for index, cmd in enumerate(steps):
            _run_streaming(cmd, pg_environ(params), _NullSink(), deadline, "pg_restore")
            if index == 0 and before_data:
                _execute(dbname, params, before_data)
        if after_data:
            _execute(dbname, params, after_data)
    except BaseException:
        drop_database(dbname, params)
        raise


def _execute(dbname, params, statements):
    conn = connect(dbname, params)
    try:
        with conn, conn.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    except psycopg2.Error as exc:
        raise DumpError(
            _lt("Cannot prepare database %(database)s: %(error)s"), database=dbname, error=str(exc).strip()
        ) from None
    finally:
        conn.close()


class _NullSink:
    def write(self, data):  # pylint: disable=method-required-super
        return len(data)


def restore_filestore(source_dir, target_dir):
    """Copy an extracted filestore into Odoo's data directory for a database."""
    if os.path.exists(target_dir):
        raise DumpError(_lt("The filestore %(path)s already exists; refusing to overwrite it."), path=target_dir)
    shutil.copytree(source_dir, target_dir)
