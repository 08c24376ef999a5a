"""What an agent is sent for a game setting, and what a person is shown for it.

Both come from one function: `agent_messages` is the request `play.play` sends
(one user message holding the setting's rendered prompt, no system prompt, no
persona), and `prompt_for_people` is the text of that request's user message.
The survey's games page displays `prompt_for_people`, so a person reads the very
words the models read; a change to how agents are asked changes what people see,
or (a system prompt, a persona) fails tests/economics/test_human_prompts.py until
someone decides what people should see instead.

Light on purpose (no pandas, no model calls): the survey server imports it.
"""

from __future__ import annotations

from typing import Protocol

from helpers.economics.games import Setting


class Renderable(Protocol):
    def render(self) -> str: ...


def agent_messages(item: Renderable) -> list[dict[str, str]]:
    """The chat messages an agent is sent for a game setting or a dilemma."""
    return [{"role": "user", "content": item.render()}]


def prompt_for_people(setting: Setting) -> str:
    """The instructions a person gets for this setting: the agents' user message, word for word."""
    return "\n\n".join(m["content"] for m in agent_messages(setting) if m["role"] == "user")


def actions_for_people(setting: Setting) -> list[tuple[str, str]]:
    """(action id, label) of each allowed answer, in the order the prompt lists them.

    The id is what the human game-choices file stores ("cooperate", or an amount as
    written, "5"); the label is what the prompt asks for ("X", "5")."""
    return [(a.id, a.label) for a in setting.listed_actions()]
