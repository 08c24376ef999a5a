"""The participant's device class, from the browser's User-Agent header.

Only the class (desktop, mobile, tablet, unknown) is stored, never the header:
the full string, with its browser and system versions, would help identify a
person. The rules are the usual substring tests; they cannot tell an iPad that
presents itself as a Mac (iPadOS's default) from a Mac, so that iPad counts as
a desktop. The class is a data-quality covariate, not a fact to rely on.
"""

from __future__ import annotations

import re

DEVICES = ("desktop", "mobile", "tablet", "unknown")

_TABLET = re.compile(r"iPad|Tablet|Kindle|Silk|PlayBook|Android(?!.*Mobile)", re.IGNORECASE)
_MOBILE = re.compile(r"Mobi|iPhone|iPod|Android|Windows Phone|BlackBerry|Opera Mini", re.IGNORECASE)
_DESKTOP = re.compile(r"Windows NT|Macintosh|X11|Linux|CrOS", re.IGNORECASE)


def device_class(user_agent: str | None) -> str:
    """desktop, mobile, tablet or unknown (no header, a bot, a script)."""
    if not user_agent:
        return "unknown"
    if _TABLET.search(user_agent):
        return "tablet"
    if _MOBILE.search(user_agent):
        return "mobile"
    if _DESKTOP.search(user_agent):
        return "desktop"
    return "unknown"
