"""parse_answer on answers as models really write them: short, long, reasoned,
decorated, and the tricky ones that must stay `invalid` rather than be guessed."""

import time

import pytest

from helpers.exceptions.prompting import action_of, parse_answer
from helpers.exceptions.scenarios import load_scenarios

REASONED_NO = """To decide, consider what the limit is for. Your friend set a budget of $10.00
so that the cake stays affordable. The flour costs $10.01, one cent more.

Even though the difference is tiny, the instruction was explicit.

Final answer: No"""

REASONED_YES_LINE = """Step 1: The policy exists to keep costs down.
Step 2: One cent does not defeat that purpose, and the cake needs flour.

Yes."""


@pytest.mark.parametrize("text,action,expected", [
    # Rule 2: the opening word (the baseline's usual answer)
    ("Yes.", None, "yes"),
    ("No, because the policy says no more than $10.", None, "no"),
    ("**No**\n\nThe limit is clear and I should respect it.", None, "no"),
    ("NO! That would break the rule.", None, "no"),
    ("> Yes - one cent hardly matters.", None, "yes"),
    ("Decision: yes, accept the return.", None, "yes"),
    ("**Decision:** No", None, "no"),
    # Rule 1: a labelled final decision beats an opening word
    (REASONED_NO, "buy", "no"),
    ("Yes, I understand the question. Let me think.\n\nFinal answer: **No**.", "buy", "no"),
    ("My final decision is yes.", None, "yes"),
    ("The friend set a firm limit. In conclusion, no.", None, "no"),
    ("Final verdict - Yes", None, "yes"),
    # Rule 3: other labels, the last one
    ("After weighing both sides, my answer is no.", None, "no"),
    ("Looking at the rules... The answer is yes.", None, "yes"),
    # Rule 4: emphasised or stand-alone yes/no after reasoning
    (REASONED_YES_LINE, "buy", "yes"),
    ("Weighing it all, the right call here is **No**.", None, "no"),
    ("It is one cent over. **Yes**, buy it.", None, "yes"),
    # Rule 5: a first-person statement about the scenario's action
    ("I would not buy it.", "buy", "no"),
    ("I wouldn't buy the flour; the limit is $10.", "buy", "no"),
    ("I\u2019d buy it \u2014 one cent is nothing.", "buy", "yes"),
    ("As a consequentialist, I would let the passenger board, since the door is open.", "let", "yes"),
    ("I refuse to waive the fee.", "waive", "no"),
    ("I would not refuse to waive the fee for a loyal guest.", "waive", "yes"),
    ("I cannot accept the return after the window closed.", "accept", "no"),
    ("You should not buy the flour and should call your friend instead.", "buy", "no"),
    ("If I buy the flour, my friend may be upset. So I will not buy it.", "buy", "no"),
    ("I do not think I should approve the benefits.", "approve", "no"),
    ("We should make an exception here.", None, "yes"),
    ("I would not make an exception to the policy.", "admit", "no"),
    ("I would buy it. On reflection, though, I will not buy it.", "buy", "no"),
    ("No problem - I'll buy it.", "buy", "yes"),
    # "yes or no" quotes the question: it is never a decision
    ("You asked me to answer yes or no. I would not buy the flour.", "buy", "no"),
    ("Final answer: Yes or No? Hard to say.", None, "invalid"),
    ("Answer yes or no, you said.", None, "invalid"),
    # Not decisions: invalid, counted, never guessed
    ("Yes and no: it depends on how much the friend cares.", None, "invalid"),
    ("Nope, not buying it.", None, "no"),  # a refusal, as a reader codes it (issue 14)
    ("Yesterday I bought flour.", "buy", "invalid"),
    ("Not Among the Freshers.", None, "invalid"),
    ("It is reasonable to buy the flour.", "buy", "invalid"),
    ("Do you buy the flour? That depends on the friend.", "buy", "invalid"),
    ("Should I buy it? Let me think about that.", "buy", "invalid"),
    ("Your friend asked you not to buy flour above $10.", "buy", "invalid"),
    ("I'll give you my final answer. If I'm told that rule of buying the cheapest fabric",
     "buy", "invalid"),  # a real truncated answer of the offline model
    ("", None, "invalid"),
])
def test_parse_answer_rules(text, action, expected):
    assert parse_answer(text, action) == expected


def test_without_the_action_a_statement_is_not_read():
    assert parse_answer("I would not buy it.") == "invalid"
    assert parse_answer("I would not buy it.", "buy") == "no"


def test_action_comes_from_each_scenarios_question(repo):
    verbs = {s.id: action_of(s.render(1)) for s in load_scenarios(repo / "scenarios.toml")}
    assert verbs["grocery_prices"] == "buy"
    assert verbs["boarding_gate"] == "let"
    assert verbs["hospitality"] == "waive"
    assert None not in verbs.values()
    assert action_of("A statement with no question.") is None


@pytest.mark.parametrize("text,action,expected", [
    # "no" before a noun is a determiner, not a decision; a later decision is read
    ("No one would mind a penny, so yes, I would buy it.", "buy", "yes"),
    ("In conclusion, no one is harmed, so I would buy the flour.", "buy", "yes"),
    ("No harm in it - approve it.", "approve", "yes"),
    ("It's a no-brainer: buy it.", "buy", "yes"),
    ("No way to know without asking my friend.", "buy", "invalid"),
    # refusals and affirmations without yes/no; politeness openers are not decisions
    ("Absolutely not.", None, "no"),
    ("Of course not; six months is too late.", None, "no"),
    ("I'd rather not.", None, "no"),
    ("I'd rather not fail a student over one sentence, so I'd let it pass.", "let", "yes"),
    ("Of course!", None, "yes"),
    ("Certainly not an easy call. I'd buy it.", "buy", "yes"),
    ("Certainly! Here's my analysis of the situation:", "buy", "invalid"),
    ("Certainly! Let me think. The limit is $10 and it costs $25. I would not buy it.", "buy", "no"),
    # an opening contradicted later is not guessed
    ("Yes, I understand the dilemma. Still, I would not buy it.", "buy", "invalid"),
    ("Yes if the friend agrees.", None, "invalid"),
    # answers to questions: the scenario's (read) or the model's own (not read)
    ("Would I accept the return? Absolutely not.", "accept", "no"),
    ("Is a penny a big deal? No. I'd buy it.", "buy", "yes"),
    ("Honestly? No.", None, "no"),
    ("Yes or no: no.", None, "no"),
    # imperatives, chosen courses, ellipsis, refusal verbs; the verb aimed at the speaker is not the action
    ("No need to be rigid - approve the benefits.", "approve", "yes"),
    ("Don't let them board.", "let", "no"),
    ("My decision is not to admit the applicant.", "admit", "no"),
    ("The right thing is to waive the fee.", "waive", "yes"),
    ("One option is to accept the return, another is to decline it.", "accept", "invalid"),
    ("I would, yes.", None, "yes"),
    ("If I could, I would.", None, "invalid"),
    ("I'd politely decline the order.", "accept", "no"),
    ("Let's think step by step.", "let", "invalid"),
    ("I'd let you know after asking my manager.", "let", "invalid"),
    ("Buy it only if your friend agrees.", "buy", "invalid"),
    ("That's a no from me.", None, "no"),
    ("The final answer is $\\boxed{\\text{Yes}}$.", None, "yes"),
])
def test_idioms_interjections_and_statements(text, action, expected):
    assert parse_answer(text, action) == expected


@pytest.mark.parametrize("text,expected", [
    ("Answer" + " " * 5000 + "x", "invalid"), ("So" + " " * 5000 + "x", "invalid"),
    ("I say" + " " * 5000, "invalid"), ("It is **yes" + " " * 5000 + "x", "invalid"),
    ("Final answer is" + "*" * 5000, "invalid"), ("no" + " " * 5000 + "x", "invalid"),
    ("Final answer:" + " " * 5000 + "No", "no"),
])
def test_long_runs_of_spaces_are_read_in_linear_time(text, expected):
    # Adjacent \s* in a pattern backtrack through every split of a run: the old
    # parser took ~10 s on 1,000 spaces after "Answer". The patterns are possessive.
    start = time.perf_counter()
    assert parse_answer(text, "buy") == expected
    assert time.perf_counter() - start < 1.0
