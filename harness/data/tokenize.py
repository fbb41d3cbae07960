"""Tokenizers: a WordPiece vocabulary trained on the training prompts (for a randomly
initialised encoder), or the pretrained encoder's own tokenizer. Both come out as a Hugging
Face fast tokenizer, so the rest of the harness sees one interface."""

from __future__ import annotations

from pathlib import Path

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from harness.errors import HarnessInputError

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]  # [PAD] gets id 0


def train_wordpiece(texts: list[str], vocab_size: int) -> PreTrainedTokenizerFast:
    """A lower-casing BERT-style WordPiece tokenizer trained on ``texts``.

    The corpus is the training split's prompts and typed texts: typed text is what the
    query head must spell, so its word pieces belong in the vocabulary.
    """
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS,
                                        show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer)
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)])
    tok.decoder = decoders.WordPiece(prefix="##")
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")


def load_pretrained_tokenizer(model_dir: Path) -> PreTrainedTokenizerFast:
    try:
        return AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True, use_fast=True)
    except (OSError, ValueError) as exc:
        raise HarnessInputError(f"{model_dir}: cannot load a tokenizer from this model folder "
                                f"({exc})") from None
