"""The fake OpenAI's stored objects: uploaded files, batches and fine-tuning jobs.

Everything is kept in memory. A batch or a job moves one step on each time it
is fetched (GET), so a test sees every status a client would poll through:
a batch completes after `batch_steps` GETs, answering its lines as live chat
completions would; a job goes validating_files -> queued -> running ->
succeeded, unless its training file contains REJECT_ME, which fails validation
with the message OpenAI gives for a file its moderation blocks.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

from helpers.testing.chat import count_tokens
from helpers.testing.transport import Reply, error

MODERATION_ERROR = (
    "The job failed due to an invalid training file. This training file was blocked by our "
    "moderation system because it contains too many examples that violate OpenAI's usage "
    "policies, or because it attempts to create model outputs that violate OpenAI's usage policies.")
FT_STEPS = ("validating_files", "queued", "running", "succeeded")


class Stores:
    """The files, batches and fine-tuning part of FakeOpenAI (which sets these attributes)."""

    batch_steps: int
    files: dict[str, dict]
    batches: dict[str, dict]
    jobs: dict[str, dict]
    _contents: dict[str, bytes]
    _lock: threading.RLock
    _new_id: Callable[[str], str]
    _answer: Callable[[dict], Reply]

    # -- files -------------------------------------------------------------
    def add_file(self, content: bytes, filename: str, purpose: str) -> dict:
        with self._lock:
            file = {"id": self._new_id("file-"), "object": "file", "bytes": len(content),
                    "created_at": int(time.time()), "filename": filename, "purpose": purpose,
                    "status": "processed", "status_details": None}
            self.files[file["id"]] = file
            self._contents[file["id"]] = content
        return file

    def _upload(self, form: dict) -> Reply:
        if "file" not in form or "purpose" not in form:
            return error(400, "'file' and 'purpose' are required multipart fields", param="file")
        filename, content = form["file"]
        return 200, self.add_file(content, filename or "upload", form["purpose"][1].decode()), {}

    def _delete_file(self, file: dict) -> Reply:
        del self.files[file["id"]], self._contents[file["id"]]
        return 200, {"id": file["id"], "object": "file", "deleted": True}, {}

    # -- batches -------------------------------------------------------------
    def _create_batch(self, body: dict) -> Reply:
        if body.get("input_file_id") not in self.files:
            return error(400, f"Invalid input_file_id: {body.get('input_file_id')}", param="input_file_id")
        if body.get("endpoint") != "/v1/chat/completions":
            return error(400, "Only /v1/chat/completions is supported", param="endpoint")
        if body.get("completion_window") != "24h":
            return error(400, "completion_window must be '24h'", param="completion_window")
        now = int(time.time())
        batch = {"id": self._new_id("batch_"), "object": "batch", "endpoint": body["endpoint"],
                 "errors": None, "input_file_id": body["input_file_id"], "completion_window": "24h",
                 "status": "validating", "output_file_id": None, "error_file_id": None,
                 "created_at": now, "in_progress_at": None, "expires_at": now + 86400,
                 "finalizing_at": None, "completed_at": None, "failed_at": None, "expired_at": None,
                 "cancelling_at": None, "cancelled_at": None,
                 "request_counts": {"total": 0, "completed": 0, "failed": 0},
                 "metadata": body.get("metadata"), "_polls": 0}
        with self._lock:
            self.batches[batch["id"]] = batch
        return 200, batch, {}

    def _poll_batch(self, batch: dict) -> Reply:
        """Each GET moves a batch one step on: `batch_steps` GETs complete it."""
        now = int(time.time())
        if batch["status"] == "cancelling":
            batch.update(status="cancelled", cancelled_at=now)
        if batch["status"] not in ("validating", "in_progress"):
            return 200, batch, {}
        batch["_polls"] += 1
        if batch["_polls"] < self.batch_steps:
            batch.update(status="in_progress", in_progress_at=batch["in_progress_at"] or now)
            return 200, batch, {}
        outputs, errors = [], []
        lines = self._contents[batch["input_file_id"]].decode().splitlines()
        for line in filter(str.strip, lines):
            try:
                request = json.loads(line)
                status, payload, _ = self._answer(request["body"])
            except (ValueError, KeyError, TypeError, AttributeError):
                request, status, payload = {}, 400, error(400, "Malformed batch line")[1]
            result = {"id": self._new_id("batch_req_"), "custom_id": request.get("custom_id"),
                      "response": {"status_code": status, "request_id": self._new_id("req_"), "body": payload},
                      "error": None if status == 200 else payload["error"]}
            (outputs if status == 200 else errors).append(json.dumps(result))
        for key, results in (("output_file_id", outputs), ("error_file_id", errors)):
            if results:  # like OpenAI, no file when there is nothing to put in it
                content = "".join(r + "\n" for r in results).encode()
                batch[key] = self.add_file(content, f"{batch['id']}_{key[:-8]}.jsonl", "batch_output")["id"]
        batch.update(status="completed", in_progress_at=batch["in_progress_at"] or now, finalizing_at=now,
                     completed_at=now, request_counts={"total": len(outputs) + len(errors),
                                                       "completed": len(outputs), "failed": len(errors)})
        return 200, batch, {}

    def _cancel_batch(self, batch: dict) -> Reply:
        if batch["status"] not in ("validating", "in_progress"):
            return error(400, f"Cannot cancel a batch with status {batch['status']}")
        batch.update(status="cancelling", cancelling_at=int(time.time()))
        return 200, batch, {}

    # -- fine-tuning -------------------------------------------------------
    def _create_job(self, body: dict) -> Reply:
        if body.get("training_file") not in self.files:
            return error(400, f"invalid training_file: {body.get('training_file')}", param="training_file")
        if not body.get("model"):
            return error(400, "'model' is a required property", param="model")
        hyper = {"n_epochs": "auto", "batch_size": "auto", "learning_rate_multiplier": "auto",
                 **(body.get("hyperparameters") or {})}
        job = {"id": self._new_id("ftjob-"), "object": "fine_tuning.job", "model": body["model"],
               "created_at": int(time.time()), "finished_at": None, "fine_tuned_model": None,
               "organization_id": "org-test", "result_files": [], "status": "validating_files",
               "validation_file": body.get("validation_file"), "training_file": body["training_file"],
               "hyperparameters": hyper, "trained_tokens": None, "error": None,
               "seed": body.get("seed", 0), "suffix": body.get("suffix"), "estimated_finish": None,
               "integrations": None, "_events": []}
        with self._lock:
            self.jobs[job["id"]] = job
        self._job_event(job, f"Created fine-tuning job: {job['id']}")
        return 200, job, {}

    def _job_event(self, job: dict, message: str, level: str = "info") -> None:
        job["_events"].append({"id": self._new_id("ftevent-"), "object": "fine_tuning.job.event",
                               "created_at": int(time.time()), "level": level, "message": message,
                               "data": {}, "type": "message"})

    def _poll_job(self, job: dict) -> Reply:
        """Each GET moves a job one step along FT_STEPS; a REJECT_ME file fails validation."""
        if job["status"] not in FT_STEPS[:-1]:
            return 200, job, {}
        content = self._contents.get(job["training_file"], b"")
        if job["status"] == "validating_files" and b"REJECT_ME" in content:
            job.update(status="failed", finished_at=int(time.time()),
                       error={"code": "invalid_training_file", "message": MODERATION_ERROR,
                              "param": "training_file"})
            self._job_event(job, MODERATION_ERROR, "error")
            return 200, job, {}
        job["status"] = FT_STEPS[FT_STEPS.index(job["status"]) + 1]
        if job["status"] == "succeeded":
            epochs = job["hyperparameters"]["n_epochs"]
            short = job["id"].removeprefix("ftjob-")
            job.update(finished_at=int(time.time()),
                       fine_tuned_model=f"ft:{job['model']}:test-org:{job['suffix'] or 'custom'}:{short}",
                       trained_tokens=count_tokens(content.decode("utf-8", "replace"))
                       * (epochs if isinstance(epochs, int) else 3))
        self._job_event(job, {"queued": "Files validated, job queued", "running": "Fine-tuning job started",
                              "succeeded": "The job has successfully completed"}[job["status"]])
        return 200, job, {}

    def _cancel_job(self, job: dict) -> Reply:
        if job["status"] not in FT_STEPS[:-1]:
            return error(400, f"Job has already {job['status']}")
        job.update(status="cancelled", finished_at=int(time.time()))
        self._job_event(job, "Fine-tuning job cancelled")
        return 200, job, {}
