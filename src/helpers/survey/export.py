"""What leaves the survey database: the answers with their data-quality and
exclusion variables, the participants, the game choices, the platform ids (a
file of their own, for payment only) and a codebook naming every column.

Exclusion variables are columns, never deletions: every answer is in the
export, and `excluded` says what the study's rule (study.toml [quality]
exclude) would drop. The notebooks filter on them when asked (--exclude).

CSV files are written to be safe to open in a spreadsheet: a text cell that
starts with = + - @, a tab or a carriage return gets a leading apostrophe (the
OWASP advice for CSV injection; the spreadsheet shows the text, never runs it),
and NUL characters are removed. Numbers are written as numbers. The SQLite file
keeps every text exactly as typed.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pandas as pd

from helpers import paths
from helpers.errors import UserError
from helpers.economics.games import Game
from helpers.economics.humans import validate_human_games
from helpers.exceptions.scenarios import Scenario
from helpers.humans import responses as human
from helpers.survey.settings import StudySettings
from helpers.survey.store import SurveyStore

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

ANSWERS_SQL = """
SELECT r.participant_id, r.scenario, r.level, r.decision, r.explanation, r.answered_at AS timestamp, p.study,
       a.position, r.prompt, p.consent_version, s.shown_at, r.edits, r.paste_count, r.pasted_chars, p.device
FROM answers r
JOIN participants p USING (participant_id)
JOIN assignments a USING (participant_id, scenario)
LEFT JOIN shown s ON s.participant_id = r.participant_id AND s.step = 'scenario:' || r.scenario
ORDER BY p.created_at, p.participant_id, a.position
"""
PARTICIPANTS_SQL = """
SELECT p.participant_id, p.study, p.created_at, p.completed_at, p.consent_version, p.device,
       COALESCE(i.platform, '') AS platform,
       (SELECT COUNT(*) FROM answers r WHERE r.participant_id = p.participant_id) AS answers,
       (SELECT COUNT(*) FROM assignments a WHERE a.participant_id = p.participant_id) AS assigned,
       (SELECT COUNT(*) FROM game_choices g WHERE g.participant_id = p.participant_id) AS game_choices,
       (SELECT COALESCE(SUM(passed), 0) FROM checks c WHERE c.participant_id = p.participant_id) AS attention_passed,
       (SELECT COUNT(*) FROM checks c WHERE c.participant_id = p.participant_id) AS attention_total
FROM participants p LEFT JOIN platform_ids i USING (participant_id)
ORDER BY p.created_at, p.participant_id
"""
GAMES_SQL = """
SELECT g.participant_id, g.game, g.setting, g.choice, g.answered_at AS timestamp, p.study, g.prompt, s.shown_at
FROM game_choices g
JOIN participants p USING (participant_id)
JOIN game_assignments a USING (participant_id, game, setting)
LEFT JOIN shown s ON s.participant_id = g.participant_id AND s.step = 'game:' || g.game || ':' || g.setting
ORDER BY p.created_at, p.participant_id, a.position
"""
CHECKS_SQL = """
SELECT c.participant_id, c.check_id AS "check", c.choice, c.passed, c.answered_at, s.shown_at
FROM checks c LEFT JOIN shown s ON s.participant_id = c.participant_id AND s.step = 'check:' || c.check_id
ORDER BY c.participant_id, c.answered_at
"""
PLATFORM_SQL = "SELECT participant_id, study, platform, platform_id, params FROM platform_ids ORDER BY participant_id"

# file -> column -> meaning: the codebook shipped with every export.
CODEBOOK = {
    "answers.csv": {
        "participant_id": "random pseudonymous id (p-...); the same person in every file",
        "scenario": "scenario id from scenarios.toml",
        "level": "the level shown, 1 = most severe violation",
        "decision": "yes (grant the exception) or no",
        "explanation": "the participant's reason as typed (spreadsheet-safe: a leading = + - @ gets an apostrophe)",
        "timestamp": "when the answer was submitted (UTC, ISO 8601, server clock)",
        "study": "study id (study.toml [study] id or --study)",
        "position": "place of this scenario in the participant's random order",
        "prompt": "the exact text the participant read",
        "consent_version": "version of the consent text the participant agreed to",
        "shown_at": "when the question was first shown (UTC, server clock); empty for answers from before this was recorded",
        "seconds": "timestamp - shown_at, in seconds",
        "edits": "input events in the explanation box (keystrokes, deletions, pastes); empty = not recorded (no JavaScript)",
        "paste_count": "how many times text was pasted into the explanation; empty = not recorded",
        "pasted_chars": "characters pasted into the explanation in total; empty = not recorded",
        "device": "desktop, mobile, tablet or unknown (from the browser's user agent; the agent itself is not stored)",
        "attention_passed": "attention checks this participant passed",
        "attention_total": "attention checks this participant answered",
        "total_seconds": "from consent to the last answer, for participants who finished; else empty",
        "completed": "true if the participant answered every step",
        "excl_attention": "true if the participant failed at least one attention check",
        "excl_fast": "true if this answer took fewer seconds than study.toml [quality] min_seconds",
        "excl_paste": "true if text was pasted into this explanation",
        "excluded": "true if any rule named in study.toml [quality] exclude applies (the study's own rule)",
    },
    "participants.csv": {
        "participant_id": "random pseudonymous id",
        "study": "study id",
        "created_at": "consent time (UTC)",
        "completed_at": "when the last step was answered (UTC); empty if not finished",
        "consent_version": "version of the consent text agreed to",
        "device": "desktop, mobile, tablet or unknown",
        "platform": "recruitment platform named in study.toml (the raw ids are only in platform_ids.csv)",
        "answers": "scenario answers given",
        "assigned": "scenario questions assigned",
        "game_choices": "game choices given",
        "attention_passed": "attention checks passed",
        "attention_total": "attention checks answered",
        "total_seconds": "completed_at - created_at in seconds",
        "completed": "true if every step was answered",
        "excl_attention": "true if at least one attention check failed",
    },
    "games.csv": {
        "participant_id": "random pseudonymous id",
        "game": "game id from games.toml",
        "setting": "1-based index of the payoff setting in that game",
        "choice": "the action chosen (its id: cooperate/defect/accept/..., or the amount as written)",
        "timestamp": "when the choice was submitted (UTC)",
        "study": "study id",
        "prompt": "the exact text shown, the same text the LLM agents are sent",
        "seconds": "time from first shown to submitted",
        "excl_attention": "true if the participant failed at least one attention check",
        "excluded": "true if the study's rule excludes the participant (attention only: games have no text)",
    },
    "checks.csv": {
        "participant_id": "random pseudonymous id",
        "check": "attention check id from study.toml",
        "choice": "the option chosen",
        "passed": "1 if it was the instructed option, else 0",
        "answered_at": "when it was answered (UTC)",
        "shown_at": "when it was first shown (UTC)",
    },
    "platform_ids.csv": {
        "participant_id": "random pseudonymous id, linking to the other files",
        "study": "study id",
        "platform": "prolific, mturk, generic or none",
        "platform_id": "the platform's participant id (Prolific PID, MTurk worker id or participant_label): "
                       "personal data, keep only as long as payment needs it",
        "params": "every id the study link carried (e.g. STUDY_ID, SESSION_ID)",
    },
}


def _frame(store: SurveyStore, sql: str) -> pd.DataFrame:
    columns, rows = store.read_table(sql)
    return pd.DataFrame(rows, columns=columns)


def _seconds(later: pd.Series, earlier: pd.Series) -> pd.Series:
    delta = pd.to_datetime(later, utc=True, errors="coerce") - pd.to_datetime(earlier, utc=True, errors="coerce")
    return delta.dt.total_seconds().round(3)


def _flag(values) -> pd.Series:
    return pd.Series(values).map({True: "true", False: "false"})


def participants_table(store: SurveyStore) -> pd.DataFrame:
    table = _frame(store, PARTICIPANTS_SQL)
    if table.empty:
        return pd.DataFrame(columns=list(CODEBOOK["participants.csv"]))
    table["total_seconds"] = _seconds(table["completed_at"], table["created_at"])
    table["completed"] = _flag(table["completed_at"].notna().to_numpy())
    table["excl_attention"] = _flag((table["attention_passed"] < table["attention_total"]).to_numpy())
    return table[list(CODEBOOK["participants.csv"])]


def answers_table(store: SurveyStore, settings: StudySettings, people: pd.DataFrame | None = None) -> pd.DataFrame:
    table = _frame(store, ANSWERS_SQL)
    columns = list(CODEBOOK["answers.csv"])
    if table.empty:
        return pd.DataFrame(columns=columns)
    people = participants_table(store) if people is None else people
    table["seconds"] = _seconds(table["timestamp"], table["shown_at"])
    for column in ("edits", "paste_count", "pasted_chars"):
        table[column] = table[column].astype("Int64")
    table = table.merge(people[["participant_id", "attention_passed", "attention_total", "total_seconds",
                                "completed", "excl_attention"]], on="participant_id", how="left")
    flags = {"attention": table["excl_attention"] == "true",
             "fast": (table["seconds"] < settings.min_seconds).fillna(False),
             "paste": (table["pasted_chars"].fillna(0) > 0)}
    table["excl_fast"] = _flag(flags["fast"].to_numpy())
    table["excl_paste"] = _flag(flags["paste"].to_numpy(dtype=bool))
    rule = pd.Series(False, index=table.index)
    for name in settings.exclude:
        rule |= flags[name].astype(bool)
    table["excluded"] = _flag(rule.to_numpy())
    return table[columns]


def games_table(store: SurveyStore, settings: StudySettings, people: pd.DataFrame | None = None) -> pd.DataFrame:
    table = _frame(store, GAMES_SQL)
    columns = list(CODEBOOK["games.csv"])
    if table.empty:
        return pd.DataFrame(columns=columns)
    people = participants_table(store) if people is None else people
    table["seconds"] = _seconds(table["timestamp"], table["shown_at"])
    table = table.merge(people[["participant_id", "excl_attention"]], on="participant_id", how="left")
    table["excluded"] = table["excl_attention"] if "attention" in settings.exclude else "false"
    return table[columns]


def tables(store: SurveyStore, settings: StudySettings) -> dict[str, pd.DataFrame]:
    """Every export file's table, by file name."""
    people = participants_table(store)
    return {"answers.csv": answers_table(store, settings, people),
            "participants.csv": people,
            "games.csv": games_table(store, settings, people),
            "checks.csv": _frame(store, CHECKS_SQL).reindex(columns=list(CODEBOOK["checks.csv"])),
            "platform_ids.csv": _frame(store, PLATFORM_SQL).reindex(columns=list(CODEBOOK["platform_ids.csv"]))}


def codebook() -> pd.DataFrame:
    return pd.DataFrame([(f, c, d) for f, cols in CODEBOOK.items() for c, d in cols.items()],
                        columns=["file", "column", "description"])


def safe_cell(value: object) -> object:
    """A text cell that a spreadsheet shows as text, never evaluates (see the module docstring)."""
    if not isinstance(value, str):
        return value
    value = value.replace("\x00", "")
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def safe_csv(table: pd.DataFrame) -> bytes:
    """The table as UTF-8 CSV with every text cell made spreadsheet-safe."""
    out = table.copy()
    for column in out.columns:
        if not pd.api.types.is_numeric_dtype(out[column]):  # text columns (object or pandas' str dtype)
            out[column] = out[column].map(safe_cell)
    return out.to_csv(index=False).encode("utf-8")


def bundle(store: SurveyStore, settings: StudySettings) -> bytes:
    """A zip of every export file and the codebook, built in memory."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, table in tables(store, settings).items():
            archive.writestr(name, safe_csv(table))
        archive.writestr("codebook.csv", safe_csv(codebook()))
    return buffer.getvalue()


def _write(path: Path, data: bytes) -> None:
    """Write through a temporary file, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    partial.replace(path)


def publish(store: SurveyStore, scenarios: list[Scenario], settings: StudySettings,
            games: list[Game] = ()) -> list[tuple[Path, int]]:
    """Write the answers (data/human_responses.csv, which notebooks 01-05 read) and
    the game choices (data/human_games.csv, notebook 07) for the notebooks, each
    checked by the loader that will read it. Returns (path, rows) per file written."""
    found = tables(store, settings)
    answers, choices = found["answers.csv"], found["games.csv"]
    if answers.empty and choices.empty:
        raise UserError("no answers to export yet")
    written = []
    if not answers.empty:
        human.validate_human(answers, scenarios, source=f"survey database {store.path}")
        path = paths.human_responses_file()
        _write(path, safe_csv(answers))
        written.append((path, len(answers)))
    if not choices.empty:
        validate_human_games(choices, list(games), source=f"survey database {store.path}")
        path = paths.human_games_file()
        _write(path, safe_csv(choices))
        written.append((path, len(choices)))
    return written


def bucket_table(store: SurveyStore, scenarios: list[Scenario]) -> pd.DataFrame:
    """Answers per bucket as the organiser reads them: one row per scenario, a
    column `level N` per level with its number of answers, and the total."""
    titles = {s.id: s.title for s in scenarios}
    counts = pd.DataFrame(store.counts(scenarios), columns=["scenario", "level", "answers", "yes", "no"])
    wide = counts.pivot(index="scenario", columns="level", values="answers").fillna(0).astype(int)
    wide = wide.reindex(list(dict.fromkeys(counts["scenario"])))
    wide.columns = [f"level {lv}" for lv in wide.columns]
    wide.insert(0, "scenario", [titles.get(s, s) for s in wide.index])
    wide["total"] = wide.filter(like="level ").sum(axis=1)
    return wide.reset_index(drop=True)


def overview(store: SurveyStore, settings: StudySettings) -> dict:
    """What the organiser's page shows: participants (consented), completed,
    answers (scenario answers), game_choices, flagged (rule -> participants
    with at least one flag of that rule, whether or not the rule excludes),
    excluded (participants the study's rule, [quality] exclude, excludes at
    least one answer or choice of), median_minutes (consent to last answer,
    of those who finished; None before anyone has)."""
    people = participants_table(store)
    answers = answers_table(store, settings, people)
    games = games_table(store, settings, people)
    pids = {"attention": set(people.loc[people["excl_attention"] == "true", "participant_id"]),
            "fast": set(answers.loc[answers["excl_fast"] == "true", "participant_id"]),
            "paste": set(answers.loc[answers["excl_paste"] == "true", "participant_id"])}
    excluded = set(answers.loc[answers["excluded"] == "true", "participant_id"])
    excluded |= set(games.loc[games["excluded"] == "true", "participant_id"])
    if "attention" in settings.exclude:
        excluded |= pids["attention"]
    finished = pd.to_numeric(people.loc[people["completed"] == "true", "total_seconds"], errors="coerce").dropna()
    progress = store.progress()
    return {**progress, "game_choices": len(games), "flagged": {rule: len(pids[rule]) for rule in pids},
            "excluded": len(excluded), "median_minutes": float(finished.median() / 60) if len(finished) else None}
