"""--device and --dtype on the commands that run local models: checked before anything
else (one line, exit 2), and holding only while the command runs."""

import os

import pytest
import torch

from helpers.llm import devices

MISSING = "/nonexistent/none.toml"
# Each command, with an argument that fails later ("file not found") if the placement passes.
COMMANDS = {
    "run": ["run", "--scenarios", MISSING],
    "estimate": ["estimate", "--scenarios", MISSING],
    "games run": ["games", "run", "--games", MISSING],
    "finetune": ["finetune", "--base", "local/smollm2-135m-instruct", "--jsonl", "/nonexistent/none.jsonl"],
}


@pytest.fixture(autouse=True)
def no_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.delenv(devices.DEVICE_ENV, raising=False)
    monkeypatch.delenv(devices.DTYPE_ENV, raising=False)


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("flags, message", [
    (["--device", "cuda"], "--device cuda, but torch sees no CUDA GPU here; use cpu (or auto) to run on the CPU"),
    (["--dtype", "fp16"], "--dtype fp16 is for GPUs; on the CPU use fp32 or bf16"),
    (["--dtype", "fp8"], "--dtype must be one of auto, fp32, bf16, fp16, got 'fp8'"),
    (["--device", "tpu"], "--device must be one of auto, cpu, cuda, got 'tpu'"),
])
def test_a_placement_that_cannot_be_had_is_one_line_before_anything_runs(run_cli, command, flags, message):
    code, out, err = run_cli(*COMMANDS[command], *flags)
    assert (code, out, err) == (2, "", f"error: {message}\n")


def test_the_placement_holds_only_while_the_command_runs(run_cli, monkeypatch):
    monkeypatch.setenv(devices.DTYPE_ENV, "fp32")
    code, _, err = run_cli(*COMMANDS["run"], "--device", "cpu", "--dtype", "bf16")
    assert code == 2 and "file not found" in err  # the placement was accepted
    assert os.environ[devices.DTYPE_ENV] == "fp32" and devices.DEVICE_ENV not in os.environ
