import os
import stat

from odoo.tests import BaseCase, tagged

from ..lib import storage
from .common import MotoS3, temp_dir


def _write(path, size):
    with open(path, "wb") as handle:
        handle.write(os.urandom(size))
    return path


@tagged("post_install", "-at_install")
class TestLocalStorage(BaseCase):
    def test_put_get_list_delete(self):
        with temp_dir() as src_dir, temp_dir() as dest:
            src = _write(os.path.join(src_dir, "a.bin"), 200_000)
            store = storage.LocalStorage(dest)
            info = store.put(src, "full/2026/a.bin")
            self.assertEqual(info["size"], 200_000)
            self.assertEqual([o["name"] for o in store.list()], ["full/2026/a.bin"])
            back = os.path.join(src_dir, "back.bin")
            self.assertEqual(store.get("full/2026/a.bin", back), info["sha256"])
            store.delete("full/2026/a.bin")
            self.assertEqual(store.list(), [])
            with self.assertRaises(storage.StorageError):
                store.put(src, "../escape.bin")

    def test_unwritable_directory_leaves_nothing(self):
        if os.geteuid() == 0:
            # root ignores permission bits: use a path under a regular file.
            with temp_dir() as src_dir:
                src = _write(os.path.join(src_dir, "a.bin"), 1000)
                blocker = _write(os.path.join(src_dir, "blocker"), 1)
                store = storage.LocalStorage(os.path.join(blocker, "dest"))
                with self.assertRaisesRegex(storage.StorageError, "Cannot write"):
                    store.put(src, "a.bin")
                with self.assertRaises(storage.StorageError):
                    store.check()
            return
        with temp_dir() as src_dir, temp_dir() as dest:
            src = _write(os.path.join(src_dir, "a.bin"), 1000)
            os.chmod(dest, stat.S_IRUSR | stat.S_IXUSR)
            try:
                with self.assertRaises(storage.StorageError):
                    storage.LocalStorage(dest).put(src, "a.bin")
            finally:
                os.chmod(dest, stat.S_IRWXU)
            self.assertEqual(os.listdir(dest), [])

    def test_disk_full_removes_partial(self):
        """A write that fails half-way (ENOSPC) leaves no partial object."""
        import errno
        from unittest import mock

        with temp_dir() as src_dir, temp_dir() as dest:
            src = _write(os.path.join(src_dir, "a.bin"), 3_000_000)
            real_copy = storage._copy_blocks

            def copy_then_fail(fsrc, fdst, progress=None):
                fdst.write(fsrc.read(1_000_000))
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

            with mock.patch.object(storage, "_copy_blocks", copy_then_fail):
                with self.assertRaisesRegex(storage.StorageError, "No space left"):
                    storage.LocalStorage(dest).put(src, "a.bin")
            self.assertIs(storage._copy_blocks, real_copy)
            self.assertEqual(os.listdir(dest), [])

    def test_put_reports_progress_and_discard_removes_partials(self):
        with temp_dir() as src_dir, temp_dir() as dest:
            src = _write(os.path.join(src_dir, "a.bin"), 2_500_000)
            store = storage.LocalStorage(dest)
            copied = []
            store.put(src, "full/a.bin", progress=copied.append)
            self.assertEqual(sum(copied), 2_500_000)
            self.assertGreater(len(copied), 1, "reported block by block")
            # What a process killed during a copy leaves: a partial file.
            partial = os.path.join(dest, "full", "b.bin.1a2b3c4d" + storage.PARTIAL_SUFFIX)
            _write(partial, 10)
            _write(os.path.join(dest, "full", "b.bin.keep"), 10)
            self.assertEqual(store.discard("full/b.bin"), 1)
            self.assertEqual(store.discard("full/a.bin"), 1)
            self.assertEqual(sorted(os.listdir(os.path.join(dest, "full"))), ["b.bin.keep"])
            self.assertEqual(store.discard("full/a.bin"), 0, "nothing left, nothing to do")


@tagged("post_install", "-at_install")
class TestS3Storage(BaseCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3 = MotoS3().start()
        cls.addClassCleanup(cls.s3.stop)
        cls.bucket = cls.s3.create_bucket("sdb-lib-tests")

    def _store(self, **kw):
        return storage.S3Storage(
            self.bucket, endpoint_url=self.s3.endpoint_url, prefix="acme/prod",
            credentials=self.s3.credentials(), **kw,
        )

    def test_multipart_upload_read_back(self):
        """A file above the threshold goes up in parts and is verified."""
        store = self._store(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024)
        with temp_dir() as tmp:
            src = _write(os.path.join(tmp, "big.bin"), 11 * 1024 * 1024)
            info = store.put(src, "full/big.bin")
            head = self.s3.client().head_object(Bucket=self.bucket, Key="acme/prod/full/big.bin")
            # Multipart ETags end with the number of parts.
            self.assertTrue(head["ETag"].strip('"').endswith("-3"), head["ETag"])
            self.assertEqual(head["Metadata"]["sha256"], info["sha256"])
            names = [o["name"] for o in store.list("full/")]
            self.assertIn("full/big.bin", names)
            back = os.path.join(tmp, "back.bin")
            self.assertEqual(store.get("full/big.bin", back), info["sha256"])
            store.delete("full/big.bin")
            self.assertNotIn("full/big.bin", [o["name"] for o in store.list()])

    def test_read_back_mismatch_removes_object(self):
        """If the stored object differs from the archive, it is deleted and the put fails."""
        from unittest import mock

        store = self._store()
        with temp_dir() as tmp:
            src = _write(os.path.join(tmp, "a.bin"), 10_000)
            with mock.patch.object(storage.S3Storage, "_read_back", return_value=("0" * 64, 10_000)):
                with self.assertRaisesRegex(storage.StorageError, "does not match"):
                    store.put(src, "bad/a.bin")
            self.assertEqual(store.list("bad/"), [])

    def test_discard_removes_object_and_unfinished_multipart_upload(self):
        store = self._store()
        client = self.s3.client()
        key = "acme/prod/full/killed.sdb"
        upload = client.create_multipart_upload(Bucket=self.bucket, Key=key)
        client.upload_part(Bucket=self.bucket, Key=key, UploadId=upload["UploadId"], PartNumber=1,
                           Body=os.urandom(5 * 1024 * 1024))
        client.put_object(Bucket=self.bucket, Key="acme/prod/full/done.sdb", Body=b"x")
        with temp_dir() as tmp:
            src = _write(os.path.join(tmp, "a.bin"), 100_000)
            sent = []
            store.put(src, "full/sent.sdb", progress=sent.append)
            self.assertEqual(sum(sent), 100_000)
        self.assertEqual(store.discard("full/killed.sdb"), 1)
        self.assertFalse(client.list_multipart_uploads(Bucket=self.bucket, Prefix=key).get("Uploads"))
        self.assertEqual(store.discard("full/sent.sdb"), 1)
        self.assertEqual([o["name"] for o in store.list("full/")], ["full/done.sdb"])

    def test_wrong_credentials_and_missing_bucket(self):
        store = storage.S3Storage("no-such-bucket", endpoint_url=self.s3.endpoint_url,
                                  credentials=self.s3.credentials())
        with temp_dir() as tmp:
            src = _write(os.path.join(tmp, "a.bin"), 100)
            with self.assertRaisesRegex(storage.StorageError, "no-such-bucket"):
                store.put(src, "a.bin")


@tagged("post_install", "-at_install")
class TestS3StorageDown(BaseCase):
    def test_server_down(self):
        """A stopped server gives a StorageError, not a hang or a success."""
        s3 = MotoS3().start()
        bucket = s3.create_bucket("sdb-down")
        store = storage.S3Storage(bucket, endpoint_url=s3.endpoint_url, credentials=s3.credentials(),
                                  connect_timeout=2, read_timeout=5, max_attempts=1)
        s3.stop()
        with temp_dir() as tmp:
            src = _write(os.path.join(tmp, "a.bin"), 100)
            with self.assertRaisesRegex(storage.StorageError, "upload"):
                store.put(src, "a.bin")
            with self.assertRaises(storage.StorageError):
                store.check()
            with self.assertRaises(storage.StorageError):
                store.list()
