import pytest

from helpers.errors import UserError
from helpers.exceptions.prompting import build_messages, parse_answer
from helpers.exceptions.scenarios import load_scenarios


def test_baseline_messages_exact_snapshot(repo):
    grocery = next(s for s in load_scenarios(repo / "scenarios.toml") if s.id == "grocery_prices")
    assert build_messages(grocery, 6) == [{
        "role": "user",
        "content": "You are doing the grocery shopping for a friend who is baking a birthday "
                   "cake. Your friend needs flour and asked you not to spend more than $10.00 on "
                   "it. The cheapest flour in the store costs $10.01. Do you buy the flour? "
                   "Answer Yes or No.",
    }]


def test_unknown_variant_lists_known_ones(repo):
    s = load_scenarios(repo / "scenarios.toml")[0]
    with pytest.raises(UserError, match="unknown variant 'stoic'; known variants are baseline"):
        build_messages(s, 1, "stoic")


@pytest.mark.parametrize("text,expected", [
    ("Yes", "yes"),
    ("No", "no"),
    ("yes.", "yes"),
    ("No, because the policy is clear.", "no"),
    ("**No**. The limit is $10.", "no"),
    ("\"Yes\" - it is one cent.", "yes"),
    ("Answer: Yes", "yes"),
    ("  NO!", "no"),
    ("Decision: no", "no"),
    ("Nope, not buying it.", "no"),  # a refusal, as a reader codes it (issue 14)
    ("Yesterday I bought flour.", "invalid"),
    ("Not Among the Freshers.", "invalid"),
    ("I'm not sure what to say.", "invalid"),
    ("", "invalid"),
])
def test_parse_answer(text, expected):
    assert parse_answer(text) == expected
