"""Draw the app icons (a white house with a heart on 邻里 red) as PNGs, with no imaging library.

python3 scripts/icons.py → public/icon-192.png, icon-512.png, icon-maskable-512.png, apple-touch-icon.png
"""
import struct
import zlib
from pathlib import Path

RED, WHITE = (179, 38, 30), (255, 255, 255)


def inside_house(x: float, y: float) -> bool:
    """Unit square coordinates (0..1) of a house: roof triangle over a body, a heart cut out."""
    roof = 0.18 <= y <= 0.46 and abs(x - 0.5) <= (y - 0.18) / 0.28 * 0.36
    body = 0.44 <= y <= 0.82 and 0.24 <= x <= 0.76
    if not (roof or body):
        return False
    hx, hy = (x - 0.5) / 0.13, (0.62 - y) / 0.13  # heart curve (x²+y²-1)³ - x²y³ ≤ 0
    return (hx * hx + hy * hy - 1) ** 3 - hx * hx * hy ** 3 > 0


def icon(size: int, *, maskable: bool) -> bytes:
    radius = 0 if maskable else size * 0.18
    scale = 0.72 if maskable else 0.92  # maskable icons keep the drawing in the inner safe zone
    rows = []
    for py in range(size):
        row = bytearray([0])
        for px in range(size):
            cx, cy = min(px, size - 1 - px), min(py, size - 1 - py)
            outside = radius and cx < radius and cy < radius and (radius - cx) ** 2 + (radius - cy) ** 2 > radius ** 2
            if outside:
                row += bytes((0, 0, 0, 0))
                continue
            u = (px / size - 0.5) / scale + 0.5
            v = (py / size - 0.5) / scale + 0.5
            row += bytes((*(WHITE if inside_house(u, v) else RED), 255))
        rows.append(bytes(row))
    raw = zlib.compress(b"".join(rows), 9)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


if __name__ == "__main__":
    out = Path(__file__).resolve().parent.parent / "public"
    (out / "icon-192.png").write_bytes(icon(192, maskable=False))
    (out / "icon-512.png").write_bytes(icon(512, maskable=False))
    (out / "icon-maskable-512.png").write_bytes(icon(512, maskable=True))
    (out / "apple-touch-icon.png").write_bytes(icon(180, maskable=True))
