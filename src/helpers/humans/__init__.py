"""Human answers to the exception scenarios: their file format, where a notebook's
human data come from, the generated illustrative stand-in, and MoralExceptQA
as a public second baseline.

    from helpers import humans
    answers, label = humans.human_or_illustrative(None, scenarios)
    rates = humans.bucket_rates(answers)

Modules: responses (the format: validate, load, write, bucket rates), source
(which data a notebook uses), quality (the exclusion variables and filtering
on them), illustrative (generated answers), provenance (telling generated rows
from real ones by their marks), moralexceptqa (the public dataset). The survey
that collects real answers is helpers.survey.
"""

from helpers.humans.illustrative import illustrative_curves, illustrative_responses
from helpers.humans.moralexceptqa import MoralExceptQA, load_moralexceptqa
from helpers.humans.provenance import is_illustrative
from helpers.humans.quality import apply_exclusions
from helpers.humans.responses import (COLUMNS, DECISIONS, bucket_rates, describe, load_human, validate_human,
                                      write_human)
from helpers.humans.source import data_note, filtered_human, human_or_illustrative

__all__ = ["COLUMNS", "DECISIONS", "MoralExceptQA", "apply_exclusions", "bucket_rates", "data_note", "describe",
           "filtered_human", "human_or_illustrative", "illustrative_curves", "illustrative_responses",
           "is_illustrative", "load_human",
           "load_moralexceptqa", "validate_human", "write_human"]
