"""Resume codes: what a participant keeps to come back, and how it is typed.

A code is 12 characters from an alphabet without look-alikes (no 0/o, 1/l/i),
so it survives being read aloud or copied by hand; it is drawn from the
system's CSPRNG and never leaves the database except on the participant's page.
"""

from __future__ import annotations

import random
import re
import secrets

CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
CODE_LENGTH = 12


def new_code(rng: random.Random | None = None) -> str:
    """A fresh random resume code."""
    pick = (rng or secrets.SystemRandom()).choice
    return "".join(pick(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def format_code(code: str) -> str:
    """abcdefghjkmn -> abcd-efgh-jkmn, easier to copy by hand."""
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def parse_code(text: object) -> str | None:
    """A resume code typed or taken from a URL, normalised; None if it cannot be one."""
    if not isinstance(text, str):
        return None
    code = re.sub(r"[\s-]", "", text).lower()
    return code if len(code) == CODE_LENGTH and all(c in CODE_ALPHABET for c in code) else None
