"""Fine-tuning data from human answers, in OpenAI's chat fine-tuning format.

Two kinds of dataset, as in the paper (Sec. 2.4 and 4.4), and a control:
- `labels`: the assistant answers only "Yes" or "No" (the paper used all 303
  answers of a scenario);
- `explanations`: the decision followed by the participant's own explanation
  (the paper used 50 answers of a scenario);
- `labels-50`: the bare "Yes"/"No" of exactly the answers an `explanations`
  dataset of the same size and seed draws (50 by default). The paper's two kinds
  differ in size (303 vs 50) and in kind at once; against `explanations` this
  one differs in kind only, against `labels` in size only.

The user turn is exactly the prompt the models are measured on
(prompting.build_messages), so a fine-tuned model is evaluated on the question
it was trained to answer. One line of JSONL is one example:
{"messages": [{"role": "user", ...}, {"role": "assistant", ...}]}.

`validate` checks a file before anything is uploaded or trained: JSON per line,
keys, roles, non-empty content, an assistant turn to learn from, the minimum
number of examples, tokens per example, and what training would cost.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from helpers.llm import prices as pricing
from helpers.llm import tokens
from helpers.errors import UserError
from helpers.exceptions.prompting import build_messages
from helpers.exceptions.scenarios import Scenario

KINDS = ("labels", "labels-50", "explanations")
# The paper's sizes; labels-50 (not in the paper) takes the explanations' size, as it takes their answers.
PAPER_SIZE = {"labels": 303, "labels-50": 50, "explanations": 50}
ROLES = ("system", "user", "assistant")
MESSAGE_KEYS = {"role", "content", "name", "weight"}
OPENAI_MIN_EXAMPLES = 10  # OpenAI refuses smaller training files
OPENAI_MAX_EXAMPLE_TOKENS = 65_536  # per-example context of gpt-4o / gpt-4o-mini fine-tuning
# OpenAI's published default for n_epochs="auto": 3 passes, raised so that small
# files see about 100 examples in all, lowered so that big ones see at most 25,000.
AUTO_EPOCHS, AUTO_MIN_SEEN, AUTO_MAX_SEEN, AUTO_MAX_EPOCHS = 3, 100, 25_000, 25
Example = dict[str, Any]


def _target(kind: str, decision: str, explanation: Any) -> str:
    word = "Yes" if decision == "yes" else "No"
    if kind != "explanations":
        return word
    return f"{word}. {' '.join(str(explanation).split())}"


def _has_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _needs_explanation(kind: str) -> bool:
    # labels-50 draws from the same pool as explanations, so the same seed picks the same answers.
    return kind in ("explanations", "labels-50")


def usable_answers(human: pd.DataFrame, kind: str, scenario_ids: Iterable[str]) -> pd.DataFrame:
    """The answers a dataset of this kind can use: a yes/no decision, and for
    `explanations` and `labels-50` a non-empty explanation, in the given scenarios."""
    rows = human[human["scenario"].isin(list(scenario_ids)) & human["decision"].isin(["yes", "no"])]
    if _needs_explanation(kind):
        rows = rows[rows["explanation"].map(_has_text)]
    return rows


def select_answers(human: pd.DataFrame, scenarios: list[Scenario], kind: str, *,
                   scenario_ids: Iterable[str] | None = None, size: int | None = None,
                   seed: int = 0) -> pd.DataFrame:
    """The human answers (rows) a dataset of this kind draws; build_examples turns
    them into examples. Arguments as build_examples'."""
    if kind not in KINDS:
        raise UserError(f"unknown dataset kind '{kind}'; use one of {', '.join(KINDS)}")
    needed = {"scenario", "level", "decision"} | ({"explanation"} if _needs_explanation(kind) else set())
    missing = sorted(needed - set(human.columns))
    if missing:
        raise UserError(f"human data lack the column `{missing[0]}`; expected {', '.join(sorted(needed))}")
    by_id = {s.id: s for s in scenarios}
    wanted = list(by_id) if scenario_ids is None else list(dict.fromkeys(scenario_ids))
    unknown = [s for s in wanted if s not in by_id]
    if unknown:
        raise UserError(f"unknown scenario '{unknown[0]}'; known: {', '.join(by_id)}")
    rows = usable_answers(human, kind, wanted)
    # Sorting first makes the draw independent of the order rows came in.
    order = [c for c in ("scenario", "participant_id", "level", "decision", "explanation") if c in rows]
    rows = rows.sort_values(order, kind="stable").reset_index(drop=True)
    what = f"{'scenario ' + wanted[0] if len(wanted) == 1 else f'{len(wanted)} scenarios'}"
    usable = "answers with an explanation" if _needs_explanation(kind) else "yes/no answers"
    if rows.empty:
        raise UserError(f"no usable human {usable} for {what}; check the human data file")
    if size is not None:
        if size < 1:
            raise UserError(f"--size must be at least 1, got {size}")
        if size > len(rows):
            raise UserError(f"asked for {size} examples but {what} has only {len(rows)} {usable}; "
                            f"lower --size")
        rows = rows.sample(n=size, random_state=seed)
    for r in rows.itertuples(index=False):
        count = len(by_id[r.scenario].levels)
        if not 1 <= int(r.level) <= count:
            raise UserError(f"human data: scenario '{r.scenario}' has no level {int(r.level)} "
                            f"(levels 1 to {count})")
    return rows


def examples_from(rows: pd.DataFrame, scenarios: list[Scenario], kind: str) -> list[Example]:
    """One chat example per selected answer (select_answers), in the rows' order."""
    by_id = {s.id: s for s in scenarios}
    examples = []
    for r in rows.itertuples(index=False):
        messages = build_messages(by_id[r.scenario], int(r.level))
        answer = _target(kind, r.decision, getattr(r, "explanation", ""))
        examples.append({"messages": [*messages, {"role": "assistant", "content": answer}]})
    return examples


def build_examples(human: pd.DataFrame, scenarios: list[Scenario], kind: str, *,
                   scenario_ids: Iterable[str] | None = None, size: int | None = None,
                   seed: int = 0) -> list[Example]:
    """Chat fine-tuning examples from human responses.

    human: one row per answer with columns scenario, level (1-based), decision
    ('yes'/'no') and, for `explanations` and `labels-50`, explanation
    (helpers.humans.responses.COLUMNS). scenario_ids: the scenarios to draw from
    (one id: a per-scenario dataset; several: a pooled one); None = every
    scenario in `scenarios`. size: how many answers to draw at random with
    `seed` (None = all usable ones). Answers without a yes/no decision, and for
    `explanations` and `labels-50` without an explanation, are not usable. The
    result is the same for the same rows in any order.
    """
    rows = select_answers(human, scenarios, kind, scenario_ids=scenario_ids, size=size, seed=seed)
    return examples_from(rows, scenarios, kind)


def dumps(example: Example) -> str:
    """One example as one JSONL line (UTF-8 text kept as is, no trailing newline)."""
    return json.dumps(example, ensure_ascii=False)


def write_jsonl(examples: Iterable[Example], path: str | Path) -> Path:
    """Write examples as OpenAI chat fine-tuning JSONL (one object per line).

    The file is written to a temporary name and renamed, so a reader never sees
    half a dataset. Returns the path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text("".join(dumps(e) + "\n" for e in examples), encoding="utf-8")
    tmp.replace(path)
    return path


def read_jsonl(path: str | Path) -> list[Example]:
    """Read a JSONL training file; a line that is not JSON is a one-line error."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: no such training file") from None
    except UnicodeDecodeError:
        raise UserError(f"{path}: not UTF-8 text; save the training file as UTF-8") from None
    examples = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            examples.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise UserError(f"{path} line {number}: not valid JSON ({exc.msg}); "
                            "each line must be one {\"messages\": [...]} object") from None
    return examples


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes: what identifies a dataset in the registry and adapter ids."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _problem(example: Any) -> str | None:
    """What is wrong with one example, or None."""
    if not isinstance(example, dict):
        return f"expected an object with `messages`, got {type(example).__name__}"
    extra = sorted(set(example) - {"messages"})
    if extra:
        return f"unknown key `{extra[0]}`; an example holds only `messages`"
    messages = example.get("messages")
    if not isinstance(messages, list) or not messages:
        return "`messages` must be a non-empty list"
    for i, m in enumerate(messages, start=1):
        if not isinstance(m, dict):
            return f"message {i} must be an object with role and content"
        extra = sorted(set(m) - MESSAGE_KEYS)
        if extra:
            return f"message {i} has unknown key `{extra[0]}`; allowed: {', '.join(sorted(MESSAGE_KEYS))}"
        if m.get("role") not in ROLES:
            return f"message {i} has role {m.get('role')!r}; use one of {', '.join(ROLES)}"
        if not _has_text(m.get("content")):
            return f"message {i} ({m['role']}) has no text content"
        if "weight" in m and (m["role"] != "assistant" or m["weight"] not in (0, 1)):
            return f"message {i}: `weight` may only be 0 or 1, on assistant messages"
    if not any(m["role"] == "user" for m in messages):
        return "no user message"
    if not any(m["role"] == "assistant" and m.get("weight", 1) == 1 for m in messages):
        return "no assistant message to learn from"
    return None


def check_examples(examples: list[Example], where: str) -> None:
    """Raise a UserError naming the first malformed example (and how many there are)."""
    problems = [(i, p) for i, e in enumerate(examples, start=1) if (p := _problem(e))]
    if problems:
        line, text = problems[0]
        more = f" ({len(problems) - 1} more examples have problems)" if len(problems) > 1 else ""
        raise UserError(f"{where} example {line}: {text}{more}")


def auto_epochs(examples: int) -> int:
    """The number of epochs OpenAI picks for n_epochs='auto' (its published rule)."""
    if examples * AUTO_EPOCHS < AUTO_MIN_SEEN:
        return min(AUTO_MAX_EPOCHS, AUTO_MIN_SEEN // examples)
    if examples * AUTO_EPOCHS > AUTO_MAX_SEEN:
        return max(1, AUTO_MAX_SEEN // examples)
    return AUTO_EPOCHS


@dataclass
class ValidationReport:
    """What a training file holds and what training on it would cost."""

    path: Path
    base: str  # provider/model that would be fine-tuned
    examples: int
    tokens: list[int]  # per example
    epochs: int
    cost: float | None  # dollars; 0 for local models; None when no training price is known
    sha256: str
    warnings: list[str] = field(default_factory=list)

    @property
    def total_tokens(self) -> int:
        return sum(self.tokens)

    @property
    def billed_tokens(self) -> int:
        return self.total_tokens * self.epochs

    def table(self) -> str:
        if self.cost is None:
            cost = "unknown (add `training = ...` for this model to prices.toml)"
        elif self.base.startswith("local/"):
            cost = "$0 (local model, trained on this machine)"
        else:
            cost = f"${self.cost:.4f} (estimate)"
        rows = [("training file", str(self.path)), ("sha256", self.sha256[:16]),
                ("base model", self.base), ("examples", str(self.examples)),
                ("tokens", f"{self.total_tokens} (largest example {max(self.tokens)})"),
                ("epochs", str(self.epochs)), ("training tokens", f"{self.billed_tokens}"),
                ("training cost", cost)]
        return "\n".join(f"{k:<16} {v}" for k, v in rows)


def validate(path: str | Path, base: str, *, epochs: int | None = None,
             min_examples: int | None = None, max_example_tokens: int | None = None) -> ValidationReport:
    """Check a training file for fine-tuning `base` (provider/model); spends nothing.

    Errors (one line each, naming the file and the example): not JSON, wrong
    keys or roles, empty content, no assistant turn, fewer than min_examples
    (OpenAI: 10; local: 1), an example longer than max_example_tokens. Token
    counts use tiktoken for openai/ bases and the model's tokenizer for local/
    ones. epochs: None = OpenAI's 'auto' rule. The cost uses the `training`
    price in prices.toml and is None when there is none.
    """
    from helpers.llm import parse_model

    spec = parse_model(base)
    path = Path(path)
    examples = read_jsonl(path)
    check_examples(examples, str(path))
    local = spec.provider == "local"
    floor = min_examples if min_examples is not None else (1 if local else OPENAI_MIN_EXAMPLES)
    if len(examples) < floor:
        raise UserError(f"{path}: {len(examples)} examples; fine-tuning {base} needs at least {floor}")
    count = tokens.count_local if local else tokens.count_openai
    sizes = [count(spec.model, e["messages"]) for e in examples]
    ceiling = max_example_tokens or (None if local else OPENAI_MAX_EXAMPLE_TOKENS)
    if ceiling is not None and max(sizes) > ceiling:
        worst = sizes.index(max(sizes)) + 1
        raise UserError(f"{path} example {worst}: {max(sizes)} tokens, more than the {ceiling} "
                        f"allowed per example; shorten it or drop it")
    if epochs is not None and epochs < 1:
        raise UserError(f"epochs must be at least 1, got {epochs}")
    n_epochs = epochs or auto_epochs(len(examples))
    warnings = []
    if not local and len(examples) < PAPER_SIZE["explanations"]:
        warnings.append(f"{len(examples)} examples: OpenAI suggests at least 50 for a clear effect")
    if local:
        cost: float | None = 0.0
    else:
        per_million = pricing.training_price(spec.model, pricing.load_prices())
        cost = None if per_million is None else sum(sizes) * n_epochs * per_million / 1e6
    return ValidationReport(path, spec.name, len(examples), sizes, n_epochs, cost,
                            file_sha256(path), warnings)
