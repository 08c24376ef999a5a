"""study.toml: the workspace's file loads, defaults apply without one, and every
mistake is one line naming the file and the key."""

from pathlib import Path

import pytest

from helpers.errors import ConfigError
from helpers.survey.settings import PLATFORM_PARAMS, StudySettings, clean_platform, load_settings, parse_settings

REPO = Path(__file__).resolve().parents[2]


def test_the_workspace_file_loads_with_fair_checks():
    settings = load_settings(REPO / "study.toml")
    assert settings.study == "survey" and settings.platform == "none" and settings.modules == ("scenarios",)
    assert len(settings.checks) == 2
    for check in settings.checks:
        assert check.answer in check.options and f"'{check.answer}'" in check.prompt  # the question says what to pick
    assert load_settings(REPO / "study.toml", study="class-b").study == "class-b"


def test_without_a_file_the_defaults_apply(monkeypatch, tmp_path):
    monkeypatch.setenv("EXCEPTIONS_HOME", str(tmp_path))
    settings = load_settings()
    assert settings == StudySettings(source="defaults")
    assert settings.checks == () and settings.exclude == ("attention",)


def test_a_full_prolific_study():
    text = """
[study]
id = "replication-1"
platform = "prolific"
completion_code = "C0DE42"
completion_url = "https://app.prolific.com/submissions/complete?cc=C0DE42"
modules = ["scenarios", "games"]
games = ["prisoners_dilemma"]
[quality]
min_seconds = 3
exclude = ["attention", "paste"]
[[checks]]
id = "c1"
after = 2
prompt = "Pick   'B'."
options = ["A", "B"]
answer = "B"
"""
    s = parse_settings(text)
    assert s.platform_params() == PLATFORM_PARAMS["prolific"] == ("PROLIFIC_PID", "STUDY_ID", "SESSION_ID")
    assert s.completion_code == "C0DE42" and s.completion_url.endswith("cc=C0DE42")
    assert s.games == ("prisoners_dilemma",) and s.min_seconds == 3.0 and s.checks[0].prompt == "Pick 'B'."
    found = clean_platform(s, {"PROLIFIC_PID": " abc ", "STUDY_ID": "x" * 500, "SESSION_ID": "s\x07",
                               "other": "y"})
    assert found == {"PROLIFIC_PID": "abc"}  # too long and unprintable values are dropped, others ignored


@pytest.mark.parametrize("text, message", [
    ("[study]\nplatfrom = 'prolific'", "study.toml: [study] has unknown key `platfrom`"),
    ("[study]\nplatform = 'qualtrics'", "`platform` 'qualtrics'; choose from prolific, mturk, generic, none"),
    ("[study]\nmodules = ['scenarios', 'quiz']", "`modules` has 'quiz'; choose from scenarios, games"),
    ("[study]\nmodules = []", "`modules` is empty"),
    ("[study]\nid = 'a b'", "study id 'a b' must be"),
    ("[study]\ncompletion_url = 'prolific.com/x'", "`completion_url` must be an http(s) address"),
    ("[study]\nconsent = '  '", "`consent` is empty"),
    ("[quality]\nexclude = ['slow']", "`exclude` has 'slow'; choose from attention, fast, paste"),
    ("[quality]\nmin_seconds = 'five'", "`min_seconds` must be a number, got a string"),
    ("[quality]\nmax_text = 5", "`max_text` must be between 20 and 5000"),
    ("[[checks]]\nid = 'c'\nafter = 1\nprompt = 'p'\noptions = ['A', 'B']\nanswer = 'C'",
     "check 'c': `answer` 'C' is not one of its options"),
    ("[[checks]]\nid = 'c'\nafter = 1\nprompt = 'p'\noptions = ['A']\nanswer = 'A'", "needs at least two choices"),
    ("[[checks]]\nid = 'c'\nprompt = 'p'\noptions = ['A', 'B']\nanswer = 'A'", "missing required key `after`"),
    ("[survey]\nid = 'x'", "unknown top-level key `survey`"),
    ("[study\n", "not valid TOML"),
])
def test_mistakes_are_one_line(text, message):
    with pytest.raises(ConfigError) as caught:
        parse_settings(text)
    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert str(caught.value).startswith("study.toml")


def test_a_missing_file_named_on_the_command_line(tmp_path):
    with pytest.raises(ConfigError, match="file not found; pass --settings with an existing file"):
        load_settings(tmp_path / "nope.toml")
