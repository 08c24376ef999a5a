"""The survey's store: one SQLite file holding participants, assignments and answers.

Design choices, each for a reason:
- A participant is a random pseudonymous id plus a separate random resume code.
  The id goes into exports; the code (shown to the participant and kept in their
  page's URL) lets them come back, and never leaves the database.
- The assignment is drawn once, when the participant consents, and stored: every
  scenario once, in random order, at a level drawn uniformly and independently
  per scenario (the paper's design). A returning participant gets the same one.
- Every answer is committed in its own transaction the moment it is submitted
  (synchronous=FULL), so a closed tab or a server restart loses at most the
  answer being typed. The first answer to a question stands; a repeated submit
  (double click, a second tab) changes nothing.
- Many participants at once: WAL mode lets readers and one writer work side by
  side, writers wait for each other (busy timeout, BEGIN IMMEDIATE), and every
  operation opens its own short-lived connection, so nothing is shared between
  the server's sessions.
- Reading (organiser counts, looking up a code) never creates the file, so an
  HTML export of the survey notebook writes nothing.
"""

from __future__ import annotations

import os
import random
import re
import secrets
import sqlite3
import time
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from helpers.humans import responses as human
from helpers import paths
from helpers.errors import UserError
from helpers.exceptions.scenarios import Scenario

MAX_EXPLANATION = 500  # characters; the paper's explanations averaged about 18 words
BUSY_TIMEOUT_MS = 30_000
CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud and typed by hand
CODE_LENGTH = 12
SCHEMA = """
CREATE TABLE IF NOT EXISTS participants (
    participant_id TEXT PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    study TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS assignments (
    participant_id TEXT NOT NULL REFERENCES participants (participant_id),
    position INTEGER NOT NULL,
    scenario TEXT NOT NULL,
    level INTEGER NOT NULL CHECK (level >= 1),
    PRIMARY KEY (participant_id, position),
    UNIQUE (participant_id, scenario)
);
CREATE TABLE IF NOT EXISTS answers (
    participant_id TEXT NOT NULL,
    scenario TEXT NOT NULL,
    level INTEGER NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('yes', 'no')),
    explanation TEXT NOT NULL,
    prompt TEXT NOT NULL,
    answered_at TEXT NOT NULL,
    PRIMARY KEY (participant_id, scenario),
    FOREIGN KEY (participant_id, scenario) REFERENCES assignments (participant_id, scenario)
);
"""
SCHEMA_STATEMENTS = [part.strip() + ";" for part in SCHEMA.split(";") if part.strip()]


@dataclass(frozen=True)
class Participant:
    participant_id: str
    code: str
    study: str
    created_at: str


@dataclass(frozen=True)
class Question:
    position: int  # 1-based place in this participant's order
    scenario: Scenario
    level: int

    @property
    def prompt(self) -> str:
        return self.scenario.render(self.level)


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def new_code(rng: random.Random | None = None) -> str:
    """A fresh random resume code (12 characters from an unambiguous alphabet)."""
    pick = (rng or secrets.SystemRandom()).choice
    return "".join(pick(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def format_code(code: str) -> str:
    """abcdefghjkmn -> abcd-efgh-jkmn, easier to copy by hand."""
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def parse_code(text: object) -> str | None:
    """A resume code typed or taken from a URL, normalised; None if it cannot be one."""
    if not isinstance(text, str):
        return None
    code = re.sub(r"[\s-]", "", text).lower()
    return code if len(code) == CODE_LENGTH and all(c in CODE_ALPHABET for c in code) else None


def organiser_allowed(view: object, key: object) -> bool:
    """Whether a page's URL opens the organiser's view (counts and the export).

    It needs `?view=organiser`, plus `&key=...` equal to EXCEPTIONS_ORGANISER_KEY
    when that is set (`make survey` sets a random one), so participants on the
    same network cannot download everyone's answers.
    """
    if view != "organiser":
        return False
    expected = os.environ.get("EXCEPTIONS_ORGANISER_KEY", "")
    if not expected:
        return True
    return isinstance(key, str) and secrets.compare_digest(key.encode(), expected.encode())


def check_answer(decision: object, explanation: object) -> str | None:
    """Why an answer cannot be saved, in words for the participant; None if it can.
    decision: yes or no in any case (the form's radio says Yes / No)."""
    if not isinstance(decision, str) or decision.strip().lower() not in ("yes", "no"):
        return "Please choose Yes or No."
    text = explanation.strip() if isinstance(explanation, str) else ""
    if not text:
        return "Please explain your decision in a sentence or two."
    if len(text) > MAX_EXPLANATION:
        return f"Please keep your explanation under {MAX_EXPLANATION} characters (it has {len(text)})."
    return None


class SurveyStore:
    """The survey database at `path` (default paths.survey_db())."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path is not None else paths.survey_db()

    # --- connections ---------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        except sqlite3.Error as exc:
            raise UserError(f"survey database {self.path}: cannot be opened ({exc})") from None
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = FULL")
        return conn

    @contextmanager
    def _write(self):
        """One transaction that takes the write lock at once (waiting up to the
        busy timeout for other writers) and commits or rolls back as a whole.
        A database failure (disk full, locked past the timeout) is a UserError:
        the page says the answer was not saved, and the participant's text stays
        in the form to submit again."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(self._begin()) as conn:
                try:
                    yield conn
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
        except (sqlite3.Error, OSError) as exc:
            raise UserError(f"survey database {self.path}: not saved ({exc}); please submit again") from None

    def _begin(self) -> sqlite3.Connection:
        """A connection in WAL mode holding the write lock, with the tables in place.

        Busy waits are SQLite's (busy_timeout) where it waits, but some steps report
        "locked" at once instead: switching a file to WAL while another connection is
        in it, or upgrading a read snapshot that another writer made stale. Nothing is
        written before the lock is held, so those steps start over, within the same
        timeout. The tables are created inside the lock: on a fresh file every first
        participant races to create them."""
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:
            conn = self._connect()
            try:
                if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("BEGIN IMMEDIATE")
                for statement in SCHEMA_STATEMENTS:
                    conn.execute(statement)
                return conn
            except sqlite3.OperationalError as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                conn.close()
                if ("locked" not in str(exc) and "busy" not in str(exc)) or time.monotonic() > deadline:
                    raise
                time.sleep(0.005 + 0.02 * random.random())
            except BaseException:
                conn.close()
                raise

    def _read(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Rows of a query; [] when the database does not exist yet (never creates it)."""
        if not self.path.is_file():
            return []
        with closing(self._connect()) as conn:
            try:
                return conn.execute(sql, params).fetchall()
            except sqlite3.OperationalError as exc:
                if "no such table" in str(exc):
                    return []
                raise UserError(f"survey database {self.path}: {exc}") from None

    # --- participants ----------------------------------------------------------

    def register(self, scenarios: list[Scenario], study: str, code: str | None = None,
                 rng: random.Random | None = None) -> Participant:
        """Create a participant with their assignment, in one transaction.

        code: the resume code to use (a notebook session draws one up front, so
        a repeated consent click registers nobody new); an existing code returns
        that participant unchanged. rng: for tests; default: the system's CSPRNG.
        """
        if not scenarios:
            raise UserError("the survey has no scenarios; check scenarios.toml")
        if not study.strip():
            raise UserError("the study needs a name (--study NAME)")
        rng = rng or secrets.SystemRandom()
        code = code or new_code(rng)
        if parse_code(code) != code:
            raise UserError(f"not a resume code: {code[:20]!r}")
        with self._write() as conn:
            row = conn.execute("SELECT participant_id, code, study, created_at FROM participants "
                               "WHERE code = ?", (code,)).fetchone()
            if row:
                return Participant(*row)
            while True:  # a clash of 48 random bits is unlikely, but cheap to rule out
                pid = f"p-{rng.getrandbits(48):012x}"
                if not conn.execute("SELECT 1 FROM participants WHERE participant_id = ?", (pid,)).fetchone():
                    break
            participant = Participant(pid, code, study.strip(), now())
            conn.execute("INSERT INTO participants VALUES (?, ?, ?, ?)",
                         (participant.participant_id, code, participant.study, participant.created_at))
            order = list(scenarios)
            rng.shuffle(order)
            conn.executemany("INSERT INTO assignments VALUES (?, ?, ?, ?)",
                             [(pid, position, s.id, rng.randint(1, len(s.levels)))
                              for position, s in enumerate(order, start=1)])
        return participant

    def find(self, code: str | None) -> Participant | None:
        """The participant with this resume code, or None."""
        code = parse_code(code)
        if code is None:
            return None
        rows = self._read("SELECT participant_id, code, study, created_at FROM participants WHERE code = ?",
                          (code,))
        return Participant(*rows[0]) if rows else None

    def questions(self, participant: Participant, scenarios: list[Scenario]) -> list[Question]:
        """The participant's questions in their order."""
        by_id = {s.id: s for s in scenarios}
        rows = self._read("SELECT position, scenario, level FROM assignments WHERE participant_id = ? "
                          "ORDER BY position", (participant.participant_id,))
        out = []
        for position, scenario_id, level in rows:
            scenario = by_id.get(scenario_id)
            if scenario is None or level > len(scenario.levels):
                raise UserError(f"participant {participant.participant_id} was assigned '{scenario_id}' "
                                f"level {level}, which the current scenarios file does not have; "
                                "keep the scenarios fixed while a study runs")
            out.append(Question(position, scenario, level))
        return out

    def answered(self, participant: Participant) -> set[str]:
        """Ids of the scenarios this participant has answered."""
        rows = self._read("SELECT scenario FROM answers WHERE participant_id = ?", (participant.participant_id,))
        return {r[0] for r in rows}

    # --- answers -------------------------------------------------------------------

    def record(self, participant: Participant, question: Question, decision: str, explanation: str) -> bool:
        """Save one answer now, in its own transaction. True if it was saved,
        False if this question already had an answer (the first one stands)."""
        problem = check_answer(decision, explanation)
        if problem:
            raise UserError(problem)
        decision = decision.strip().lower()
        with self._write() as conn:
            assigned = conn.execute("SELECT level FROM assignments WHERE participant_id = ? AND scenario = ?",
                                    (participant.participant_id, question.scenario.id)).fetchone()
            if assigned is None or assigned[0] != question.level:
                raise UserError(f"participant {participant.participant_id} was not assigned "
                                f"'{question.scenario.id}' at level {question.level}")
            cursor = conn.execute(
                "INSERT OR IGNORE INTO answers VALUES (?, ?, ?, ?, ?, ?, ?)",
                (participant.participant_id, question.scenario.id, question.level, decision,
                 explanation.strip(), question.prompt, now()))
            return cursor.rowcount == 1

    # --- the organiser's view ------------------------------------------------------

    def counts(self, scenarios: list[Scenario]) -> pd.DataFrame:
        """Answers per bucket (scenario x level), including empty buckets:
        scenario, level, answers, yes, no."""
        rows = self._read("SELECT scenario, level, COUNT(*), SUM(decision = 'yes'), SUM(decision = 'no') "
                          "FROM answers GROUP BY scenario, level")
        found = {(s, lv): (n, y, no) for s, lv, n, y, no in rows}
        grid = [(s.id, lv) for s in scenarios for lv in range(1, len(s.levels) + 1)]
        grid += sorted(k for k in found if k not in set(grid))  # answers to scenarios no longer in the file
        return pd.DataFrame([(s, lv, *found.get((s, lv), (0, 0, 0))) for s, lv in grid],
                            columns=["scenario", "level", "answers", "yes", "no"])

    def bucket_table(self, scenarios: list[Scenario]) -> pd.DataFrame:
        """counts() as the organiser reads it: one row per scenario, a column
        `level N` per level with its number of answers, and the total."""
        titles = {s.id: s.title for s in scenarios}
        counts = self.counts(scenarios)
        wide = counts.pivot(index="scenario", columns="level", values="answers").fillna(0).astype(int)
        wide = wide.reindex([s for s in dict.fromkeys(counts["scenario"])])
        wide.columns = [f"level {lv}" for lv in wide.columns]
        wide.insert(0, "scenario", [titles.get(s, s) for s in wide.index])
        wide["total"] = wide.filter(like="level ").sum(axis=1)
        return wide.reset_index(drop=True)

    def progress(self) -> dict[str, int]:
        """participants (consented), completed (answered every assigned question), answers."""
        rows = self._read(
            "SELECT COUNT(*), COALESCE(SUM(done = total), 0), COALESCE(SUM(done), 0) FROM ("
            " SELECT p.participant_id,"
            " (SELECT COUNT(*) FROM assignments a WHERE a.participant_id = p.participant_id) AS total,"
            " (SELECT COUNT(*) FROM answers r WHERE r.participant_id = p.participant_id) AS done"
            " FROM participants p)")
        participants, completed, answers = rows[0] if rows else (0, 0, 0)
        return {"participants": participants, "completed": completed, "answers": answers}

    def responses(self, scenarios: list[Scenario]) -> pd.DataFrame:
        """Every answer in the human-responses format (validated), with the extra
        columns position and prompt (the text the participant saw)."""
        rows = self._read(
            "SELECT r.participant_id, r.scenario, r.level, r.decision, r.explanation, r.answered_at,"
            " p.study, a.position, r.prompt FROM answers r"
            " JOIN participants p USING (participant_id)"
            " JOIN assignments a USING (participant_id, scenario)"
            " ORDER BY p.created_at, p.participant_id, a.position")
        table = pd.DataFrame(rows, columns=human.COLUMNS + ["position", "prompt"])
        if table.empty:
            return table
        return human.validate_human(table, scenarios, source=f"survey database {self.path}")

    def export(self, scenarios: list[Scenario], path: str | Path | None = None) -> tuple[Path, int]:
        """Write every answer to a human-responses file (default
        paths.human_responses_file(), which the notebooks read). Returns (path, rows)."""
        table = self.responses(scenarios)
        if table.empty:
            raise UserError("no answers to export yet")
        path = Path(path) if path is not None else paths.human_responses_file()
        human.write_human(table, path)
        return path, len(table)
