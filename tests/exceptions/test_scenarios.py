import subprocess
import sys

import pytest

from helpers.errors import ConfigError
from helpers.exceptions.scenarios import load_scenarios, parse_scenarios

GOOD = '''
[[scenarios]]
id = "flour"
title = "Flour"
prompt = "The flour costs {value}. Do you buy it?"
levels = ["$25", "$10.01"]
'''


def block(**fields) -> str:
    base = {"id": '"flour"', "title": '"Flour"', "prompt": '"It costs {value}. Buy?"',
            "levels": '["$25", "$10.01"]'}
    base.update(fields)
    body = "\n".join(f"{k} = {v}" for k, v in base.items() if v is not None)
    return f"[[scenarios]]\n{body}\n"


def test_repository_file_has_ten_scenarios_of_six_levels(repo):
    scenarios = load_scenarios(repo / "scenarios.toml")
    assert len(scenarios) == 10
    assert {len(s.levels) for s in scenarios} == {6}
    assert len({s.id for s in scenarios}) == 10
    grocery = next(s for s in scenarios if s.id == "grocery_prices")
    assert grocery.levels[0] == "$25.00" and grocery.levels[-1] == "$10.01"
    assert all(s.provenance for s in scenarios), "every scenario says what comes from the paper"


def test_render_fills_the_level():
    (s,) = parse_scenarios(GOOD)
    assert s.render(1) == "The flour costs $25. Do you buy it?"
    assert s.render(2) == "The flour costs $10.01. Do you buy it?"
    with pytest.raises(ConfigError, match="level 3 does not exist; use 1 to 2"):
        s.render(3)


def test_any_number_of_levels():
    text = block(id='"a"', levels='["1", "2", "3", "4"]') + block(
        id='"b"', levels=str([str(i) for i in range(8)]).replace("'", '"'))
    a, b = parse_scenarios(text)
    assert len(a.levels) == 4 and len(b.levels) == 8


BAD = [
    ("[[scenarios]\nid = 1", "not valid TOML"),
    ("title = 'x'", "unknown top-level key `title`"),
    ("", "no scenarios found"),
    (block(levels=None), "scenario 'flour': missing required key `levels`"),
    (block(colour='"red"'), "scenario 'flour': unknown key `colour`"),
    (block(levels='"$25"'), "`levels` must be a list, got a string"),
    (block(title="3"), "`title` must be a string, got a number"),
    (block(levels='["$25"]'), "`levels` must have at least 2 entries, got 1"),
    (block(levels='["$25", "$25"]'), "lists '$25' twice"),
    (block(levels='["$25", 3]'), "`levels` entry 2 must be a non-empty string"),
    (block(prompt='"It costs a lot. Buy?"'), "`prompt` must contain {value}"),
    (block(prompt='"It costs {vaule}. Buy?"'), "must contain {value}"),
    (block(prompt='"It costs {value} on {day}."'), "unknown placeholder {day}"),
    (block(id='"Grocery-Prices"'), "`id` must be lower_snake_case"),
    (block(id=None), "scenario #1: missing required key `id`"),
    (block() + block(), "scenario 'flour': `id` is used twice"),
    (block(title='"  "'), "`title` must not be empty"),
]


@pytest.mark.parametrize("text,expected", BAD)
def test_bad_files_give_one_line_errors(text, expected):
    with pytest.raises(ConfigError) as info:
        parse_scenarios(text, source="my.toml")
    message = str(info.value)
    assert expected in message
    assert message.startswith("my.toml")
    assert "\n" not in message


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_scenarios(tmp_path / "nope.toml")


@pytest.mark.parametrize("text,expected", BAD[:6])
def test_cli_reports_bad_file_with_exit_2(tmp_path, run_cli, text, expected):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    code, out, err = run_cli("run", "--scenarios", str(path))
    assert code == 2
    assert err.startswith(f"error: {path}") and expected in err
    assert len(err.strip().splitlines()) == 1


def test_real_process_prints_no_traceback(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(block(levels='["only one"]'))
    proc = subprocess.run([sys.executable, "-m", "helpers", "run", "--scenarios", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"error: {path}: scenario 'flour': `levels` must have at least 2 entries, got 1"
    ]
