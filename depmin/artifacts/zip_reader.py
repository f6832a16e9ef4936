"""A zip archive's file list, and a few small members, read through byte ranges: a wheel's
central directory is a few kilobytes at the end of the file, so naming what a 500 MB wheel
provides costs one or two small requests, never the download."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass

# (start, end) → those bytes of the archive, end exclusive
ReadRange = Callable[[int, int], bytes]
TAIL = 65_536 + 22  # the EOCD record and the longest comment: what to read first, from the end

_EOCD = b"PK\x05\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP64_EOCD = b"PK\x06\x06"
_CENTRAL = b"PK\x01\x02"
_LOCAL = b"PK\x03\x04"
# Beyond these the archive is not read: a hostile index must not make depmin read gigabytes.
_LARGEST_DIRECTORY = 16 * 1024 * 1024
_LARGEST_MEMBER = 4 * 1024 * 1024


class NotAZip(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Member:
    name: str
    method: int
    compressed: int
    size: int
    offset: int  # of the local header


@dataclass
class RemoteZip:
    """An archive of `size` bytes whose last bytes (`tail`) are already read."""

    read_range: ReadRange
    size: int
    tail: bytes

    @property
    def tail_start(self) -> int:
        return self.size - len(self.tail)

    def members(self) -> dict[str, Member]:
        end = self.tail.rfind(_EOCD)
        if end < 0 or len(self.tail) - end < 22:
            raise NotAZip("no end of central directory")
        _, _, _, _, count, directory_size, directory_offset, _ = struct.unpack("<4s4H2LH", self.tail[end : end + 22])
        if directory_offset == 0xFFFFFFFF or count == 0xFFFF or directory_size == 0xFFFFFFFF:
            count, directory_size, directory_offset = self._zip64(end)
        if directory_size > _LARGEST_DIRECTORY or directory_offset + directory_size > self.size:
            raise NotAZip("central directory too large or outside the archive")
        directory = self._bytes(directory_offset, directory_offset + directory_size)
        return _parse_directory(directory, count)

    def _zip64(self, end: int) -> tuple[int, int, int]:
        locator = self.tail.rfind(_ZIP64_LOCATOR, 0, end)
        if locator < 0:
            raise NotAZip("zip64 locator missing")
        (record_offset,) = struct.unpack("<Q", self.tail[locator + 8 : locator + 16])
        record = self._bytes(record_offset, record_offset + 56)
        if record[:4] != _ZIP64_EOCD:
            raise NotAZip("zip64 end of central directory missing")
        count, directory_size, directory_offset = struct.unpack("<QQQ", record[32:56])
        return count, directory_size, directory_offset

    def _bytes(self, start: int, end: int) -> bytes:
        if start >= self.tail_start:
            return self.tail[start - self.tail_start : end - self.tail_start]
        return self.read_range(start, end)

    def read(self, member: Member) -> bytes:
        if member.compressed > _LARGEST_MEMBER or member.size > _LARGEST_MEMBER:
            raise NotAZip(f"{member.name}: too large to read")
        header_end = member.offset + 30
        # The local header's name and extra field may differ from the central directory's: read
        # generously, then find the data where the local header says it starts.
        span = self._bytes(member.offset, header_end + len(member.name.encode()) + 1024 + member.compressed)
        if span[:4] != _LOCAL:
            raise NotAZip(f"{member.name}: no local header")
        name_length, extra_length = struct.unpack("<HH", span[26:30])
        start = 30 + name_length + extra_length
        data = span[start : start + member.compressed]
        if len(data) < member.compressed:
            data = self._bytes(member.offset + start, member.offset + start + member.compressed)
        if member.method == 0:
            return data
        if member.method == 8:
            return zlib.decompress(data, -15, member.size or 65536)
        raise NotAZip(f"{member.name}: compression method {member.method} is not read")


def _parse_directory(directory: bytes, count: int) -> dict[str, Member]:
    found: dict[str, Member] = {}
    position = 0
    for _ in range(count):
        if directory[position : position + 4] != _CENTRAL:
            raise NotAZip("damaged central directory")
        (method, compressed, size, name_length, extra_length, comment_length, offset) = struct.unpack(
            "<H8xLLHHH8xL", directory[position + 10 : position + 46]
        )
        name_start = position + 46
        name = directory[name_start : name_start + name_length].decode("utf-8", errors="replace")
        extra = directory[name_start + name_length : name_start + name_length + extra_length]
        if 0xFFFFFFFF in (compressed, size, offset):
            size, compressed, offset = _zip64_extra(extra, size, compressed, offset)
        found[name] = Member(name, method, compressed, size, offset)
        position = name_start + name_length + extra_length + comment_length
    return found


def _zip64_extra(extra: bytes, size: int, compressed: int, offset: int) -> tuple[int, int, int]:
    position = 0
    while position + 4 <= len(extra):
        kind, length = struct.unpack("<HH", extra[position : position + 4])
        if kind == 1:
            values = list(struct.unpack(f"<{length // 8}Q", extra[position + 4 : position + 4 + (length // 8) * 8]))
            if size == 0xFFFFFFFF and values:
                size = values.pop(0)
            if compressed == 0xFFFFFFFF and values:
                compressed = values.pop(0)
            if offset == 0xFFFFFFFF and values:
                offset = values.pop(0)
            break
        position += 4 + length
    return size, compressed, offset
