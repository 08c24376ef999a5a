"""People in the one-shot games: what they are shown, and the file of their choices.

What a person is shown is what an agent is sent (helpers.economics.prompts, re-exported
here: `prompt_for_people`, `actions_for_people`).

The human game-choices format, one row per participant x game setting. Required
columns, in this order (others are allowed and kept):

    participant_id  pseudonymous id (never a name or an e-mail address)
    game            a game id from games.toml
    setting         the setting's 1-based position among that game's [[games.settings]]
    choice          the action id: "cooperate"/"defect", "accept"/"reject", or the
                    amount as written ("0", "2.5"); an amount may be written 2.50 too
    timestamp       when the choice was made, ISO 8601
    study           which study the row comes from

Optional columns the survey's export adds: prompt (the text shown; checked against
what games.toml renders now, so choices made under other payoffs are refused),
seconds (shown to chosen), excl_attention and excluded ("true"/"false").

CSV or parquet. Loading is strict: every problem is one ConfigError line naming the
file, the data row (1-based, header not counted) and the field. The survey's export
(data/human_games.csv) and the illustrative generator (human_illustrative) write it.
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import pandas as pd

from helpers.economics.games import Game, Setting
from helpers.economics.prompts import actions_for_people, prompt_for_people
from helpers.errors import ConfigError
from helpers.humans import cells
from helpers.humans.provenance import is_illustrative

__all__ = ["COLUMNS", "FLAGS", "as_answers", "actions_for_people", "describe", "load_human_games",
           "prompt_for_people", "validate_human_games", "write_human_games"]

COLUMNS = ["participant_id", "game", "setting", "choice", "timestamp", "study"]
FLAGS = ("excl_attention", "excluded")  # "true"/"false" columns the survey's export adds










def _choice(raw: object, setting: Setting) -> str | None:
    """The action id a cell names, or None. Amounts match by value (2.50 is 2.5)."""
    text = cells.text(raw)
    ids = [a for a, _ in actions_for_people(setting)]
    if text in ids:
        return text
    if setting.kind.labelled:
        return None
    try:
        value = Fraction(text)
    except (ValueError, ZeroDivisionError):
        return None
    return next((a.id for a in setting.actions() if a.amount == value), None)




def validate_human_games(table: pd.DataFrame, games: list[Game], source: str = "human game choices") -> pd.DataFrame:
    """Check a human game-choices table against the games and return a clean copy.

    The copy has the required columns first (setting as int, choice the action id,
    the others as text), then any extra columns; `seconds` becomes a float and the
    FLAGS columns booleans (empty cells: not recorded, NaN / NA). Illustrative rows
    mixed with real ones are refused (helpers.humans.provenance).
    """
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise ConfigError(f"{source}: missing column `{missing[0]}`; the required columns are {', '.join(COLUMNS)}")
    if table.empty:
        raise ConfigError(f"{source}: no rows; the file has a header but no choices")
    by_id = {g.id: g for g in games}
    clean: dict[str, list] = {c: [] for c in COLUMNS}
    seen: dict[tuple[str, str, int], int] = {}
    prompts = table["prompt"].tolist() if "prompt" in table.columns else None
    for row, record in enumerate(table[COLUMNS].itertuples(index=False), start=1):
        where = f"{source}: row {row}"
        pid, game_id, raw_setting, raw_choice, stamp, study = record
        pid = cells.participant_id(pid, where)
        game_id = cells.text(game_id)
        if game_id not in by_id:
            raise ConfigError(f"{where}, field `game`: unknown game {game_id[:40]!r}; the games file has "
                              f"{', '.join(by_id)}")
        game = by_id[game_id]
        count = len(game.raw_settings)
        index = cells.whole(raw_setting)
        if index is None or not 1 <= index <= count:
            raise ConfigError(f"{where}, field `setting`: {cells.text(raw_setting)[:40]!r} is not a setting of "
                              f"'{game_id}'; use a whole number from 1 to {count}")
        setting = game.settings[index - 1]
        choice = _choice(raw_choice, setting)
        if choice is None:
            allowed = ", ".join(a for a, _ in actions_for_people(setting))
            raise ConfigError(f"{where}, field `choice`: {cells.text(raw_choice)[:40]!r} is not a choice of "
                              f"'{game_id}' setting {index}; write one of {allowed}")
        stamp = cells.text(stamp)
        if not cells.is_time(stamp):
            shown = f"{stamp[:40]!r} is not ISO 8601" if stamp else "missing"
            raise ConfigError(f"{where}, field `timestamp`: {shown}; write a time such as 2024-12-05T14:03:00Z")
        study = cells.text(study)
        if not study:
            raise ConfigError(f"{where}, field `study`: missing; name the study each row comes from")
        if prompts is not None and cells.text(prompts[row - 1]):
            shown, now = " ".join(cells.text(prompts[row - 1]).split()), " ".join(prompt_for_people(setting).split())
            if shown != now:
                raise ConfigError(f"{where}, field `prompt`: the text shown differs from what the games file "
                                  f"renders for '{game_id}' setting {index} now; were the choices made under "
                                  "another games.toml? Use that file (--games)")
        key = (pid, game_id, index)
        if key in seen:
            raise ConfigError(f"{where}, field `setting`: participant {pid!r} chose in '{game_id}' setting {index} "
                              f"already in row {seen[key]}; each participant chooses once per setting")
        seen[key] = row
        for column, value in zip(COLUMNS, (pid, game_id, index, choice, stamp, study)):
            clean[column].append(value)
    out = pd.DataFrame(clean)
    is_illustrative(out, source)  # refuses a mix of generated and real rows
    out["setting"] = out["setting"].astype(int)
    for column in [c for c in table.columns if c not in COLUMNS]:
        out[column] = table[column].to_numpy()
    _optional(out, source)
    return out


def _optional(out: pd.DataFrame, source: str) -> None:
    """Read `seconds` as numbers and the FLAGS as booleans, in place (empty: not recorded)."""
    if "seconds" in out.columns:
        values = []
        for row, raw in enumerate(out["seconds"], start=1):
            text = cells.text(raw)
            try:
                value = float(text) if text else math.nan
            except ValueError:
                value = -1.0
            if not (math.isnan(value) or (math.isfinite(value) and value >= 0)):
                raise ConfigError(f"{source}: row {row}, field `seconds`: {text[:40]!r} is not a number of "
                                  "seconds; leave it empty if not recorded")
            values.append(value)
        out["seconds"] = values
    for column in FLAGS:
        if column in out.columns:
            values = []
            for row, raw in enumerate(out[column], start=1):
                flag = cells.flag(raw)
                if flag is None and cells.text(raw):
                    raise ConfigError(f"{source}: row {row}, field `{column}`: {cells.text(raw)[:40]!r} is not true "
                                      "or false; leave it empty if not recorded")
                values.append(pd.NA if flag is None else flag)
            out[column] = pd.array(values, dtype="boolean")


def load_human_games(path: str | Path, games: list[Game]) -> pd.DataFrame:
    """Load and validate a human game-choices file (.csv or .parquet) against the games.

    Returns the clean table of validate_human_games; any problem is a one-line
    ConfigError naming the file, the row and the field.
    """
    path = Path(path)
    return validate_human_games(cells.read_table(path, "human game choices", COLUMNS), games, source=str(path))


def write_human_games(table: pd.DataFrame, path: str | Path) -> Path:
    """Write a human game-choices table to .csv or .parquet (by the file name).

    Required columns first; the parent folder is created; written beside the final
    name and renamed, so a reader never sees half a file.
    """
    return cells.write_table(table, Path(path), "human game choices", COLUMNS)


def as_answers(table: pd.DataFrame, games: list[Game], model: str) -> pd.DataFrame:
    """Human choices as an answers table (the shape play.play returns and
    helpers.economics.measures reads), every person's choice one answer of `model`."""
    levels = {(g.id, s.index): {a.id: float(a.cooperation) for a in s.actions()}
              for g in games for s in g.settings}
    rows = [{"model": model, "item": f"{r.game}#{r.setting}", "game": r.game, "setting": str(r.setting),
             "sample": i, "status": "ok", "action": r.choice, "cooperation": levels[r.game, r.setting][r.choice],
             "participant_id": r.participant_id}
            for i, r in enumerate(table.itertuples(index=False))]
    return pd.DataFrame(rows, columns=["model", "item", "game", "setting", "sample", "status", "action",
                                       "cooperation", "participant_id"])


def describe(table: pd.DataFrame) -> str:
    """One line: participants, choices, games and studies (and whether generated)."""
    studies = ", ".join(sorted(table["study"].astype(str).unique()))
    made_up = " (illustrative: generated, not people)" if is_illustrative(table) else ""
    return (f"{table['participant_id'].nunique()} participants, {len(table)} choices in "
            f"{table['game'].nunique()} games, study: {studies}{made_up}")
