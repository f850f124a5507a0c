"""Builds test/fixtures/photos/: one small file per kind of image that cameras, phones, scanners
and editors write, and test/fixtures/goldens/photos/: what the Python reference decodes from each
(PIL `Image.open`, `ImageOps.exif_transpose`, `convert("RGB")`), stored losslessly as PNG, with
`manifest.json` naming each file's kind, size and what PIL does with it. A few kinds also get the
tiny SigLIP's embedding as the Python reference computes it (SiglipImageProcessor and the
committed test/fixtures/siglip-tiny ONNX graph, so that model must exist first).

PIL writes most kinds itself. What it cannot write is written here byte by byte: a baseline JPEG
encoder for 4:4:0 and 4:1:1 chroma subsampling, YCCK and CMYK without an Adobe marker; PNG for
Adam7 interlacing and 16 bits per channel; TIFF for 16-bit RGB; BMP for the header versions,
bit depths and RLE compression PIL reads; ICC profiles (Display P3 as ICC v4, Adobe RGB (1998)
as ICC v2) from their published primaries, white point and transfer curves.
"""
from __future__ import annotations

import hashlib
import io
import re
import struct
import zlib

import numpy as np
from PIL import Image, ImageCms, ImageOps

from common import FIXTURES, SEED, save_npy, write_json
from make_images import scene

PHOTOS_DIR = FIXTURES / "photos"
GOLDENS_DIR = FIXTURES / "goldens" / "photos"
RESIZED = 384  # SigLIP's input size: a few kinds also get PIL's bicubic resize as a golden


# ---------------------------------------------------------------------------------------------
# ICC profiles


def s15f16(x: float) -> bytes:
    return struct.pack(">i", round(x * 65536))


def xyz_type(xyz) -> bytes:
    return b"XYZ \0\0\0\0" + b"".join(s15f16(v) for v in xyz)


D50 = np.array([0.9642, 1.0, 0.8249])
BRADFORD = np.array([[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]])


def xy_to_xyz(x: float, y: float) -> np.ndarray:
    return np.array([x / y, 1.0, (1 - x - y) / y])


def colorants(primaries, white) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """RGB -> XYZ(D50) colorant columns (Bradford-adapted), the adaptation matrix, the white."""
    w = xy_to_xyz(*white)
    p = np.stack([xy_to_xyz(*xy) for xy in primaries], axis=1)
    m = p * np.linalg.solve(p, w)[None, :]
    adapt = np.linalg.inv(BRADFORD) @ np.diag((BRADFORD @ D50) / (BRADFORD @ w)) @ BRADFORD
    return adapt @ m, adapt, w


def icc_profile(version: int, description: str, primaries, white, trc: bytes) -> bytes:
    """A display-class RGB matrix/TRC profile (ICC.1 v2 or v4)."""
    cols, adapt, w = colorants(primaries, white)
    if version == 4:
        def text(tag_text: str) -> bytes:
            s = tag_text.encode("utf-16-be")
            return b"mluc\0\0\0\0" + struct.pack(">II2s2sII", 1, 12, b"en", b"US", len(s), 28) + s

        tags = [
            (b"desc", text(description)),
            (b"cprt", text("No copyright, use freely")),
            (b"wtpt", xyz_type(D50)),
            (b"chad", b"sf32\0\0\0\0" + b"".join(s15f16(v) for v in adapt.reshape(-1))),
        ]
    else:
        def desc(tag_text: str) -> bytes:
            s = tag_text.encode("ascii") + b"\0"
            return b"desc\0\0\0\0" + struct.pack(">I", len(s)) + s + b"\0" * 8 + b"\0\0\0" + b"\0" * 67

        tags = [
            (b"desc", desc(description)),
            (b"cprt", b"text\0\0\0\0" + b"No copyright, use freely\0"),
            (b"wtpt", xyz_type(w)),
        ]
    tags += [(b"rXYZ", xyz_type(cols[:, 0])), (b"gXYZ", xyz_type(cols[:, 1])), (b"bXYZ", xyz_type(cols[:, 2]))]
    tags += [(b"rTRC", trc), (b"gTRC", trc), (b"bTRC", trc)]
    table = struct.pack(">I", len(tags))
    body = b""
    offset = 128 + 4 + 12 * len(tags)
    placed: dict[bytes, int] = {}
    for sig, data in tags:
        if data in placed:  # the three TRCs share one copy, as ICC allows
            table += sig + struct.pack(">II", placed[data], len(data))
            continue
        placed[data] = offset + len(body)
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data + b"\0" * (-len(data) % 4)
    size = 128 + len(table) + len(body)
    header = struct.pack(">I4sI4s4s4s", size, b"\0\0\0\0", 0x04300000 if version == 4 else 0x02100000, b"mntr", b"RGB ", b"XYZ ")
    header += struct.pack(">6H", 2026, 1, 1, 0, 0, 0) + b"acsp" + b"\0" * 4 + b"\0" * 4 + b"\0" * 8 + b"\0" * 8
    header += struct.pack(">I", 0) + xyz_type(D50)[8:] + b"\0" * 4
    profile = bytearray(header + b"\0" * 16 + b"\0" * 28 + table + body)
    assert len(header) == 84 and len(profile) == size
    if version == 4:  # profile ID: MD5 with flags, intent and the ID itself zeroed
        probe = bytearray(profile)
        probe[44:48] = b"\0" * 4
        probe[64:68] = b"\0" * 4
        probe[84:100] = b"\0" * 16
        profile[84:100] = hashlib.md5(bytes(probe)).digest()
    return bytes(profile)


def display_p3() -> bytes:
    # Display P3: DCI-P3 primaries, D65 white, the sRGB transfer curve (parametric type 3).
    srgb_trc = b"para\0\0\0\0" + struct.pack(">HH", 3, 0) + b"".join(
        s15f16(v) for v in (2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045)
    )
    return icc_profile(4, "Display P3 (test)", [(0.680, 0.320), (0.265, 0.690), (0.150, 0.060)], (0.3127, 0.3290), srgb_trc)


def adobe_rgb() -> bytes:
    # Adobe RGB (1998): its primaries, D65 white, gamma 563/256 (2.19921875).
    gamma = b"curv\0\0\0\0" + struct.pack(">IH", 1, 563) + b"\0\0"
    return icc_profile(2, "Adobe RGB (1998) (test)", [(0.64, 0.33), (0.21, 0.71), (0.15, 0.06)], (0.3127, 0.3290), gamma)


# ---------------------------------------------------------------------------------------------
# A baseline JPEG encoder (sequential DCT, Huffman, any sampling factors), for what PIL cannot
# write: 4:4:0 and 4:1:1 subsampling, YCCK, CMYK without an Adobe marker.


def segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def libjpeg_tables(quality: int) -> tuple[dict[int, bytes], dict[tuple[int, int], tuple[bytes, bytes]]]:
    """The quantisation tables (zigzag order) and standard Huffman tables libjpeg writes."""
    buf = io.BytesIO()
    Image.new("RGB", (16, 16)).save(buf, "JPEG", quality=quality)
    data = buf.getvalue()
    qt: dict[int, bytes] = {}
    ht: dict[tuple[int, int], tuple[bytes, bytes]] = {}
    i = 2
    while data[i + 1] != 0xDA:
        length = struct.unpack(">H", data[i + 2 : i + 4])[0]
        body = data[i + 4 : i + 2 + length]
        if data[i + 1] == 0xDB:
            while body:
                qt[body[0] & 15] = body[1:65]
                body = body[65:]
        elif data[i + 1] == 0xC4:
            while body:
                bits = body[1:17]
                n = sum(bits)
                ht[(body[0] >> 4, body[0] & 15)] = (bits, body[17 : 17 + n])
                body = body[17 + n :]
        i += 2 + length
    return qt, ht


def zigzag_order() -> np.ndarray:
    order = sorted(((u, v) for u in range(8) for v in range(8)), key=lambda p: (p[0] + p[1], p[1] if (p[0] + p[1]) % 2 == 0 else p[0]))
    return np.array([u * 8 + v for u, v in order])


ZIGZAG = zigzag_order()
DCT = np.array([[(np.sqrt(1 / 8) if u == 0 else np.sqrt(2 / 8)) * np.cos((2 * x + 1) * u * np.pi / 16) for x in range(8)] for u in range(8)])


class BitWriter:
    def __init__(self) -> None:
        self.out = bytearray()
        self.acc = 0
        self.n = 0

    def write(self, code: int, length: int) -> None:
        self.acc = (self.acc << length) | code
        self.n += length
        while self.n >= 8:
            byte = (self.acc >> (self.n - 8)) & 0xFF
            self.n -= 8
            self.out.append(byte)
            if byte == 0xFF:
                self.out.append(0)
        self.acc &= (1 << self.n) - 1

    def flush(self) -> None:
        if self.n:
            self.write((1 << (8 - self.n)) - 1, 8 - self.n)


def huffman_codes(bits: bytes, values: bytes) -> dict[int, tuple[int, int]]:
    codes, code, k = {}, 0, 0
    for length in range(1, 17):
        for _ in range(bits[length - 1]):
            codes[values[k]] = (code, length)
            code += 1
            k += 1
        code <<= 1
    return codes


def encode_jpeg(planes: list[np.ndarray], sampling: list[tuple[int, int]], *, app: list[bytes], restart: int = 0, quality: int = 90) -> bytes:
    """planes: full-size float arrays (the encoder's input colour space); sampling: (h, v) each."""
    height, width = planes[0].shape
    qt, ht = libjpeg_tables(quality)
    hmax, vmax = max(h for h, _ in sampling), max(v for _, v in sampling)
    mcux, mcuy = -(-width // (8 * hmax)), -(-height // (8 * vmax))
    coefficients = []
    for c, (plane, (h, v)) in enumerate(zip(planes, sampling)):
        padded = np.pad(plane, ((0, mcuy * 8 * vmax - height), (0, mcux * 8 * hmax - width)), mode="edge")
        fy, fx = vmax // v, hmax // h
        small = padded.reshape(padded.shape[0] // fy, fy, padded.shape[1] // fx, fx).mean(axis=(1, 3))
        blocks = small.reshape(small.shape[0] // 8, 8, small.shape[1] // 8, 8).transpose(0, 2, 1, 3) - 128
        freq = np.einsum("ux,abxy,vy->abuv", DCT, blocks, DCT).reshape(blocks.shape[0], blocks.shape[1], 64)
        table = np.zeros(64)
        table[ZIGZAG] = np.frombuffer(qt[min(c, 1)], np.uint8)
        coefficients.append(np.round(freq / table).astype(np.int64)[:, :, ZIGZAG])
    dc = [huffman_codes(*ht[(0, min(c, 1))]) for c in range(len(planes))]
    ac = [huffman_codes(*ht[(1, min(c, 1))]) for c in range(len(planes))]
    bw = BitWriter()
    pred = [0] * len(planes)

    def put(value: int, codes: dict[int, tuple[int, int]], symbol_base: int = 0) -> None:
        size = abs(value).bit_length()
        bw.write(*codes[symbol_base + size])
        if size:
            bw.write(value if value > 0 else value + (1 << size) - 1, size)

    for m in range(mcux * mcuy):
        if restart and m and m % restart == 0:
            bw.flush()
            bw.out += bytes([0xFF, 0xD0 + (m // restart - 1) % 8])
            pred = [0] * len(planes)
        my, mx = divmod(m, mcux)
        for c, (h, v) in enumerate(sampling):
            for by in range(v):
                for bx in range(h):
                    zz = coefficients[c][my * v + by, mx * h + bx]
                    put(int(zz[0]) - pred[c], dc[c])
                    pred[c] = int(zz[0])
                    run = 0
                    for value in zz[1:]:
                        if value == 0:
                            run += 1
                            continue
                        while run > 15:
                            bw.write(*ac[c][0xF0])
                            run -= 16
                        size = abs(int(value)).bit_length()
                        bw.write(*ac[c][(run << 4) | size])
                        bw.write(int(value) if value > 0 else int(value) + (1 << size) - 1, size)
                        run = 0
                    if run:
                        bw.write(*ac[c][0x00])
    bw.flush()
    out = b"\xff\xd8" + b"".join(app)
    for tid in sorted(qt):
        out += segment(0xDB, bytes([tid]) + qt[tid])
    out += segment(0xC0, struct.pack(">BHHB", 8, height, width, len(planes)) + b"".join(
        struct.pack(">BBB", c + 1, (h << 4) | v, min(c, 1)) for c, (h, v) in enumerate(sampling)))
    for (cls, tid), (bits, values) in sorted(ht.items()):
        out += segment(0xC4, bytes([(cls << 4) | tid]) + bits + values)
    if restart:
        out += segment(0xDD, struct.pack(">H", restart))
    out += segment(0xDA, bytes([len(planes)]) + b"".join(bytes([c + 1, (min(c, 1) << 4) | min(c, 1)]) for c in range(len(planes))) + b"\x00\x3f\x00")
    return out + bytes(bw.out) + b"\xff\xd9"


JFIF = segment(0xE0, b"JFIF\0\x01\x01\x00\x00\x01\x00\x01\x00\x00")


def adobe(transform: int) -> bytes:
    return segment(0xEE, b"Adobe" + struct.pack(">HHHB", 100, 0, 0, transform))


def ycbcr(rgb: np.ndarray) -> list[np.ndarray]:
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    return [
        0.299 * r + 0.587 * g + 0.114 * b,
        -0.168735892 * r - 0.331264108 * g + 0.5 * b + 128,
        0.5 * r - 0.418687589 * g - 0.081312411 * b + 128,
    ]


# ---------------------------------------------------------------------------------------------
# PNG, TIFF and BMP writers for what PIL does not write


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def png_rows(samples: np.ndarray, bit_depth: int) -> bytes:
    """samples: (h, w, c) of uint8/uint16 -> filter-0 scanlines."""
    out = b""
    for row in samples:
        flat = row.reshape(-1)
        if bit_depth == 16:
            data = flat.astype(">u2").tobytes()
        elif bit_depth == 8:
            data = flat.astype(np.uint8).tobytes()
        else:
            per = 8 // bit_depth
            padded = np.concatenate([flat, np.zeros(-len(flat) % per, flat.dtype)]).reshape(-1, per).astype(np.uint16)
            shifts = bit_depth * np.arange(per - 1, -1, -1)
            data = (padded << shifts).sum(axis=1).astype(np.uint8).tobytes()
        out += b"\0" + data
    return out


def write_png(samples: np.ndarray, color_type: int, bit_depth: int, *, interlace: bool = False, chunks: list[bytes] = ()) -> bytes:
    if samples.ndim == 2:
        samples = samples[:, :, None]
    h, w = samples.shape[:2]
    if interlace:
        raw = b"".join(png_rows(samples[y0::dy, x0::dx], bit_depth) for x0, y0, dx, dy in ADAM7 if w > x0 and h > y0)
    else:
        raw = png_rows(samples, bit_depth)
    ihdr = struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, 1 if interlace else 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + b"".join(chunks) + png_chunk(b"IDAT", zlib.compress(raw, 9)) + png_chunk(b"IEND", b"")


TIFF_FORMATS = {1: "B", 3: "H", 4: "I"}


def tiff_file(width: int, height: int, tags: dict[int, tuple[int, list[int]]], chunks: list[bytes], *, tiled: bool = False) -> bytes:
    """Little-endian TIFF, one IFD: `tags` as {tag: (type, values)} (BYTE, SHORT, LONG), the
    strip (or tile) offsets and byte counts filled in for `chunks`, stored after the IFD."""
    offsets_tag, counts_tag = (324, 325) if tiled else (273, 279)
    tags = {**tags, 256: (4, [width]), 257: (4, [height]), counts_tag: (4, [len(c) for c in chunks]), offsets_tag: (4, [0] * len(chunks))}
    ifd_end = 8 + 2 + 12 * len(tags) + 4

    def layout(offsets: list[int]) -> tuple[bytes, bytes]:
        entries, extra = b"", b""
        for tag in sorted(tags):
            typ, vals = tags[tag]
            data = struct.pack("<" + TIFF_FORMATS[typ] * len(vals), *(offsets if tag == offsets_tag else vals))
            if len(data) <= 4:
                entries += struct.pack("<HHI", tag, typ, len(vals)) + data.ljust(4, b"\0")
            else:
                entries += struct.pack("<HHII", tag, typ, len(vals), ifd_end + len(extra))
                extra += data + b"\0" * (len(data) % 2)
        return entries, extra

    _, extra = layout([0] * len(chunks))
    starts = list(np.cumsum([ifd_end + len(extra)] + [len(c) for c in chunks[:-1]]).tolist())
    entries, extra = layout(starts)
    return b"II*\0" + struct.pack("<IH", 8, len(tags)) + entries + b"\0\0\0\0" + extra + b"".join(chunks)


def grey_tags(bits: int, *, photometric: int | None = 1, sample_format: int | None = None, height: int) -> dict:
    tags = {258: (3, [bits]), 259: (3, [1]), 277: (3, [1]), 278: (4, [height])}
    if photometric is not None:
        tags[262] = (3, [photometric])
    if sample_format is not None:
        tags[339] = (3, [sample_format])
    return tags


def premultiplied_table() -> np.ndarray:
    """Every 8-bit (value, alpha) pair with value <= alpha, as 256-pixel rows of RGBA (grey)."""
    pairs = np.array([(v, a) for a in range(256) for v in range(a + 1)], np.uint8)
    pairs = np.concatenate([pairs, np.zeros((-len(pairs) % 256, 2), np.uint8)])
    return np.stack([pairs[:, 0], pairs[:, 0], pairs[:, 0], pairs[:, 1]], axis=1).reshape(-1, 256, 4)


def write_tiff_rgb16(samples: np.ndarray) -> bytes:
    """Baseline little-endian TIFF, uncompressed, one strip, 16 bits per sample."""
    h, w, _ = samples.shape
    data = samples.astype("<u2").tobytes()
    entries = [(256, 4, 1, w), (257, 4, 1, h), (258, 3, 3, None), (259, 3, 1, 1), (262, 3, 1, 2), (273, 4, 1, None),
               (277, 3, 1, 3), (278, 4, 1, h), (279, 4, 1, len(data)), (284, 3, 1, 1)]
    ifd_size = 2 + 12 * len(entries) + 4
    bits_offset = 8 + ifd_size
    data_offset = bits_offset + 6
    out = b"II*\0" + struct.pack("<I", 8) + struct.pack("<H", len(entries))
    for tag, typ, count, value in entries:
        if tag == 258:
            value = bits_offset
        if tag == 273:
            value = data_offset
        packed = struct.pack("<HH", value, 0) if typ == 3 and tag != 258 else struct.pack("<I", value)
        out += struct.pack("<HHI", tag, typ, count) + packed
    return out + b"\0\0\0\0" + struct.pack("<3H", 16, 16, 16) + data


def bmp_file(info: bytes, palette: bytes, pixels: bytes) -> bytes:
    offset = 14 + len(info) + len(palette)
    return b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset) + info + palette + pixels


def bmp_info(width: int, height: int, bits: int, compression: int = 0, colors: int = 0, size: int = 40, masks=(), image_size: int = 0) -> bytes:
    head = struct.pack("<IiiHHIIiiII", size, width, height, 1, bits, compression, image_size, 2835, 2835, colors, 0)
    extra = b"".join(struct.pack("<I", m) for m in masks)
    return head + extra + b"\0" * (size - len(head) - len(extra)) if size > 40 else head + extra


def bmp_rows(rows: list[bytes], top_down: bool = False) -> bytes:
    ordered = rows if top_down else rows[::-1]
    return b"".join(r + b"\0" * (-len(r) % 4) for r in ordered)


def pack_bits(indices: np.ndarray, bits: int) -> list[bytes]:
    rows = []
    per = 8 // bits
    for row in indices:
        padded = np.concatenate([row, np.zeros(-len(row) % per, row.dtype)]).reshape(-1, per).astype(np.uint16)
        rows.append((padded << (bits * np.arange(per - 1, -1, -1))).sum(axis=1).astype(np.uint8).tobytes())
    return rows


def rle8(indices: np.ndarray) -> bytes:
    """RLE8 as Windows writes it: runs of equal pixels, literal stretches in absolute mode."""
    out = bytearray()
    for row in indices[::-1]:
        x, w = 0, len(row)
        while x < w:
            run = 1
            while x + run < w and run < 255 and row[x + run] == row[x]:
                run += 1
            if run >= 3 or w - x < 3:
                out += bytes([run, row[x]])
                x += run
                continue
            end = x
            while end < w and end - x < 255 and not (end + 2 < w and row[end] == row[end + 1] == row[end + 2]):
                end += 1
            n = end - x
            if n < 3:
                for i in range(n):
                    out += bytes([1, row[x + i]])
            else:
                out += bytes([0, n]) + bytes(row[x:end].astype(np.uint8)) + (b"\0" if n % 2 else b"")
            x = end
        out += b"\0\0"
    return bytes(out + b"\0\1")


def rle4(indices: np.ndarray) -> bytes:
    """RLE4: runs alternate two 4-bit pixels; here each run repeats one pixel (both nibbles equal)."""
    out = bytearray()
    for row in indices[::-1]:
        x, w = 0, len(row)
        while x < w:
            run = 1
            while x + run < w and run < 255 and row[x + run] == row[x]:
                run += 1
            out += bytes([run, (int(row[x]) << 4) | int(row[x])])
            x += run
        out += b"\0\0"
    return bytes(out + b"\0\1")


def gif_frame_inside(gif: bytes, screen: tuple[int, int], at: tuple[int, int]) -> bytes:
    """Moves a one-frame GIF's image to `at` on a larger logical screen."""
    out = bytearray(gif)
    out[6:10] = struct.pack("<HH", *screen)
    i = 13 + (3 << ((out[10] & 7) + 1) if out[10] & 0x80 else 0)
    while out[i] == 0x21:  # extensions: label, then sub-blocks
        i += 2
        while out[i]:
            i += out[i] + 1
        i += 1
    assert out[i] == 0x2C
    out[i + 1 : i + 5] = struct.pack("<HH", *at)
    return bytes(out)


# ---------------------------------------------------------------------------------------------


def encode(img: Image.Image, fmt: str, **kw) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **kw)
    return out.getvalue()


def exif_bytes(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


def vivid(width: int, height: int, seed: int) -> Image.Image:
    """A scene with saturated primaries added, where colour management shows most."""
    img = scene(width, height, seed)
    a = np.asarray(img).copy()
    w4 = width // 4
    a[: height // 3, :w4] = (255, 0, 0)
    a[: height // 3, w4 : 2 * w4] = (0, 255, 0)
    a[: height // 3, 2 * w4 : 3 * w4] = (0, 0, 255)
    a[: height // 3, 3 * w4 :] = np.linspace(0, 255, width - 3 * w4, dtype=np.uint8)[None, :, None]
    return Image.fromarray(a)


def cmyk_with_black(width: int, height: int, seed: int) -> Image.Image:
    """CMYK with black ink, as print and stock files carry it: in the top half K runs 0..255 across
    the columns under varied C/M/Y; in the bottom half grey-component replacement moves the
    shared part of C/M/Y into K, with a floor so K > 0 there too."""
    cmy = 255 - np.asarray(scene(width, height, seed)).astype(np.int64)
    k = np.empty((height, width), np.int64)
    k[: height // 2] = np.round(np.linspace(0, 255, width)).astype(np.int64)[None, :]
    bottom = cmy[height // 2 :]
    gcr = bottom.min(axis=2)
    bottom -= gcr[..., None]
    k[height // 2 :] = np.maximum(gcr, 40)
    return Image.fromarray(np.concatenate([cmy, k[..., None]], axis=2).astype(np.uint8), "CMYK")


def cmyk_table() -> np.ndarray:
    """Every (C, K) and (M, K) pair once: C = x, M = 255 - x, Y = (x + y) % 256, K = y."""
    y, x = np.mgrid[0:256, 0:256]
    return np.stack([x, 255 - x, (x + y) % 256, y], axis=2).astype(np.uint8)


def siglip_embedding(path) -> np.ndarray:
    """The tiny SigLIP's image embedding as the Python reference computes it: PIL decode,
    SiglipImageProcessor, then the committed vision_model.onnx (pooler_output)."""
    from transformers import SiglipImageProcessor

    from common import ort_session

    model = FIXTURES / "siglip-tiny"
    rgb, _ = pil_decode(path.read_bytes())
    pixel_values = SiglipImageProcessor.from_pretrained(model)(rgb, return_tensors="np")["pixel_values"]
    (pooled,) = ort_session(model / "onnx" / "vision_model.onnx").run(["pooler_output"], {"pixel_values": pixel_values.astype(np.float32)})
    return pooled[0].astype(np.float32)


def apng_control(seq: int, width: int, height: int, x: int = 0, y: int = 0) -> bytes:
    """An fcTL chunk: frame `seq` of width x height at (x, y), 1/10 s, no disposal or blending."""
    return png_chunk(b"fcTL", struct.pack(">IIIIIHHBB", seq, width, height, x, y, 1, 10, 0, 0))


def damage_bases() -> dict[str, bytes]:
    """Small well-formed PNGs with the chunk layouts damage hits differently: text before and
    after the image data, split IDAT, APNG with the first frame in IDAT or a default image, iCCP."""
    img = np.asarray(scene(20, 12, SEED + 19))
    data = zlib.compress(png_rows(img, 8), 9)
    ihdr = png_chunk(b"IHDR", struct.pack(">IIBBBBB", 20, 12, 8, 2, 0, 0, 0))
    idat, iend = png_chunk(b"IDAT", data), png_chunk(b"IEND", b"")
    text = png_chunk(b"tEXt", b"Comment\0hello")
    sig = b"\x89PNG\r\n\x1a\n"
    fdat = png_chunk(b"fdAT", struct.pack(">I", 2) + data)
    return {
        "plain": sig + ihdr + idat + iend,
        "text": sig + ihdr + text + png_chunk(b"gAMA", struct.pack(">I", 45455)) + idat + text + png_chunk(b"pHYs", b"\0" * 9) + iend,
        "split": sig + ihdr + png_chunk(b"IDAT", data[:50]) + png_chunk(b"IDAT", data[50:-6]) + png_chunk(b"IDAT", data[-6:]) + text + iend,
        "apng": sig + ihdr + png_chunk(b"acTL", struct.pack(">II", 2, 0)) + apng_control(0, 20, 12) + idat + apng_control(1, 20, 12) + fdat + text + iend,
        "apng-default": sig + ihdr + png_chunk(b"acTL", struct.pack(">II", 1, 0)) + idat + apng_control(0, 20, 12)
        + png_chunk(b"fdAT", struct.pack(">I", 1) + data) + iend,
        "iccp": sig + ihdr + png_chunk(b"iCCP", b"p\0\0" + zlib.compress(b"x" * 100)) + idat + png_chunk(b"iTXt", b"k\0\0\0\0\0v") + iend,
    }


def damage_cases(base: bytes) -> tuple[list[bytes], list[bytes]]:
    """Every cut of `base`, and each byte of every chunk header, checksum and first data byte set
    to 0, 1, 255 and its value with bit 5 flipped (the test enumerates them the same way)."""
    cuts = [base[:at] for at in range(8, len(base))]
    positions: set[int] = set()
    pos = 8
    while pos + 8 <= len(base):
        n = struct.unpack(">I", base[pos : pos + 4])[0]
        positions.update(range(pos, pos + 8))
        positions.update(p for p in ([pos + 8] if n else []) + list(range(pos + 8 + n, pos + 12 + n)) if p < len(base))
        pos += 12 + n
    sets = []
    for p in sorted(positions):
        for v in dict.fromkeys((0, 1, 255, base[p] ^ 0x20)):
            if v != base[p]:
                sets.append(base[:p] + bytes([v]) + base[p + 1 :])
    return cuts, sets


def without_times(avif: bytes) -> bytes:
    """libavif stamps a sequence's mvhd, tkhd and mdhd boxes with the time of writing: zeroed, so
    regenerating gives the same bytes."""
    out = bytearray(avif)
    for box in (b"mvhd", b"tkhd", b"mdhd"):
        at = out.find(box)
        if at >= 0:
            size = 8 if out[at + 4] == 1 else 4  # version 1: 64-bit times
            out[at + 8 : at + 8 + 2 * size] = bytes(2 * size)
    return bytes(out)


def pil_reads(data: bytes) -> bool:
    try:
        pil_decode(data)
        return True
    except Exception:  # noqa: BLE001 - any refusal counts
        return False


def pil_decode(data: bytes) -> tuple[Image.Image, dict]:
    opened = Image.open(io.BytesIO(data))
    info = {"format": opened.format, "mode": opened.mode, "stored_size": list(opened.size)}
    frames = getattr(opened, "n_frames", 1)
    if frames > 1:
        info["frames"] = frames
    orientation = opened.getexif().get(0x0112)
    if orientation is not None:
        info["orientation"] = orientation
    rgb = ImageOps.exif_transpose(opened).convert("RGB")
    return rgb, info


def main() -> None:
    PHOTOS_DIR.mkdir(parents=True, exist_ok=True)
    GOLDENS_DIR.mkdir(parents=True, exist_ok=True)
    for old in list(PHOTOS_DIR.iterdir()) + list(GOLDENS_DIR.iterdir()):
        old.unlink()
    rng = np.random.default_rng(SEED + 100)
    entries: list[dict] = []

    def add(kind: str, name: str, data: bytes, note: str, *, resized: bool = False, embedding: bool = False) -> None:
        (PHOTOS_DIR / name).write_bytes(data)
        entry: dict = {"kind": kind, "file": name, "bytes": len(data), "note": note}
        try:
            rgb, info = pil_decode(data)
        except Exception as err:  # noqa: BLE001 - the golden records that PIL refuses it
            message = re.sub(r" <_io\.BytesIO object at 0x[0-9a-f]+>", "", str(err))  # no run-dependent address
            entry["pil"] = {"readable": False, "error": f"{type(err).__name__}: {message}"}
            entry["note"] += "; PIL cannot read it"
            entries.append(entry)
            return
        golden = f"{name}.png"
        icc = rgb.info.get("icc_profile")
        rgb = Image.fromarray(np.asarray(rgb))  # pixels only: no ICC profile or EXIF travels into the golden
        rgb.save(GOLDENS_DIR / golden, "PNG")
        if icc and info["mode"] != "LAB":  # PIL's Lab conversion attaches its own sRGB profile
            # what colour management would show: lcms (ImageCms), embedded profile -> sRGB, perceptual
            entry["srgb"] = f"{name}.srgb.png"
            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            srgb = ImageCms.profileToProfile(rgb, src, ImageCms.createProfile("sRGB"), renderingIntent=ImageCms.Intent.PERCEPTUAL)
            Image.fromarray(np.asarray(srgb)).save(GOLDENS_DIR / entry["srgb"], "PNG")
        entry["pil"] = {"readable": True, **info}
        entry["size"] = list(rgb.size)
        entry["pixels"] = golden
        if resized:
            entry["resized"] = f"{name}.{RESIZED}.png"
            rgb.resize((RESIZED, RESIZED), Image.BICUBIC, reducing_gap=None).save(GOLDENS_DIR / entry["resized"], "PNG")
        if embedding:
            entry["embedding"] = f"{name}.siglip.npy"
            save_npy(GOLDENS_DIR / entry["embedding"], siglip_embedding(PHOTOS_DIR / name))
        entries.append(entry)

    # -- ICC profiles: PIL keeps the profile in info["icc_profile"] and never applies it
    p3, argb = display_p3(), adobe_rgb()
    add("jpeg-icc-display-p3", "icc_display_p3.jpg", encode(vivid(120, 90, SEED + 1), "JPEG", quality=90, icc_profile=p3),
        "JPEG with an embedded Display P3 profile (ICC v4, parametric sRGB curves), as iPhones write", resized=True)
    add("jpeg-icc-adobe-rgb", "icc_adobe_rgb.jpg", encode(vivid(120, 90, SEED + 2), "JPEG", quality=90, icc_profile=argb),
        "JPEG with an embedded Adobe RGB (1998) profile (ICC v2, gamma 2.2), as DSLRs set to Adobe RGB write")
    add("jpeg-phone", "phone_p3_orientation_6.jpg",
        encode(vivid(96, 72, SEED + 16), "JPEG", quality=88, icc_profile=p3, exif=exif_bytes(6)),
        "what a phone writes: Display P3 profile and EXIF orientation 6, 4:2:0", resized=True)
    add("png-iccp", "icc_iccp.png", encode(vivid(96, 64, SEED + 3), "PNG", icc_profile=argb),
        "PNG with an iCCP chunk (Adobe RGB (1998))")

    # -- JPEG coding variants
    photo = scene(123, 77, SEED + 4)  # odd sizes: partial MCUs at the right and bottom edges
    add("jpeg-progressive", "progressive.jpg", encode(photo, "JPEG", quality=90, progressive=True), "progressive JPEG (4:2:0)")
    add("jpeg-420", "subsampling_420.jpg", encode(photo, "JPEG", quality=90, subsampling=2), "baseline JPEG, chroma 4:2:0 (h2v2)")
    add("jpeg-444", "subsampling_444.jpg", encode(photo, "JPEG", quality=90, subsampling=0), "baseline JPEG, no chroma subsampling (4:4:4)")
    add("jpeg-422", "subsampling_422.jpg", encode(photo, "JPEG", quality=90, subsampling=1), "baseline JPEG, chroma 4:2:2 (h2v1)")
    planes = ycbcr(np.asarray(photo))
    add("jpeg-440", "subsampling_440.jpg", encode_jpeg(planes, [(1, 2), (1, 1), (1, 1)], app=[JFIF]),
        "baseline JPEG, chroma 4:4:0 (h1v2): chroma halved vertically")
    add("jpeg-411", "subsampling_411.jpg", encode_jpeg(planes, [(4, 1), (1, 1), (1, 1)], app=[JFIF]),
        "baseline JPEG, chroma 4:1:1 (h4v1): chroma quartered horizontally")
    add("jpeg-restart", "restart_markers.jpg", encode(photo, "JPEG", quality=90, restart_marker_blocks=3),
        "JPEG with restart markers every 3 MCUs (DRI)")
    add("jpeg-restart-411", "restart_markers_411.jpg", encode_jpeg(planes, [(4, 1), (1, 1), (1, 1)], app=[JFIF], restart=2),
        "JPEG 4:1:1 with restart markers every 2 MCUs")
    gray = np.asarray(photo.convert("L"))
    add("jpeg-gray", "gray.jpg", encode_jpeg([gray.astype(np.float64)], [(1, 1)], app=[JFIF]), "single-component (grayscale) JPEG")

    mpo = io.BytesIO()
    photo.save(mpo, "MPO", save_all=True, append_images=[scene(123, 77, SEED + 17)], quality=90)
    add("jpeg-mpo", "multi_picture.mpo.jpg", mpo.getvalue(), "JPEG with an MPF (APP2) second picture, as stereo and some phone cameras write: PIL reads the first")

    # -- EXIF orientation, all eight values; 2, 4, 5 and 7 are mirrored
    small = scene(48, 32, SEED + 5)
    for o in range(1, 9):
        add(f"jpeg-exif-orientation-{o}", f"exif_orientation_{o}.jpg", encode(small, "JPEG", quality=92, exif=exif_bytes(o)),
            f"EXIF orientation {o}" + (" (mirrored)" if o in (2, 4, 5, 7) else ""), resized=o == 5)
    xmp = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
           b'<rdf:Description xmlns:tiff="http://ns.adobe.com/tiff/1.0/" tiff:Orientation="6"/></rdf:RDF></x:xmpmeta>')
    add("jpeg-xmp-orientation", "xmp_orientation_6.jpg", encode(small, "JPEG", quality=92, xmp=xmp),
        "orientation 6 only in XMP (tiff:Orientation), no EXIF: PIL's getexif() falls back to XMP")
    add("jpeg-exif-and-xmp-orientation", "exif_3_xmp_6.jpg", encode(small, "JPEG", quality=92, exif=exif_bytes(3), xmp=xmp),
        "EXIF orientation 3 and XMP orientation 6: EXIF wins")
    add("png-exif-orientation", "png_exif_orientation_6.png", encode(small, "PNG", exif=exif_bytes(6)), "PNG with an eXIf chunk, orientation 6")
    raw_exif = exif_bytes(6).hex()
    raw_profile = b"Raw profile type exif\0" + f"\nexif\n{len(raw_exif) // 2:8d}\n".encode() + "\n".join(
        raw_exif[i : i + 72] for i in range(0, len(raw_exif), 72)).encode() + b"\n"
    add("png-raw-profile-orientation", "png_raw_profile_orientation_6.png", write_png(np.asarray(small), 2, 8, chunks=[png_chunk(b"tEXt", raw_profile)]),
        "PNG with EXIF orientation 6 in a 'Raw profile type exif' text chunk, as ImageMagick writes it")
    plain_png = write_png(np.asarray(small), 2, 8)
    iend = plain_png.rindex(b"IEND") - 4
    add("png-exif-after-idat", "png_exif_after_idat_3.png", plain_png[:iend] + png_chunk(b"eXIf", exif_bytes(3)[6:]) + plain_png[iend:],
        "PNG with its eXIf chunk (orientation 3) after the image data: PIL still applies it")
    itxt = b"XML:com.adobe.xmp\0\0\0\0\0" + xmp.replace(b'tiff:Orientation="6"', b'tiff:Orientation="5"')
    add("png-xmp-orientation", "png_xmp_orientation_5.png", write_png(np.asarray(small), 2, 8, chunks=[png_chunk(b"iTXt", itxt)]),
        "PNG with orientation 5 only in an XMP iTXt chunk")
    add("webp-exif-orientation", "webp_exif_orientation_8.webp", encode(small, "WEBP", lossless=True, exif=exif_bytes(8)),
        "lossless WebP with EXIF orientation 8")
    add("webp-xmp-orientation", "webp_xmp_orientation_6.webp", encode(small, "WEBP", lossless=True, xmp=xmp),
        "lossless WebP with orientation 6 only in its XMP chunk")
    add("tiff-orientation", "tiff_orientation_7.tif", encode(small, "TIFF", tiffinfo={274: 7}), "TIFF with Orientation tag 7 (mirrored)")
    add("tiff-xmp-orientation", "tiff_xmp_orientation_6.tif", encode(small, "TIFF", tiffinfo={700: xmp}),
        "TIFF with orientation 6 only in its XMP tag: PIL applies it")
    add("tiff-tag-and-xmp-orientation", "tiff_tag_8_xmp_6.tif", encode(small, "TIFF", tiffinfo={274: 8, 700: xmp}),
        "TIFF with Orientation tag 8 and XMP orientation 6: the tag wins, applied once")

    # -- CMYK: PIL reads every CMYK JPEG as Adobe-inverted; these have K = 0 (see the black-ink ones below)
    cmyk = scene(100, 75, SEED + 6).convert("CMYK")
    add("jpeg-cmyk-adobe", "cmyk_adobe.jpg", encode(cmyk, "JPEG", quality=90),
        "CMYK JPEG with an Adobe APP14 marker (transform 0), inverted values as Photoshop writes")
    inv = 255 - np.asarray(cmyk).astype(np.float64)  # what Adobe-convention files store
    ycck = ycbcr(np.asarray(cmyk)[..., :3]) + [inv[..., 3]]
    add("jpeg-ycck-adobe", "ycck_adobe.jpg", encode_jpeg(ycck, [(1, 1)] * 4, app=[adobe(2)]),
        "YCCK JPEG (Adobe transform 2), how Photoshop stores CMYK JPEGs by default")
    add("jpeg-cmyk-no-adobe", "cmyk_no_adobe.jpg", encode_jpeg([inv[..., i] for i in range(4)], [(1, 1)] * 4, app=[]),
        "CMYK JPEG without an Adobe marker: PIL still assumes inverted values")
    add("jpeg-rgb-adobe", "rgb_adobe_transform0.jpg", encode_jpeg([np.asarray(photo)[..., i].astype(np.float64) for i in range(3)], [(1, 1)] * 3, app=[adobe(0)]),
        "3-component JPEG stored as RGB (Adobe transform 0), no YCbCr")

    # -- CMYK with black ink (K > 0), where PIL's (255 - C)(255 - K) / 255 and 255 - min(255, C + K) part
    black = cmyk_with_black(96, 64, SEED + 18)
    add("jpeg-cmyk-k-adobe", "cmyk_k_adobe.jpg", encode(black, "JPEG", quality=95),
        "CMYK JPEG with black ink (K 0..255), Adobe APP14 marker, inverted values as Photoshop writes", resized=True, embedding=True)
    inv_k = 255 - np.asarray(black).astype(np.float64)
    add("jpeg-cmyk-k-no-adobe", "cmyk_k_no_adobe.jpg", encode_jpeg([inv_k[..., i] for i in range(4)], [(1, 1)] * 4, app=[], quality=95),
        "CMYK JPEG with black ink (K 0..255), no Adobe marker: PIL still assumes inverted values")
    ycck_k = ycbcr(np.asarray(black)[..., :3]) + [inv_k[..., 3]]
    add("jpeg-ycck-k-adobe", "ycck_k_adobe.jpg", encode_jpeg(ycck_k, [(1, 1)] * 4, app=[adobe(2)], quality=95),
        "YCCK JPEG (Adobe transform 2) with black ink (K 0..255)")
    add("tiff-cmyk-k", "cmyk_k.tif", encode(black, "TIFF"), "CMYK TIFF with black ink (K 0..255), uncompressed", embedding=True)
    add("tiff-cmyk-k-lzw", "cmyk_k_lzw.tif", encode(black, "TIFF", compression="tiff_lzw"), "CMYK TIFF with black ink (K 0..255), LZW")

    # -- PNG modes
    base = scene(90, 60, SEED + 7)
    la = base.convert("LA")
    la_a = np.asarray(la).copy()
    la_a[..., 1] = np.linspace(0, 255, 90, dtype=np.uint8)[None, :]
    la_a[20:40, 30:60, 1] = 0
    add("png-la", "gray_alpha.png", encode(Image.fromarray(la_a), "PNG"), "grayscale + alpha PNG (LA): alpha dropped, not composited")
    pal = base.convert("P", palette=Image.ADAPTIVE, colors=32)
    trns = bytes([0, 128] + [255] * 14 + [0] * 4)
    add("png-palette-trns", "palette_trns.png", encode(pal, "PNG", transparency=trns),
        "palette PNG with a tRNS chunk (some entries transparent): the palette colours are kept")
    add("png-1bit", "bilevel.png", encode(base.convert("1"), "PNG"), "1-bit PNG (dithered)")
    rgb8 = np.asarray(base)
    gama = png_chunk(b"gAMA", struct.pack(">I", 55556))  # 1/1.8
    chrm = png_chunk(b"cHRM", struct.pack(">8I", 31270, 32900, 64000, 33000, 30000, 60000, 15000, 6000))
    add("png-gamma-chrm", "gamma_chrm.png", write_png(rgb8, 2, 8, chunks=[gama, chrm]), "PNG with gAMA (1/1.8) and cHRM chunks: PIL ignores both")
    add("png-interlaced", "interlaced.png", write_png(rgb8, 2, 8, interlace=True), "Adam7-interlaced RGB PNG")
    add("png-interlaced-gray-2bit", "interlaced_2bit_gray.png", write_png(np.asarray(base.convert("L")) >> 6, 0, 2, interlace=True),
        "Adam7-interlaced 2-bit grayscale PNG")
    rgb16 = np.clip(rgb8.astype(np.int64) * 257 + rng.integers(-200, 200, rgb8.shape), 0, 65535).astype(np.uint16)
    add("png-rgb16", "rgb16.png", write_png(rgb16, 2, 16), "16-bit RGB PNG (PIL keeps the high byte)")
    rgba16 = np.concatenate([rgb16, (np.arange(90, dtype=np.uint16)[None, :, None] * 700).repeat(60, 0)], axis=2)
    add("png-rgba16", "rgba16.png", write_png(rgba16, 6, 16), "16-bit RGBA PNG")
    la16 = np.stack([rgb16[..., 1], rgba16[..., 3]], axis=2)
    add("png-rgb16-iccp", "rgb16_iccp.png", write_png(rgb16, 2, 16, chunks=[png_chunk(b"iCCP", b"Display P3\0\0" + zlib.compress(p3, 9))]),
        "16-bit RGB PNG with an iCCP chunk (Display P3)")
    add("png-la16", "gray_alpha16.png", write_png(la16, 4, 16), "16-bit grayscale + alpha PNG (PIL keeps the high byte, unlike 16-bit gray without alpha)")
    gray16 = ((np.arange(90)[None, :] * 700 + np.arange(60)[:, None] * 37) % 65536).astype(np.uint16)
    add("png-gray16-trns", "gray16_trns.png", write_png(gray16, 0, 16, chunks=[png_chunk(b"tRNS", struct.pack(">H", int(gray16[0, 3])))]),
        "16-bit grayscale PNG with a tRNS colour key: PIL clips at 255 as without one")
    add("tiff-gray16", "gray16.tif", encode(Image.fromarray(gray16), "TIFF"), "16-bit grayscale TIFF (PIL mode I;16: clipped at 255)")
    add("png-gray-trns", "gray_trns.png", write_png(np.asarray(base.convert("L")), 0, 8, chunks=[png_chunk(b"tRNS", struct.pack(">H", 128))]),
        "8-bit grayscale PNG with a tRNS colour key")
    add("png-rgb-trns", "rgb_trns.png", write_png(rgb8, 2, 8, chunks=[png_chunk(b"tRNS", struct.pack(">3H", *rgb8[0, 0]))]),
        "RGB PNG with a tRNS colour key")

    # -- TIFF
    add("tiff-rgb16", "rgb16.tif", write_tiff_rgb16(rgb16), "16-bit RGB TIFF, uncompressed (PIL keeps the high byte)")
    pages = [scene(80, 60, SEED + 8), scene(80, 60, SEED + 9), scene(40, 30, SEED + 10)]
    add("tiff-multipage", "multipage.tif", encode(pages[0], "TIFF", compression="tiff_deflate", save_all=True, append_images=pages[1:]),
        "3-page TIFF (deflate): PIL reads the first page")
    add("tiff-lzw", "lzw.tif", encode(base, "TIFF", compression="tiff_lzw"), "RGB TIFF, LZW compression")
    add("tiff-jpeg", "jpeg_compressed.tif", encode(base, "TIFF", compression="jpeg"), "RGB TIFF with JPEG compression, as scanners write")

    # -- TIFF layouts libvips and PIL read differently
    tw, th = 64, 48
    trgb = np.asarray(scene(tw, th, SEED + 20)).astype(np.int64)
    tgrey = np.asarray(scene(tw, th, SEED + 21).convert("L")).astype(np.int64)
    rgba_tags = {259: (3, [1]), 262: (3, [2]), 277: (3, [4]), 278: (4, [th]), 338: (3, [1])}
    alpha16 = np.clip(rng.integers(-4000, 70000, (th, tw)), 0, 65535)  # 0, under 256 and 65535 included
    alpha16[0, :4] = (0, 255, 256, 65535)
    v16 = np.minimum(trgb * 257 * alpha16[..., None] // 65535 + rng.integers(0, 2, trgb.shape), 65535)
    v16[1, :8] = alpha16[1, :8, None] + np.arange(8)[:, None]  # a few values over their alpha
    add("tiff-rgba16-premultiplied", "rgba16_premultiplied.tif",
        tiff_file(tw, th, {**rgba_tags, 258: (3, [16] * 4)}, [np.concatenate([v16, alpha16[..., None]], axis=2).astype("<u2").tobytes()]),
        "16-bit RGBA TIFF with associated (premultiplied) alpha: PIL divides the high bytes by alpha")
    alpha8 = np.tile(np.linspace(0, 255, tw).astype(np.int64), (th, 1))
    add("tiff-rgba8-premultiplied", "rgba8_premultiplied.tif",
        tiff_file(tw, th, {**rgba_tags, 258: (3, [8] * 4)}, [np.concatenate([trgb * alpha8[..., None] // 255, alpha8[..., None]], axis=2).astype(np.uint8).tobytes()]),
        "8-bit RGBA TIFF with associated (premultiplied) alpha")
    add("tiff-grey8-signed", "grey8_signed.tif", tiff_file(tw, th, grey_tags(8, sample_format=2, height=th), [(tgrey - 128).astype(np.int8).tobytes()]),
        "signed 8-bit grey TIFF: PIL reads the bytes as unsigned")
    add("tiff-grey16-signed", "grey16_signed.tif", tiff_file(tw, th, grey_tags(16, sample_format=2, height=th), [((tgrey - 100) * 3).astype("<i2").tobytes()]),
        "signed 16-bit grey TIFF: PIL clips to 0..255")
    add("tiff-grey32-signed", "grey32_signed.tif", tiff_file(tw, th, grey_tags(32, sample_format=2, height=th), [((tgrey - 100) * 300).astype("<i4").tobytes()]),
        "signed 32-bit grey TIFF: PIL clips to 0..255")
    add("tiff-float-no-photometric", "float_no_photometric.tif",
        tiff_file(tw, th, grey_tags(32, photometric=None, sample_format=3, height=th), [(tgrey * 1.3 - 20).astype("<f4").tobytes()]),
        "32-bit float grey TIFF without PhotometricInterpretation: PIL reads it, libvips refuses it")
    add("tiff-grey8-no-photometric", "grey8_no_photometric.tif", tiff_file(tw, th, grey_tags(8, photometric=None, height=th), [tgrey.astype(np.uint8).tobytes()]),
        "8-bit grey TIFF without PhotometricInterpretation: PIL takes WhiteIsZero and inverts it")
    add("tiff-grey16-no-photometric", "grey16_no_photometric.tif", tiff_file(tw, th, grey_tags(16, photometric=None, height=th), [(tgrey * 3).astype("<u2").tobytes()]),
        "16-bit grey TIFF without PhotometricInterpretation: PIL does not invert 16 bits (clipped at 255)")
    add("tiff-grey16-white-is-zero", "grey16_white_is_zero.tif", tiff_file(tw, th, grey_tags(16, photometric=0, height=th), [(tgrey * 3).astype("<u2").tobytes()]),
        "16-bit grey TIFF tagged WhiteIsZero: PIL does not invert it, libvips does")
    add("tiff-lzma", "lzma.tif", encode(base, "TIFF", compression="tiff_lzma"), "RGB TIFF, LZMA compression")
    planes = [trgb[..., c].astype(np.uint8).tobytes() for c in range(3)]
    rgb_tags = {258: (3, [8] * 3), 259: (3, [1]), 262: (3, [2]), 277: (3, [3])}
    add("tiff-planar-strips", "planar_strips.tif", tiff_file(tw, th, {**rgb_tags, 278: (4, [th]), 284: (3, [2])}, planes),
        "RGB TIFF with separate colour planes (PlanarConfiguration 2), one strip each")
    # what PIL reads and emb refuses with a reason (the test lists them)
    packed = b"".join(int("".join(f"{int(v):012b}" for v in row) + "0" * (-12 * tw % 8), 2).to_bytes(-(-12 * tw // 8), "big") for row in tgrey * 16)
    add("tiff-grey12", "grey12.tif", tiff_file(tw, th, grey_tags(12, height=th), [packed]), "12-bit grey TIFF (PIL mode I;16, clipped at 255)")
    add("tiff-cielab", "cielab.tif", tiff_file(tw, th, {**rgb_tags, 262: (3, [8]), 278: (4, [th])}, [trgb.astype(np.uint8).tobytes()]),
        "CIELab TIFF: PIL converts it to RGB through lcms")
    tiles = []
    for c in range(3):
        for ty in range(0, th, 16):
            for tx in range(0, tw, 16):
                tiles.append(np.ascontiguousarray(trgb[ty : ty + 16, tx : tx + 16, c]).astype(np.uint8).tobytes())
    add("tiff-tiled-planar", "tiled_planar.tif", tiff_file(tw, th, {**rgb_tags, 284: (3, [2]), 322: (4, [16]), 323: (4, [16])}, tiles, tiled=True),
        "tiled RGB TIFF with separate colour planes")
    jfif = encode(Image.fromarray(trgb.astype(np.uint8)), "JPEG", quality=90, subsampling=0)
    ojpeg_tags = {**rgb_tags, 259: (3, [6]), 262: (3, [6]), 278: (4, [th]), 513: (4, [0]), 514: (4, [len(jfif)]), 530: (3, [1, 1])}
    ojpeg = bytearray(tiff_file(tw, th, ojpeg_tags, [jfif]))
    entry = ojpeg.index(struct.pack("<HHI", 513, 4, 1))
    ojpeg[entry + 8 : entry + 12] = struct.pack("<I", ojpeg.index(jfif))  # JPEGInterchangeFormat: the stream in the strip
    add("tiff-old-jpeg", "old_jpeg.tif", bytes(ojpeg), "TIFF with old-style JPEG compression (6), the whole JPEG stream in its strip")
    # what PIL refuses and libvips reads
    add("tiff-rgb-signed", "rgb_signed.tif", tiff_file(tw, th, {**rgb_tags, 278: (4, [th]), 339: (3, [2, 2, 2])}, [trgb.astype(np.uint8).tobytes()]),
        "RGB TIFF with signed samples")
    add("tiff-rgb-no-photometric", "rgb_no_photometric.tif",
        tiff_file(tw, th, {258: (3, [8] * 3), 259: (3, [1]), 277: (3, [3]), 278: (4, [th])}, [trgb.astype(np.uint8).tobytes()]),
        "RGB TIFF without PhotometricInterpretation")

    add("avif-420", "photo_420.avif", encode(photo, "AVIF", quality=75), "AVIF (AV1 still image, 4:2:0), as browsers and phones write", embedding=True)
    add("avif-420-saturated", "saturated_420.avif", encode(vivid(120, 90, SEED + 22), "AVIF", quality=75),
        "AVIF 4:2:0 with saturated primaries beside each other, where chroma upsampling differs most", embedding=True)
    add("avif-444", "photo_444.avif", encode(photo, "AVIF", quality=75, subsampling="4:4:4"), "AVIF, 4:4:4")
    add("avif-exif-orientation", "exif_orientation_6.avif", encode(small, "AVIF", quality=75, subsampling="4:4:4", exif=exif_bytes(6)),
        "AVIF 4:4:4 saved with EXIF orientation 6 (PIL writes irot/imir from it)")

    seq = [scene(64, 48, SEED + 23 + i) for i in range(3)]
    avis = without_times(encode(seq[0], "AVIF", save_all=True, append_images=seq[1:], duration=100, quality=75))
    add("avif-sequence", "sequence.avif", avis, "AVIF image sequence (brand avis), 3 frames, 4:2:0, as libavif writes it (first frame also the still image): PIL reads the first")
    add("avif-sequence-444", "sequence_444.avif", without_times(encode(seq[0], "AVIF", save_all=True, append_images=seq[1:], duration=100, quality=75, subsampling="4:4:4")),
        "AVIF image sequence, 4:4:4")
    ftyp = struct.unpack(">I", avis[:4])[0]
    no_still = avis[:16] + avis[16:ftyp].replace(b"avif", b"mif1") + avis[ftyp:]
    add("avif-sequence-no-still-brand", "sequence_no_still_brand.avif", no_still,
        "AVIF image sequence whose brands do not include avif (no still image promised): PIL reads the first frame")

    rgba_img = base.convert("RGBA")
    rgba_img.putalpha(Image.fromarray(la_a[..., 1]))
    add("webp-alpha-lossy", "alpha_lossy.webp", encode(rgba_img, "WEBP", quality=85), "lossy WebP with an alpha channel")
    add("webp-alpha-lossless", "alpha_lossless.webp", encode(rgba_img, "WEBP", lossless=True, exact=True), "lossless WebP with alpha, colours under transparent pixels kept")

    # -- animation: PIL decodes the first frame
    frames = [scene(64, 48, SEED + 11 + i) for i in range(3)]
    add("webp-animated", "animated.webp", encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=100, quality=90),
        "animated lossy WebP, 3 frames")
    add("gif-animated", "animated.gif", encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100),
        "animated GIF, 3 frames")
    gif_frame = frames[0].convert("P", palette=Image.ADAPTIVE, colors=16)
    add("gif-transparent", "transparent.gif", encode(gif_frame, "GIF", transparency=3),
        "GIF whose palette entry 3 is transparent: PIL keeps that entry's colour")

    inner = encode(scene(48, 36, SEED + 14).convert("P", palette=Image.ADAPTIVE, colors=16), "GIF")
    add("gif-partial-frame", "partial_frame.gif", gif_frame_inside(inner, (64, 48), (8, 6)),
        "GIF whose first frame covers part of the 64x48 screen: PIL fills the rest with palette entry 0")
    inner_t = encode(scene(48, 36, SEED + 15).convert("P", palette=Image.ADAPTIVE, colors=16), "GIF", transparency=5)
    add("gif-partial-frame-transparent", "partial_frame_transparent.gif", gif_frame_inside(inner_t, (64, 48), (8, 6)),
        "GIF whose first frame covers part of the screen, with a transparent index: PIL fills with that entry")

    # a first frame reaching past the logical screen: PIL grows the screen to hold it
    add("gif-frame-past-screen", "frame_past_screen.gif", gif_frame_inside(inner, (40, 30), (8, 6)),
        "GIF whose first frame (48x36 at 8,6) extends past its 40x30 screen: PIL widens the image to 56x42, palette entry 0 around the frame")
    add("gif-frame-past-screen-transparent", "frame_past_screen_transparent.gif", gif_frame_inside(inner_t, (32, 24), (0, 0)),
        "GIF whose first frame (48x36 at 0,0) is larger than its 32x24 screen, with a transparent index")
    add("gif-zero-screen", "zero_screen.gif", gif_frame_inside(inner, (0, 0), (4, 3)),
        "GIF with a 0x0 logical screen, as some encoders write: the first frame (at 4,3) sets the size")

    # -- BMP: sharp has no BMP reader
    bmp = scene(61, 41, SEED + 12)  # odd width: row padding
    add("bmp-24", "rgb24.bmp", encode(bmp, "BMP"), "24-bit BMP, bottom-up")
    bmp_p = bmp.convert("P", palette=Image.ADAPTIVE, colors=200)
    add("bmp-8-palette", "palette8.bmp", encode(bmp_p, "BMP"), "8-bit palette BMP")
    add("bmp-1", "bilevel.bmp", encode(bmp.convert("1"), "BMP"), "1-bit BMP")
    add("bmp-8-gray", "gray8.bmp", encode(bmp.convert("L"), "BMP"), "8-bit grayscale BMP (identity palette)")
    idx16 = np.asarray(bmp.convert("P", palette=Image.ADAPTIVE, colors=16))
    pal16 = np.asarray(bmp.convert("P", palette=Image.ADAPTIVE, colors=16).getpalette()[:48], np.uint8).reshape(16, 3)
    quad16 = b"".join(bytes([b, g, r, 0]) for r, g, b in pal16)
    add("bmp-4-palette", "palette4.bmp", bmp_file(bmp_info(61, 41, 4, colors=16), quad16, bmp_rows(pack_bits(idx16, 4))), "4-bit palette BMP")
    add("bmp-rle4", "rle4.bmp", bmp_file(bmp_info(61, 41, 4, compression=2, colors=16), quad16, rle4(idx16)), "4-bit RLE-compressed BMP")
    idx8 = np.asarray(bmp_p)
    pal8 = np.asarray(bmp_p.getpalette()[: 3 * 200], np.uint8).reshape(-1, 3)
    quad8 = b"".join(bytes([b, g, r, 0]) for r, g, b in pal8)
    add("bmp-rle8", "rle8.bmp", bmp_file(bmp_info(61, 41, 8, compression=1, colors=len(pal8)), quad8, rle8(idx8)), "8-bit RLE-compressed BMP")
    rows24 = [bytes(np.asarray(bmp)[y, :, ::-1].reshape(-1)) for y in range(41)]
    add("bmp-24-top-down", "rgb24_top_down.bmp", bmp_file(bmp_info(61, -41, 24), b"", bmp_rows(rows24, top_down=True)), "24-bit top-down BMP (negative height)")
    # top-down RLE: PIL takes the negative height's row order for RLE as for raw rows
    add("bmp-rle8-top-down", "rle8_top_down.bmp", bmp_file(bmp_info(61, -41, 8, compression=1, colors=len(pal8)), quad8, rle8(idx8[::-1])),
        "8-bit RLE BMP, top-down (negative height)")
    add("bmp-rle4-top-down", "rle4_top_down.bmp", bmp_file(bmp_info(61, -41, 4, compression=2, colors=16), quad16, rle4(idx16[::-1])),
        "4-bit RLE BMP, top-down (negative height)")
    # PIL's raw decoder stops after the last row's pixels: the padding after them may be missing
    add("bmp-24-no-last-padding", "rgb24_no_last_padding.bmp", encode(bmp, "BMP")[:-1],
        "24-bit BMP whose last row lacks its padding byte, as some writers cut it")
    add("bmp-8-no-last-padding", "palette8_no_last_padding.bmp", encode(bmp_p, "BMP")[:-3],
        "8-bit palette BMP whose last row lacks its 3 padding bytes")
    core = struct.pack("<IHHHH", 12, 61, 41, 1, 8)
    add("bmp-os2", "os2_palette8.bmp", bmp_file(core, b"".join(bytes([b, g, r]) for r, g, b in pal8) + b"\0" * 3 * (256 - len(pal8)), bmp_rows([bytes(r) for r in idx8.astype(np.uint8)])),
        "OS/2 1.x BMP (12-byte core header, 3-byte palette entries)")
    a = np.asarray(bmp).astype(np.uint32)
    x555 = ((a[..., 0] >> 3) << 10) | ((a[..., 1] >> 3) << 5) | (a[..., 2] >> 3)
    x555[0, :32] = np.arange(32) * 0x421  # every 5-bit level
    add("bmp-16-555", "rgb555.bmp", bmp_file(bmp_info(61, 41, 16), b"", bmp_rows([r.astype("<u2").tobytes() for r in x555])), "16-bit BMP, 5-5-5 (no bitfields)")
    x565 = ((a[..., 0] >> 3) << 11) | ((a[..., 1] >> 2) << 5) | (a[..., 2] >> 3)
    x565[:2, :32] = np.arange(64).reshape(2, 32) << 5  # every 6-bit green level
    add("bmp-16-565", "rgb565.bmp", bmp_file(bmp_info(61, 41, 16, compression=3, masks=(0xF800, 0x7E0, 0x1F)), b"", bmp_rows([r.astype("<u2").tobytes() for r in x565])),
        "16-bit BMP, 5-6-5 bitfields (40-byte header + masks)")
    bgra = np.concatenate([np.asarray(bmp)[..., ::-1], np.full((41, 61, 1), 7, np.uint8)], axis=2)
    add("bmp-32", "bgrx32.bmp", bmp_file(bmp_info(61, 41, 32), b"", bmp_rows([bytes(r.reshape(-1)) for r in bgra])), "32-bit BMP, BI_RGB (fourth byte ignored)")
    bgra[..., 3] = np.linspace(0, 255, 61, dtype=np.uint8)[None, :]
    add("bmp-32-v5-alpha", "bgra32_v5.bmp", bmp_file(bmp_info(61, 41, 32, compression=3, size=124, masks=(0xFF0000, 0xFF00, 0xFF, 0xFF000000)), b"", bmp_rows([bytes(r.reshape(-1)) for r in bgra])),
        "32-bit BMP, V5 header, BGRA bitfields with alpha: alpha dropped")
    short = np.asarray(bmp.convert("L")) // 12  # indices 0-21 with a 16-entry palette
    add("bmp-8-short-palette", "short_palette8.bmp", bmp_file(bmp_info(61, 41, 8, colors=16), quad16, bmp_rows([bytes(r) for r in short.astype(np.uint8)])),
        "8-bit BMP with a 16-entry palette and indices past it: PIL gives those pixels black")
    add("bmp-2", "two_bit.bmp", bmp_file(bmp_info(61, 41, 2, colors=4), quad16[:16], bmp_rows(pack_bits(idx16 & 3, 2))), "2-bit BMP (Windows CE)")

    # -- formats sharp reads and PIL does not: emb must refuse them too
    add("svg", "drawing.svg", b'<svg xmlns="http://www.w3.org/2000/svg" width="64" height="48"><rect width="64" height="48" fill="#c03"/></svg>\n',
        "SVG: sharp renders it, PIL cannot open it")

    # -- damaged PNGs: libpng reads these, PIL refuses them, so emb must refuse them
    bases = damage_bases()
    plain, text, apng = bases["plain"], bases["text"], bases["apng"]
    iend_at = plain.rindex(b"IEND") - 4
    ihdr_end = 8 + 25
    add("png-iend-cut", "iend_cut.png", plain[: iend_at + 6], "PNG ending inside its IEND chunk: PIL reads it")
    add("png-text-after-data-cut", "text_after_data_cut.png", text[: text.rindex(b"tEXt") + 10],
        "PNG whose tEXt chunk after the image data is cut short (the file ends inside it)")
    rows_idat = plain[ihdr_end:iend_at]
    rows = rows_idat[8:-4]
    add("png-last-idat-cut", "last_idat_cut.png", plain[:ihdr_end] + png_chunk(b"IDAT", rows[:-4]) + png_chunk(b"IDAT", rows[-4:])[:10],
        "PNG whose image data ends in an IDAT chunk holding only the zlib checksum, cut short: PIL has every row before it and reads that chunk strictly")
    add("png-iccp-no-method", "iccp_no_method.png", plain[:ihdr_end] + png_chunk(b"iCCP", b"ICC profile\0") + plain[ihdr_end:],
        "PNG whose iCCP chunk ends after the profile name, without its compression method")
    bad_crc = bytearray(text)
    bad_crc[text.index(b"tEXt") + 4 + len(b"Comment\0hello") + 3] ^= 0xFF
    add("png-bad-checksum-before-data", "bad_checksum_before_data.png", bytes(bad_crc),
        "PNG with a bad checksum on a tEXt chunk before the image data")
    fctl0 = apng.index(b"fcTL") - 4
    add("apng-sequence-error", "apng_sequence_error.png", apng[:fctl0] + apng_control(1, 20, 12) + apng[fctl0 + 38 :],
        "APNG whose first fcTL has sequence number 1, not 0")
    idat_at = apng.index(b"IDAT") - 4
    fdat_at = apng.index(b"fdAT") - 4
    fdat = apng[fdat_at : apng.index(b"tEXt") - 4]
    add("apng-fdat-before-idat", "apng_fdat_before_idat.png", apng[:fctl0] + fdat + apng[idat_at:fdat_at - 38] + apng[fdat_at + len(fdat) :],
        "APNG with frame data (fdAT) before the image data and before any fcTL")
    add("apng-frame-outside", "apng_frame_outside.png", apng[:fctl0] + apng_control(0, 24, 12) + apng[fctl0 + 38 :],
        "APNG whose first frame is wider than the image")
    add("png-apng", "animated.png", apng, "animated PNG (APNG), 2 frames, the first in IDAT: PIL reads the first")

    # every cut and many one-byte changes of small PNGs, with whether PIL reads each
    corpus: dict = {"note": "cases as damage_cases() in tools/reference/make_photos.py enumerates them; 1: PIL reads it", "bases": {}, "cut": {}, "set": {}}
    for name, base in bases.items():
        cuts, sets = damage_cases(base)
        corpus["bases"][name] = base.hex()
        corpus["cut"][name] = "".join("1" if pil_reads(c) else "0" for c in cuts)
        corpus["set"][name] = "".join("1" if pil_reads(c) else "0" for c in sets)
    write_json(GOLDENS_DIR / "png_damage.json", corpus)

    # every 8-bit (value, alpha) pair through PIL's premultiplied-alpha division; the test writes the same TIFF
    table = premultiplied_table()
    tiff = tiff_file(256, table.shape[0], {258: (3, [8] * 4), 259: (3, [1]), 262: (3, [2]), 277: (3, [4]), 278: (4, [table.shape[0]]), 338: (3, [1])}, [table.tobytes()])
    Image.fromarray(np.asarray(Image.open(io.BytesIO(tiff)).convert("RGB"))).save(GOLDENS_DIR / "premultiplied_table.tif.png", "PNG")

    # every (C, K) pair through PIL's CMYK -> RGB; the test writes the same uncompressed TIFF
    table = Image.open(io.BytesIO(encode(Image.fromarray(cmyk_table(), "CMYK"), "TIFF"))).convert("RGB")
    Image.fromarray(np.asarray(table)).save(GOLDENS_DIR / "cmyk_table.tif.png", "PNG")

    total = sum(e["bytes"] for e in entries)
    write_json(GOLDENS_DIR / "manifest.json", {
        "seed": SEED,
        "reference": "PIL Image.open, ImageOps.exif_transpose, convert('RGB'); pixels/<file>.png losslessly; "
                     f"resized: PIL bicubic to {RESIZED}x{RESIZED} (reducing_gap None), as SiglipImageProcessor",
        "photos": entries,
        "cmyk_table": {"pixels": "cmyk_table.tif.png", "note": "PIL's RGB for a 256x256 CMYK TIFF with C = x, M = 255 - x, Y = (x + y) % 256, K = y"},
        "premultiplied_table": {"pixels": "premultiplied_table.tif.png", "note": "PIL's RGB for premultiplied_table(): RGBA TIFF, associated alpha, every 8-bit value <= alpha"},
    })
    print(f"wrote {len(entries)} photos ({total} bytes) to {PHOTOS_DIR}")


if __name__ == "__main__":
    main()
