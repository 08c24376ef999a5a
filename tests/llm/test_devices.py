"""Device and dtype by detection (helpers.llm.devices), and which of them go into
cache identities. GPU paths run here on the CPU with torch.cuda's answers replaced
(the third-party boundary)."""

import os
import re

import pytest
import torch

from helpers.errors import UserError
from helpers.llm import devices, local_model
from helpers.llm.naming import identity, parse_model


@pytest.fixture(autouse=True)
def no_choice_in_the_environment(monkeypatch):
    monkeypatch.delenv(devices.DEVICE_ENV, raising=False)
    monkeypatch.delenv(devices.DTYPE_ENV, raising=False)


def gpu(monkeypatch, *, bf16: bool) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bf16)


def test_without_a_gpu_local_models_run_on_the_cpu_in_fp32(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert devices.placement() == devices.Placement("cpu", "fp32")


@pytest.mark.parametrize("bf16, dtype", [(True, "bf16"), (False, "fp16")])
def test_a_gpu_is_chosen_when_torch_sees_one_in_the_dtype_it_computes(monkeypatch, bf16, dtype):
    gpu(monkeypatch, bf16=bf16)
    assert devices.placement() == devices.Placement("cuda", dtype)
    assert devices.placement(device="cpu") == devices.Placement("cpu", "fp32")


def test_the_environment_and_then_arguments_choose(monkeypatch):
    gpu(monkeypatch, bf16=True)
    monkeypatch.setenv(devices.DEVICE_ENV, "cpu")
    monkeypatch.setenv(devices.DTYPE_ENV, "bf16")
    assert devices.placement() == devices.Placement("cpu", "bf16")
    assert devices.placement(device="cuda", dtype="fp32") == devices.Placement("cuda", "fp32")


@pytest.mark.parametrize("env, args, message", [
    ({}, {"device": "cuda"}, "--device cuda, but torch sees no CUDA GPU here; use cpu (or auto) to run on the CPU"),
    ({"EXCEPTIONS_DEVICE": "cuda"}, {}, "EXCEPTIONS_DEVICE=cuda, but torch sees no CUDA GPU here"),
    ({"EXCEPTIONS_DEVICE": "tpu"}, {}, "EXCEPTIONS_DEVICE=tpu: use one of auto, cpu, cuda"),
    ({}, {"dtype": "fp16"}, "--dtype fp16 is for GPUs; on the CPU use fp32 or bf16"),
    ({"EXCEPTIONS_DTYPE": "int8"}, {}, "EXCEPTIONS_DTYPE=int8: use one of auto, fp32, bf16, fp16"),
])
def test_a_choice_that_cannot_be_had_is_a_one_line_error(monkeypatch, env, args, message):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(UserError, match="^" + re.escape(message)):
        devices.placement(**args)


def test_bf16_on_a_gpu_without_it_is_an_error(monkeypatch):
    gpu(monkeypatch, bf16=False)
    with pytest.raises(UserError, match="--dtype bf16, but this GPU does not compute bf16; use fp16"):
        devices.placement(dtype="bf16")


def test_chosen_holds_for_a_block_and_restores_the_environment(monkeypatch):
    monkeypatch.setenv(devices.DTYPE_ENV, "fp32")
    with devices.chosen(device="cpu", dtype="bf16") as found:
        assert found == devices.Placement("cpu", "bf16") == devices.placement()
        assert os.environ[devices.DEVICE_ENV] == "cpu"
    assert os.environ[devices.DTYPE_ENV] == "fp32" and devices.DEVICE_ENV not in os.environ
    with pytest.raises(UserError):
        with devices.chosen(dtype="fp16"):
            pass
    assert os.environ[devices.DTYPE_ENV] == "fp32"


def test_weights_load_in_the_placements_dtype_from_local_files_only():
    assert local_model.load_kwargs(devices.Placement("cuda", "bf16")) == {
        "dtype": torch.bfloat16, "local_files_only": True}
    assert local_model.load_kwargs(devices.Placement("cpu", "fp32"))["dtype"] is torch.float32


def test_the_dtype_is_in_the_identity_when_it_is_not_fp32_and_the_device_never(monkeypatch):
    default = parse_model("local/smollm2-135m-instruct")
    on_cpu = identity(default)
    assert "dtype" not in on_cpu and "device" not in on_cpu
    gpu(monkeypatch, bf16=True)
    assert identity(default) == {**on_cpu, "dtype": "bf16"}
    monkeypatch.setenv(devices.DTYPE_ENV, "fp32")
    assert identity(default) == on_cpu  # fp32 on a GPU: the CPU's answers, up to rounding
    gpu(monkeypatch, bf16=False)
    monkeypatch.delenv(devices.DTYPE_ENV)
    assert identity(default) == {**on_cpu, "dtype": "fp16"}
