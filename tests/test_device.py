"""Device selection (`device: auto | cpu | cuda[:N]`) and precision, tested on any machine by faking CUDA."""

from __future__ import annotations

import pytest
import torch

from pipeline.errors import ModelError
from pipeline.models import device as dev


@pytest.fixture
def fake_gpus(monkeypatch):
    """Pretend this machine has CUDA devices: set how many and whether they do bf16."""

    def install(count: int, bf16: bool = True) -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: count > 0)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: count)
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bf16)

    return install


def test_auto_takes_the_gpu_when_there_is_one_and_the_cpu_otherwise(fake_gpus):
    fake_gpus(0)
    assert dev.resolve_device("auto") == "cpu"
    fake_gpus(2)
    assert dev.resolve_device("auto") == "cuda:0"
    assert dev.resolve_device("cpu") == "cpu"  # cpu stays cpu on a GPU machine


def test_cuda_settings_name_a_device_that_exists_or_say_why_not(fake_gpus):
    fake_gpus(2)
    assert dev.resolve_device("cuda") == "cuda:0"
    assert dev.resolve_device("cuda:1") == "cuda:1"
    with pytest.raises(ModelError, match="has 2 CUDA device"):
        dev.resolve_device("cuda:2")
    fake_gpus(0)
    with pytest.raises(ModelError, match="no CUDA device on this machine"):
        dev.resolve_device("cuda")


@pytest.mark.parametrize("bad", ["gpu", "cuda:", "CUDA", "cuda:x", "mps"])
def test_unknown_settings_are_refused_with_what_is_allowed(bad):
    with pytest.raises(ValueError, match="device must be auto"):
        dev.check_device_setting(bad)


def test_precision_on_gpus_bf16_where_supported_else_fp16(fake_gpus, monkeypatch):
    fake_gpus(1, bf16=True)
    assert dev.autocast_dtype("auto", "cuda:0") is torch.bfloat16
    assert dev.autocast_dtype("off", "cuda:0") is None
    fake_gpus(1, bf16=False)
    assert dev.autocast_dtype("auto", "cuda:0") is torch.float16
    assert dev.precision_name(torch.float16) == "fp16"


def test_precision_on_the_cpu_follows_its_native_bf16(monkeypatch):
    import pipeline.models.classifier as classifier

    monkeypatch.setattr(classifier, "cpu_supports_bf16", lambda: False)
    assert dev.autocast_dtype("auto", "cpu") is None
    assert dev.autocast_dtype("on", "cpu") is torch.bfloat16
    monkeypatch.setattr(classifier, "cpu_supports_bf16", lambda: True)
    assert dev.autocast_dtype("auto", "cpu") is torch.bfloat16
    assert dev.describe("cpu", None)["precision"] == "fp32"


def test_configs_refuse_an_unknown_device_in_one_line():
    from pydantic import ValidationError

    from pipeline.config import ScoreConfig
    from pipeline.training.config import ModelConfig

    assert ModelConfig(device="cuda:1").device == "cuda:1"
    with pytest.raises(ValidationError, match="device must be auto"):
        ModelConfig(device="gpu0")
    with pytest.raises(ValidationError, match="device must be auto"):
        ScoreConfig(device="tpu")
