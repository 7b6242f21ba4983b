"""Bad photos, each made by code (nothing on disk), with what enrollment and the door must answer.

One face underlies the pictures: scikit-image's astronaut, the face the tests enroll. A case that
the engine can read must be that person (enrolled, or `match` at the door); one it cannot must be
refused with its own code. Large pictures are cheap to make: a header that lies about its size, or
rows that repeat and compress to almost nothing.
"""

from __future__ import annotations

import functools
import io
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from tests.biometrics.photos import astronaut_array, encode


@dataclass(frozen=True)
class Refusal:
    """Refused in the answer itself: its HTTP status and error code."""

    status: int
    code: str


@dataclass(frozen=True)
class PhotoRefusal:
    """Taken for processing (202), then refused by the enroll worker: the photo's code in the result."""

    code: str


ENROLLED = "enrolled"
MATCH = "match"
NO_MATCH = "no_match"
UNSUPPORTED = Refusal(415, "unsupported_media_type")
UNREADABLE = Refusal(400, "unreadable_image")
TOO_LARGE = Refusal(400, "image_too_large")


@dataclass(frozen=True)
class Case:
    """One bad photo: its test id, how to make it (made once a test run), and its answers."""

    name: str
    make: Callable[[], bytes]
    # What the upload says the file is; only the bytes count.
    filename: str
    content_type: str
    enrollment: str | Refusal | PhotoRefusal
    door: str | Refusal


# Pictures ----------------------------------------------------------------------------------------


def _face() -> np.ndarray:
    return astronaut_array()  # 512 x 256 pixels, one face


def _sideways() -> np.ndarray:
    """The face stored turned a quarter to the left: upright only once EXIF orientation 6 is applied."""
    return np.ascontiguousarray(np.rot90(_face(), k=1))


def _enlarged(array: np.ndarray, times: int) -> np.ndarray:
    return cv2.resize(array, None, fx=times, fy=times, interpolation=cv2.INTER_NEAREST)


def _saved(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _half(data: bytes) -> bytes:
    return data[: len(data) // 2]


# PNG written by hand, where Pillow would not write what a test needs ------------------------------

# Samples per pixel by colour type (grey, RGB, palette, grey and alpha, RGBA).
_PNG_SAMPLES = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
# Adam7: each pass's first column and row, and its steps.
_ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def _png(
    width: int, height: int, *, bit_depth: int = 8, colour: int = 2, idat: bytes, interlaced: bool = False
) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour, 0, 0, int(interlaced))
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def png_sixteen_bit(rows: np.ndarray, *, colour: int) -> bytes:
    """A 16-bit PNG of `rows` (height x width x samples, 8-bit values scaled to 16 bits)."""
    samples = (rows.astype(">u2") * 257).reshape(rows.shape[0], -1)
    raw = b"".join(b"\0" + row.tobytes() for row in samples)
    return _png(rows.shape[1], rows.shape[0], bit_depth=16, colour=colour, idat=zlib.compress(raw))


def _png_of_one_row(width: int, height: int, *, bit_depth: int, colour: int, interlaced: bool) -> bytes:
    """A PNG whose every row is the same mid grey, Paeth-filtered (the dearest filter to undo), and
    whose data really decodes: 1.3 MB for 38 MP of 16-bit RGBA, made in under a second."""
    pixel_bytes = _PNG_SAMPLES[colour] * bit_depth // 8
    passes = _ADAM7 if interlaced else [(0, 0, 1, 1)]
    compressor, parts = zlib.compressobj(1), []
    for first_column, first_row, column_step, row_step in passes:
        columns = -(-(width - first_column) // column_step)
        rows = -(-(height - first_row) // row_step)
        if columns > 0 and rows > 0:
            row = b"\x04" + b"\x80" * (pixel_bytes * columns)
            parts += [compressor.compress(row) for _ in range(rows)]
    parts.append(compressor.flush())
    return _png(width, height, bit_depth=bit_depth, colour=colour, idat=b"".join(parts), interlaced=interlaced)


def _png_deflate_bomb() -> bytes:
    """20000 x 20000 black and white pixels (400 MP): 50 MB of zeros deflated to 200 KB."""
    compressor, row = zlib.compressobj(1), b"\0" * (1 + 20000 // 8)
    idat = b"".join(compressor.compress(row) for _ in range(20000)) + compressor.flush()
    return _png(20000, 20000, bit_depth=1, colour=0, idat=idat)


# Other formats' headers, crafted ------------------------------------------------------------------


def _jpeg_header_bomb() -> bytes:
    """A JPEG header claiming 65,500 x 65,500 pixels, and nothing after it."""
    start_of_frame = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, 65500, 65500, 3)
    start_of_frame += b"".join(bytes([component, 0x11, 0]) for component in (1, 2, 3))
    return b"\xff\xd8" + start_of_frame + b"\xff\xd9"


def _webp_header_bomb() -> bytes:
    """A WebP header (VP8X) claiming a 16,384 x 16,384 canvas, the format's largest, with no image."""
    canvas = (16383).to_bytes(3, "little") * 2
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\0\0\0\0" + canvas
    return b"RIFF" + struct.pack("<I", 4 + len(vp8x)) + b"WEBP" + vp8x


# EXIF -----------------------------------------------------------------------------------------------


def _exif(entries: list[tuple[int, int, int, bytes]], data: bytes = b"") -> bytes:
    """EXIF (little-endian TIFF) with one directory of (tag, type, count, value or offset) entries,
    `data` after it; offsets count from the start of the TIFF header."""
    directory = struct.pack("<H", len(entries))
    directory += b"".join(struct.pack("<HHI", tag, kind, count) + value for tag, kind, count, value in entries)
    return b"Exif\0\0II*\0" + struct.pack("<I", 8) + directory + b"\0\0\0\0" + data


def _orientation_six() -> tuple[int, int, int, bytes]:
    """The entry saying: turn the photo a quarter to the right to show it upright."""
    return (0x0112, 3, 1, struct.pack("<HH", 6, 0))


def _exif_directory_end(entry_count: int) -> int:
    return 8 + 2 + 12 * entry_count + 4


def _exif_of_long_tags() -> bytes:
    """Orientation 6 and 1,000 tags of 2,000,000 numbers each, all pointing at one 8 MB block."""
    count, tags = 2_000_000, 1000
    block_at = struct.pack("<I", _exif_directory_end(tags + 1))
    entries = [_orientation_six()] + [(0x1000 + n, 4, count, block_at) for n in range(tags)]
    return _exif(entries, b"\1" * (count * 4))


def _exif_of_most_entries() -> bytes:
    """Orientation 6 and 65,534 more entries: the most one directory holds."""
    return _exif([_orientation_six()] + [(0x1000 + n % 0xE000, 3, 1, b"\1\0\0\0") for n in range(65534)])


def _exif_of_a_tag_of_the_wrong_type() -> bytes:
    """Orientation 6, and the camera's make (text) stored as a fraction."""
    fraction_at = struct.pack("<I", _exif_directory_end(2))
    return _exif([_orientation_six(), (0x010F, 5, 1, fraction_at)], struct.pack("<II", 1, 3))


def _exif_of_64_kilobytes() -> bytes:
    """Orientation 6 and a 64 KB description: as much EXIF as a JPEG segment holds."""
    text_at = struct.pack("<I", _exif_directory_end(2))
    length = 65_000
    return _exif([_orientation_six(), (0x010E, 2, length, text_at)], b"x" * (length - 1) + b"\0")


# Animations ----------------------------------------------------------------------------------------


def _frames() -> list[Image.Image]:
    return [Image.fromarray(_face()), Image.fromarray(np.ascontiguousarray(_face()[:, ::-1]))]


def _animated(fmt: str) -> bytes:
    first, *rest = _frames()
    return _saved(first, fmt, save_all=True, append_images=rest, duration=100, loop=0)


# The corpus ------------------------------------------------------------------------------------------


CASES = [
    # Cut short, empty, or not what its name says.
    Case(
        "jpeg-cut-in-half",
        functools.cache(lambda: _half(encode(_face(), "JPEG", quality=95))),
        "me.jpg",
        "image/jpeg",
        enrollment=PhotoRefusal("unreadable_image"),
        door=UNREADABLE,
    ),
    Case(
        "png-cut-in-half",
        functools.cache(lambda: _half(encode(_face(), "PNG"))),
        "me.png",
        "image/png",
        enrollment=PhotoRefusal("unreadable_image"),
        door=UNREADABLE,
    ),
    Case(
        "webp-cut-in-half",
        functools.cache(lambda: _half(encode(_face(), "WEBP"))),
        "me.webp",
        "image/webp",
        enrollment=PhotoRefusal("unreadable_image"),
        door=UNREADABLE,
    ),
    Case("zero-bytes", lambda: b"", "me.jpg", "image/jpeg", enrollment=UNSUPPORTED, door=UNREADABLE),
    Case(
        "png-named-jpg",
        functools.cache(lambda: encode(_face(), "PNG")),
        "me.jpg",
        "image/jpeg",
        enrollment=ENROLLED,
        door=MATCH,
    ),
    Case(
        "jpeg-named-gif",
        functools.cache(lambda: encode(_face(), "JPEG", quality=95)),
        "me.gif",
        "image/gif",
        enrollment=ENROLLED,
        door=MATCH,
    ),
    Case(
        "gif-named-jpg",
        functools.cache(lambda: encode(_face(), "GIF")),
        "me.jpg",
        "image/jpeg",
        enrollment=UNSUPPORTED,
        door=UNREADABLE,
    ),
    # Decompression bombs: refused from the header, before a pixel is decoded.
    Case(
        "png-header-100000x100000",
        functools.cache(lambda: _png(100_000, 100_000, idat=zlib.compress(b"\0" * 100))),
        "me.png",
        "image/png",
        enrollment=PhotoRefusal("image_too_large"),
        door=TOO_LARGE,
    ),
    Case(
        "png-deflate-bomb-20000x20000",
        functools.cache(_png_deflate_bomb),
        "me.png",
        "image/png",
        enrollment=PhotoRefusal("image_too_large"),
        door=TOO_LARGE,
    ),
    Case(
        "png-6400x6400-just-over-the-limit",
        functools.cache(lambda: _png(6400, 6400, idat=zlib.compress(b"\0" * 100))),
        "me.png",
        "image/png",
        enrollment=PhotoRefusal("image_too_large"),
        door=TOO_LARGE,
    ),
    Case(
        "jpeg-header-65500x65500",
        functools.cache(_jpeg_header_bomb),
        "me.jpg",
        "image/jpeg",
        enrollment=PhotoRefusal("image_too_large"),
        door=TOO_LARGE,
    ),
    Case(
        "webp-header-16384x16384",
        functools.cache(_webp_header_bomb),
        "me.webp",
        "image/webp",
        enrollment=PhotoRefusal("image_too_large"),
        door=TOO_LARGE,
    ),
    # Colour spaces and depths.
    Case(
        "jpeg-cmyk",
        functools.cache(lambda: _saved(Image.fromarray(_face()).convert("CMYK"), "JPEG", quality=95)),
        "me.jpg",
        "image/jpeg",
        enrollment=ENROLLED,
        door=MATCH,
    ),
    Case(
        "png-16-bit-rgb",
        functools.cache(lambda: png_sixteen_bit(_face(), colour=2)),
        "me.png",
        "image/png",
        enrollment=ENROLLED,
        door=MATCH,
    ),
    Case(
        "png-16-bit-grey",
        functools.cache(lambda: png_sixteen_bit(cv2.cvtColor(_face(), cv2.COLOR_RGB2GRAY), colour=0)),
        "me.png",
        "image/png",
        enrollment=ENROLLED,
        door=MATCH,
    ),
    Case(
        "png-16-bit-grey-5120x2560",
        functools.cache(lambda: png_sixteen_bit(_enlarged(cv2.cvtColor(_face(), cv2.COLOR_RGB2GRAY), 10), colour=0)),
        "me.png",
        "image/png",
        enrollment=ENROLLED,
        door=MATCH,
    ),
    # Dithered to black and white: at its own size, dots the detector sees no face in; reduced from five
    # times the size, the dots average back into greys.
    Case(
        "png-1-bit",
        functools.cache(lambda: _saved(Image.fromarray(_face()).convert("1"), "PNG")),
        "me.png",
        "image/png",
        enrollment=PhotoRefusal("no_face"),
        door=NO_MATCH,
    ),
    Case(
        "png-1-bit-2560x1280",
        functools.cache(lambda: _saved(Image.fromarray(_enlarged(_face(), 5)).convert("1"), "PNG")),
        "me.png",
        "image/png",
        enrollment=ENROLLED,
        door=MATCH,
    ),
    # Animations: the first frame is the photo, where the format is one photos may come in.
    Case(
        "gif-animated",
        functools.cache(lambda: _animated("GIF")),
        "me.gif",
        "image/gif",
        enrollment=UNSUPPORTED,
        door=UNREADABLE,
    ),
    Case(
        "webp-animated",
        functools.cache(lambda: _animated("WEBP")),
        "me.webp",
        "image/webp",
        enrollment=ENROLLED,
        door=MATCH,
    ),
    Case(
        "png-animated",
        functools.cache(lambda: _animated("PNG")),
        "me.png",
        "image/png",
        enrollment=ENROLLED,
        door=MATCH,
    ),
    # EXIF: only its orientation counts, and nothing in it can stop the photo being read.
    Case(
        "jpeg-exif-64-kb",
        functools.cache(lambda: encode(_sideways(), "JPEG", quality=95, exif=_exif_of_64_kilobytes())),
        "me.jpg",
        "image/jpeg",
        enrollment=ENROLLED,
        door=MATCH,
    ),
    Case(
        "webp-exif-9-mb",
        functools.cache(lambda: encode(_sideways(), "WEBP", exif=_exif_of_long_tags())),
        "me.webp",
        "image/webp",
        enrollment=ENROLLED,
        door=MATCH,
    ),
    Case(
        "png-exif-65535-entries",
        functools.cache(lambda: encode(_sideways(), "PNG", exif=_exif_of_most_entries())),
        "me.png",
        "image/png",
        enrollment=ENROLLED,
        door=MATCH,
    ),
    Case(
        "jpeg-exif-tag-of-the-wrong-type",
        functools.cache(lambda: encode(_sideways(), "JPEG", quality=95, exif=_exif_of_a_tag_of_the_wrong_type())),
        "me.jpg",
        "image/jpeg",
        enrollment=ENROLLED,
        door=MATCH,
    ),
    Case(
        "png-exif-not-tiff",
        functools.cache(lambda: encode(_face(), "PNG", exif=b"Exif\0\0" + b"XX*\0" + b"\0" * 20)),
        "me.png",
        "image/png",
        enrollment=ENROLLED,
        door=MATCH,
    ),
    # Not a format photos may come in.
    Case(
        "svg",
        lambda: b'<svg xmlns="http://www.w3.org/2000/svg" width="512" height="256"><circle r="9"/></svg>',
        "me.svg",
        "image/svg+xml",
        enrollment=UNSUPPORTED,
        door=UNREADABLE,
    ),
    Case(
        "tiff",
        functools.cache(lambda: _saved(Image.fromarray(_face()), "TIFF")),
        "me.tiff",
        "image/tiff",
        enrollment=UNSUPPORTED,
        door=UNREADABLE,
    ),
    # Sizes at the edges: 8704 x 4352 pixels of the face; 38 MP of 16-bit RGBA, 8 bytes a pixel (decision
    # 0008); strips one pixel wide, in which no face fits (at the door: no face found).
    Case(
        "png-38-megapixels",
        functools.cache(lambda: encode(_enlarged(_face(), 17), "PNG", compress_level=1)),
        "me.png",
        "image/png",
        enrollment=ENROLLED,
        door=MATCH,
    ),
    Case(
        "png-38-megapixels-16-bit-rgba-interlaced",
        functools.cache(lambda: _png_of_one_row(7000, 5400, bit_depth=16, colour=6, interlaced=True)),
        "me.png",
        "image/png",
        enrollment=PhotoRefusal("image_too_large"),
        door=TOO_LARGE,
    ),
    Case(
        "png-20000x1",
        functools.cache(lambda: encode(np.full((1, 20000, 3), 128, np.uint8), "PNG")),
        "me.png",
        "image/png",
        enrollment=PhotoRefusal("face_too_small"),
        door=NO_MATCH,
    ),
    Case(
        "png-1x20000",
        functools.cache(lambda: encode(np.full((20000, 1, 3), 128, np.uint8), "PNG")),
        "me.png",
        "image/png",
        enrollment=PhotoRefusal("face_too_small"),
        door=NO_MATCH,
    ),
]

BY_NAME = {case.name: case for case in CASES}
