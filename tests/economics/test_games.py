"""games.toml: loading, strict validation with one-line errors, prompts, and
the documented rules for reading a choice from an answer."""

from fractions import Fraction

import pytest

from helpers.economics.choices import parse_amount, parse_label, parse_number
from helpers.errors import ConfigError
from helpers.economics.games import format_number, load_games, parse_games


def test_repository_file_has_the_canonical_games(repo):
    games = load_games(repo / "games.toml")
    kinds = {g.kind for g in games}
    assert {"prisoners_dilemma", "public_goods", "dictator", "ultimatum_responder",
            "trust_investor", "trust_trustee"} <= kinds
    # Payoffs vary within every game that the agent types can disagree on.
    for game in games:
        assert len(game.settings) >= 2, game.id
        assert game.provenance
    pd1 = games[0].settings[0]
    text = pd1.render()
    assert "Reply with X or Y only." in text and "probability 50%" in text
    assert "{" not in text and "}" not in text


def test_amount_menu_follows_the_amount_at_stake(repo):
    trustee = next(g for g in load_games(repo / "games.toml") if g.kind == "trust_trustee")
    first, second = trustee.settings
    assert [a.label for a in first.actions()] == ["15", "12", "9", "6", "3", "0"]
    assert [a.label for a in second.actions()] == ["30", "24", "18", "12", "6", "0"]
    assert "you now have 15 points" in first.render()
    assert first.render().endswith("Reply with one number: 0, 3, 6, 9, 12 or 15.")
    assert [float(a.cooperation) for a in first.actions()] == [1.0, 0.8, 0.6, 0.4, 0.2, 0.0]


def test_decimals_stay_exact():
    (game,) = parse_games(block(kind='"public_goods"', labels=None, shares="[0, 0.5, 1]",
                                prompt='"{players} {endowment} {multiplier} {choices}"',
                                settings="[{endowment = 20, players = 4, multiplier = 1.2}]"))
    assert game.settings[0].params["multiplier"] == Fraction(6, 5)
    assert game.settings[0].render() == "4 20 1.2 0, 10 or 20"


@pytest.mark.parametrize("value,text", [(Fraction(5), "5"), (Fraction(1, 4), "0.25"), (Fraction(6, 5), "1.2"),
                                        (Fraction(1, 3), "0.333"), (Fraction(-7, 10), "-0.7")])
def test_format_number(value, text):
    assert format_number(value) == text


PD_PROMPT = ('"Pick {choices}. {cooperate}/{defect}: {temptation} {reward} {punishment} {sucker} '
             '{p_cooperate_percent}%"')
PD_SETTINGS = "[{temptation = 5, reward = 3, punishment = 1, sucker = 0, p_cooperate = 0.5}]"


def block(**fields) -> str:
    base = {"id": '"pd"', "kind": '"prisoners_dilemma"', "title": '"PD"', "prompt": PD_PROMPT,
            "labels": '{cooperate = "X", defect = "Y"}', "settings": PD_SETTINGS}
    base.update(fields)
    body = "\n".join(f"{k} = {v}" for k, v in base.items() if v is not None)
    return f"[[games]]\n{body}\n"


PD_BAD = "[{temptation = 3, reward = 3, punishment = 1, sucker = 0, p_cooperate = 0.5}]"
BAD = [
    ("[[games]\nid = 1", "not valid TOML"),
    ("title = 'x'", "unknown top-level key `title`"),
    ("", "no games found"),
    (block(colour='"red"'), "game 'pd': unknown key `colour`"),
    (block(kind=None), "game 'pd': missing required key `kind`"),
    (block(kind='"chicken"'), "game 'pd': unknown kind 'chicken'"),
    (block(id='"Pd-1"'), "`id` must be lower_snake_case"),
    (block(id=None), "game #1: missing required key `id`"),
    (block() + block(), "game 'pd': `id` is used twice"),
    (block(title='"  "'), "`title` must not be empty"),
    (block(settings="[]"), "`settings` is empty"),
    (block(settings='"x"'), "`settings` must be a list, got a string"),
    (block(labels=None), "missing required key `labels`"),
    (block(labels='{cooperate = "X"}'), "`labels` must name exactly cooperate, defect"),
    (block(labels='{cooperate = "X", defect = "x"}'), "`labels` must differ"),
    (block(labels='{cooperate = "two words", defect = "Y"}'), "`labels.cooperate` must be one word"),
    (block(shares="[0, 1]"), "`shares` is for amount games"),
    (block(prompt='"Pick X or Y. {temptation} {reward} {punishment} {sucker} {p_cooperate}"'),
     "`prompt` must contain {choices}"),
    (block(prompt='"{choices} {temptation} {reward} {punishment} {p_cooperate}"'),
     "`prompt` must show the parameter {sucker}"),
    (block(prompt='"{choices} {tempation} {reward} {punishment} {sucker} {p_cooperate}"'),
     "unknown placeholder {tempation}"),
    (block(prompt='"{choices} {temptation"'), "unbalanced braces"),
    (block(settings=PD_BAD), "game 'pd': setting #1: payoffs must satisfy temptation > reward > punishment > sucker"),
    (block(settings="[{temptation = 5, reward = 3, punishment = 1, sucker = 0}]"),
     "setting #1: missing parameter `p_cooperate`"),
    (block(settings="[{temptation = 5, reward = 3, punishment = 1, sucker = 0, p_cooperate = 0.5, bonus = 2}]"),
     "setting #1: unknown parameter `bonus`"),
    (block(settings="[{temptation = 5, reward = 3, punishment = 1, sucker = 0, p_cooperate = 1.5}]"),
     "`p_cooperate` must lie between 0 and 1, got 1.5"),
    (block(settings='[{temptation = "5", reward = 3, punishment = 1, sucker = 0, p_cooperate = 0.5}]'),
     "`temptation` must be a number, got a string"),
    (block(settings=PD_SETTINGS[:-1] + ", " + PD_SETTINGS[1:]), "setting #2 repeats setting #1"),
    # TOML has nan and inf; a payoff or a probability that is neither is an error, not a traceback.
    (block(settings=PD_SETTINGS[:-1] + ", " + PD_SETTINGS[1:].replace("temptation = 5", "temptation = inf")),
     "my.toml: game 'pd': setting #2: `temptation` must be a finite number, got inf"),
    (block(settings=PD_SETTINGS.replace("p_cooperate = 0.5", "p_cooperate = nan")),
     "my.toml: game 'pd': setting #1: `p_cooperate` must be a finite number, got nan"),
    (block(settings=PD_SETTINGS.replace("sucker = 0", "sucker = -inf")),
     "game 'pd': setting #1: `sucker` must be a finite number, got -inf"),
    (block(kind='"dictator"', labels=None, shares="[0, nan, 1]", prompt='"{choices} {endowment} {multiplier}"',
           settings="[{endowment = 10, multiplier = 2}]"), "game 'pd': `shares` entry 2 must be a finite number, got nan"),
    (block(kind='"public_goods"', labels=None, shares="[0, 0.5, 1]",
           prompt='"{choices} {endowment} {players} {multiplier}"',
           settings="[{endowment = 20, players = 2.5, multiplier = 1.5}]"), "`players` must be a whole number"),
    (block(kind='"public_goods"', labels=None, prompt='"{choices} {endowment} {players} {multiplier}"',
           settings="[{endowment = 20, players = 4, multiplier = 1.5}]"), "missing required key `shares`"),
    (block(kind='"dictator"', labels=None, shares="[0.5, 1]", prompt='"{choices} {endowment} {multiplier}"',
           settings="[{endowment = 10, multiplier = 2}]"), "`shares` must include 0 and 1"),
    (block(kind='"dictator"', labels=None, shares="[0, 0.3333, 1]", prompt='"{choices} {endowment} {multiplier}"',
           settings="[{endowment = 10, multiplier = 2}]"), "is not a whole number of cents"),
    (block(kind='"dictator"', labels=None, shares="[0, 1.5, 1]", prompt='"{choices} {endowment} {multiplier}"',
           settings="[{endowment = 10, multiplier = 2}]"), "`shares` entry 2 must lie between 0 and 1"),
    (block(kind='"dictator"', labels=None, shares="[0, 1]", prompt='"{choices} {endowment} {multiplier}"',
           settings="[{endowment = 10, multiplier = 0}]"), "`multiplier` must be positive"),
    (block(kind='"ultimatum_responder"', labels='{accept = "yes", reject = "no"}', prompt='"{choices} {pie} {offer}"',
           settings="[{pie = 10, offer = 12}]"), "`offer` must lie between 0 and pie (10)"),
    (block(kind='"trust_trustee"', labels=None, shares="[0, 1]", prompt='"{choices} {endowment} {sent} {multiplier}"',
           settings="[{endowment = 10, sent = 12, multiplier = 3}]"), "`sent` must be at most endowment (10)"),
]


@pytest.mark.parametrize("text,expected", BAD)
def test_bad_files_give_one_line_errors(text, expected):
    with pytest.raises(ConfigError) as info:
        parse_games(text, source="my.toml")
    message = str(info.value)
    assert expected in message
    assert message.startswith("my.toml")
    assert "\n" not in message


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_games(tmp_path / "nope.toml")


def test_with_params_validates_like_the_file(repo):
    pd_game = load_games(repo / "games.toml")[0]
    setting = pd_game.with_params({"temptation": 9, "reward": 4, "punishment": 2, "sucker": 1, "p_cooperate": 0.25})
    assert "9 points" in setting.render() and "25%" in setting.render()
    with pytest.raises(ConfigError, match="temptation > reward"):
        pd_game.with_params({"temptation": 1, "reward": 4, "punishment": 2, "sucker": 1, "p_cooperate": 0.25})
    with pytest.raises(ConfigError, match="`reward` must be a finite number, got nan"):
        pd_game.with_params({"temptation": 9, "reward": float("nan"), "punishment": 2, "sucker": 1,
                             "p_cooperate": 0.25})


LABELS = {"cooperate": "X", "defect": "Y"}


@pytest.mark.parametrize("text,expected", [
    ("X", "cooperate"), ("y", "defect"), ("Y.", "defect"), ("**X**", "cooperate"), ('"Y"', "defect"),
    ("Answer: X", "cooperate"), ("Final answer: Y because", "defect"), ("My choice is X", "cooperate"),
    ("I choose Y.", "defect"), ("I would pick X", "cooperate"), ("I'd go with Y", "defect"),
    ("- X", "cooperate"), ("(Y)", "defect"),
    ("X or Y only.", "cooperate"),  # the first word decides, by the stated rule
    ("Xylophone", "invalid"), ("The answer is X", "invalid"), ("I think X", "invalid"),
    ("", "invalid"), ("Z", "invalid"), ("To solve this problem", "invalid"),
])
def test_parse_label(text, expected):
    assert parse_label(text, LABELS) == expected


AMOUNTS = {str(a): Fraction(a) for a in (0, 5, 10, 15, 20)}


@pytest.mark.parametrize("text,expected", [
    ("5", "5"), ("5.", "5"), ("5.0", "5"), ("$5", "5"), ("10 points", "10"), ("I give 15", "15"),
    ("I would contribute 20 points.", "20"), ("Answer: 0", "0"), ("I choose to send 10", "10"),
    ("7", "invalid"), ("5th", "invalid"), ("five", "invalid"), ("I keep 10", "invalid"),
    ("0, 5, 10, 15 or 20", "0"), ("The answer is 5", "invalid"), ("-5", "invalid"),
])
def test_parse_amount(text, expected):
    assert parse_amount(text, AMOUNTS) == expected


def test_parse_number_is_exact():
    assert parse_number("4.75 dollars") == Fraction(19, 4)
    assert parse_number("Price: $12.50") == Fraction(25, 2)
    assert parse_number("I set 3.1") == Fraction(31, 10)
    assert parse_number("around 5") is None
