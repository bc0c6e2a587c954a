"""Model-card plots for tests: real PNG files written without a plotting library."""

from __future__ import annotations

import shutil
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

Colour = tuple[int, int, int]


def png(width: int, height: int, colour: Callable[[int, int], Colour]) -> bytes:
    rows = b"".join(b"\x00" + b"".join(bytes(colour(x, y)) for x in range(width)) for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def scatter_png(width: int = 360, height: int = 240) -> bytes:
    """Axes and points along the diagonal: a stand-in for a predicted-against-actual plot."""
    centres = [(40 + i * 3, height - 30 - i * 2 + (i * 37 % 11) - 5) for i in range(95)]
    dots = {(cx + dx, cy + dy) for cx, cy in centres for dx in range(-2, 3) for dy in range(-2, 3)}

    def colour(x: int, y: int) -> Colour:
        if x == 30 or y == height - 20:
            return (60, 60, 60)
        return (29, 100, 200) if (x, y) in dots else (255, 255, 255)

    return png(width, height, colour)


def bars_png(width: int = 360, height: int = 240) -> bytes:
    def colour(x: int, y: int) -> Colour:
        bar = x // 45
        top = height - 30 - (7 - bar) * 25
        if x % 45 > 8 and y > top and y < height - 20:
            return (194, 65, 12)
        if y == height - 20:
            return (60, 60, 60)
        return (255, 255, 255)

    return png(width, height, colour)


CARD = """# Model card

![Predicted against actual risk scores on the hold-out set](calibration.png)

![Mean absolute SHAP value of each input](feature_importance.png)
"""


def carded_bundle(source: Path, directory: Path) -> Path:
    """A copy of a bundle with a model card, two plots, and files the plot route must not serve."""
    shutil.copytree(source, directory)
    (directory / "calibration.png").write_bytes(scatter_png())
    (directory / "feature_importance.png").write_bytes(bars_png())
    (directory / "residuals_by_band.png").write_bytes(bars_png())  # not in the card: captioned from its name
    (directory / "bad name.png").write_bytes(bars_png(8, 8))
    (directory / "link.png").symlink_to(directory / "manifest.json")
    (directory / "model_card.md").write_text(CARD)
    return directory
