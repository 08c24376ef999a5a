"""The survey's store: one SQLite file holding participants, what each was
assigned, when each step was shown, and every answer with its quality signals.

Design choices, each for a reason:
- A participant is a random pseudonymous id plus a separate random resume code.
  The id goes into exports; the code lets them come back and never leaves the
  database except on their own page. A recruitment platform's raw ids go into a
  table of their own (platform_ids), exported in a separate file the organiser
  needs only for payment; answer rows never carry them.
- The assignment is drawn once, at consent, and stored: every scenario once, in
  random order, at a level drawn uniformly and independently per scenario (the
  paper's design), then the game settings in random order. A returning
  participant (their code, or the same platform id again) gets the same one.
- Every answer is committed in its own transaction the moment it is submitted
  (synchronous=FULL), so a closed tab or a server restart loses at most the
  answer being typed. The first answer to a step stands; a repeated submit
  (double click, a second device) changes nothing and is reported as such.
- Many participants at once: WAL mode lets readers and one writer work side by
  side; writers of this process queue on a lock, those of other processes on
  SQLite's busy timeout (BEGIN IMMEDIATE); connections are pooled, because
  opening one per operation made a page cost 6 ms of CPU and 200 participants at
  once waited 1.6 s at p95 (bench/bench_survey_load.py; pooled: 0.43 s).
- Schema changes only add: a file from an older version is copied aside
  (survey.sqlite.v1-backup) and then gains the new tables and columns, so no
  stored answer is ever rewritten or dropped.
- Reading (organiser counts, looking up a code) never creates the file.
"""

from __future__ import annotations

import os
import random
import secrets
import sqlite3
import threading
import time
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from helpers import paths
from helpers.economics.games import Game
from helpers.errors import UserError
from helpers.exceptions.scenarios import Scenario
from helpers.survey.codes import new_code, parse_code
from helpers.survey.settings import StudySettings
from helpers.survey.steps import CheckStep, GameStep, Question, Step, arrange

SCHEMA_VERSION = 2
BUSY_TIMEOUT_MS = 30_000
MAX_IDLE = 40  # idle connections kept per store: one per worker thread of the server (2 open files each)
DEVICES = ("desktop", "mobile", "tablet", "unknown")
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
CREATE TABLE IF NOT EXISTS platform_ids (
    participant_id TEXT PRIMARY KEY REFERENCES participants (participant_id),
    study TEXT NOT NULL,
    platform TEXT NOT NULL,
    platform_id TEXT NOT NULL,
    params TEXT NOT NULL,
    UNIQUE (study, platform, platform_id)
);
CREATE TABLE IF NOT EXISTS shown (
    participant_id TEXT NOT NULL REFERENCES participants (participant_id),
    step TEXT NOT NULL,
    shown_at TEXT NOT NULL,
    PRIMARY KEY (participant_id, step)
);
CREATE TABLE IF NOT EXISTS checks (
    participant_id TEXT NOT NULL REFERENCES participants (participant_id),
    check_id TEXT NOT NULL,
    choice TEXT NOT NULL,
    passed INTEGER NOT NULL CHECK (passed IN (0, 1)),
    answered_at TEXT NOT NULL,
    PRIMARY KEY (participant_id, check_id)
);
CREATE TABLE IF NOT EXISTS game_assignments (
    participant_id TEXT NOT NULL REFERENCES participants (participant_id),
    position INTEGER NOT NULL,
    game TEXT NOT NULL,
    setting INTEGER NOT NULL CHECK (setting >= 1),
    PRIMARY KEY (participant_id, position),
    UNIQUE (participant_id, game, setting)
);
CREATE TABLE IF NOT EXISTS game_choices (
    participant_id TEXT NOT NULL,
    game TEXT NOT NULL,
    setting INTEGER NOT NULL,
    choice TEXT NOT NULL,
    prompt TEXT NOT NULL,
    answered_at TEXT NOT NULL,
    PRIMARY KEY (participant_id, game, setting),
    FOREIGN KEY (participant_id, game, setting) REFERENCES game_assignments (participant_id, game, setting)
);
"""
SCHEMA_STATEMENTS = [part.strip() + ";" for part in SCHEMA.split(";") if part.strip()]
# Columns version 2 added to version 1's tables (NULL in rows written before).
ADDED_COLUMNS = {
    "participants": {"consent_version": "TEXT", "device": "TEXT", "completed_at": "TEXT"},
    "answers": {"edits": "INTEGER", "paste_count": "INTEGER", "pasted_chars": "INTEGER"},
}


@dataclass(frozen=True)
class Participant:
    participant_id: str
    code: str
    study: str
    created_at: str
    consent_version: str | None = None
    device: str | None = None


@dataclass(frozen=True)
class Quality:
    """What the page measured while the participant wrote (None: not recorded,
    e.g. without JavaScript)."""
    edits: int | None = None
    paste_count: int | None = None
    pasted_chars: int | None = None


PARTICIPANT_COLUMNS = "participant_id, code, study, created_at, consent_version, device"


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


_WRITER_LOCKS: dict[str, threading.Lock] = {}
_WRITER_LOCKS_GUARD = threading.Lock()


def _writer_lock(path: Path) -> threading.Lock:
    """The lock this process's writers to `path` take before SQLite's own."""
    key = os.path.realpath(path)
    with _WRITER_LOCKS_GUARD:
        return _WRITER_LOCKS.setdefault(key, threading.Lock())


def check_answer(decision: object, explanation: object, max_text: int = 500) -> str | None:
    """Why an answer cannot be saved, in words for the participant; None if it can.
    decision: yes or no in any case (the form says Yes / No)."""
    if not isinstance(decision, str) or decision.strip().lower() not in ("yes", "no"):
        return "Please choose Yes or No."
    text = explanation.strip() if isinstance(explanation, str) else ""
    if not text:
        return "Please explain your decision in a sentence or two."
    if len(text) > max_text:
        return f"Please keep your explanation under {max_text} characters (it has {len(text)})."
    return None


class SurveyStore:
    """The survey database at `path` (default paths.survey_db())."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path is not None else paths.survey_db()
        self._current = False  # the file is known to have this version's schema
        # Idle connections for reuse, valid for this process and this file (inode).
        self._idle: list[sqlite3.Connection] = []
        self._idle_pid: int | None = None
        self._idle_inode: int | None = None
        self._idle_lock = threading.Lock()

    # --- connections ---------------------------------------------------------
    #
    # Connections are reused (a pool of idle ones): opening one costs about 0.5 ms
    # of CPU (open the files, map the WAL index, parse the schema) and a page or a
    # submit ran 7 store operations, each on a new connection; and when the last
    # connection of a WAL file closes, SQLite checkpoints and deletes the WAL, an
    # fsync more. The load bench measured both (bench/bench_survey_load.py). A
    # pooled connection is dropped when the process forked or the file was
    # replaced (another inode), so nothing is ever written to a file that is gone.

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                   check_same_thread=False)  # one thread at a time: handed over by the pool
        except sqlite3.Error as exc:
            raise UserError(f"survey database {self.path}: cannot be opened ({exc})") from None
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = FULL")
        return conn

    def _inode(self) -> int | None:
        try:
            return self.path.stat().st_ino
        except OSError:
            return None

    def _take(self) -> sqlite3.Connection:
        """An idle connection to this very file in this process, or a new one."""
        pid, inode, stale = os.getpid(), self._inode(), []
        with self._idle_lock:
            if pid != self._idle_pid:  # a forked child: the parent's connections are not its to use or close
                self._idle, self._idle_pid, self._idle_inode = [], pid, inode
            elif inode != self._idle_inode:  # the file was replaced or removed
                stale, self._idle, self._idle_inode = self._idle, [], inode
            elif self._idle:
                return self._idle.pop()
        for conn in stale:
            conn.close()
        return self._connect()

    def _give(self, conn: sqlite3.Connection) -> None:
        """Back to the pool after use (closed instead when in a transaction, the pool
        is full, or the file is not the one the pool is for)."""
        inode = self._inode()
        with self._idle_lock:
            if (not conn.in_transaction and len(self._idle) < MAX_IDLE and os.getpid() == self._idle_pid
                    and inode is not None and inode == self._idle_inode):
                self._idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        """Close the idle connections (a later operation opens new ones)."""
        with self._idle_lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    @contextmanager
    def _write(self):
        """One transaction that takes the write lock at once (waiting up to the
        busy timeout for other writers) and commits or rolls back as a whole.
        A database failure (disk full, locked past the timeout) is a UserError:
        the page says the answer was not saved and keeps the text to submit again."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Writers of this process queue on a lock of their own: SQLite's busy
            # handler makes a waiting writer sleep (1, 2, 5 ... 100 ms) and poll, so
            # under 40 threads the lock sat idle between writers and the slowest
            # waited seconds (bench). Other processes still meet the busy timeout.
            with _writer_lock(self.path):
                conn = self._begin()
                try:
                    yield conn
                except BaseException:
                    conn.execute("ROLLBACK")
                    self._give(conn)
                    raise
                try:
                    conn.execute("COMMIT")
                except BaseException:
                    conn.close()
                    raise
                self._give(conn)
        except (sqlite3.Error, OSError) as exc:
            raise UserError(f"survey database {self.path}: not saved ({exc}); please submit again") from None

    def _begin(self) -> sqlite3.Connection:
        """A connection in WAL mode holding the write lock, with the tables in place.

        Some steps report "locked" at once instead of waiting (switching a file to
        WAL while another connection is in it, upgrading a stale read snapshot).
        Nothing is written before the lock is held, so those steps start over,
        within the same timeout. The schema is brought up to date inside the lock:
        on a fresh file every first participant races to create it."""
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:
            conn = self._take()
            try:
                if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("BEGIN IMMEDIATE")
                if not self._current:
                    self._upgrade(conn)
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

    def _upgrade(self, conn: sqlite3.Connection) -> None:
        """Create missing tables and add version 2's columns to a version 1 file
        (after copying it aside), inside the caller's write transaction."""
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version < SCHEMA_VERSION:
            old = conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'answers'").fetchone()[0]
            if old:
                self._backup(version)
            for statement in SCHEMA_STATEMENTS:
                conn.execute(statement)
            for table, columns in ADDED_COLUMNS.items():
                have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
                for name, kind in columns.items():
                    if name not in have:
                        conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        elif version > SCHEMA_VERSION:
            raise UserError(f"survey database {self.path} was written by a newer version of the workspace "
                            f"(schema {version}); update the checkout before opening it")
        self._current = True

    def _backup(self, version: int) -> None:
        """A copy of the whole file as it was, before its schema changes (read-only
        connection: the write lock is held by the caller)."""
        target = self.path.with_name(f"{self.path.name}.v{max(version, 1)}-backup")
        if target.exists():
            return
        with closing(sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)) as source, \
                closing(sqlite3.connect(target)) as copy:
            source.backup(copy)

    def _read(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Rows of a query; [] when the database does not exist yet (never creates it)."""
        if not self.path.is_file():
            return []
        if not self._current:
            with self._write():  # an older file gains the new schema before it is read
                pass
        conn = self._take()
        try:
            rows = conn.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            conn.close()
            if "no such table" in str(exc):
                return []
            raise UserError(f"survey database {self.path}: {exc}") from None
        except BaseException:
            conn.close()
            raise
        self._give(conn)
        return rows

    def read_table(self, sql: str, params: tuple = ()) -> tuple[list[str], list[tuple]]:
        """Column names and rows of a query, for the export."""
        if not self.path.is_file():
            return [], []
        self._read("SELECT 1")
        with closing(self._connect()) as conn:
            cursor = conn.execute(sql, params)
            return [d[0] for d in cursor.description], cursor.fetchall()

    # --- participants ----------------------------------------------------------

    def register(self, scenarios: list[Scenario], settings: StudySettings, *, games: list[Game] = (),
                 platform: dict[str, str] | None = None, device: str = "unknown", code: str | None = None,
                 rng: random.Random | None = None) -> Participant:
        """Create a participant with their assignment, in one transaction.

        code: the resume code to use; an existing code returns that participant
        unchanged. platform: the study link's ids (settings.clean_platform); the
        same first id again in the same study returns the participant it already
        registered, so a platform's "return to study" link resumes. rng: for
        tests; default: the system's CSPRNG."""
        scenarios = scenarios if "scenarios" in settings.modules else []
        games = list(games) if "games" in settings.modules else []
        if not scenarios and not games:
            raise UserError("the survey has nothing to ask; check scenarios.toml, games.toml and study.toml's modules")
        rng = rng or secrets.SystemRandom()
        code = code or new_code(rng)
        if parse_code(code) != code:
            raise UserError(f"not a resume code: {code[:20]!r}")
        device = device if device in DEVICES else "unknown"
        key = self._platform_key(settings, platform)
        with self._write() as conn:
            row = conn.execute(f"SELECT {PARTICIPANT_COLUMNS} FROM participants WHERE code = ?", (code,)).fetchone()
            if row:
                return Participant(*row)
            if key and (row := conn.execute(
                    f"SELECT {', '.join('p.' + c.strip() for c in PARTICIPANT_COLUMNS.split(','))} "
                    "FROM platform_ids i JOIN participants p USING (participant_id) "
                    "WHERE i.study = ? AND i.platform = ? AND i.platform_id = ?",
                    (settings.study, settings.platform, key)).fetchone()):
                return Participant(*row)
            while True:  # a clash of 48 random bits is unlikely, but cheap to rule out
                pid = f"p-{rng.getrandbits(48):012x}"
                if not conn.execute("SELECT 1 FROM participants WHERE participant_id = ?", (pid,)).fetchone():
                    break
            participant = Participant(pid, code, settings.study, now(), settings.consent_version, device)
            conn.execute("INSERT INTO participants (participant_id, code, study, created_at, consent_version, device)"
                         " VALUES (?, ?, ?, ?, ?, ?)", (pid, code, settings.study, participant.created_at,
                                                        settings.consent_version, device))
            if key:
                conn.execute("INSERT INTO platform_ids VALUES (?, ?, ?, ?, ?)",
                             (pid, settings.study, settings.platform, key,
                              "&".join(f"{k}={v}" for k, v in sorted(platform.items()))))
            order = list(scenarios)
            rng.shuffle(order)
            conn.executemany("INSERT INTO assignments VALUES (?, ?, ?, ?)",
                             [(pid, position, s.id, rng.randint(1, len(s.levels)))
                              for position, s in enumerate(order, start=1)])
            settings_order = [(g.id, s.index) for g in games for s in g.settings]
            rng.shuffle(settings_order)
            conn.executemany("INSERT INTO game_assignments VALUES (?, ?, ?, ?)",
                             [(pid, position, g, i) for position, (g, i) in enumerate(settings_order, start=1)])
        return participant

    @staticmethod
    def _platform_key(settings: StudySettings, platform: dict[str, str] | None) -> str | None:
        """The id a returning participant is known by: the platform's first
        parameter (Prolific's PROLIFIC_PID, MTurk's workerId, participant_label)."""
        if not platform:
            return None
        return platform.get(settings.platform_params()[0])

    def find(self, code: str | None) -> Participant | None:
        """The participant with this resume code, or None."""
        code = parse_code(code)
        if code is None:
            return None
        rows = self._read(f"SELECT {PARTICIPANT_COLUMNS} FROM participants WHERE code = ?", (code,))
        return Participant(*rows[0]) if rows else None

    def find_platform(self, settings: StudySettings, platform: dict[str, str] | None) -> Participant | None:
        """The participant this platform id registered in this study, or None."""
        key = self._platform_key(settings, platform)
        if not key:
            return None
        rows = self._read(f"SELECT {', '.join('p.' + c.strip() for c in PARTICIPANT_COLUMNS.split(','))} "
                          "FROM platform_ids i JOIN participants p USING (participant_id) "
                          "WHERE i.study = ? AND i.platform = ? AND i.platform_id = ?",
                          (settings.study, settings.platform, key))
        return Participant(*rows[0]) if rows else None

    # --- what the participant is asked ---------------------------------------------

    def questions(self, participant: Participant, scenarios: list[Scenario]) -> list[Question]:
        """The participant's scenario questions in their order."""
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

    def game_steps(self, participant: Participant, games: list[Game]) -> list[GameStep]:
        """The participant's game settings in their order."""
        by_id = {g.id: g for g in games}
        rows = self._read("SELECT position, game, setting FROM game_assignments WHERE participant_id = ? "
                          "ORDER BY position", (participant.participant_id,))
        out = []
        for position, game_id, index in rows:
            game = by_id.get(game_id)
            if game is None or index > len(game.settings):
                raise UserError(f"participant {participant.participant_id} was assigned game '{game_id}' "
                                f"setting {index}, which the current games file does not have; "
                                "keep games.toml fixed while a study runs")
            out.append(GameStep(position, game.settings[index - 1]))
        return out

    def steps(self, participant: Participant, scenarios: list[Scenario], games: list[Game],
              settings: StudySettings) -> list[Step]:
        """Everything this participant is asked, in order."""
        return arrange(self.questions(participant, scenarios), self.game_steps(participant, games), settings)

    def answered(self, participant: Participant) -> set[str]:
        """Keys of the steps this participant has answered."""
        pid = (participant.participant_id,)
        keys = {f"scenario:{r[0]}" for r in self._read("SELECT scenario FROM answers WHERE participant_id = ?", pid)}
        keys |= {f"check:{r[0]}" for r in self._read("SELECT check_id FROM checks WHERE participant_id = ?", pid)}
        keys |= {f"game:{g}:{s}" for g, s in
                 self._read("SELECT game, setting FROM game_choices WHERE participant_id = ?", pid)}
        return keys

    def next_step(self, participant: Participant, steps: list[Step]) -> Step | None:
        """The first step not answered yet; None when everything is."""
        done = self.answered(participant)
        return next((s for s in steps if s.key not in done), None)

    def mark_shown(self, participant: Participant, step: Step) -> None:
        """Note when a step was first put in front of the participant (a reload keeps the first time)."""
        with self._write() as conn:
            conn.execute("INSERT OR IGNORE INTO shown VALUES (?, ?, ?)", (participant.participant_id, step.key, now()))

    def complete(self, participant: Participant) -> None:
        """Note when the participant finished (the first time stands)."""
        with self._write() as conn:
            conn.execute("UPDATE participants SET completed_at = ? WHERE participant_id = ? AND completed_at IS NULL",
                         (now(), participant.participant_id))

    # --- answers -------------------------------------------------------------------

    def record(self, participant: Participant, question: Question, decision: str, explanation: str,
               quality: Quality | None = None, max_text: int = 500) -> bool:
        """Save one answer now, in its own transaction. True if it was saved,
        False if this question already had an answer (the first one stands)."""
        problem = check_answer(decision, explanation, max_text)
        if problem:
            raise UserError(problem)
        quality = quality or Quality()
        with self._write() as conn:
            assigned = conn.execute("SELECT level FROM assignments WHERE participant_id = ? AND scenario = ?",
                                    (participant.participant_id, question.scenario.id)).fetchone()
            if assigned is None or assigned[0] != question.level:
                raise UserError(f"participant {participant.participant_id} was not assigned "
                                f"'{question.scenario.id}' at level {question.level}")
            cursor = conn.execute(
                "INSERT OR IGNORE INTO answers (participant_id, scenario, level, decision, explanation, prompt,"
                " answered_at, edits, paste_count, pasted_chars) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (participant.participant_id, question.scenario.id, question.level, decision.strip().lower(),
                 explanation.strip(), question.prompt, now(), quality.edits, quality.paste_count,
                 quality.pasted_chars))
            return cursor.rowcount == 1

    def record_check(self, participant: Participant, step: CheckStep, choice: str) -> bool:
        """Save an attention check's answer; False if it already had one."""
        if choice not in step.check.options:
            raise UserError("Please choose one of the options.")
        with self._write() as conn:
            cursor = conn.execute("INSERT OR IGNORE INTO checks VALUES (?, ?, ?, ?, ?)",
                                  (participant.participant_id, step.check.id, choice,
                                   int(choice == step.check.answer), now()))
            return cursor.rowcount == 1

    def record_game(self, participant: Participant, step: GameStep, choice: str) -> bool:
        """Save a game choice (an action id of the setting); False if it already had one."""
        if choice not in {a.id for a in step.setting.actions()}:
            raise UserError("Please choose one of the options.")
        game, index = step.setting.game.id, step.setting.index
        with self._write() as conn:
            if not conn.execute("SELECT 1 FROM game_assignments WHERE participant_id = ? AND game = ? AND setting = ?",
                                (participant.participant_id, game, index)).fetchone():
                raise UserError(f"participant {participant.participant_id} was not assigned game '{game}' "
                                f"setting {index}")
            cursor = conn.execute("INSERT OR IGNORE INTO game_choices VALUES (?, ?, ?, ?, ?, ?)",
                                  (participant.participant_id, game, index, choice, step.prompt, now()))
            return cursor.rowcount == 1

    # --- the organiser's view ------------------------------------------------------

    def counts(self, scenarios: list[Scenario]) -> list[tuple[str, int, int, int, int]]:
        """Answers per bucket (scenario, level, answers, yes, no), empty buckets included,
        then buckets of scenarios no longer in the file."""
        rows = self._read("SELECT scenario, level, COUNT(*), SUM(decision = 'yes'), SUM(decision = 'no') "
                          "FROM answers GROUP BY scenario, level")
        found = {(s, lv): (n, y, no) for s, lv, n, y, no in rows}
        grid = [(s.id, lv) for s in scenarios for lv in range(1, len(s.levels) + 1)]
        grid += sorted(k for k in found if k not in set(grid))
        return [(s, lv, *found.get((s, lv), (0, 0, 0))) for s, lv in grid]

    def progress(self) -> dict[str, int]:
        """participants (consented), completed (answered every assigned step; a
        participant from a version 1 file, which had only scenarios, when they
        answered them all), answers (scenario answers)."""
        rows = self._read(
            "SELECT COUNT(*), COALESCE(SUM(completed_at IS NOT NULL OR (version1 AND done = total AND total > 0)), 0),"
            " COALESCE(SUM(done), 0) FROM ("
            " SELECT p.participant_id, p.completed_at, p.consent_version IS NULL AS version1,"
            " (SELECT COUNT(*) FROM assignments a WHERE a.participant_id = p.participant_id) AS total,"
            " (SELECT COUNT(*) FROM answers r WHERE r.participant_id = p.participant_id) AS done"
            " FROM participants p)")
        participants, completed, answers = rows[0] if rows else (0, 0, 0)
        return {"participants": participants, "completed": completed, "answers": answers}
