"""Make HTML the notebooks produced inert and self-contained.

A report must open from file:// with the network off, show the same thing tomorrow,
and be safe to mail: so nothing in it may run (scripts, event handlers, javascript:
links) or fetch (remote images, stylesheets, fonts, frames). Images that are data:
URIs stay; an <a href> stays, because following a link is the reader's choice, not
a fetch when the page opens.
"""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, Tag

# Elements whose whole purpose is to run code, embed another document or fetch.
DROPPED = {"script", "noscript", "iframe", "frame", "frameset", "object", "embed", "applet",
           "link", "meta", "base", "template", "portal",
           "animate", "set"}  # SVG animation can rewrite a link's href into javascript:
# Attributes that make the browser fetch (or navigate to) what they name.
FETCHING = {"src", "srcset", "poster", "data", "action", "formaction", "background", "ping",
            "href", "xlink:href", "srcdoc", "manifest", "codebase", "lowsrc", "dynsrc", "imagesrcset"}
SAFE_LINK = re.compile(r"^\s*(https?:|mailto:|#|[^:/?#]*(?:[/?#]|$))", re.IGNORECASE)
# An image embedded in the page itself (never data:text/html, which could be a document).
EMBEDDED_IMAGE = re.compile(r"^\s*data:image/(png|jpeg|gif|webp|svg\+xml)[;,]", re.IGNORECASE)
# CSS that fetches or runs: url(...), @import, old IE expression(); checked after
# dropping escapes, comments and spaces, which could otherwise hide them.
ACTIVE_CSS = re.compile(r"url\(|@import|expression\(|image-set\(|behavior:|-moz-binding", re.IGNORECASE)


def fragment(markup: str) -> BeautifulSoup:
    """Parse an HTML fragment and make it inert."""
    soup = BeautifulSoup(markup, "html.parser")
    clean(soup)
    return soup


def clean(root: Tag) -> None:
    """Drop everything active or fetching under root, in place."""
    for tag in root.find_all(True):
        if tag.decomposed:
            continue
        if tag.name in DROPPED:
            tag.decompose()
        elif tag.name == "style":
            if _active_css(tag.get_text()):
                tag.decompose()
        else:
            _clean_attributes(tag)


def _clean_attributes(tag: Tag) -> None:
    for name in list(tag.attrs):
        value = tag.attrs[name]
        text = " ".join(value) if isinstance(value, list) else str(value)
        key = name.lower()
        if key.startswith("on"):
            del tag.attrs[name]  # event handlers run script
        elif key == "style" and _active_css(text):
            del tag.attrs[name]
        elif key in FETCHING:
            if not _allowed(tag.name, key, text):
                del tag.attrs[name]
                if tag.name == "img" and key == "src":
                    note = BeautifulSoup("", "html.parser").new_tag("span", attrs={"class": "note"})
                    remote = re.match(r"\s*https?://", text)  # say which, unless it is a blob of data
                    note.string = (f"[image not embedded in this report: {text.strip()[:200]}]" if remote
                                   else "[image not embedded in this report]")
                    tag.replace_with(note)
                    return
        elif key == "http-equiv" or key == "is":
            del tag.attrs[name]


def _allowed(element: str, attribute: str, value: str) -> bool:
    if attribute == "href" and element == "a":
        return bool(SAFE_LINK.match(value)) and not value.strip().lower().startswith("javascript")
    if attribute == "href" or attribute == "xlink:href":  # SVG <use>/<image>: in-page references only
        return value.strip().startswith("#") or bool(EMBEDDED_IMAGE.match(value))
    if attribute == "src" and element in {"img", "source"}:
        return bool(EMBEDDED_IMAGE.match(value))
    return False


def _active_css(css: str) -> bool:
    plain = re.sub(r"/\*.*?\*/|\\|\s", "", css, flags=re.DOTALL)
    return bool(ACTIVE_CSS.search(plain))
