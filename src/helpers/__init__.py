"""Helpers for the exceptions workspace: scenarios, prompts, cached model calls,
statistics, plots, fine-tuning and human data. Notebooks import from here."""

__version__ = "0.1.0"
