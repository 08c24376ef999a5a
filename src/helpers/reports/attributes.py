"""marimo's custom elements carry their arguments as data-* attributes, each an
HTML-escaped JSON value (the parser has already undone the HTML escaping)."""

from __future__ import annotations

import json
import re
from typing import Any

from bs4 import BeautifulSoup, Tag


def value(tag: Tag, name: str, default: Any = None) -> Any:
    raw = tag.get(f"data-{name}")
    if raw is None:
        return default
    text = " ".join(raw) if isinstance(raw, list) else str(raw)
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text  # an older marimo, or a hand-written element: the text as it is


def plain(markup: Any) -> str:
    """The text of an HTML snippet such as a widget's label (marimo renders labels as
    markdown); tags are dropped, never rendered."""
    if markup is None:
        return ""
    text = BeautifulSoup(str(markup), "html.parser").get_text(" ")
    return re.sub(r"\s+", " ", text).strip()
