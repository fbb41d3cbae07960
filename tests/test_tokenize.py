import hashlib
import subprocess
import sys
from pathlib import Path

from harness.data.tokenize import train_wordpiece

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ["Goal: search YouTube for lo-fi music. Screen: home. Elements: nav bar circle ; OK button",
          "Goal: turn on wifi. Screen: Settings. Elements: Network & internet ; Wi-Fi, off"] * 3


def test_vocabulary_is_words_by_count_over_characters():
    tok = train_wordpiece(CORPUS, 10_000)
    vocab = tok.get_vocab()
    assert [vocab[t] for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]")] == [0, 1, 2, 3]
    assert "goal" in vocab and "##o" in vocab and "o" in vocab
    ids = tok("lo-fi music")["input_ids"]
    assert tok.convert_ids_to_tokens(ids) == ["[CLS]", "lo", "-", "fi", "music", "[SEP]"]
    # a small budget keeps the characters and the most frequent words only
    small = train_wordpiece(CORPUS, 70).get_vocab()
    assert "##o" in small and len(small) == 70 and len(vocab) > 70


def test_the_same_corpus_gives_the_same_vocabulary_in_another_process():
    """tokenizers' own WordPiece trainer does not: its vocabulary changes between processes."""
    code = ("import hashlib, sys; sys.path.insert(0, %r); from harness.data.tokenize import "
            "train_wordpiece; from tests.test_tokenize import CORPUS; v = train_wordpiece(CORPUS, "
            "80).get_vocab(); print(hashlib.sha256(repr(sorted(v.items())).encode()).hexdigest())"
            % str(ROOT))
    here = hashlib.sha256(repr(sorted(train_wordpiece(CORPUS, 80).get_vocab().items()))
                          .encode()).hexdigest()
    for _ in range(2):
        other = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                               text=True, check=True).stdout.split()[-1]
        assert other == here
