"""Images as <img> tags with data: URIs: the page carries its figures inside itself."""

from __future__ import annotations

import base64
import re
from html import escape
from typing import Any

FIGURE_CLASS = "figure"  # index.py finds a report's figures by it
IMAGES = ("image/png", "image/svg+xml", "image/jpeg", "image/gif", "image/webp")


def tag(mime: str, value: Any, size: Any = None) -> str:
    """An <img>; at the size marimo shows it when the bundle says (matplotlib draws
    at twice that for sharp screens), else the image's own, never wider than the page."""
    uri = data_uri(mime, value)
    if not uri:
        return ""
    dims = ""
    if isinstance(size, dict) and all(isinstance(size.get(k), (int, float)) and size[k] > 0 for k in ("width", "height")):
        dims = f' width="{round(size["width"])}" height="{round(size["height"])}"'
    return f'<img class="{FIGURE_CLASS}" alt="figure" src="{escape(uri)}"{dims}>'


def data_uri(mime: str, value: Any) -> str | None:
    """A data: URI for the image, whether marimo stored one already or the bare payload."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.startswith("data:"):
        return text if re.match(r"data:image/[\w.+-]+[;,]", text) else None
    if mime == "image/svg+xml":  # the SVG markup itself; inside <img> it can neither run nor fetch
        return "data:image/svg+xml;base64," + base64.b64encode(text.encode("utf-8")).decode("ascii")
    return f"data:{mime};base64,{text}"
