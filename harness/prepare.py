"""From data settings to tensors, once per run: load or generate, split by episode, build the
tokenizer (trained on the training split, or the pretrained encoder's), encode."""

from __future__ import annotations

from pathlib import Path

from harness.data.settings import SYNTHETIC, DataSettings
from harness.data import synthetic
from harness.data.tensors import EncodedData, encode_split, query_steps_for
from harness.data.tokenize import load_pretrained_tokenizer, train_wordpiece
from harness.data.types import PIXEL, Dataset
from harness.data.formats import read_dataset
from harness.encoders import EncoderSpec, max_positions
from harness.errors import DataError

DEFAULT_SYNTHETIC_SCREEN = (1080, 2400)


def load_dataset(settings: DataSettings) -> Dataset:
    if settings.source == SYNTHETIC:
        return synthetic.generate(n_episodes=settings.synthetic_episodes,
                                  seed=settings.data_seed,
                                  units=settings.units or PIXEL,
                                  screen=settings.screen_size or DEFAULT_SYNTHETIC_SCREEN,
                                  world=settings.synthetic_world)
    path = Path(settings.source)
    if not path.exists():
        raise DataError.at(path, "no such file or folder (--data takes 'synthetic', a data "
                                 "file or a folder of them)")
    return read_dataset(path, settings.data_format, settings.units, settings.screen_size,
                        settings.skip_invalid)


def prepare_data(settings: DataSettings, spec: EncoderSpec) -> EncodedData:
    return encode_dataset(load_dataset(settings), settings, spec)


def encode_dataset(dataset: Dataset, settings: DataSettings, spec: EncoderSpec) -> EncodedData:
    if not dataset.steps:
        raise DataError.at(dataset.source, "the data set holds no steps")
    splits = dataset.split(settings.heldout_fraction, settings.val_fraction,
                           settings.train_size)
    train, val, heldout = splits
    if spec.pretrained:
        tokenizer = load_pretrained_tokenizer(spec.model_dir)
    else:
        corpus = [s.prompt for s in train.steps] + [s.type_text for s in train.steps if s.type_text]
        tokenizer = train_wordpiece(corpus, settings.vocab_size)
    max_length = min(settings.max_length, max_positions(spec))
    encoded_train = encode_split(train, tokenizer, max_length)
    encoded_heldout = encode_split(heldout, tokenizer, max_length)
    encoded_val = encoded_heldout if val is heldout else encode_split(val, tokenizer, max_length)
    query_steps = query_steps_for([encoded_train, encoded_val, encoded_heldout],
                                  settings.query_steps)
    encoded_train, encoded_val, encoded_heldout = (
        s.with_query_steps(query_steps) for s in (encoded_train, encoded_val, encoded_heldout))
    if val is heldout:
        encoded_val = encoded_heldout
    description = dataset.describe()
    description.update({
        "train_steps": len(train.steps), "val_steps": len(val.steps),
        "heldout_steps": len(heldout.steps),
        "train_episodes": len(train.episodes()), "val_episodes": len(val.episodes()),
        "heldout_episodes": len(heldout.episodes()),
        "validation": "the held-out split" if val is heldout else "its own split",
        "query_steps": query_steps,
        "vocab_size": len(tokenizer), "max_length": max_length,
        "tokenizer": "pretrained (the encoder's own)" if spec.pretrained
                     else f"WordPiece trained on the training split ({len(tokenizer)} tokens)",
        "truncated_prompts": {"train": encoded_train.truncated, "val": encoded_val.truncated,
                              "heldout": encoded_heldout.truncated},
        "mean_prompt_tokens": round(float(encoded_train.attention_mask.sum(1).float().mean()), 1),
    })
    return EncodedData(train=encoded_train, val=encoded_val, tokenizer=tokenizer,
                       units=dataset.units, max_length=max_length, description=description,
                       heldout=encoded_heldout, query_steps=query_steps)
