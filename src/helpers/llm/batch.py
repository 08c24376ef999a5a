"""OpenAI's Batch API: the same answers at half the price, within a day.

`run --batch` writes the missing requests as JSONL (custom_id = the answer's
cache key), uploads the file, creates a batch and polls it. Every submitted
batch is recorded in cache/batches/<batch id>.json before polling starts, so a
run that is stopped and started again resumes polling instead of submitting
(and paying for) the same requests twice. Results go into the same cache as
online answers, so notebooks read them like any other.
"""

from __future__ import annotations

import io
import json
import time
from typing import Any

from helpers import paths
from helpers.errors import UserError
from helpers.llm.backends import CallFailed
from helpers.llm.cache import seed_of
from helpers.llm.engine import Progress
from helpers.llm.openai_backend import parse_completion, with_n_seed
from helpers.llm.prices import Price
from helpers.llm.units import Unit

FINAL = {"completed", "failed", "expired", "cancelled"}


def _records() -> list[dict[str, Any]]:
    folder = paths.batches_dir()
    if not folder.is_dir():
        return []
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]


def _save(record: dict[str, Any]) -> None:
    folder = paths.batches_dir()
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{record['batch_id']}.tmp"
    tmp.write_text(json.dumps(record, indent=1))
    tmp.replace(folder / f"{record['batch_id']}.json")


def _submit(model, units, client) -> dict[str, Any]:
    lines = [json.dumps({"custom_id": u.key, "method": "POST", "url": "/v1/chat/completions",
                         "body": with_n_seed(u.kind, u.body, 1, seed_of(u.key))})
             for u in units]
    data = ("\n".join(lines) + "\n").encode()
    upload = client.files.create(file=("requests.jsonl", io.BytesIO(data)), purpose="batch")
    created = client.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions",
                                    completion_window="24h")
    record = {"batch_id": created.id, "input_file_id": upload.id, "model": model.spec.name,
              "endpoint": model.spec.base_url, "kinds": {u.key: u.kind for u in units},
              "status": created.status, "submitted": time.time()}
    _save(record)  # before polling, so a restart finds it
    return record


def _collect(record, model, client, price: Price | None, progress: Progress) -> None:
    """Store every answer of a finished batch in the cache."""
    pending = set(record["kinds"])
    for file_id in (record.get("output_file_id"), record.get("error_file_id")):
        if not file_id:
            continue
        for line in client.files.content(file_id).text.splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            key = item["custom_id"]
            response = item.get("response") or {}
            if key not in pending or response.get("status_code") != 200:
                continue
            try:
                (result,) = parse_completion(record["kinds"][key], response["body"], 1, model.spec.name)
            except CallFailed:
                continue
            result["cost_usd"] = None if price is None else price.cost(
                result["prompt_tokens"], result["completion_tokens"], batch=True)
            result["batch_id"] = record["batch_id"]
            model.store(key, result)
            pending.discard(key)
            progress.made += 1
            if result["cost_usd"] is not None:
                progress.cost += result["cost_usd"]
    progress.failed += len(pending)
    progress.failed_keys.update(pending)
    progress.notify()


def run_batches(units: list[Unit], prices: dict[str, Price | None], progress: Progress,
                poll_seconds: float = 30.0) -> None:
    """Submit these missing answers (unless an earlier batch already carries them)
    and poll every open batch of their models until it ends."""
    by_model: dict[str, tuple[Any, list[Unit]]] = {}
    seen: set[str] = set()
    for unit in units:
        if unit.model.spec.provider != "openai":
            raise UserError(f"--batch works with openai/ models, not {unit.model.spec.name}")
        if unit.key not in seen:  # identical requests are one answer
            seen.add(unit.key)
            by_model.setdefault(unit.model.spec.name, (unit.model, []))[1].append(unit)
    for name, (model, todo_units) in by_model.items():
        client = model.backend().sync_client
        mine = [r for r in _records() if r["model"] == name and r["endpoint"] == model.spec.base_url
                and not r.get("collected")]
        in_flight = {k for r in mine for k in r["kinds"]}
        todo = [u for u in todo_units if u.key not in in_flight]
        if todo:
            mine.append(_submit(model, todo, client))
        for record in mine:
            _poll(record, model, client, prices.get(name), progress, poll_seconds)


def _poll(record, model, client, price, progress: Progress, poll_seconds: float) -> None:
    o = model.backend()._openai
    while True:
        try:
            batch = client.batches.retrieve(record["batch_id"])
        except o.APIError as exc:
            raise UserError(f"cannot poll batch {record['batch_id']}: {exc}; rerun to resume") from None
        record.update(status=batch.status, output_file_id=batch.output_file_id,
                      error_file_id=batch.error_file_id)
        _save(record)
        if batch.status in FINAL:
            break
        time.sleep(poll_seconds)
    _collect(record, model, client, price, progress)
    record["collected"] = True
    _save(record)
