"""One user-facing parameter: its type, default, allowed values and help, and the
two ways it is read (an argparse option, a `mo.cli_args()` entry).

Both readers call `Option.parse` on the text the user typed, so a value is
converted and checked the same way, with the same one-line error, whether it came
from `python -m helpers ...` or from `python notebooks/NN.py ...`. The table of
every parameter is helpers.cli.params.
"""

from __future__ import annotations

import argparse
import difflib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal, get_args

from helpers.errors import UserError

Kind = Literal["int", "float", "str", "path", "choice", "kappa", "bool"]  # kappa: an exact fraction
_METAVARS = {"int": "N", "float": "X", "str": "TEXT", "path": "FILE", "kappa": "K"}


def _number(x: float | Fraction) -> str:
    """2.0 -> '2', 100000 -> '100,000', 0.5 -> '0.5' (for messages and help)."""
    if x == int(x):
        return f"{int(x):,}"
    return str(x) if isinstance(x, Fraction) else f"{x:g}"


@dataclass(frozen=True)
class Option:
    """A parameter as the user sees it.

    name: the flag without dashes ("max-cost"); dest: the attribute it fills (default:
    the name with underscores). low/high bound numbers (inclusive; `above` makes low
    exclusive); choices list the allowed words; suffixes the allowed file endings.
    repeat: may be given several times (a tuple). why: appended to a range error.
    """

    name: str
    kind: Kind
    help: str
    default: Any = None
    low: float | None = None
    high: float | None = None
    above: bool = False
    choices: tuple[str, ...] = ()
    suffixes: tuple[str, ...] = ()
    repeat: bool = False
    required: bool = False
    metavar: str | None = None
    dest: str | None = None
    why: str = ""

    def __post_init__(self) -> None:
        # Programming errors in the table, caught when it is imported.
        assert self.kind in get_args(Kind), self.kind
        assert (self.kind == "choice") == bool(self.choices), self.name
        assert self.kind != "bool" or not self.repeat, self.name

    @property
    def flag(self) -> str:
        return f"--{self.name}"

    @property
    def key(self) -> str:
        return self.dest or self.name.replace("-", "_")

    def but(self, **changes: Any) -> Option:
        """The same parameter with another default (or help) at one entry point."""
        return replace(self, **changes)

    def allowed(self) -> str:
        """What the parameter accepts, in words: 'a whole number from 1 to 100,000'."""
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices)
        if self.kind == "bool":
            return "true or false"
        if self.kind in ("str", "path"):
            return "a file name" if self.kind == "path" else "a text"
        what = {"int": "a whole number", "float": "a number", "kappa": "a number"}[self.kind]
        if self.kind == "float" and self.high is None:
            what = "a finite number"
        low = None if self.low is None else _number(self.low)
        high = None if self.high is None else _number(self.high)
        if low is not None and high is not None:
            return f"{what} above {low} and at most {high}" if self.above else f"{what} from {low} to {high}"
        if low is not None:
            return f"{what} above {low}" if self.above else f"{what} of {low} or more"
        return f"{what} of at most {high}" if high is not None else what

    def _fail(self, shown: str, why: str = "") -> UserError:
        return UserError(f"{self.flag} must be {self.allowed()}, got {shown}{why and '; ' + why}")

    def parse(self, text: str) -> Any:
        """One value as typed -> its typed, checked value; a UserError naming the option if bad."""
        text = text.strip()
        if not text and self.kind != "bool":  # a bare `--samples` in a notebook's arguments
            raise UserError(f"{self.flag} needs a value" + ("" if self.kind in ("str", "path") else
                                                           f": {self.allowed()}"))
        if self.kind in ("str", "path"):
            if self.suffixes and Path(text).suffix not in self.suffixes:
                raise UserError(f"{self.flag} {text}: use a {' or '.join(self.suffixes)} file name")
            return Path(text) if self.kind == "path" else text
        if self.kind == "choice":
            if text not in self.choices:
                raise self._fail(repr(text))
            return text
        if self.kind == "bool":
            return _truth(text, self)
        try:
            value: Any = {"int": int, "float": float, "kappa": _fraction}[self.kind](text)
        except (ValueError, ZeroDivisionError):
            raise self._fail(repr(text)) from None
        # nan compares false with everything, so test it (and inf) before the bounds.
        if isinstance(value, float) and not math.isfinite(value):
            raise self._fail(text)
        too_low = self.low is not None and (value <= self.low if self.above else value < self.low)
        if too_low or (self.high is not None and value > self.high):
            raise self._fail(text, self.why)
        return value

    def help_text(self) -> str:
        """The help line argparse shows: the meaning, what is allowed, the default."""
        notes = [self.allowed()] if self.kind in ("int", "float", "kappa") else []
        default = self.default
        if self.kind != "bool" and default not in (None, (), ""):
            shown = ", ".join(map(_shown, default)) if isinstance(default, tuple) else _shown(default)
            notes.append(f"default {shown}")
        return f"{self.help} ({'; '.join(notes)})" if notes else self.help

    def add_to(self, parser: argparse.ArgumentParser) -> None:
        """Register this parameter on an argparse (sub)command."""
        if self.kind == "bool":
            assert self.default is False, f"{self.name}: a command-line switch is off by default"
            parser.add_argument(self.flag, action="store_true", dest=self.key, help=self.help_text())
            return
        kwargs: dict[str, Any] = {"dest": self.key, "help": self.help_text(), "type": self.parse,
                                  "default": self.default, "required": self.required,
                                  "metavar": self.metavar or _METAVARS.get(self.kind)}
        if self.kind == "choice":
            kwargs["metavar"] = self.metavar or "{" + ",".join(self.choices) + "}"
        if self.repeat:
            kwargs["action"] = _Repeated
        parser.add_argument(self.flag, **kwargs)

    def read(self, value: Any) -> Any:
        """One `mo.cli_args()` entry -> its typed, checked value.

        marimo has already turned numbers into int/float, true/false into bools and
        repeated flags into lists; each value goes back to text so that it meets
        exactly the checks of the command line. Repeatable parameters also take a
        comma-separated list ("--level 1,6").
        """
        items = value if isinstance(value, list) else [value]
        texts = [_as_text(v) for v in items]
        if self.repeat:
            parts = [p.strip() for t in texts for p in t.split(",") if p.strip()]
            if not parts:
                raise UserError(f"{self.flag} needs a value")
            return tuple(self.parse(p) for p in parts)
        if len(texts) > 1:
            raise UserError(f"{self.flag} was given {len(texts)} times ({', '.join(texts)}); give it once")
        return self.parse(texts[0])


def _fraction(text: str) -> Fraction:
    return Fraction(text)  # "0.3" -> 3/10 exactly, "1/3" too


def _truth(text: str, option: Option) -> bool:
    lowered = text.lower()
    if lowered in ("1", "true", "yes", "on", ""):  # "" is a bare `--explain`
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise option._fail(repr(text))


def _is_number(text: str) -> bool:
    return text.replace(".", "", 1).isdigit()


def _as_text(value: Any) -> str:
    if isinstance(value, bool):  # marimo reads "true" as True; str(True) would be "True"
        return "true" if value else "false"
    return str(value)


def _shown(value: Any) -> str:
    return _number(value) if isinstance(value, (int, float, Fraction)) and not isinstance(value, bool) else str(value)


class _Repeated(argparse.Action):
    """Like action="append", but the first use replaces the default instead of adding to it."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        current = getattr(namespace, self.dest)
        before = [] if current is self.default or current is None else list(current)
        setattr(namespace, self.dest, [*before, values])


def add_options(parser: argparse.ArgumentParser, options: Iterable[Option]) -> None:
    for option in options:
        option.add_to(parser)


def read_args(args: Mapping[str, Any], options: Sequence[Option], *, also: Iterable[str] = (),
              strict: bool = True) -> dict[str, Any]:
    """Parse `mo.cli_args()` by `options`: dest -> value, the default where absent.

    strict: an argument that is neither one of `options` nor in `also` (names that
    another parameter object of the same notebook reads) is a UserError.
    """
    if strict:
        known = sorted({o.name for o in options} | set(also))
        for name in sorted(set(args) - set(known)):
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean --{close[0]}?)" if close else ""
            flag = f"--{name}"
            if _is_number(name):  # marimo took the value of `--samples -1` for a flag
                flag, hint = f"-{name}", f" (a value starting with '-' reads as a flag: write --option=-{name})"
            raise UserError(f"unknown notebook argument {flag}{hint}; known: "
                            + ", ".join(f"--{k}" for k in known))
    return {o.key: o.read(args[o.name]) if o.name in args else o.default for o in options}
