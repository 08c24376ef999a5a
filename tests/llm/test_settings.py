"""Run settings given in code are checked too (the CLI and the notebooks check their
arguments first): a nan must not switch pacing or a timeout off."""

import math

import pytest

from helpers.errors import UserError
from helpers.llm import AskConfig, Limits


@pytest.mark.parametrize("kwargs,message", [
    ({"rpm": math.nan}, "--rpm must be a positive number, got nan"),
    ({"tpm": math.inf}, "--tpm must be a positive number, got inf"),
    ({"rpm": 0}, "--rpm must be a positive number, got 0"),
    ({"concurrency": 0}, "--concurrency must be at least 1"),
    ({"max_retries": -1}, "--retries must be 0 or more"),
])
def test_limits_refuse_what_would_switch_them_off(kwargs, message):
    with pytest.raises(UserError, match=message.replace("(", r"\(")):
        Limits(**kwargs)


@pytest.mark.parametrize("kwargs,message", [
    ({"temperature": math.nan}, "--temperature must be between 0 and 2, got nan"),
    ({"timeout": math.nan}, "--timeout must be a positive number of seconds, got nan"),
    ({"timeout": math.inf}, "--timeout must be a positive number of seconds, got inf"),
    ({"samples": 0}, "--samples must be at least 1, got 0"),
    ({"max_tokens": 0}, "--max-tokens must be at least 1, got 0"),
    ({"models": ()}, "no model given"),
])
def test_sampling_settings_are_checked(kwargs, message):
    with pytest.raises(UserError, match=message):
        AskConfig(**kwargs)
