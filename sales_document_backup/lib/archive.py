"""Streaming container holding the named sections of one backup.

A backup is one file: the database dump, the filestore and the manifest as
consecutive sections, written and read strictly in order, so neither side
ever holds more than one block in memory and no section size needs to be
known in advance. The container is what gets encrypted (see ``crypto``).

Layout (integers big-endian)::

    MAGIC
    per section: name length (u16) + name (UTF-8) + codec (u8)
                 blocks: length (u32) + data, ended by a zero length
                 SHA-256 of the section's uncompressed content (32 bytes)
    end marker: name length 0
"""

import hashlib
import struct
import zlib

from .errors import BackupLibError, _lt

MAGIC = b"SDBARC1\n"
CODEC_RAW = 0
CODEC_ZLIB = 1
BLOCK_SIZE = 1024 * 1024
MAX_BLOCK = 64 * 1024 * 1024


class ArchiveError(BackupLibError):
    """The container is malformed or a section does not match its checksum."""


class _SectionWriter:
    """File-like writer for one section (closed by ArchiveWriter)."""

    def __init__(self, archive, codec):
        self._archive = archive
        self._hash = hashlib.sha256()
        self._zip = zlib.compressobj(1) if codec == CODEC_ZLIB else None
        self.size = 0

    def writable(self):
        return True

    def write(self, data):  # pylint: disable=method-required-super
        if not data:
            return 0
        self._hash.update(data)
        self.size += len(data)
        payload = self._zip.compress(data) if self._zip else data
        self._archive._block(payload)
        return len(data)

    def flush(self):
        pass

    def tell(self):
        return self.size

    def _finish(self):
        if self._zip:
            self._archive._block(self._zip.flush())
        self._archive._out.write(struct.pack(">I", 0))
        digest = self._hash.digest()
        self._archive._out.write(digest)
        return digest.hex()


class ArchiveWriter:
    """Write sections one after the other into ``out`` (a writable stream)."""

    def __init__(self, out):
        self._out = out
        self._out.write(MAGIC)
        self._current = None
        self.sections = {}

    def _block(self, payload):
        for start in range(0, len(payload), MAX_BLOCK):
            part = payload[start : start + MAX_BLOCK]
            if part:
                self._out.write(struct.pack(">I", len(part)))
                self._out.write(part)

    def open_section(self, name, codec=CODEC_RAW):
        """Start a section and return its file-like writer."""
        if self._current is not None:
            raise ArchiveError(_lt("The previous section is still open."))
        raw = name.encode()
        self._out.write(struct.pack(">H", len(raw)) + raw + struct.pack(">B", codec))
        self._current = (name, _SectionWriter(self, codec))
        return self._current[1]

    def close_section(self):
        """Finish the open section; returns {'sha256', 'size'} of its content."""
        name, writer = self._current
        self._current = None
        info = {"sha256": writer._finish(), "size": writer.size}
        self.sections[name] = info
        return info

    def add_bytes(self, name, data, codec=CODEC_RAW):
        """Write a whole section from bytes."""
        self.open_section(name, codec).write(data)
        return self.close_section()

    def close(self):
        if self._current is not None:
            raise ArchiveError(_lt("A section is still open."))
        self._out.write(struct.pack(">H", 0))


def _read_exact(stream, size):
    data = stream.read(size)
    while len(data) < size:
        more = stream.read(size - len(data))
        if not more:
            raise ArchiveError(_lt("The archive ends unexpectedly."))
        data += more
    return data


class ArchiveReader:
    """Iterate over the sections of a container read from ``stream``."""

    def __init__(self, stream):
        self._in = stream
        if _read_exact(stream, len(MAGIC)) != MAGIC:
            raise ArchiveError(_lt("This is not a backup archive (bad signature)."))
        self.sections = {}

    def __iter__(self):
        """Yield (name, iterator of content blocks); consume each in order.

        A section's checksum is verified when its iterator is exhausted.
        """
        while True:
            (length,) = struct.unpack(">H", _read_exact(self._in, 2))
            if not length:
                return
            name = _read_exact(self._in, length).decode()
            (codec,) = struct.unpack(">B", _read_exact(self._in, 1))
            if codec not in (CODEC_RAW, CODEC_ZLIB):
                raise ArchiveError(_lt("Section %(name)s uses an unknown codec."), name=name)
            blocks = self._blocks(name, codec)
            yield name, blocks
            for _rest in blocks:  # drain what the caller did not read
                pass

    def _blocks(self, name, codec):
        digest = hashlib.sha256()
        unzip = zlib.decompressobj() if codec == CODEC_ZLIB else None
        size = 0
        while True:
            (length,) = struct.unpack(">I", _read_exact(self._in, 4))
            if not length:
                break
            if length > MAX_BLOCK:
                raise ArchiveError(_lt("Section %(name)s is corrupted (implausible block)."), name=name)
            data = _read_exact(self._in, length)
            if unzip:
                data = unzip.decompress(data)
            if data:
                digest.update(data)
                size += len(data)
                yield data
        if unzip:
            tail = unzip.flush()
            if tail:
                digest.update(tail)
                size += len(tail)
                yield tail
        expected = _read_exact(self._in, 32)
        if digest.digest() != expected:
            raise ArchiveError(_lt("Section %(name)s does not match its checksum."), name=name)
        self.sections[name] = {"sha256": expected.hex(), "size": size}


class BlockReader:
    """File-like reader over an iterator of byte blocks (for tarfile)."""

    def __init__(self, blocks):
        self._blocks = iter(blocks)
        self._pending = b""
        self._offset = 0

    def readable(self):
        return True

    def read(self, size=-1):  # pylint: disable=method-required-super
        if size is None or size < 0:
            data = self._pending[self._offset :] + b"".join(self._blocks)
            self._pending, self._offset = b"", 0
            return data
        parts = []
        wanted = size
        while wanted > 0:
            if self._offset >= len(self._pending):
                block = next(self._blocks, None)
                if block is None:
                    break
                self._pending, self._offset = block, 0
            part = self._pending[self._offset : self._offset + wanted]
            self._offset += len(part)
            wanted -= len(part)
            parts.append(part)
        return b"".join(parts)
