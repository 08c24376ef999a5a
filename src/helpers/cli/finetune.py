"""`python -m helpers finetune`: human answers -> dataset -> a fine-tuned model's name.

    python -m helpers finetune --kind explanations --scenario grocery_prices --size 50 \\
        --base local/smollm2-135m-instruct
    python -m helpers finetune --human data/human_responses.csv --kind labels \\
        --scenario hospitality --base openai/gpt-4o-2024-08-06 --dry-run

It builds the dataset, validates it and prints what training would take, then
trains: a LoRA adapter on the CPU for local/ bases, a job on OpenAI's service for
openai/ bases. The last line printed is the new model's name. Without --human it
uses data/human_responses.csv if present, else the generated illustrative answers
(and says so; the model's name then says "illustrative" too). The examples come
only from the training participants of a seeded split (--split-seed,
--train-fraction; helpers.finetune.split), recorded with the model, so that its
in-scenario comparison can use the held-out participants.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from helpers.cli.option import add_options
from helpers.cli.params import FINETUNE_CLI
from helpers.errors import UserError
from helpers.finetune import datasets as sft
from helpers.finetune import lora, targets
from helpers.finetune import vllm as vllm_layout
from helpers.finetune import ILLUSTRATIVE, prepare_dataset, prepared_dataset, train_local
from helpers.finetune.split import split_participants


def add_parser(commands) -> None:
    """Register `finetune` on the CLI's subcommands (called from helpers.cli.main)."""
    cmd = commands.add_parser("finetune", help="fine-tune a model on human answers; prints its name last")
    add_options(cmd, FINETUNE_CLI)


LOCAL_ONLY = ("learning_rate", "rank", "max_steps", "target_modules", "top_layers", "gradient_checkpointing")


def _top_layers(text: str | None) -> int | str | None:
    if text is None or text in (lora.HALF, "all"):
        return text
    if text.isdigit() and int(text) >= 1:
        return int(text)
    raise UserError(f"--top-layers {text}: give a number of layers (1 or more), half or all")


def _local_settings(args: argparse.Namespace) -> dict[str, Any]:
    """LoRA settings given on the command line (LoraSettings fields)."""
    chosen = {"epochs": args.epochs, "learning_rate": args.learning_rate, "rank": args.rank,
              "max_steps": args.max_steps, "top_layers": _top_layers(args.top_layers),
              "target_modules": None if args.target_modules is None else targets.parse(args.target_modules)}
    return {k: v for k, v in chosen.items() if v is not None}


def _vllm_note(result: lora.AdapterResult) -> None:
    """How to serve the adapter with vLLM (docs/vllm-lora.md), or why it cannot be."""
    from helpers.llm import local_model

    problems = vllm_layout.check_vllm_layout(result.path)
    if problems:
        print(f"note: vLLM would not serve this adapter: {problems[0]}")
        return
    # Serve the weights it was trained on: the base's converted checkpoint, not a hub copy.
    base = local_model.checkpoint_dir(result.meta["base"])
    print(f"{'vLLM':<16} {vllm_layout.serve_command(result.path, base, result.adapter_id)}")


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(args: argparse.Namespace) -> int:
    """Run `finetune`; UserErrors propagate to the CLI, which prints one line."""
    from helpers import humans as human_data
    from helpers.exceptions import scenarios as scenario_files
    from helpers.llm import OPENAI_URL, parse_model

    spec = parse_model(args.base, args.base_url)
    if spec.provider == "openai" and any(getattr(args, key) is not None for key in LOCAL_ONLY):
        raise UserError("--learning-rate, --rank, --max-steps, --target-modules, --top-layers and "
                        "--gradient-checkpointing apply to local bases; OpenAI takes --epochs only here")
    if args.jsonl is not None:
        data = prepared_dataset(args.jsonl, args.seed)
        if args.scenario_ids or any(v is not None for v in (args.human, args.kind, args.size, args.out)):
            raise UserError("--jsonl trains on the file as it is; drop --human, --kind, --scenario, --size and --out")
    else:
        if args.kind is None:
            raise UserError("say what to train on: --kind labels|labels-50|explanations (human answers) "
                            "or --jsonl FILE")
        every = scenario_files.load_scenarios(args.scenarios)
        chosen = scenario_files.select(every, args.scenario_ids) if args.scenario_ids else every
        # The whole file, not the selection: the illustrative answers to a scenario
        # must be the same ones the notebooks train on.
        answers, label = human_data.human_or_illustrative(args.human, every)
        if ILLUSTRATIVE in label:
            why = "no human data given" if label == human_data.illustrative.LABEL else f"{label}: its rows are generated"
            _say(f"note: {why}: training on ILLUSTRATIVE (generated) answers, not real people's")
        people = split_participants(answers, seed=args.split_seed, train_fraction=args.train_fraction)
        data = prepare_dataset(answers, label, chosen, args.kind, scenario_ids=[s.id for s in chosen],
                               size=args.size, seed=args.seed, out=args.out, split=people)
    label = data.human_label
    if spec.provider == "local":
        settings = lora.resolve(lora.LoraSettings(**{**_local_settings(args), "seed": args.seed}), spec.name)
        run = lora.plan(lora.layout(spec.name), args.gradient_checkpointing or "auto")
        report = sft.validate(data.path, spec.name, epochs=settings.epochs)
        steps = lora.planned_steps(report.examples, settings)
        print(report.table())
        # The time per step was measured for the offline model on two CPU cores only.
        when = (f"about {lora.estimated_time(steps)} on two CPU cores (idle to busy)"
                if spec.name == lora.DEFAULT_BASE and run.device == "cpu" else "time not estimated for this model")
        print(f"{'optimiser steps':<16} {steps} (batch {settings.batch_size}); {when}")
        layers = "every layer" if settings.top_layers is None else f"the last {settings.top_layers} layers"
        print(f"{'LoRA':<16} rank {settings.rank} on {', '.join(settings.target_modules)} of {layers}; "
              f"{run.device}, {settings.precision}, gradient checkpointing {'on' if run.checkpointing else 'off'}")
    else:
        report = sft.validate(data.path, spec.name, epochs=args.epochs)
        print(report.table())
    print(f"{'training data':<16} {label}")
    if data.split is not None:
        people = data.split
        print(f"{'participants':<16} {len(data.participants)} in the examples, drawn from {len(people.training)} "
              f"training participants; {len(people.evaluation)} held out (split seed {people.seed}, train fraction "
              f"{people.train_fraction:g}; notebooks 04 and 05 compare in-scenario with those only, "
              "other comparisons use every participant)")
    for warning in report.warnings:
        print(f"warning: {warning}")
    if spec.provider == "openai":
        from helpers.finetune import openai_jobs as finetune_openai

        # A refusal stops a real run in submit(), after a job already submitted was
        # looked for (it still resumes); a dry run prices the job and says it.
        refusal, notes = finetune_openai.new_job_check(spec)
        for note in [*notes, *([refusal] if refusal and args.dry_run else [])]:
            _say(f"warning: {note}")
    if args.dry_run:
        print("dry run: nothing was uploaded or trained")
        return 0
    if spec.provider == "local":
        result = train_local(data, base=spec.name, progress=lora.print_progress,
                             gradient_checkpointing=args.gradient_checkpointing or "auto", **_local_settings(args))
        how = "found in the cache, not retrained" if result.cached else f"trained in {result.seconds:.0f} s"
        print(f"adapter {result.adapter_id}: {how}; loss {result.losses[0]:.3f} -> {result.losses[-1]:.3f} "
              f"over {result.steps} steps")
        _vllm_note(result)
        print(result.model_name)
        return 0
    hyper = {"n_epochs": args.epochs} if args.epochs else None
    name = finetune_openai.finetune(data.path, spec.name, base_url=args.base_url, hyperparameters=hyper,
                                    suffix=args.suffix, seed=args.seed, poll_seconds=args.poll_seconds,
                                    metadata=data.metadata(), progress=_say)
    if spec.base_url != OPENAI_URL:
        print(f"note: this model lives on {spec.base_url}; pass --base-url {spec.base_url} to use it")
    print(name)
    return 0
