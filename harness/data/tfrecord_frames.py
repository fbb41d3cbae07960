"""TFRecord framing, read and checked: the records of a file as bytes, gzip or not.

A TFRecord file is a sequence of records, each

    uint64 length (little-endian) | uint32 masked CRC-32C of those 8 bytes |
    length bytes of data          | uint32 masked CRC-32C of the data

(the layout TensorFlow's ``tf.io.TFRecordWriter`` writes; "masked" rotates the CRC right by
15 bits and adds the constant 0xa282ead8, so that a CRC of data holding CRCs stays useful).
The ``tfrecord`` package's iterator checks none of this: a flipped bit becomes a different
Example, and a damaged length field asks for as many bytes as it says (2^33 is 8 GiB) before
failing. Here:

- the length's own CRC is checked before the length is believed;
- the length is checked against what the file can still hold before anything is allocated:
  the bytes left in a plain file, or, for gzip, the most its compressed bytes can expand to
  (deflate's limit is 1032:1); data are then read in bounded chunks, so a stream that ends
  early costs no more memory than it holds;
- the data's CRC is checked, and a mismatch is reported per record (the caller may skip the
  record under ``--skip-invalid``: the framing around it is intact).

A damaged frame (a bad length CRC, a truncated record, an impossible length) stops the file:
nothing after it can be found again. Every error names the file, the record number and its
byte offset in the (decompressed) stream.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from harness.data import files
from harness.errors import DataError, HarnessInputError

GZIP_MAGIC = b"\x1f\x8b"
_HEADER = 12              # the length and its CRC
_FOOTER = 4               # the data's CRC
_CHUNK = 1 << 20          # data are read in pieces of at most 1 MiB
#: The largest expansion deflate allows (RFC 1951 blocks: about 1032:1), a bound on how many
#: bytes a gzip stream of a given size can decompress to.
MAX_DEFLATE_RATIO = 1032
_MASK_DELTA = 0xA282EAD8


class Frame(NamedTuple):
    number: int        # 0 for the file's first record
    offset: int        # byte offset of the record's length field in the decompressed stream
    data: bytes
    crc_ok: bool       # the data's CRC matches


def _crc32c():
    try:
        import crc32c
    except ImportError:
        raise HarnessInputError(
            "checking AitW TFRecords needs the 'crc32c' package: pip install 'crc32c'  (or, "
            "in a checkout: pip install -e '.[aitw]')") from None
    return crc32c.crc32c


def masked_crc(data: bytes, crc32c=None) -> int:
    """TFRecord's masked CRC-32C of ``data``."""
    crc = (crc32c or _crc32c())(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF


def is_gzip(path: Path) -> bool:
    """Whether a regular file starts with the gzip magic bytes (False for anything else)."""
    if not files.is_readable_regular(path):
        return False
    try:
        with files.open_regular(path) as f:
            return f.read(2) == GZIP_MAGIC
    except (DataError, OSError):
        return False


def _read_up_to(stream, n: int) -> bytes:
    parts, left = [], n
    while left:
        chunk = stream.read(min(left, _CHUNK))
        if not chunk:
            break
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def frames(file) -> Iterator[Frame]:
    """Each record of ``file`` (a regular file, gzip by its first bytes) with its data CRC
    checked; a damaged frame, an empty file or a file without records is a DataError."""
    file = Path(file)
    crc32c = _crc32c()
    with files.open_regular(file) as raw:
        size = os.fstat(raw.fileno()).st_size
        if size == 0:
            raise DataError.at(file, "the file is empty (0 bytes): not a TFRecord shard")
        compressed = raw.read(2) == GZIP_MAGIC
        raw.seek(0)
        stream = gzip.GzipFile(fileobj=raw, mode="rb") if compressed else raw
        number = offset = 0

        where = " of the decompressed stream" if compressed else ""

        def fail(message: str) -> DataError:
            return DataError.at(file, f"record {number} (byte {offset}{where}): {message}")

        try:
            while True:
                header = _read_up_to(stream, _HEADER)
                if not header:
                    break
                if len(header) < _HEADER:
                    raise fail(f"the file ends inside a record's length field ({len(header)} "
                               f"of {_HEADER} bytes): truncated")
                length_bytes, length_crc = header[:8], struct.unpack("<I", header[8:])[0]
                if masked_crc(length_bytes, crc32c) != length_crc:
                    raise fail("the length field fails its CRC: the file is damaged")
                length = struct.unpack("<Q", length_bytes)[0]
                left = (size * MAX_DEFLATE_RATIO if compressed
                        else size - offset - _HEADER)
                if length + _FOOTER > left:
                    raise fail(f"the length field says {length} bytes, more than the file can "
                               f"hold ({'at most ' if compressed else ''}{max(left - _FOOTER, 0)}"
                               " bytes left): the file is damaged or truncated")
                data = _read_up_to(stream, length)
                footer = _read_up_to(stream, _FOOTER)
                if len(data) < length or len(footer) < _FOOTER:
                    raise fail(f"the file ends inside the record ({len(data)} of {length} data "
                               "bytes): truncated")
                ok = masked_crc(data, crc32c) == struct.unpack("<I", footer)[0]
                yield Frame(number, offset, data, ok)
                number += 1
                offset += _HEADER + length + _FOOTER
        except (OSError, EOFError, zlib.error) as exc:
            raise fail(f"the gzip stream is damaged ({type(exc).__name__}: {exc})") from None
        if number == 0:
            raise DataError.at(file, "holds no TFRecord records (the "
                                     f"{'decompressed ' if compressed else ''}stream is empty)")


__all__ = ["Frame", "frames", "masked_crc", "is_gzip", "GZIP_MAGIC", "MAX_DEFLATE_RATIO"]
