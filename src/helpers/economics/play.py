"""Put games and dilemmas to models and read their choices into a tidy table.

An item is anything with `render()`, `parse(text)`, `actions()` and a decision
(a games.Setting or a dilemmas.Dilemma). `play` asks every model every item
(through asking.ask: cached, resumable) and returns one row per answer with the
parsed action and its cooperation level, the table helpers.economics.measures reads.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from helpers.llm.asking import AskConfig, AskResult, ask
from helpers.economics.dilemmas import Dilemma
from helpers.llm.engine import Limits, Progress
from helpers.economics.games import Setting
from helpers.economics.preferences import Decision, decision
from helpers.economics.prompts import agent_messages

COLUMNS = ["model", "item", "game", "setting", "sample", "status", "action", "cooperation", "text",
           "prompt_tokens", "completion_tokens", "cost_usd"]


def item_key(item: Setting | Dilemma) -> str:
    """"game#setting" for a game setting, the dilemma's own key otherwise."""
    return f"{item.game.id}#{item.index}" if isinstance(item, Setting) else item.item


def decisions(items: list[Setting | Dilemma]) -> dict[str, Decision]:
    """item key -> its Decision (the payoff views the measures need)."""
    return {item_key(i): decision(i) if isinstance(i, Setting) else i.decision() for i in items}


def play(config: AskConfig, items: list[Setting | Dilemma], *, make_calls: bool = True,
         limits: Limits = Limits(), progress: Callable[[Progress], None] | None = None
         ) -> tuple[pd.DataFrame, AskResult]:
    """Every model's answers to every item, parsed. Returns (answers table, raw result)."""
    # agent_messages is also what people are shown (prompts.prompt_for_people).
    result = ask(config, [agent_messages(i) for i in items], make_calls=make_calls, limits=limits,
                 progress=progress)
    raw = result.answers
    rows = []
    for r in raw.itertuples(index=False):
        item = items[r.prompt]
        if isinstance(item, Setting):
            game, setting = item.game.id, str(item.index)
        else:
            game, setting = "av_dilemma", item.describe()
        action = item.parse(r.text) if r.status == "ok" else None
        level = {a.id: float(a.cooperation) for a in item.actions()}.get(action, np.nan)
        rows.append({"model": r.model, "item": item_key(item), "game": game, "setting": setting,
                     "sample": r.sample, "status": r.status, "action": action, "cooperation": level,
                     "text": r.text, "prompt_tokens": r.prompt_tokens,
                     "completion_tokens": r.completion_tokens, "cost_usd": r.cost_usd})
    return pd.DataFrame(rows, columns=COLUMNS), result
