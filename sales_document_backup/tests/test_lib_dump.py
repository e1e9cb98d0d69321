import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid

from odoo.tests import BaseCase, tagged

from ..lib import archive, crypto, dump, manifest
from .common import key_pair, temp_dir

SCHEMA = """
CREATE TABLE sale_order (id serial PRIMARY KEY, name varchar, state varchar, amount_total numeric);
CREATE TABLE stock_picking_type (id serial PRIMARY KEY, code varchar);
CREATE TABLE stock_picking (id serial PRIMARY KEY, name varchar, state varchar, picking_type_id int);
CREATE TABLE account_move (id serial PRIMARY KEY, name varchar, state varchar, move_type varchar,
                           amount_total numeric);
CREATE TABLE account_payment (id serial PRIMARY KEY, name varchar, state varchar, amount numeric,
                              payment_type varchar, partner_type varchar);
INSERT INTO sale_order (name, state, amount_total)
    SELECT 'S' || g, 'sale', g * 1.5 FROM generate_series(1, 300) g;
INSERT INTO stock_picking_type (code) VALUES ('outgoing'), ('incoming');
INSERT INTO stock_picking (name, state, picking_type_id) VALUES ('OUT/1', 'done', 1), ('IN/1', 'done', 2);
INSERT INTO account_move (name, state, move_type, amount_total) VALUES
    ('INV/1', 'posted', 'out_invoice', 100), ('RINV/1', 'posted', 'out_refund', 10),
    ('BILL/1', 'posted', 'in_invoice', 999);
INSERT INTO account_payment (name, state, amount, payment_type, partner_type) VALUES
    ('P1', 'paid', 90, 'inbound', 'customer'), ('P2', 'paid', 5, 'outbound', 'supplier');
"""

FAKE_KILLED_DUMP = """#!/bin/sh
head -c 300000 /dev/urandom
kill -9 $$
"""
FAKE_SLOW_DUMP = """#!/bin/sh
head -c 1000 /dev/urandom
exec sleep 30
"""


@tagged("post_install", "-at_install")
class TestDump(BaseCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        private, public = key_pair("main")
        cls.public = crypto.load_public_key(public)
        cls.private = crypto.load_private_key(private)
        cls.params = {}
        cls.source = f"sdb_lib_src_{uuid.uuid4().hex[:8]}"
        dump.create_database(cls.source, cls.params)
        cls.addClassCleanup(dump.drop_database, cls.source, cls.params)
        conn = dump.connect(cls.source, cls.params)
        with conn, conn.cursor() as cursor:
            cursor.execute(SCHEMA)
        conn.close()

    def _filestore(self, tmp):
        filestore = os.path.join(tmp, "filestore")
        os.makedirs(os.path.join(filestore, "ab"))
        with open(os.path.join(filestore, "ab", "abcdef"), "wb") as handle:
            handle.write(b"attachment content " * 1000)
        return filestore

    def test_backup_extract_restore_round_trip(self):
        """Encrypted backup restored into a new database matches its manifest."""
        with temp_dir() as tmp:
            out = os.path.join(tmp, "backup.sdb")
            result = dump.create_backup(out, self.source, self.public, params=self.params,
                                        filestore=self._filestore(tmp), timeout=120,
                                        extra_manifest={"odoo_version": "test"})
            self.assertEqual(result["size"], os.path.getsize(out))
            self.assertEqual(result["sha256"], manifest.sha256_file(out))
            docs = result["manifest"]["documents"]
            self.assertEqual(docs["order"]["count"], 300)
            self.assertEqual(docs["delivery"]["count"], 1)
            self.assertEqual(docs["payment"]["amount_total"], "90")
            with open(out, "rb") as handle:
                self.assertNotIn(b"sale_order", handle.read())
            work = os.path.join(tmp, "work")
            os.makedirs(work)
            extracted = dump.extract_backup(out, self.private, work)
            self.assertEqual(extracted["manifest"]["odoo_version"], "test")
            with open(os.path.join(extracted["filestore_dir"], "ab", "abcdef"), "rb") as handle:
                self.assertEqual(handle.read(), b"attachment content " * 1000)
            target = f"sdb_lib_dst_{uuid.uuid4().hex[:8]}"
            dump.restore_database(extracted["dump_path"], target, self.params, timeout=120)
            try:
                conn = dump.connect(target, self.params)
                with conn.cursor() as cursor:
                    restored = manifest.document_stats(cursor)
                conn.close()
            finally:
                dump.drop_database(target, self.params)
            self.assertEqual(manifest.compare_stats(docs, restored), [])

    def test_missing_key_refused_without_file(self):
        with temp_dir() as tmp:
            out = os.path.join(tmp, "backup.sdb")
            with self.assertRaises(crypto.BackupKeyError):
                dump.create_backup(out, self.source, None, params=self.params)
            self.assertFalse(os.path.exists(out))

    def _fake(self, tmp, script):
        path = os.path.join(tmp, "fake_pg_dump")
        with open(path, "w") as handle:
            handle.write(script)
        os.chmod(path, 0o755)
        return path

    def test_killed_dump_is_a_failure(self):
        with temp_dir() as tmp:
            out = os.path.join(tmp, "backup.sdb")
            with self.assertRaisesRegex(dump.DumpError, "killed by signal 9"):
                dump.create_backup(out, self.source, self.public, params=self.params,
                                   pg_dump=self._fake(tmp, FAKE_KILLED_DUMP))
            self.assertFalse(os.path.exists(out))

    def test_dump_timeout_is_a_failure(self):
        with temp_dir() as tmp:
            out = os.path.join(tmp, "backup.sdb")
            with self.assertRaisesRegex(dump.DumpError, "time limit"):
                dump.create_backup(out, self.source, self.public, params=self.params, timeout=2,
                                   pg_dump=self._fake(tmp, FAKE_SLOW_DUMP))
            self.assertFalse(os.path.exists(out))

    def test_dump_error_and_missing_database(self):
        with temp_dir() as tmp:
            out = os.path.join(tmp, "backup.sdb")
            with self.assertRaises(dump.DumpError):
                dump.create_backup(out, "sdb_no_such_database", self.public, params=self.params)
            self.assertFalse(os.path.exists(out))

    def test_truncated_corrupted_or_foreign_archive_never_restores(self):
        with temp_dir() as tmp:
            out = os.path.join(tmp, "backup.sdb")
            dump.create_backup(out, self.source, self.public, params=self.params, timeout=120)
            with open(out, "rb") as handle:
                blob = handle.read()
            other_private = crypto.load_private_key(key_pair("other")[0])
            cases = {
                "truncated": (blob[: len(blob) // 2], self.private, crypto.IntegrityError),
                "corrupted": (blob[:3000] + bytes([blob[3000] ^ 1]) + blob[3001:], self.private,
                              crypto.IntegrityError),
                "wrong key": (blob, other_private, crypto.BackupKeyError),
            }
            for label, (data, key, error) in cases.items():
                path = os.path.join(tmp, f"{label}.sdb")
                with open(path, "wb") as handle:
                    handle.write(data)
                work = os.path.join(tmp, label.replace(" ", "_"))
                os.makedirs(work)
                with self.assertRaises(error, msg=label):
                    dump.extract_backup(path, key, work)

    def test_archive_sections_checksums(self):
        import io

        buf = io.BytesIO()
        writer = archive.ArchiveWriter(buf)
        writer.add_bytes("a", b"hello" * 1000, archive.CODEC_ZLIB)
        writer.add_bytes("b", json.dumps({"x": 1}).encode())
        writer.close()
        data = buf.getvalue()
        reader = archive.ArchiveReader(io.BytesIO(data))
        got = {name: b"".join(blocks) for name, blocks in reader}
        self.assertEqual(got, {"a": b"hello" * 1000, "b": b'{"x": 1}'})
        broken = bytearray(data)
        broken[-40] ^= 1  # inside section b's content
        with self.assertRaises(archive.ArchiveError):
            for _name, blocks in archive.ArchiveReader(io.BytesIO(bytes(broken))):
                b"".join(blocks)


@tagged("post_install", "-at_install")
class TestRestoreOnNewServer(BaseCase):
    """The documented command restores an archive without Odoo."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.private_path, public_path = key_pair("main")
        cls.params = {}
        cls.source = f"sdb_cli_src_{uuid.uuid4().hex[:8]}"
        dump.create_database(cls.source, cls.params)
        cls.addClassCleanup(dump.drop_database, cls.source, cls.params)
        conn = dump.connect(cls.source, cls.params)
        with conn, conn.cursor() as cursor:
            cursor.execute(SCHEMA)
        conn.close()
        cls.tmp = tempfile.mkdtemp(prefix="sdb-cli-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        filestore = os.path.join(cls.tmp, "src-filestore")
        os.makedirs(os.path.join(filestore, "0a"))
        with open(os.path.join(filestore, "0a", "0abc"), "wb") as handle:
            handle.write(b"invoice pdf")
        cls.archive = os.path.join(cls.tmp, "backup.sdb")
        dump.create_backup(cls.archive, cls.source, crypto.load_public_key(public_path),
                           params=cls.params, filestore=filestore, timeout=120)
        cls.cli = os.path.join(os.path.dirname(os.path.dirname(__file__)), "lib", "cli.py")

    def _run(self, *args):
        # A clean interpreter, as on a new server: only the script's own directory.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        return subprocess.run([sys.executable, self.cli, *args], capture_output=True, text=True, env=env,
                              timeout=300)

    def test_restore_command(self):
        target = f"sdb_cli_dst_{uuid.uuid4().hex[:8]}"
        root = os.path.join(self.tmp, "filestore-root")
        result = self._run("restore", self.archive, "--private-key", self.private_path,
                           "--database", target, "--filestore-root", root)
        self.addCleanup(dump.drop_database, target, self.params)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("Restore complete", result.stdout)
        with open(os.path.join(root, target, "0a", "0abc"), "rb") as handle:
            self.assertEqual(handle.read(), b"invoice pdf")
        conn = dump.connect(target, self.params)
        with conn.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM sale_order")
            self.assertEqual(cursor.fetchone()[0], 300)
        conn.close()

    def test_restore_command_refuses_wrong_key_and_truncation(self):
        result = self._run("verify", self.archive, "--private-key", key_pair("other")[0])
        self.assertEqual(result.returncode, 1)
        self.assertIn("another key", result.stderr)
        truncated = os.path.join(self.tmp, "truncated.sdb")
        with open(self.archive, "rb") as src, open(truncated, "wb") as dst:
            dst.write(src.read()[:-200])
        target = f"sdb_cli_bad_{uuid.uuid4().hex[:8]}"
        result = self._run("restore", truncated, "--private-key", self.private_path, "--database", target)
        self.assertEqual(result.returncode, 1)
        self.assertIn("truncated", result.stderr)
        conn = dump.connect("postgres", self.params)
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [target])
            self.assertFalse(cursor.fetchall(), "nothing is restored from a truncated archive")
        conn.close()
