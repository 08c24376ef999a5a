"""Autonomous-vehicle dilemmas: who bears the risk, the car's riders or the people on the road?

A family of dilemmas varies the numbers at risk and the probabilities of harm.
In each, the agent owns the car and rides in it; its brakes fail, and it either
`stay`s in lane (each pedestrian ahead dies with probability p_pedestrians) or
`swerve`s into a barrier (each person in the car, the agent included, dies with
probability p_passengers).

Payoffs are minus the probability that the agent dies:
- own payoff π(x, y): swerve -> -p_passengers, stay -> 0 (the agent is in the car);
- everyone-as-me payoff π(x, x): if every car were set the way the agent sets
  its own, the agent would be as likely to be any of the N = passengers +
  pedestrians people in such an accident, so its risk is the expected number of
  deaths divided by N: swerve -> -passengers·p_passengers / N,
  stay -> -pedestrians·p_pedestrians / N.

Homo economicus never swerves (it only adds risk to itself); homo moralis
swerves when κ is large enough and swerving saves enough expected lives. The
stake (scale) is 1: payoffs are probabilities.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from fractions import Fraction

from helpers.economics import choices
from helpers.errors import UserError
from helpers.economics.games import Action
from helpers.economics.games import format_number as fmt
from helpers.economics.preferences import Decision

LABELS = {"swerve": "swerve", "stay": "stay"}
PROMPT = (
    "You own a self-driving car and are riding in it{company}. Its brakes fail just before a "
    "crossing. If the car stays in its lane, it hits {pedestrian_text}. If it swerves into "
    "a barrier, {passenger_text}. You must set what your car does. Reply with {choices} only."
)


def _pct(p: Fraction) -> str:
    return f"{fmt(p * 100)}%"


@dataclass(frozen=True)
class Dilemma:
    passengers: int  # people in the car, the agent included
    pedestrians: int
    p_passengers: Fraction  # chance that each person in the car dies if it swerves
    p_pedestrians: Fraction  # chance that each pedestrian dies if it stays

    @property
    def item(self) -> str:
        return (f"av#{self.passengers}in-{self.pedestrians}out-"
                f"{fmt(self.p_passengers * 100)}-{fmt(self.p_pedestrians * 100)}")

    def describe(self) -> str:
        return (f"{self.passengers} in car at {_pct(self.p_passengers)}, "
                f"{self.pedestrians} on road at {_pct(self.p_pedestrians)}")

    def actions(self) -> list[Action]:
        # Swerving takes the risk onto the car: the "cooperative" (other-regarding) choice.
        return [Action("swerve", LABELS["swerve"], Fraction(1)), Action("stay", LABELS["stay"], Fraction(0))]

    def render(self) -> str:
        others = self.passengers - 1
        company = "" if others == 0 else f" with {others} other {'person' if others == 1 else 'people'}"
        if self.pedestrians == 1:
            pedestrian_text = f"the pedestrian ahead, who dies with probability {_pct(self.p_pedestrians)}"
        else:
            pedestrian_text = (f"the {self.pedestrians} pedestrians ahead, each of whom dies with probability "
                               f"{_pct(self.p_pedestrians)}")
        if self.passengers == 1:
            passenger_text = f"you die with probability {_pct(self.p_passengers)}"
        else:
            passenger_text = (f"each of the {self.passengers} people in the car, you included, dies with "
                              f"probability {_pct(self.p_passengers)}")
        return PROMPT.format(company=company, pedestrian_text=pedestrian_text,
                             passenger_text=passenger_text, choices="stay or swerve")

    def parse(self, text: str) -> str:
        """"swerve", "stay" or "invalid" (rules in helpers.economics.choices)."""
        return choices.parse_label(text, LABELS)

    def decision(self) -> Decision:
        n = self.passengers + self.pedestrians
        selfish = {"swerve": -self.p_passengers, "stay": Fraction(0)}
        kantian = {"swerve": -self.passengers * self.p_passengers / n,
                   "stay": -self.pedestrians * self.p_pedestrians / n}
        reasons = (f"If the car swerves my risk of dying is {_pct(self.p_passengers)}; if it stays, 0%. "
                   f"If every car were set as I set mine, I could be any of the {n} people involved: "
                   f"swerving would leave me a risk of {self.passengers} × {_pct(self.p_passengers)} / {n} = "
                   f"{_pct(-kantian['swerve'])}, staying {self.pedestrians} × {_pct(self.p_pedestrians)} / "
                   f"{n} = {_pct(-kantian['stay'])}.")
        return Decision(tuple(self.actions()), selfish, kantian, Fraction(1), reasons)


def _probability(name: str, value) -> Fraction:
    p = Fraction(repr(float(value))) if isinstance(value, float) else Fraction(value)
    if not 0 < p <= 1:
        raise UserError(f"{name} must be a probability above 0 and at most 1, got {value}")
    return p


def family(passengers: list[int], pedestrians: list[int], p_passengers: list[float],
           p_pedestrians: list[float]) -> list[Dilemma]:
    """Every combination of the given numbers and probabilities, in a fixed order."""
    for name, counts in (("passengers", passengers), ("pedestrians", pedestrians)):
        if not counts:
            raise UserError(f"choose at least one number of {name}")
        for count in counts:
            if int(count) != count or count < 1:
                raise UserError(f"numbers of {name} must be whole numbers of at least 1, got {count}")
    for name, probs in (("p_passengers", p_passengers), ("p_pedestrians", p_pedestrians)):
        if not probs:
            raise UserError(f"choose at least one value of {name}")
    return [Dilemma(int(a), int(b), _probability("p_passengers", p), _probability("p_pedestrians", q))
            for a, b, p, q in itertools.product(sorted(set(passengers)), sorted(set(pedestrians)),
                                                sorted(set(p_passengers)), sorted(set(p_pedestrians)))]


DEFAULT_FAMILY = {"passengers": [1], "pedestrians": [1, 2, 5], "p_passengers": [0.2, 0.6],
                  "p_pedestrians": [0.8]}
