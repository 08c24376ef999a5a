"""marimo's custom elements as static HTML.

In the live notebook marimo's frontend draws each <marimo-...> element from its
data-* attributes; a static page has no frontend, so each becomes plain HTML here:
a callout a styled box, a table a <table> (tables.py), an input widget the value it
had when the report ran ("label: value"), and controls that only act in a running
notebook (buttons, progress bars, file pickers) are dropped.
"""

from __future__ import annotations

import json
import re
from html import escape
from typing import Any

from bs4 import BeautifulSoup, Tag

from helpers.reports import attributes, images, tables

CALLOUT_KINDS = {"neutral", "warn", "success", "info", "danger"}
INPUTS = {"marimo-text", "marimo-text-area", "marimo-number", "marimo-slider", "marimo-range-slider",
          "marimo-checkbox", "marimo-switch", "marimo-radio", "marimo-dropdown", "marimo-multiselect",
          "marimo-date", "marimo-datetime", "marimo-date-range", "marimo-code-editor"}
# Containers whose children are rendered inside them already: keep the children.
WRAPPERS = {"marimo-ui-element", "marimo-dict", "marimo-array", "marimo-form", "marimo-lazy",
            "marimo-tabs", "marimo-accordion", "marimo-carousel", "marimo-routes", "marimo-panel"}
# Controls that act only in a running notebook: nothing to show in a report.
CONTROLS = {"marimo-button", "marimo-progress", "marimo-file", "marimo-file-browser", "marimo-chatbot",
            "marimo-microphone", "marimo-refresh"}
# marimo's JSON viewer marks values it should draw rather than quote: "text/html:<b>..."
MIME_PREFIX = re.compile(r"^(text/(html|markdown|plain)|image/[\w.+-]+|application/json):")
LONG_VALUE = 300
# When a bundle offers several, the first of these is shown (a figure over its text).
PREFERRED = (*images.IMAGES, "text/html", "text/markdown", "application/json", "text/latex", "text/csv", "text/plain")
MIMEBUNDLE = "application/vnd.marimo+mimebundle"


def bundle(data: dict[str, Any]) -> BeautifulSoup:
    """A MIME bundle ({"text/html": ...}, {"image/png": ...}, or marimo's bundle of
    several) drawn as HTML, marimo's elements converted."""
    sizes = data.get("__metadata__") if isinstance(data.get("__metadata__"), dict) else {}
    for mime in PREFERRED:
        if mime in data:
            return _one(mime, data[mime], sizes.get(mime))
    if MIMEBUNDLE in data:
        inner = data[MIMEBUNDLE]
        if isinstance(inner, str):
            try:
                inner = json.loads(inner)
            except json.JSONDecodeError:
                inner = {}
        return bundle(inner) if isinstance(inner, dict) else _parsed("")
    kinds = ", ".join(sorted(k for k in data if not k.startswith("__")))
    return _parsed(f'<p class="note">[output of type {escape(kinds)}: see the interactive version]</p>' if kinds else "")


def _one(mime: str, value: Any, size: Any) -> BeautifulSoup:
    if mime in images.IMAGES:
        return _parsed(images.tag(mime, value, size))
    if mime in {"text/html", "text/markdown"}:  # marimo has rendered markdown to HTML already
        soup = _parsed(str(value))
        convert(soup)
        return soup
    if mime == "application/json":
        text = value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)
        return _parsed(f"<pre>{escape(text)}</pre>")
    text = str(value)
    return _parsed(f'<pre class="text">{escape(text)}</pre>' if text.strip() else "")  # characters of a text widget's value shown in the settings line


def convert(root: Tag) -> None:
    """Replace every marimo element under root, in place."""
    for tag in root.find_all(lambda t: t.name.startswith("marimo-")):
        if tag.decomposed or tag.parent is None:
            continue
        name = tag.name
        if name == "marimo-callout-output":
            tag.replace_with(_callout(tag))
        elif name == "marimo-table":
            tag.replace_with(_parsed(tables.render(tag)))
        elif name in INPUTS:
            tag.replace_with(_setting(tag))
        elif name in WRAPPERS:
            label = attributes.plain(attributes.value(tag, "label"))
            if label and name != "marimo-ui-element":
                tag.insert_before(_parsed(f'<p class="group-label">{escape(label)}</p>'))
            tag.unwrap()
        elif name in CONTROLS:
            tag.decompose()
        elif name == "marimo-download":
            label = attributes.plain(attributes.value(tag, "label")) or "a download"
            tag.replace_with(_parsed(f'<p class="note">[{escape(label)}: a download, available in the '
                                     f"interactive version]</p>"))
        elif name == "marimo-json-output":
            tag.replace_with(_json_output(tag))
        elif name == "marimo-mime-renderer":  # an output inside a layout, e.g. a figure in mo.vstack
            mime = attributes.value(tag, "mime")
            tag.replace_with(bundle({str(mime): attributes.value(tag, "data")}))
        elif name == "marimo-stat":
            tag.replace_with(_stat(tag))
        else:
            _unknown(tag)
    _collapse_settings(root)


def _parsed(markup: str) -> BeautifulSoup:
    return BeautifulSoup(markup, "html.parser")


def _callout(tag: Tag) -> Tag:
    kind = attributes.value(tag, "kind", "neutral")
    kind = kind if kind in CALLOUT_KINDS else "neutral"
    body = _parsed(str(attributes.value(tag, "html", "") or ""))
    convert(body)  # a callout may hold other elements
    box = _parsed(f'<div class="callout callout-{kind}" data-kind="{kind}"></div>').div
    box.extend(list(body.contents))
    return box


def _setting(tag: Tag) -> Tag:
    label = attributes.plain(attributes.value(tag, "label"))
    shown = _widget_value(tag.name, attributes.value(tag, "initial-value"))
    if len(shown) > LONG_VALUE:
        shown = shown[:LONG_VALUE] + "…"
    label_html = f'<span class="label">{escape(label)}</span>: ' if label else ""
    return _parsed(f'<span class="setting">{label_html}<span class="value">{escape(shown)}</span></span>').span


def _widget_value(name: str, value: Any) -> str:
    if name in {"marimo-checkbox", "marimo-switch"}:
        return "yes" if value is True else "no"
    if name == "marimo-range-slider" and isinstance(value, list) and len(value) == 2:
        return f"{value[0]} to {value[1]}"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) if value else "none"
    if value is None or value == "":
        return "(empty)"
    return str(value)


def _json_output(tag: Tag) -> Tag | BeautifulSoup:
    """JSON shown as a tree. mo.ui.dictionary and mo.ui.array draw their elements this
    way, each as a "text/html:<element>" string: those are shown as the elements."""
    data = attributes.value(tag, "json-data")
    items = list(data.items()) if isinstance(data, dict) else list(enumerate(data)) if isinstance(data, list) else []
    if not items or not all(isinstance(v, str) and MIME_PREFIX.match(v) for _, v in items):
        return _parsed(f"<pre>{escape(json.dumps(data, indent=2, ensure_ascii=False))}</pre>")
    box = _parsed('<div class="mapping"></div>').div
    for key, text in items:
        piece = _mime_string(text)
        setting = piece.find("span", class_="setting")
        if setting is not None and setting.find("span", class_="label") is not None:
            box.append(piece)  # a widget under its own label
        else:
            line = _parsed(f'<div><span class="label">{escape(str(key))}</span>: </div>').div
            line.append(piece)
            box.append(line)
    return box


def _mime_string(text: str) -> BeautifulSoup:
    mime, _, payload = text.partition(":")
    if mime in {"text/html", "text/markdown"}:
        body = _parsed(payload)
        convert(body)
        return body
    if mime.startswith("image/"):
        return _parsed(images.tag(mime, payload))
    return _parsed(f"<span>{escape(payload)}</span>")


def _stat(tag: Tag) -> Tag:
    label = attributes.plain(attributes.value(tag, "label"))
    value = attributes.value(tag, "value", "")
    caption = attributes.plain(attributes.value(tag, "caption"))
    parts = [f'<span class="label">{escape(label)}</span>' if label else "",
             f"<strong>{escape(str(value))}</strong>",
             f'<span class="note">{escape(caption)}</span>' if caption else ""]
    return _parsed(f'<div class="stat">{" ".join(p for p in parts if p)}</div>').div


def _unknown(tag: Tag) -> None:
    """An element a static page cannot draw (a chart widget, a custom widget): say so,
    and keep whatever fallback content it holds."""
    what = tag.name.removeprefix("marimo-").replace("-", " ")
    tag.insert_before(_parsed(f'<p class="note">[interactive element ({escape(what)}): '
                              f"see the interactive version]</p>"))
    tag.unwrap()


def _collapse_settings(root: Tag) -> None:
    """A block holding nothing but widgets (a notebook's form of parameters) becomes one
    line, `label: value · label: value`, instead of a stack of boxes."""
    for block in root.find_all(["div", "span", "p"]):
        if block.decomposed or block.parent is None or "setting" in (block.get("class") or []):
            continue
        settings = block.find_all("span", class_="setting")
        if not settings or block.find(["img", "table", "pre", "svg"]):
            continue
        if _squeezed(block.get_text()) != _squeezed("".join(s.get_text() for s in settings)):
            continue  # the block has prose or other content besides the widgets
        line = _parsed('<p class="settings"></p>').p
        for i, setting in enumerate(settings):
            if i:
                line.append(" · ")
            line.append(setting.extract())
        block.replace_with(line)
    # Widgets beside other content (a form under a heading): each run of them one line.
    for setting in root.find_all("span", class_="setting"):
        if setting.find_parent("p", class_="settings") is not None:
            continue
        before = setting.find_previous_sibling()
        between = setting.previous_sibling
        joined = (before is not None and before.name == "p" and "settings" in (before.get("class") or [])
                  and (between is before or (isinstance(between, str) and not between.strip())))
        if joined:
            before.append(" · ")
            before.append(setting.extract())
        else:
            line = _parsed('<p class="settings"></p>').p
            setting.replace_with(line)
            line.append(setting)


def _squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)
