"""Load and validate the experiment's stimuli (scenarios.toml).

A scenario is a prompt template with one `{value}` slot and an ordered list of
levels that fill it: level 1 is the most severe exception, the last level the
least severe. An optional `control` fills the same slot with a value that breaks
no rule at all; runs measure it as level 0, so a model's refusal of a request it
should simply grant can be told from its refusal of exceptions. Validation is strict because a typo in a key would otherwise
silently change an experiment; every error names the file, the scenario and the
field, says what was expected and what was found, and fits on one line.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path

from helpers import paths
from helpers.config import check_entry, read_text, table_entries
from helpers.errors import ConfigError

REQUIRED = {"id": str, "title": str, "prompt": str, "levels": list}
OPTIONAL = {"provenance": str, "control": str}
CONTROL = 0  # the level number of the control value


@dataclass(frozen=True)
class Scenario:
    id: str
    title: str
    prompt: str
    levels: tuple[str, ...]
    provenance: str = ""
    control: str | None = None  # the same situation with no violation: level 0

    def value(self, level: int) -> str:
        """What fills {value} at a level: 1..k the exceptions, 0 the control."""
        if level == CONTROL and self.control is not None:
            return self.control
        if not 1 <= level <= len(self.levels):
            lowest = CONTROL if self.control is not None else 1
            why = " (it has no `control`)" if level == CONTROL else ""
            raise ConfigError(f"scenario '{self.id}': level {level} does not exist{why}; "
                              f"use {lowest} to {len(self.levels)}")
        return self.levels[level - 1]

    def render(self, level: int) -> str:
        """The prompt text at a level (1-based; 0 = the control, if the scenario has one)."""
        return self.prompt.replace("{value}", self.value(level))


def _check_prompt(where: str, prompt: str) -> None:
    # Only `{value}` may appear as a placeholder; anything else in braces is
    # almost always a typo such as `{vaule}`.
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(prompt) if f is not None]
    except ValueError as exc:
        raise ConfigError(f"{where}: `prompt` has unbalanced braces ({exc})") from None
    if "value" not in fields:
        raise ConfigError(f"{where}: `prompt` must contain {{value}} where the level goes")
    others = sorted({f for f in fields if f != "value"})
    if others:
        raise ConfigError(
            f"{where}: `prompt` has unknown placeholder {{{others[0]}}}; only {{value}} is filled in"
        )


def _parse_one(source: str, index: int, raw: object) -> Scenario:
    where = check_entry(source, index, raw, table="scenarios", noun="scenario", id_key="id",
                        required=REQUIRED, optional=OPTIONAL)
    for key in ("title", "prompt"):
        if not raw[key].strip():
            raise ConfigError(f"{where}: `{key}` must not be empty")
    _check_prompt(where, raw["prompt"])
    levels = raw["levels"]
    if len(levels) < 2:
        raise ConfigError(f"{where}: `levels` must have at least 2 entries, got {len(levels)}")
    for i, level in enumerate(levels, start=1):
        if not isinstance(level, str) or not level.strip():
            raise ConfigError(
                f"{where}: `levels` entry {i} must be a non-empty string, got {level!r}"
            )
    if len(set(levels)) != len(levels):
        dup = next(v for v in levels if levels.count(v) > 1)
        raise ConfigError(f"{where}: `levels` lists {dup!r} twice; each level must differ")
    control = raw.get("control")
    if control is not None:
        if not control.strip():
            raise ConfigError(f"{where}: `control` must be a non-empty string (a value that breaks no rule)")
        same = [i for i, level in enumerate(levels, start=1) if level.strip() == control.strip()]
        if same:
            raise ConfigError(f"{where}: `control` {control!r} is also level {same[0]}; "
                              "the control must be a value with no violation, unlike every level")
    return Scenario(
        id=raw["id"],
        title=raw["title"].strip(),
        prompt=" ".join(raw["prompt"].split()),
        levels=tuple(levels),
        provenance=raw.get("provenance", ""),
        control=control,
    )


def parse_scenarios(text: str, source: str = "scenarios.toml") -> list[Scenario]:
    """Parse and validate scenario TOML text; `source` names it in errors."""
    raw_list = table_entries(text, source, "scenarios")
    scenarios: list[Scenario] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_list, start=1):
        scenario = _parse_one(source, index, raw)
        if scenario.id in seen:
            raise ConfigError(
                f"{source}: scenario '{scenario.id}': `id` is used twice; ids must be unique"
            )
        seen.add(scenario.id)
        scenarios.append(scenario)
    return scenarios


def load_scenarios(path: str | Path | None = None) -> list[Scenario]:
    """Load scenarios from a TOML file (default: the workspace's scenarios.toml)."""
    path = Path(path) if path is not None else paths.default_scenarios()
    return parse_scenarios(read_text(path, "--scenarios"), source=str(path))


def select(scenarios: list[Scenario], ids: list[str] | None) -> list[Scenario]:
    """Keep the scenarios whose id is in `ids` (all when None), in file order."""
    if not ids:
        return scenarios
    known = {s.id for s in scenarios}
    missing = [i for i in ids if i not in known]
    if missing:
        raise ConfigError(
            f"unknown scenario id '{missing[0]}'; known ids are {', '.join(sorted(known))}"
        )
    return [s for s in scenarios if s.id in ids]
