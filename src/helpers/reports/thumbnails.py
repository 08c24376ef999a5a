"""A report's main figure, small enough for the front page, as a data: URI."""

from __future__ import annotations

import base64
import binascii
import io

from PIL import Image, UnidentifiedImageError

WIDTH = 320
COLOURS = 256  # a palette PNG: plots have few colours, and it is a third of the size of RGB


def thumbnail(data_uri: str, width: int = WIDTH) -> str | None:
    """A PNG `width` pixels wide (never enlarged), or None when the image cannot be read
    (an SVG figure, say: Pillow draws no vectors; the front page then shows no thumbnail)."""
    header, _, payload = data_uri.partition(",")
    if not header.startswith("data:image/") or ";base64" not in header or "svg" in header:
        return None
    try:
        with Image.open(io.BytesIO(base64.b64decode(payload))) as image:
            image.load()
            picture = _on_white(image)
    except (binascii.Error, ValueError, OSError, UnidentifiedImageError, Image.DecompressionBombError):
        return None
    if picture.width > width:
        # reducing_gap: shrink by whole factors first, then resample; as sharp, several times faster.
        picture = picture.resize((width, max(1, round(picture.height * width / picture.width))),
                                 Image.Resampling.LANCZOS, reducing_gap=3.0)
    out = io.BytesIO()
    picture.quantize(COLOURS).save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def _on_white(image: Image.Image) -> Image.Image:
    """RGB, with any transparency laid on white (the page's background)."""
    rgba = image.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, rgba).convert("RGB")
