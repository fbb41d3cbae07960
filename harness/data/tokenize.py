"""Tokenizers: a WordPiece vocabulary trained on the training prompts (for a randomly
initialised encoder), or the pretrained encoder's own tokenizer. Both come out as a Hugging
Face fast tokenizer, so the rest of the harness sees one interface."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from harness.errors import HarnessInputError

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]  # [PAD] gets id 0


def train_wordpiece(texts: list[str], vocab_size: int) -> PreTrainedTokenizerFast:
    """A lower-casing BERT-style WordPiece tokenizer whose vocabulary comes from ``texts``.

    The vocabulary is built here rather than by ``tokenizers``' WordPiece trainer, because that
    trainer is not deterministic across processes (its vocabulary, not only the ids, changes
    from one run to the next), and the same seed must give the same numbers in every run.
    The vocabulary: the special tokens, every character seen (as a word start and as a
    ``##`` continuation, so any word can be spelled), then whole words by descending count,
    ties broken alphabetically, up to ``vocab_size``. The corpus is the training split's
    prompts and typed texts: typed text is what the query head must spell.
    """
    normalizer = normalizers.BertNormalizer(lowercase=True)
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    counts: Counter = Counter()
    for text in texts:
        for word, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(text)):
            counts[word] += 1
    chars = sorted({c for word in counts for c in word})
    vocab = list(SPECIAL_TOKENS) + chars + [f"##{c}" for c in chars]
    room = max(vocab_size - len(vocab), 0)
    words = sorted((w for w in counts if len(w) > 1), key=lambda w: (-counts[w], w))[:room]
    vocab += words
    tok = Tokenizer(models.WordPiece({t: i for i, t in enumerate(vocab)}, unk_token="[UNK]"))
    tok.normalizer = normalizer
    tok.pre_tokenizer = pre_tokenizer
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
