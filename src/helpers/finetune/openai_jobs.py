"""Fine-tuning on OpenAI's service (or any server that speaks its protocol).

upload the JSONL -> create the job -> poll it -> register the `ft:` model.

The file is validated first (sft.validate), so nothing is uploaded that the
service would bounce for its format. Every created job is written to
records/finetune/jobs/<job id>.json (paths.finetune_jobs_dir()) before polling
starts; running the same command again (same file, base, settings and endpoint)
resumes polling that job instead of uploading and paying a second time. A finished model is recorded in
the registry (helpers.finetune.registry) and can be used as `openai/ft:...` anywhere a
model is accepted (with the same --base-url if it was not trained on OpenAI).

Failures end in one line saying what happened: a training file rejected under
the provider's usage policy (which cost the paper whole scenarios; the service
does not say which example), a failed or cancelled job, a bad key or base model.

OpenAI takes no new self-serve fine-tuning jobs after models.toml's
`fine_tuning_ends` (2027-01-06), nor any on a base that has shut down; such a
new job is refused before anything is uploaded, while a job already submitted
still resumes and polls (new_job_check).
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from helpers import paths
from helpers.finetune import registry
from helpers.finetune import datasets as sft
from helpers.errors import UserError
from helpers.llm import OPENAI_URL, CallFailed, ModelSpec, lifecycle, open_cache, parse_model
from helpers.llm.capabilities import load_rules
from helpers.llm.openai_backend import OpenAIBackend

FINAL = {"succeeded", "failed", "cancelled"}
HYPERPARAMETERS = {"n_epochs", "batch_size", "learning_rate_multiplier"}
REJECTED_HINT = ("the service does not say which example; try another scenario or fewer examples, "
                 "or train the offline model with --base local/smollm2-135m-instruct")
Progress = Callable[[str], None]
SOON_DAYS = 90  # a base that shuts down this soon takes its fine-tune with it: worth a warning first
OPEN_WEIGHT = ("fine-tune the open-weight model on this machine instead: --base local/smollm2-135m-instruct "
               "(LoRA)")


def _save(record: dict[str, Any]) -> None:
    folder = paths.finetune_jobs_dir()
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{record['job_id']}.tmp"
    tmp.write_text(json.dumps(record, indent=1), encoding="utf-8")
    tmp.replace(folder / f"{record['job_id']}.json")


def job_records() -> list[dict[str, Any]]:
    """Every job this workspace has submitted, oldest first."""
    folder = paths.finetune_jobs_dir()
    if not folder.is_dir():
        return []
    records = [json.loads(p.read_text(encoding="utf-8")) for p in folder.glob("*.json")]
    return sorted(records, key=lambda r: r["submitted"])


def _check_hyperparameters(hyper: dict[str, Any] | None) -> dict[str, Any]:
    hyper = dict(hyper or {})
    unknown = sorted(set(hyper) - HYPERPARAMETERS)
    if unknown:
        raise UserError(f"unknown fine-tuning hyper-parameter `{unknown[0]}`; "
                        f"use {', '.join(sorted(HYPERPARAMETERS))}")
    return hyper


def _same_request(record: dict[str, Any], spec: ModelSpec, sha: str, hyper: dict, suffix: str | None) -> bool:
    return (record["endpoint"] == spec.base_url and record["base"] == spec.name
            and record["dataset_sha256"] == sha and record["hyperparameters"] == hyper
            and record.get("suffix") == suffix)


def _client(spec: ModelSpec) -> OpenAIBackend:
    return OpenAIBackend(spec, timeout=120.0)


def _call(backend: OpenAIBackend, what: str, fn, *args, **kwargs):
    """One SDK call; its errors become one line that says what was being done."""
    try:
        return fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - translate() returns what it does not know
        err = backend.translate(exc)
        if isinstance(err, CallFailed):
            raise UserError(f"{what}: {err} (nothing is lost: rerun the same command to resume)") from None
        if isinstance(err, UserError):
            raise UserError(f"{what}: {err}") from None
        raise


def new_job_check(spec: ModelSpec, day: date | None = None) -> tuple[str | None, list[str]]:
    """Whether OpenAI would take a new fine-tuning job on base `spec` today:
    (why not, as one line, or None; warnings, e.g. the base shuts down within
    SOON_DAYS). A base models.toml does not know, on a server of one's own, has
    neither. day: today unless given (EXCEPTIONS_TODAY, else the real date)."""
    day = day or lifecycle.today()
    rules = load_rules()
    if spec.base_url != OPENAI_URL and rules.for_model(spec.model).rule == "defaults":
        return None, []
    ends = rules.fine_tuning_ends
    if ends and day > date.fromisoformat(ends):  # decided without asking the endpoint anything
        return (f"OpenAI takes no new self-serve fine-tuning jobs after {ends} ({Path(rules.source).name}), and "
                f"today is {day}; {OPEN_WEIGHT}; jobs already submitted (records/) still resume"), []
    with open_cache() as cache:
        found = lifecycle.shutdown(spec, cache, rules, day)
    if found.date is not None and found.date < day:
        return (f"{spec.name} was shut down on {found.date} ({found.source}), so it cannot be fine-tuned; "
                f"{OPEN_WEIGHT}"), []
    if found.date is not None and (found.date - day).days <= SOON_DAYS:
        return None, [f"{spec.name} shuts down on {found.date} ({lifecycle.days_left(found.date, day)}; "
                      f"{found.source}), and a fine-tune of it stops answering the same day; "
                      f"{lifecycle.ARCHIVE_HINT}"]
    return None, []


def illustrative_suffix(suffix: str | None) -> str:
    """The ft: name part of a model trained on illustrative answers: "illustrative",
    or the user's suffix after "illustrative-" unless it already says so."""
    if not suffix:
        return "illustrative"
    return suffix if "illustrative" in suffix else f"illustrative-{suffix}"


def submit(path: str | Path, base: str, *, hyperparameters: dict[str, Any] | None = None,
           suffix: str | None = None, seed: int | None = None, base_url: str | None = None,
           metadata: dict[str, Any] | None = None, progress: Progress | None = None) -> dict[str, Any]:
    """Validate, upload and start a fine-tuning job; returns its saved record.

    base: openai/<model> to fine-tune (e.g. openai/gpt-4o-2024-08-06, the paper's base).
    hyperparameters: n_epochs, batch_size, learning_rate_multiplier (default: the
    service's 'auto'). A job for the same file, base, settings and endpoint that
    is still running or has succeeded is returned instead of starting another.
    metadata with "illustrative": true puts "illustrative" in the suffix, so the
    model's name (ft:BASE:ORG:illustrative...:ID) says what it was trained on.
    """
    if not base.startswith("openai/"):
        raise UserError(f"{base}: OpenAI fine-tuning needs an openai/ base model; local models use helpers.finetune.lora")
    asked = suffix  # a job recorded before illustrative suffixes existed carries this one
    suffix = illustrative_suffix(suffix) if (metadata or {}).get("illustrative") else suffix
    spec = parse_model(base, base_url)
    hyper = _check_hyperparameters(hyperparameters)
    epochs = hyper.get("n_epochs")
    report = sft.validate(path, spec.name, epochs=epochs if isinstance(epochs, int) else None)
    for record in reversed(job_records()):
        if not any(_same_request(record, spec, report.sha256, hyper, s) for s in {suffix, asked}):
            continue  # a paid job for this very file is found under either suffix, never paid twice
        if record["status"] not in ("failed", "cancelled"):
            if progress:
                progress(f"resuming job {record['job_id']} ({record['status']}) for this file")
            return record
        if record.get("rejected"):
            raise UserError(f"{path}: this exact file was rejected under the usage policy before "
                            f"(job {record['job_id']}); {REJECTED_HINT}")
    refusal, _ = new_job_check(spec)
    if refusal:
        raise UserError(refusal)
    backend = _client(spec)
    client = backend.sync_client
    data = Path(path).read_bytes()
    upload = _call(backend, f"uploading {path}", client.files.create,
                   file=(Path(path).name, io.BytesIO(data)), purpose="fine-tune")
    options: dict[str, Any] = {"model": spec.model, "training_file": upload.id}
    if hyper:
        options["hyperparameters"] = hyper
    if suffix:
        options["suffix"] = suffix
    if seed is not None:
        options["seed"] = seed
    job = _call(backend, f"creating a fine-tuning job on {spec.name}", client.fine_tuning.jobs.create, **options)
    record = {"job_id": job.id, "file_id": upload.id, "base": spec.name, "endpoint": spec.base_url,
              "dataset_sha256": report.sha256, "dataset_file": str(Path(path).resolve()),
              "examples": report.examples, "training_tokens": report.billed_tokens,
              "estimated_cost": report.cost, "hyperparameters": hyper, "suffix": suffix, "seed": seed,
              "status": job.status, "fine_tuned_model": None, "submitted": time.time(),
              "events_seen": [], "metadata": metadata or {}}
    _save(record)  # before polling, so a restart finds it
    if progress:
        progress(f"uploaded {path} as {upload.id}; created job {job.id} on {spec.name} ({job.status})")
    return record


def _failure(record: dict[str, Any], job) -> UserError:
    error = job.error
    message = (getattr(error, "message", None) or "").strip()
    code = getattr(error, "code", None) or ""
    if job.status == "cancelled":
        return UserError(f"fine-tuning job {job.id} was cancelled; rerun the command to start a new one")
    text = f"{code} {message}".lower()
    if "moderation" in text or "usage polic" in text:
        record["rejected"] = True
        return UserError(f"the provider rejected the training file {Path(record['dataset_file']).name} "
                         f"under its usage policy (job {job.id}): {REJECTED_HINT}")
    return UserError(f"fine-tuning job {job.id} failed: {message or 'no reason given'}"
                     + (f" ({code})" if code else ""))


def poll(record: dict[str, Any], *, poll_seconds: float = 30.0, progress: Progress | None = None,
         max_polls: int | None = None) -> dict[str, Any]:
    """Poll a submitted job until it ends; report status changes and new events.

    On success the model is registered and the record returned with
    `fine_tuned_model` set. A failed or cancelled job raises a one-line
    UserError (the record keeps the reason). max_polls: give up after that many
    polls and return the record still open (a later call resumes).
    """
    spec = parse_model(record["base"], record["endpoint"])
    backend = _client(spec)
    jobs = backend.sync_client.fine_tuning.jobs
    polls = 0
    while True:
        job = _call(backend, f"polling fine-tuning job {record['job_id']}", jobs.retrieve, record["job_id"])
        polls += 1
        events = _call(backend, f"reading events of {record['job_id']}", jobs.list_events,
                       record["job_id"], limit=50)
        for event in reversed(list(events.data)):  # the service lists newest first
            if event.id not in record["events_seen"]:
                record["events_seen"].append(event.id)
                if progress:
                    progress(f"{record['job_id']}: {event.message}")
        if job.status != record["status"] and progress:
            progress(f"{record['job_id']}: {record['status']} -> {job.status}")
        record.update(status=job.status, fine_tuned_model=job.fine_tuned_model,
                      trained_tokens=job.trained_tokens)
        if job.status in FINAL:
            break
        _save(record)
        if max_polls is not None and polls >= max_polls:
            return record
        time.sleep(poll_seconds)
    if job.status != "succeeded":
        error = _failure(record, job)
        record["error"] = str(error)
        _save(record)
        raise error
    record["hyperparameters_used"] = job.hyperparameters.model_dump() if job.hyperparameters else {}
    _save(record)
    registry.record({
        "model": f"openai/{job.fine_tuned_model}", "provider": "openai", "base": record["base"],
        "endpoint": record["endpoint"], "job_id": record["job_id"], "training_file_id": record["file_id"],
        "dataset_sha256": record["dataset_sha256"], "dataset_file": record["dataset_file"],
        "examples": record["examples"], "hyperparameters": record["hyperparameters_used"],
        "trained_tokens": job.trained_tokens, **record["metadata"]})
    return record


def finetune(path: str | Path, base: str, *, poll_seconds: float = 30.0, progress: Progress | None = None,
             **options: Any) -> str:
    """Submit (or resume) and poll to the end; returns the model name `openai/ft:...`."""
    record = submit(path, base, progress=progress, **options)
    if record["status"] != "succeeded":
        record = poll(record, poll_seconds=poll_seconds, progress=progress)
    elif not registry.find(f"openai/{record['fine_tuned_model']}"):
        record = poll(record, poll_seconds=poll_seconds, progress=progress)  # registers it
    return f"openai/{record['fine_tuned_model']}"


def open_jobs() -> list[dict[str, Any]]:
    """Jobs submitted but not seen to finish (e.g. the process was stopped while polling)."""
    return [r for r in job_records() if r["status"] not in FINAL]
