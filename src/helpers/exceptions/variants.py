"""Load and validate the prompt variants (variants.toml).

A variant turns a scenario prompt into a conversation: a list of user turns, the
first of which contains `{prompt}` (the scenario text at a level). A variant
with one turn is one question; with several, each turn is asked after the
model's answer to the previous one and the decision is read from the last
answer. Validation is as strict as for scenarios.toml: unknown keys, wrong
types, duplicate names and stray placeholders are one-line errors naming the
file, the variant and the field.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from helpers import paths
from helpers.config import check_entry, read_text, table_entries
from helpers.errors import ConfigError, UserError

REQUIRED = {"name": str, "turns": list}
OPTIONAL = {"description": str}
PLACEHOLDER = "prompt"


@dataclass(frozen=True)
class Variant:
    name: str
    turns: tuple[str, ...]
    description: str = ""

    @property
    def chain(self) -> bool:
        """True when the model answers several turns before its decision."""
        return len(self.turns) > 1

    def messages(self, prompt: str, answers: Sequence[str] = ()) -> list[dict[str, str]]:
        """The conversation at turn len(answers) + 1: every user turn so far with the
        model's answers in between, ending with the next user turn."""
        if len(answers) >= len(self.turns):
            raise ValueError(f"variant '{self.name}' has {len(self.turns)} turn(s); "
                             f"got {len(answers)} answers")
        messages: list[dict[str, str]] = []
        for i, turn in enumerate(self.turns[:len(answers) + 1]):
            # format() fills {prompt} once; braces inside the scenario text stay as they are.
            messages.append({"role": "user", "content": turn.format(prompt=prompt)})
            if i < len(answers):
                messages.append({"role": "assistant", "content": answers[i]})
        return messages


def default_variants_file() -> Path:
    """variants.toml next to scenarios.toml in the workspace root."""
    return paths.default_variants()


def _check_turn(where: str, number: int, turn: object) -> str:
    if not isinstance(turn, str) or not turn.strip():
        raise ConfigError(f"{where}: `turns` entry {number} must be a non-empty string, got {turn!r}")
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(turn) if f is not None]
    except ValueError as exc:
        raise ConfigError(f"{where}: `turns` entry {number} has unbalanced braces ({exc}); "
                          "write {{ and }} for literal braces") from None
    others = sorted({f for f in fields if f != PLACEHOLDER})
    if others:
        raise ConfigError(f"{where}: `turns` entry {number} has unknown placeholder {{{others[0]}}}; "
                          "only {prompt} (the scenario text) is filled in")
    if number == 1 and PLACEHOLDER not in fields:
        raise ConfigError(f"{where}: `turns` entry 1 must contain {{prompt}} where the scenario goes")
    return turn.strip()


def _parse_one(source: str, index: int, raw: object) -> Variant:
    where = check_entry(source, index, raw, table="variants", noun="variant", id_key="name",
                        required=REQUIRED, optional=OPTIONAL)
    if not raw["turns"]:
        raise ConfigError(f"{where}: `turns` must have at least 1 entry, got 0")
    turns = tuple(_check_turn(where, i, t) for i, t in enumerate(raw["turns"], start=1))
    return Variant(name=raw["name"], turns=turns, description=" ".join(raw.get("description", "").split()))


def parse_variants(text: str, source: str = "variants.toml") -> dict[str, Variant]:
    """Parse and validate variants TOML text; `source` names it in errors."""
    raw_list = table_entries(text, source, "variants")
    found: dict[str, Variant] = {}
    for index, raw in enumerate(raw_list, start=1):
        variant = _parse_one(source, index, raw)
        if variant.name in found:
            raise ConfigError(f"{source}: variant '{variant.name}': `name` is used twice; names must be unique")
        found[variant.name] = variant
    return found


@lru_cache(maxsize=16)
def _load(path: str, mtime_ns: int, size: int) -> dict[str, Variant]:
    # Keyed on the file's stamp, so an edited file is read again.
    return parse_variants(read_text(Path(path), "--variants"), source=path)


def load_variants(path: str | Path | None = None) -> dict[str, Variant]:
    """Every variant in a TOML file (default: the workspace's variants.toml), by name."""
    path = Path(path) if path is not None else default_variants_file()
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found; pass --variants with an existing file") from None
    return dict(_load(str(path), stat.st_mtime_ns, stat.st_size))


def get_variant(name: str, path: str | Path | None = None) -> Variant:
    """One variant by name; an unknown name is a UserError listing the known ones."""
    known = load_variants(path)
    if name not in known:
        raise UserError(f"unknown variant '{name}'; known variants are {', '.join(known)} "
                        f"(add your own to {path or default_variants_file()})")
    return known[name]


def check_variant(name: str, path: str | Path | None = None) -> str:
    get_variant(name, path)
    return name
