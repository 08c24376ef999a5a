"""The price table: lookups with fallbacks, and strict validation of prices.toml."""

import pytest

from helpers.errors import ConfigError
from helpers.llm.prices import FREE, load_prices, price_for


@pytest.fixture
def prices(tmp_path):
    path = tmp_path / "prices.toml"
    path.write_text('[models."gpt-4o"]\ninput = 2.5\noutput = 10\n[models."gpt-4o-2024-08-06"]\n'
                    'input = 2.0\noutput = 8\n')
    return load_prices(path)


@pytest.mark.parametrize("model,expected_input", [
    ("gpt-4o", 2.5),
    ("gpt-4o-2024-08-06", 2.0),  # a snapshot with its own entry keeps it
    ("gpt-4o-2024-11-20", 2.5),  # a snapshot without one falls back to its family
    ("ft:gpt-4o-2024-08-06:org:exceptions:abc123", 2.0),
    ("ft:gpt-4o-2024-11-20:org:exceptions:abc123", 2.5),
    ("gpt-4o-mini", None),
])
def test_lookups_fall_back_from_fine_tunes_and_snapshots(prices, model, expected_input):
    price = price_for("openai", model, prices)
    assert (price.input if price else None) == expected_input


def test_local_models_are_free(prices):
    assert price_for("local", "smollm2-135m-instruct", prices) is FREE


@pytest.mark.parametrize("text,expected", [
    ('[models."m"]\ninput = 1\n', "model 'm': missing `output`"),
    ('[models."m"]\ninput = 1\noutput = -2\n', "`output` must be a number >= 0, got -2"),
    ('[models."m"]\ninput = 1\noutput = 2\ncurrency = "EUR"\n', "unknown key `currency`"),
    ('[prices]\n', "unknown top-level key `prices`"),
    ('[models."m"\n', "not valid TOML"),
])
def test_bad_price_files_are_one_line_errors(tmp_path, text, expected):
    path = tmp_path / "prices.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=expected.replace("(", r"\(").replace("$", r"\$")) as caught:
        load_prices(path)
    assert "\n" not in str(caught.value) and str(path) in str(caught.value)
