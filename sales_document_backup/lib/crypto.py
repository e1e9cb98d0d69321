"""Streaming envelope encryption of backup archives.

Every archive gets a fresh random 256-bit data key. The data is cut in chunks,
each sealed with AES-256-GCM under that key; the data key itself is wrapped
with the recipient's RSA public key (OAEP with SHA-256). Only the holder of the
private key can open the archive.

File layout (all integers big-endian)::

    MAGIC (8 bytes)
    header length (u32) + header (canonical JSON: algorithm, chunk size,
        fingerprint of the public key, wrapped data key, nonce prefix)
    chunks: final flag (u8) + ciphertext length (u32) + ciphertext with tag

The associated data of every chunk is the SHA-256 of the header, the chunk
index and the final flag, so that swapping, dropping, reordering or
truncating chunks, or editing the header, is detected. The nonce is a random
per-archive prefix followed by the chunk index: never reused under one key.
"""

import base64
import hashlib
import json
import os
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .errors import BackupLibError, _lt

MAGIC = b"SDBENC1\n"
ALGORITHM = "RSA-OAEP-SHA256+AES-256-GCM-CHUNKED"
DEFAULT_CHUNK_SIZE = 1024 * 1024
MAX_CHUNK_SIZE = 64 * 1024 * 1024
MAX_HEADER_SIZE = 64 * 1024
TAG_SIZE = 16
_CHUNK_HEAD = struct.Struct(">BI")
_OAEP = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


class CryptoError(BackupLibError):
    """The archive cannot be encrypted or decrypted; the message says why."""


class BackupKeyError(CryptoError):
    """A key is missing, unreadable or does not match the archive."""


class IntegrityError(CryptoError):
    """The archive was truncated, corrupted or tampered with."""


# ---------------------------------------------------------------------------
# Keys
# ---------------------------------------------------------------------------


def load_public_key(path):
    """Load a PEM RSA public key from ``path``; raise BackupKeyError when unusable."""
    if not path:
        raise BackupKeyError(_lt("No public key is configured: backups are refused rather than written unencrypted."))
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise BackupKeyError(
            _lt("The public key file %(path)s cannot be read: %(error)s"), path=path, error=exc.strerror or exc
        ) from None
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError:
        # A private key file also carries the public half.
        try:
            key = serialization.load_pem_private_key(data, password=None).public_key()
        except (ValueError, TypeError):
            raise BackupKeyError(_lt("The file %(path)s does not hold a PEM public key."), path=path) from None
    if not isinstance(key, rsa.RSAPublicKey) or key.key_size < 2048:
        raise BackupKeyError(_lt("The key in %(path)s must be an RSA key of at least 2048 bits."), path=path)
    return key


def load_private_key(path, password=None):
    """Load a PEM RSA private key from ``path``; raise BackupKeyError when unusable."""
    if not path:
        raise BackupKeyError(_lt("No private key is configured: encrypted archives cannot be opened."))
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise BackupKeyError(
            _lt("The private key file %(path)s cannot be read: %(error)s"), path=path, error=exc.strerror or exc
        ) from None
    try:
        key = serialization.load_pem_private_key(data, password=password.encode() if password else None)
    except (ValueError, TypeError):
        raise BackupKeyError(_lt("The file %(path)s does not hold a usable PEM private key."), path=path) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise BackupKeyError(_lt("The key in %(path)s is not an RSA private key."), path=path)
    return key


def key_fingerprint(public_key):
    """SHA-256 of the DER SubjectPublicKeyInfo, as hex: names a key pair."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def generate_key_pair(private_path, public_path, key_size=3072):
    """Write a new RSA key pair as PEM files (private one readable by owner only)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    with open(public_path, "wb") as handle:
        handle.write(
            key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    return key


# ---------------------------------------------------------------------------
# Streams
# ---------------------------------------------------------------------------


def _aad(header_digest, index, final):
    return header_digest + struct.pack(">QB", index, 1 if final else 0)


def _nonce(prefix, index):
    return prefix + struct.pack(">Q", index)


class EncryptingWriter:
    """File-like writer: encrypts what is written into ``fileobj``.

    Memory stays bounded by one chunk. ``close()`` seals the final chunk and
    must be called, otherwise the archive is (rightly) seen as truncated.
    ``close()`` does not close ``fileobj``.
    """

    def __init__(self, fileobj, public_key, chunk_size=DEFAULT_CHUNK_SIZE):
        if public_key is None:
            raise BackupKeyError(_lt("No public key: refusing to write an unencrypted archive."))
        if not 0 < chunk_size <= MAX_CHUNK_SIZE:
            raise CryptoError(_lt("Invalid chunk size %(size)s."), size=chunk_size)
        self._out = fileobj
        self._chunk_size = chunk_size
        data_key = AESGCM.generate_key(bit_length=256)
        self._aes = AESGCM(data_key)
        self._prefix = os.urandom(4)
        header = {
            "algorithm": ALGORITHM,
            "chunk_size": chunk_size,
            "key_fingerprint": key_fingerprint(public_key),
            "wrapped_key": base64.b64encode(public_key.encrypt(data_key, _OAEP)).decode(),
            "nonce_prefix": base64.b64encode(self._prefix).decode(),
        }
        raw = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
        self._header_digest = hashlib.sha256(raw).digest()
        self._out.write(MAGIC + struct.pack(">I", len(raw)) + raw)
        self._buffer = bytearray()
        self._index = 0
        self._closed = False
        self.bytes_in = 0

    def writable(self):
        return True

    def write(self, data):  # pylint: disable=method-required-super
        if self._closed:
            raise CryptoError(_lt("Write to a closed encrypted archive."))
        self._buffer += data
        self.bytes_in += len(data)
        while len(self._buffer) > self._chunk_size:
            # Keep at least one byte back so that the last chunk written is
            # always the one flagged final by close().
            self._seal(bytes(self._buffer[: self._chunk_size]), final=False)
            del self._buffer[: self._chunk_size]
        return len(data)

    def _seal(self, plain, final):
        sealed = self._aes.encrypt(
            _nonce(self._prefix, self._index), plain, _aad(self._header_digest, self._index, final)
        )
        self._out.write(_CHUNK_HEAD.pack(1 if final else 0, len(sealed)) + sealed)
        self._index += 1

    def flush(self):
        self._out.flush()

    def close(self):
        if self._closed:
            return
        self._seal(bytes(self._buffer), final=True)
        self._buffer = bytearray()
        self._closed = True
        self._out.flush()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        # On error leave the archive without its final chunk: it can never be
        # mistaken for a complete one.
        if exc_type is None:
            self.close()


def _read_exact(fileobj, size):
    data = fileobj.read(size)
    if data is None:
        data = b""
    while len(data) < size:
        more = fileobj.read(size - len(data))
        if not more:
            break
        data += more
    return data


def read_header(fileobj):
    """Read and return (header dict, header digest) from an encrypted stream."""
    magic = _read_exact(fileobj, len(MAGIC))
    if magic != MAGIC:
        raise IntegrityError(_lt("This is not an encrypted backup archive (bad signature)."))
    raw_len = _read_exact(fileobj, 4)
    if len(raw_len) < 4:
        raise IntegrityError(_lt("The archive is truncated (incomplete header)."))
    (length,) = struct.unpack(">I", raw_len)
    if length > MAX_HEADER_SIZE:
        raise IntegrityError(_lt("The archive header is corrupted (implausible length)."))
    raw = _read_exact(fileobj, length)
    if len(raw) < length:
        raise IntegrityError(_lt("The archive is truncated (incomplete header)."))
    try:
        header = json.loads(raw)
    except ValueError:
        raise IntegrityError(_lt("The archive header is corrupted.")) from None
    if not isinstance(header, dict) or header.get("algorithm") != ALGORITHM:
        raise IntegrityError(_lt("The archive uses an unknown encryption scheme."))
    return header, hashlib.sha256(raw).digest()


class DecryptingReader:
    """File-like reader yielding the plaintext of an encrypted archive.

    Each chunk is authenticated before any of its bytes are returned. A
    missing final chunk, trailing data, or any altered byte raises
    IntegrityError; a key that does not match raises BackupKeyError.
    """

    def __init__(self, fileobj, private_key):
        if private_key is None:
            raise BackupKeyError(_lt("No private key: the archive cannot be opened."))
        self._in = fileobj
        header, self._header_digest = read_header(fileobj)
        self.header = header
        fingerprint = key_fingerprint(private_key.public_key())
        if header.get("key_fingerprint") != fingerprint:
            raise BackupKeyError(
                _lt(
                    "The archive was encrypted for another key (fingerprint %(archive)s), not for the "
                    "configured private key (fingerprint %(key)s)."
                ),
                archive=str(header.get("key_fingerprint"))[:16],
                key=fingerprint[:16],
            )
        try:
            data_key = private_key.decrypt(base64.b64decode(header["wrapped_key"]), _OAEP)
            self._prefix = base64.b64decode(header["nonce_prefix"])
            self._chunk_size = int(header["chunk_size"])
        except (ValueError, KeyError, TypeError):
            raise BackupKeyError(_lt("The archive key cannot be unwrapped with the configured private key.")) from None
        if len(data_key) != 32 or len(self._prefix) != 4 or not 0 < self._chunk_size <= MAX_CHUNK_SIZE:
            raise IntegrityError(_lt("The archive header is corrupted."))
        self._aes = AESGCM(data_key)
        self._index = 0
        self._done = False
        self._pending = b""
        self._offset = 0

    def readable(self):
        return True

    def _next_chunk(self):
        head = _read_exact(self._in, _CHUNK_HEAD.size)
        if not head:
            raise IntegrityError(
                _lt("The archive is truncated: it ends after %(chunks)s chunks without its final chunk."),
                chunks=self._index,
            )
        if len(head) < _CHUNK_HEAD.size:
            raise IntegrityError(_lt("The archive is truncated (incomplete chunk header)."))
        flag, length = _CHUNK_HEAD.unpack(head)
        if flag not in (0, 1) or not TAG_SIZE <= length <= self._chunk_size + TAG_SIZE:
            raise IntegrityError(_lt("The archive is corrupted (chunk %(chunk)s has an invalid header)."), chunk=self._index)
        sealed = _read_exact(self._in, length)
        if len(sealed) < length:
            raise IntegrityError(_lt("The archive is truncated (chunk %(chunk)s is incomplete)."), chunk=self._index)
        try:
            plain = self._aes.decrypt(
                _nonce(self._prefix, self._index), sealed, _aad(self._header_digest, self._index, flag)
            )
        except InvalidTag:
            raise IntegrityError(
                _lt("The archive is corrupted or was tampered with (chunk %(chunk)s fails authentication)."),
                chunk=self._index,
            ) from None
        self._index += 1
        if flag:
            if _read_exact(self._in, 1):
                raise IntegrityError(_lt("The archive is corrupted (data after its final chunk)."))
            self._done = True
        return plain

    def read(self, size=-1):  # pylint: disable=method-required-super
        if size is None or size < 0:
            parts = [self._pending[self._offset :]]
            self._pending, self._offset = b"", 0
            while not self._done:
                parts.append(self._next_chunk())
            return b"".join(parts)
        parts = []
        wanted = size
        while wanted > 0:
            if self._offset >= len(self._pending):
                if self._done:
                    break
                self._pending, self._offset = self._next_chunk(), 0
                continue
            part = self._pending[self._offset : self._offset + wanted]
            self._offset += len(part)
            wanted -= len(part)
            parts.append(part)
        return b"".join(parts)

    def __iter__(self):
        rest = self._pending[self._offset :]
        self._pending, self._offset = b"", 0
        if rest:
            yield rest
        while not self._done:
            yield self._next_chunk()


# ---------------------------------------------------------------------------
# Whole files
# ---------------------------------------------------------------------------


def encrypt_file(src_path, dst_path, public_key, chunk_size=DEFAULT_CHUNK_SIZE):
    """Encrypt ``src_path`` into ``dst_path`` (removed again on failure)."""
    try:
        with open(src_path, "rb") as src, open(dst_path, "wb") as dst:
            writer = EncryptingWriter(dst, public_key, chunk_size)
            while True:
                block = src.read(chunk_size)
                if not block:
                    break
                writer.write(block)
            writer.close()
    except BaseException:
        _remove_quietly(dst_path)
        raise


def decrypt_file(src_path, dst_path, private_key):
    """Decrypt ``src_path`` into ``dst_path``; nothing is left behind on failure."""
    try:
        with open(src_path, "rb") as src, open(dst_path, "wb") as dst:
            for block in DecryptingReader(src, private_key):
                dst.write(block)
    except BaseException:
        _remove_quietly(dst_path)
        raise


def _remove_quietly(path):
    try:
        os.unlink(path)
    except OSError:
        pass
