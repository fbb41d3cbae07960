"""From data settings to tensors, once per run: load or generate, split (by episode or by
goal) into training, validation, selection and held-out steps, build the tokenizer (trained on
the training split, or the pretrained encoder's), encode.

The held-out split is the confirmation split: nothing here that sets a model setting (the
tokenizer, the decoder's length) reads it, so changing its labels changes nothing but its own
scores (tests/test_selection.py)."""

from __future__ import annotations

from pathlib import Path

from harness.data.settings import SYNTHETIC, DataSettings
from harness.data import synthetic
from harness.data.aitw_tfrecord import FORMAT_NAME as AITW_TFRECORD
from harness.data.aitz import FORMAT_NAME as AITZ
from harness.data.tensors import EncodedData, encode_split, query_steps_for
from harness.data.tokenize import load_pretrained_tokenizer, train_wordpiece
from harness.data.types import BY_EPISODE, BY_GOAL, PIXEL, SPLIT_BY, Dataset, goal_of_prompt
from harness.data.fingerprint import read_fingerprint
from harness.data.formats import detect_format, read_dataset
from harness.encoders import EncoderSpec, max_positions
from harness.errors import DataError

DEFAULT_SYNTHETIC_SCREEN = (1080, 2400)
#: Formats split by goal unless ``--split-by`` says otherwise: AitW's instructions recur in
#: about 20 episodes each, so a split by episode trains on the held-out instructions.
SPLIT_BY_GOAL_FORMATS = (AITZ, AITW_TFRECORD)

#: What each split is for, as run.json and the report name them.
ROLES = {
    "training": "the optimizer's steps; the tokenizer is trained on it",
    "selection": "every choice: the search's rounds and leave-one-out pass, any tuning, the "
                 "recommendation, settings such as the query decoder's length; the "
                 "validation split the epoch schedulers read is selection data too",
    "confirmation": "the held-out split: scored once at the end of every run, read only for "
                    "verdicts",
}


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


def resolve_split_by(settings: DataSettings) -> str:
    """``settings.split_by``, or by default: by goal for AiTZ and AitW, by episode for the
    synthetic data and the user's JSON (see :class:`DataSettings`)."""
    if settings.split_by is not None:
        if settings.split_by not in SPLIT_BY:
            raise DataError(f"split_by must be one of {SPLIT_BY}, got {settings.split_by!r}")
        return settings.split_by
    if settings.source == SYNTHETIC:
        return BY_EPISODE
    fmt = settings.data_format or detect_format(Path(settings.source))
    return BY_GOAL if fmt in SPLIT_BY_GOAL_FORMATS else BY_EPISODE


def prepare_data(settings: DataSettings, spec: EncoderSpec) -> EncodedData:
    return encode_dataset(load_dataset(settings), settings, spec)


def encode_dataset(dataset: Dataset, settings: DataSettings, spec: EncoderSpec,
                   split_by: str | None = None) -> EncodedData:
    """``split_by``: None resolves it from ``settings`` (:func:`resolve_split_by`)."""
    if not dataset.steps:
        raise DataError.at(dataset.source, "the data set holds no steps")
    split_by = split_by or resolve_split_by(settings)
    train, val, heldout, selection = dataset.split(
        settings.heldout_fraction, settings.val_fraction, settings.train_size,
        settings.selection_fraction, split_by)
    if spec.pretrained:
        tokenizer = load_pretrained_tokenizer(spec.model_dir)
    else:
        corpus = [s.prompt for s in train.steps] + [s.type_text for s in train.steps if s.type_text]
        tokenizer = train_wordpiece(corpus, settings.vocab_size)
    max_length = min(settings.max_length, max_positions(spec))
    parts = {"train": train, "val": val, "selection": selection, "heldout": heldout}
    distinct = {id(p): p for p in parts.values()}      # val or selection may be another split
    encoded = {key: encode_split(p, tokenizer, max_length) for key, p in distinct.items()}
    # The decoder's length is a model setting: it comes from the training and selection
    # targets, never from the held-out ones (longer held-out texts are still scored, against
    # a decoded text cut at this length).
    chosen_from = [encoded[id(p)] for p in {id(p): p for p in (train, val, selection)
                                             if p is not heldout}.values()]
    query_steps = query_steps_for(chosen_from, settings.query_steps)
    cut = {key: split.with_query_steps(query_steps) for key, split in encoded.items()}
    cut = {name: cut[id(p)] for name, p in parts.items()}
    description = dataset.describe()
    description.update({
        "read": read_fingerprint(dataset),     # part of every run's identity
        "train_steps": len(train.steps), "val_steps": len(val.steps),
        "selection_steps": len(selection.steps), "heldout_steps": len(heldout.steps),
        "train_episodes": len(train.episodes()), "val_episodes": len(val.episodes()),
        "selection_episodes": len(selection.episodes()),
        "heldout_episodes": len(heldout.episodes()),
        "validation": "the held-out split" if val is heldout else "its own split",
        "selection": ("the held-out split (no selection split: choices read confirmation "
                      "data)" if selection is heldout else "the validation split"
                      if selection is val else "its own split"),
        "split_by": split_by,
        "roles": dict(ROLES),
        "goals": goal_overlap(train, selection, heldout),
        "query_steps": query_steps,
        "query_steps_from": "training, validation and selection targets",
        "vocab_size": len(tokenizer), "max_length": max_length,
        "tokenizer": "pretrained (the encoder's own)" if spec.pretrained
                     else f"WordPiece trained on the training split ({len(tokenizer)} tokens)",
        "truncated_prompts": {"train": cut["train"].truncated, "val": cut["val"].truncated,
                              "selection": cut["selection"].truncated,
                              "heldout": cut["heldout"].truncated},
        "mean_prompt_tokens": round(float(cut["train"].attention_mask.sum(1).float().mean()), 1),
    })
    return EncodedData(train=cut["train"], val=cut["val"], tokenizer=tokenizer,
                       units=dataset.units, max_length=max_length, description=description,
                       heldout=cut["heldout"], query_steps=query_steps,
                       selection=cut["selection"])


def _goals(dataset: Dataset) -> set[str] | None:
    goals = {goal_of_prompt(s.prompt) for s in dataset.steps}
    return None if None in goals else goals


def goal_overlap(train: Dataset, selection: Dataset, heldout: Dataset) -> dict | None:
    """How many goals (instruction texts) each split has, and how many of the selection and
    held-out (confirmation) goals also occur in training; None when some prompt names no
    goal."""
    sets = {name: _goals(d) for name, d in (("training", train), ("selection", selection),
                                           ("confirmation", heldout))}
    if any(g is None for g in sets.values()):
        return None
    trained = sets["training"]
    return {"training": len(trained), "selection": len(sets["selection"]),
            "confirmation": len(sets["confirmation"]),
            "selection_in_training": len(sets["selection"] & trained),
            "confirmation_in_training": len(sets["confirmation"] & trained)}
