import io
import os

from odoo.tests import BaseCase, tagged

from ..lib import crypto
from .common import key_pair


@tagged("post_install", "-at_install")
class TestCrypto(BaseCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.private_path, cls.public_path = key_pair("main")
        cls.other_private_path, _other_public = key_pair("other")
        cls.public = crypto.load_public_key(cls.public_path)
        cls.private = crypto.load_private_key(cls.private_path)

    def _encrypt(self, data, chunk_size=1000):
        out = io.BytesIO()
        writer = crypto.EncryptingWriter(out, self.public, chunk_size=chunk_size)
        # Odd write sizes cross chunk boundaries.
        for start in range(0, len(data), 777):
            writer.write(data[start : start + 777])
        writer.close()
        return out.getvalue()

    def _decrypt(self, blob, key=None):
        return crypto.DecryptingReader(io.BytesIO(blob), key or self.private).read()

    def test_round_trip_and_no_plaintext(self):
        """Data comes back intact; the ciphertext shows none of it."""
        data = b"ORDER S00042 total 1234.56 " * 500
        blob = self._encrypt(data)
        self.assertNotIn(b"S00042", blob)
        self.assertEqual(self._decrypt(blob), data)
        # Exact multiple of the chunk size and the empty file also round-trip.
        self.assertEqual(self._decrypt(self._encrypt(b"x" * 3000)), b"x" * 3000)
        self.assertEqual(self._decrypt(self._encrypt(b"")), b"")

    def test_fresh_key_per_archive(self):
        """Two archives of the same data differ (fresh data key and nonce)."""
        self.assertNotEqual(self._encrypt(b"same data"), self._encrypt(b"same data"))

    def test_small_reads_cross_chunks(self):
        data = os.urandom(5000)
        reader = crypto.DecryptingReader(io.BytesIO(self._encrypt(data)), self.private)
        parts = []
        while True:
            part = reader.read(333)
            if not part:
                break
            parts.append(part)
        self.assertEqual(b"".join(parts), data)

    def test_truncated_archive_detected(self):
        blob = self._encrypt(os.urandom(5000))
        # Cut exactly after a complete non-final chunk: only the final-chunk
        # rule can notice.
        head_len = len(crypto.MAGIC) + 4 + int.from_bytes(blob[len(crypto.MAGIC) : len(crypto.MAGIC) + 4], "big")
        first_chunk_end = head_len + 5 + 1000 + crypto.TAG_SIZE
        for cut in (first_chunk_end, len(blob) - 1, len(blob) - 100, 20):
            with self.assertRaises(crypto.IntegrityError, msg=f"cut at {cut}"):
                self._decrypt(blob[:cut])

    def test_corrupted_or_reordered_archive_detected(self):
        blob = bytearray(self._encrypt(os.urandom(5000)))
        flipped = bytearray(blob)
        flipped[-50] ^= 0x01
        with self.assertRaises(crypto.IntegrityError):
            self._decrypt(bytes(flipped))
        # Swap the first two chunks (same length): reordering is detected.
        head_len = len(crypto.MAGIC) + 4 + int.from_bytes(blob[len(crypto.MAGIC) : len(crypto.MAGIC) + 4], "big")
        size = 5 + 1000 + crypto.TAG_SIZE
        first, second = blob[head_len : head_len + size], blob[head_len + size : head_len + 2 * size]
        swapped = blob[:head_len] + second + first + blob[head_len + 2 * size :]
        with self.assertRaises(crypto.IntegrityError):
            self._decrypt(bytes(swapped))
        # Trailing garbage after the final chunk.
        with self.assertRaises(crypto.IntegrityError):
            self._decrypt(bytes(blob) + b"extra")
        with self.assertRaises(crypto.IntegrityError):
            self._decrypt(b"not an archive at all")

    def test_wrong_or_missing_key(self):
        blob = self._encrypt(b"secret")
        other = crypto.load_private_key(self.other_private_path)
        with self.assertRaisesRegex(crypto.BackupKeyError, "another key"):
            self._decrypt(blob, other)
        with self.assertRaises(crypto.BackupKeyError):
            crypto.DecryptingReader(io.BytesIO(blob), None)
        with self.assertRaisesRegex(crypto.BackupKeyError, "No public key"):
            crypto.EncryptingWriter(io.BytesIO(), None)
        with self.assertRaisesRegex(crypto.BackupKeyError, "No public key"):
            crypto.load_public_key("")
        with self.assertRaisesRegex(crypto.BackupKeyError, "cannot be read"):
            crypto.load_public_key("/nonexistent/key.pem")
        with self.assertRaisesRegex(crypto.BackupKeyError, "PEM"):
            crypto.load_public_key(__file__)

    def test_file_helpers_leave_nothing_on_failure(self):
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            src, enc, dec = (os.path.join(tmp, n) for n in ("a", "a.enc", "a.out"))
            with open(src, "wb") as handle:
                handle.write(os.urandom(300_000))
            crypto.encrypt_file(src, enc, self.public, chunk_size=65536)
            crypto.decrypt_file(enc, dec, self.private)
            with open(src, "rb") as a, open(dec, "rb") as b:
                self.assertEqual(a.read(), b.read())
            with open(enc, "r+b") as handle:
                handle.truncate(os.path.getsize(enc) - 10)
            os.unlink(dec)
            with self.assertRaises(crypto.IntegrityError):
                crypto.decrypt_file(enc, dec, self.private)
            self.assertFalse(os.path.exists(dec))
