"""What calls cost: the user-editable price table (prices.toml) and the arithmetic.

Local models cost nothing. An OpenAI model without an entry has an unknown cost
(None), which callers must show as unknown rather than as zero.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from helpers import paths
from helpers.errors import ConfigError
from helpers.llm.naming import base_of

ALLOWED = {"input", "output", "batch_discount", "training"}


@dataclass(frozen=True)
class Price:
    input: float  # $ per 1M prompt tokens
    output: float  # $ per 1M completion tokens
    batch_discount: float = 0.5
    training: float | None = None  # $ per 1M training tokens (fine-tuning); None = unknown

    def cost(self, prompt_tokens: float, completion_tokens: float, batch: bool = False) -> float:
        dollars = (prompt_tokens * self.input + completion_tokens * self.output) / 1e6
        return dollars * (self.batch_discount if batch else 1.0)


FREE = Price(0.0, 0.0, 1.0)


def load_prices(path: str | Path | None = None) -> dict[str, Price]:
    """Read and validate the price table (default: prices.toml in the workspace)."""
    path = Path(path) if path is not None else paths.prices_file()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    unknown = sorted(set(data) - {"models"})
    if unknown:
        raise ConfigError(f"{path}: unknown top-level key `{unknown[0]}`; use [models.\"NAME\"] tables")
    prices = {}
    for name, entry in data.get("models", {}).items():
        where = f"{path}: model '{name}'"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: expected a table with input and output prices")
        extra = sorted(set(entry) - ALLOWED)
        if extra:
            raise ConfigError(f"{where}: unknown key `{extra[0]}`; allowed keys are {', '.join(sorted(ALLOWED))}")
        for key in ("input", "output"):
            if key not in entry:
                raise ConfigError(f"{where}: missing `{key}` ($ per 1M tokens)")
        for key, value in entry.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ConfigError(f"{where}: `{key}` must be a number >= 0, got {value!r}")
        if not entry.get("batch_discount", 0.5) <= 1:
            raise ConfigError(f"{where}: `batch_discount` is the fraction paid, between 0 and 1")
        prices[name] = Price(float(entry["input"]), float(entry["output"]),
                             float(entry.get("batch_discount", 0.5)),
                             float(entry["training"]) if "training" in entry else None)
    return prices


def _entries(model: str) -> list[str]:
    """Names to look a model up under, most specific first: itself; for a fine-tuned
    model (ft:BASE:org:suffix:id) its base; and each without a date snapshot suffix
    (gpt-4o-2024-08-06 -> gpt-4o)."""
    names = list(dict.fromkeys([model, base_of(model)]))
    return names + [re.sub(r"-\d{4}-\d{2}-\d{2}$", "", n) for n in names]


def price_for(provider: str, model: str, prices: dict[str, Price]) -> Price | None:
    """The price of a model, or None when unknown (see _entries for the fallbacks)."""
    if provider == "local":
        return FREE
    return next((prices[n] for n in _entries(model) if n in prices), None)


def training_price(model: str, prices: dict[str, Price]) -> float | None:
    """$ per 1M training tokens to fine-tune `model`, or None when unknown."""
    return next((prices[n].training for n in _entries(model)
                 if n in prices and prices[n].training is not None), None)
