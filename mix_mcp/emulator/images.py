"""Small PNG images made and shrunk in code, for the emulator's session files.

The seeded screenshot is drawn here (no binary file travels with the package), and ``thumbnail``
answers Mix's ``?thumb=`` for the PNGs this module can read: 8-bit RGB or RGBA, not interlaced (what
the seed and most screenshots are). It shrinks by nearest neighbour, which is crude but enough to prove
a thumbnail is smaller. Other images (JPEG, GIF, WebP, other PNG kinds) come back unchanged: the
emulator has no imaging library, and adding one (Pillow) only for thumbnails was not worth a dependency.
"""

from __future__ import annotations

import re
import struct
import zlib
from typing import Final

PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
#: Mix's ``thumb`` forms: a box ('100'), a width ('w100') or a height ('h100'), in pixels.
THUMB_SPEC: Final = re.compile(r"^([0-9]+|w[0-9]+|h[0-9]+)$")
_CHANNELS: Final = {2: 3, 6: 4}

Pixel = tuple[int, int, int]


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def encode_png(width: int, height: int, rows: list[bytes], channels: int = 3) -> bytes:
    """A PNG of ``rows`` (each ``width * channels`` bytes of RGB or RGBA), filter 0 on every row."""
    colour_type = 2 if channels == 3 else 6
    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    raw = b"".join(b"\x00" + row for row in rows)
    return PNG_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw, 9)) + _chunk(b"IEND", b"")


def screenshot_png(width: int = 160, height: int = 100) -> bytes:
    """A small picture of an editor window: title bar, sidebar, code lines and a green test bar."""
    background: Pixel = (30, 34, 42)
    rows: list[bytes] = []
    for y in range(height):
        row = bytearray()
        for x in range(width):
            colour = background
            if y < 12:
                colour = (58, 63, 75)
                for n, dot in enumerate(((237, 106, 94), (245, 191, 79), (98, 197, 84))):
                    cx = 8 + n * 10
                    if (x - cx) ** 2 + (y - 6) ** 2 <= 9:
                        colour = dot
            elif x < 36:
                colour = (40, 44, 54)
                if (y - 18) % 10 < 4 and 6 <= x < 30:
                    colour = (110, 118, 135)
            elif y >= height - 14:
                colour = (46, 160, 67) if 44 <= x < width - 8 and y < height - 6 else background
            elif (y - 18) % 8 < 3:
                line = (y - 18) // 8
                indent = 44 + (line % 3) * 8
                length = 30 + (line * 37) % 70
                if indent <= x < min(indent + length, width - 8):
                    colour = ((198, 120, 221), (97, 175, 239), (152, 195, 121))[line % 3]
            row += bytes(colour)
        rows.append(bytes(row))
    return encode_png(width, height, rows)


def png_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG, or ``None`` when ``data`` is not one."""
    if not data.startswith(PNG_SIGNATURE) or len(data) < 24 or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _decode(data: bytes) -> tuple[int, int, int, list[bytes]] | None:
    """(width, height, channels, unfiltered rows) of an 8-bit RGB/RGBA non-interlaced PNG, else ``None``."""
    if png_size(data) is None:
        return None
    width, height, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", data[16:29])
    channels = _CHANNELS.get(colour_type)
    if depth != 8 or channels is None or interlace != 0 or width * height > 16_000_000:
        return None
    idat = bytearray()
    at = 8
    while at + 8 <= len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind = data[at + 4 : at + 8]
        if kind == b"IDAT":
            idat += data[at + 8 : at + 8 + length]
        at += 12 + length
    try:
        raw = zlib.decompress(bytes(idat))
    except zlib.error:
        return None
    stride = width * channels
    if len(raw) < height * (stride + 1):
        return None
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                line[i] = (line[i] + _paeth(left, up, corner)) & 0xFF
            elif kind != 0:
                return None
        rows.append(bytes(line))
        previous = line
    return width, height, channels, rows


def thumbnail_size(width: int, height: int, spec: str) -> tuple[int, int]:
    """The size ``spec`` asks for, keeping the aspect ratio and never enlarging."""
    if spec.startswith("w"):
        scale = int(spec[1:]) / width
    elif spec.startswith("h"):
        scale = int(spec[1:]) / height
    else:
        scale = int(spec) / max(width, height)
    scale = min(scale, 1.0)
    return max(1, round(width * scale)), max(1, round(height * scale))


def thumbnail(data: bytes, spec: str) -> bytes:
    """A smaller PNG of ``data`` for the PNG kinds this module reads; any other image unchanged."""
    decoded = _decode(data)
    if decoded is None:
        return data
    width, height, channels, rows = decoded
    new_width, new_height = thumbnail_size(width, height, spec)
    if (new_width, new_height) == (width, height):
        return data
    shrunk: list[bytes] = []
    for y in range(new_height):
        source = rows[y * height // new_height]
        row = bytearray()
        for x in range(new_width):
            at = (x * width // new_width) * channels
            row += source[at : at + channels]
        shrunk.append(bytes(row))
    return encode_png(new_width, new_height, shrunk, channels)
