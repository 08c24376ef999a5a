"""Fine-tuning models on human answers (the paper's Sec. 2.4) and measuring them.

human answers -> split (which participants may train, which are held out) ->
datasets (JSONL examples, validated, priced) -> prepare (a training file and what
it holds) -> training (a LoRA adapter of the offline
model, through lora) or openai_jobs (an `ft:` model on OpenAI's service) ->
registry (which data made which model; kept in records/, never in the cache) ->
evaluation (the fine-tuned models against the humans: in-scenario against the
held-out participants only), plots (training losses).

    from helpers import finetune
    data = finetune.prepare_dataset(answers, label, scenarios, "explanations",
                                    scenario_ids=["grocery_prices"])
    result = finetune.train_local(data)    # result.model_name works wherever a model name does

The command line is helpers.cli.finetune; the notebooks' settings are in
helpers.notebook.training.
"""

from helpers.finetune.datasets import (KINDS, PAPER_SIZE, ValidationReport, build_examples, read_jsonl, validate,
                                      write_jsonl)
from helpers.finetune.lora import DEFAULT_BASE, AdapterResult, LoraSettings, find_adapter, train_adapter
from helpers.finetune.plots import loss_figure, loss_table
from helpers.finetune.prepare import ILLUSTRATIVE, Dataset, default_size, prepare_dataset, prepared_dataset
from helpers.finetune.split import ParticipantSplit, split_participants
from helpers.finetune.training import planned_total_steps, train_local, train_per_scenario

__all__ = ["DEFAULT_BASE", "ILLUSTRATIVE", "KINDS", "PAPER_SIZE", "AdapterResult", "Dataset", "LoraSettings",
           "ParticipantSplit", "ValidationReport", "build_examples", "default_size", "find_adapter", "loss_figure",
           "loss_table", "planned_total_steps", "prepare_dataset", "prepared_dataset", "read_jsonl",
           "split_participants", "train_adapter", "train_local", "train_per_scenario", "validate", "write_jsonl"]
