"""Which participants may train a model and which are kept to judge it.

A model fine-tuned on some people's answers and then compared with the same
people is partly graded on its own training data. So the participants are split
once, by a seed: training datasets draw only from the `training` ones, and the
in-scenario comparison of a fine-tuned model with humans uses only the
`evaluation` (held-out) ones. Transfer comparisons (scenarios a model was never
trained on) may use everyone: no answer to those scenarios was in training.

The split is a pure function of the participant ids, the seed and the fraction:
ids are ordered by a SHA-256 of (seed, id) and the first round(fraction * n)
train. Row order, other columns and the data-draw seed do not move it, and a
registry entry (metadata()) is enough to rebuild and check it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from helpers.errors import UserError

SPLIT_SEED = 0  # the documented default seed of the participant split
TRAIN_FRACTION = 0.5  # the default share of participants whose answers may train a model
METADATA_KEYS = ("split_seed", "train_fraction", "training_participants", "evaluation_participants",
                 "training_ids_sha256")  # what metadata() stores


def _ids_digest(ids: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()


@dataclass(frozen=True)
class ParticipantSplit:
    """Participant ids for training and for evaluation (disjoint, together everyone)."""

    seed: int
    train_fraction: float
    training: frozenset[str]
    evaluation: frozenset[str]

    def training_rows(self, human: pd.DataFrame) -> pd.DataFrame:
        """The answers a training dataset may draw from."""
        return human[human["participant_id"].astype(str).isin(self.training)]

    def evaluation_rows(self, human: pd.DataFrame) -> pd.DataFrame:
        """The answers of the held-out participants (in-scenario comparisons)."""
        return human[human["participant_id"].astype(str).isin(self.evaluation)]

    def metadata(self) -> dict[str, Any]:
        """What datasets, adapters and the registry store about the split."""
        return {"split_seed": self.seed, "train_fraction": self.train_fraction,
                "training_participants": len(self.training), "evaluation_participants": len(self.evaluation),
                "training_ids_sha256": _ids_digest(self.training)}

    def sentence(self) -> str:
        """How a notebook states, beside an in-scenario comparison, whom it compares with."""
        everyone = len(self.training) + len(self.evaluation)
        return (f"compared with **{len(self.evaluation)} held-out participants, not used in training** "
                f"(the other {len(self.training)} of {everyone} may train; participant split seed "
                f"{self.seed}, train fraction {self.train_fraction:g})")


def split_participants(human: pd.DataFrame, *, seed: int = SPLIT_SEED,
                       train_fraction: float = TRAIN_FRACTION) -> ParticipantSplit:
    """Split the participants of a human-responses table (same inputs, same split).

    At least one participant lands on each side; a fraction outside (0, 1), or
    fewer than two participants, is a one-line UserError.
    """
    if not 0 < train_fraction < 1:
        raise UserError(f"--train-fraction must be above 0 and below 1 (some participants train, the others are "
                        f"held out to compare with), got {train_fraction:g}")
    if "participant_id" not in human.columns:
        raise UserError("human data lack the column `participant_id`; the training/held-out split needs it")
    ids = sorted(set(human["participant_id"].astype(str)))
    if len(ids) < 2:
        raise UserError(f"{len(ids)} participant(s) in the human data: splitting them into training and "
                        "held-out people needs at least 2")
    ordered = sorted(ids, key=lambda pid: hashlib.sha256(f"{seed}\0{pid}".encode()).hexdigest())
    count = min(len(ids) - 1, max(1, round(train_fraction * len(ids))))
    return ParticipantSplit(seed, float(train_fraction), frozenset(ordered[:count]), frozenset(ordered[count:]))


def split_from_metadata(human: pd.DataFrame, meta: Mapping[str, Any], what: str) -> ParticipantSplit:
    """The split a model was trained with, rebuilt from its registry entry (what:
    the model's name, for the message); a UserError when these human data do not
    give the same training participants (other data than it was trained on)."""
    if "split_seed" not in meta or "train_fraction" not in meta:
        raise UserError(f"{what} records no participant split (trained before splits existed, or on a "
                        "prepared file); it cannot be compared with held-out people, retrain it")
    split = split_participants(human, seed=int(meta["split_seed"]), train_fraction=float(meta["train_fraction"]))
    if meta.get("training_ids_sha256") not in (None, _ids_digest(split.training)):
        raise UserError(f"{what} was trained on other human data than these (its training participants do "
                        "not match); pass the --human file it was trained on")
    return split
