"""Every place where the harness's code and the review's or the user's code as written would
give a different number, raise, or not run: what the literal code does, what the harness does
instead, why, and the function that implements the harness's side.

Each row carries a checksum of its implementing function's source. ``tests/test_deviations.py``
recomputes them: a change to one of these functions fails the test until its row's text and
checksum are updated in the same change, so the table cannot drift from the code.
``python -m harness.deviations`` prints the current checksums and the Markdown table (the
README's copy sits between ``<!-- deviations -->`` markers and is checked by the same test).
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Deviation:
    place: str          # where the literal code is (review section or user code)
    literal: str        # the code as written, and what it does here
    harness: str        # what the harness does instead
    why: str
    function: str       # "module:qualname" of the harness's implementation
    checksum: str       # first 12 hex digits of sha256 of that function's source
    measured: str = ""  # where the report measures the consequence, if it does
    check: str = ""     # the literal check that runs this snippet (harness.instruments.literal)


DEVIATIONS: tuple[Deviation, ...] = (
    Deviation(
        "review section 4: routing by the predicted action",
        "`if action_code.item() == 3: ... elif action_code.item() in {4,5,6,7,10,11}:` raises "
        "RuntimeError for any batch of more than one step (`.item()` needs one element)",
        "routes each row by its own predicted action; a head does not run on rows not routed "
        "to it, and those rows get a zero output without gradient",
        "the literal code cannot train at the user's batch size; per-row routing is the "
        "review's stated intent",
        "harness.model.agent:route_by_prediction", "00f9e560f0ef",
        "'The review's code as written': item_routing, on each run's first batch",
        "item_routing"),
    Deviation(
        "review section 1: the MLP coordinate head",
        "`nn.Linear(bert_output_size + self.lstm_hidden_size, lstm_hidden_size)` as first "
        "layer, fed the per-head projection's output (`bert_output_size` wide): RuntimeError, "
        "the shapes cannot be multiplied",
        "first layer `Linear(H, 256)`, H the width of its input",
        "the head's input is the projection's output; the extra `lstm_hidden_size` inputs "
        "belong to the LSTM head the MLP replaces",
        "harness.model.heads:MLPCoordHead.__init__", "aa596cf05e05",
        "'The review's code as written': mlp_input_width", "mlp_input_width"),
    Deviation(
        "review section 2: the gesture mask of the standard loss",
        "`torch.isin(labels, torch.tensor([4,5,6,7,10,11]))` builds the code set on the CPU: "
        "on CUDA labels RuntimeError (tensors on different devices), so the fixed loss never "
        "completes a GPU step",
        "builds the code set on the labels' device",
        "the same mask on any device; on the CPU both are identical",
        "harness.losses:standard_loss", "102d9d50b9d2",
        "'The review's code as written': isin_cpu_codes (CUDA only)", "isin_cpu_codes"),
    Deviation(
        "review section 5: coordinate normalization",
        "divides `touch_coords` and `lift_coords` by the screen size; the UI boxes stay in "
        "pixels, so the penalty loss's \"inside the element\" rule can never fire",
        "`screen` divides points and boxes; the literal reading is the coordinate-units value "
        "`screen_points`, registered as the variant original+normalized_points_only",
        "a box rule that compares fractions with pixels measures nothing; both readings are "
        "run and compared",
        "harness.data.tensors:box_divisor", "66cfb9adb7ab",
        "effects table: boxes_normalized (original+normalized_coords against "
        "original+normalized_points_only)"),
    Deviation(
        "the user's model: the query decoder's 32 greedy steps",
        "decodes 32 steps for every row",
        "decodes as many steps as the longest typed-text target of the data, [CLS] and [SEP] "
        "included (the run's facts give the number; `--query-steps 32` restores 32)",
        "every later position is padding that both query losses ignore (`ignore_index=0`), "
        "so losses and gradients are unchanged (tests/test_splits.py); a decoded text that "
        "never stops is cut at that length instead of 32",
        "harness.data.tensors:query_steps_for", "7c0c0e5d120f"),
    Deviation(
        "the user's model: the encoder",
        "DistilBERT (6 layers, 768 wide, pretrained), prompts up to 512 tokens",
        "by default a randomly initialised 2-layer, 32-wide BERT and prompts up to 128 tokens "
        "(`--encoder minilm` or a local model folder for a pretrained one)",
        "every variant x 5 seeds x 20 epochs must fit in under 15 minutes on 2 CPU cores; "
        "the synthetic prompts are at most 97 tokens",
        "harness.encoders:TINY", "7d87b38f9511"),
    Deviation(
        "the user's trainer: validation and the held-out set",
        "validates on one split at every epoch end (ReduceLROnPlateau reads that loss)",
        "validates at every epoch end on a small validation split of its own (45 steps by "
        "default), and scores the metrics and verdicts once, at the end, on a separate "
        "held-out split (379 steps)",
        "evaluating 379 steps 20 times a run cost more than training; the schedulers still "
        "see a validation loss every epoch (`--val-fraction 0` validates on the held-out "
        "split, as a two-split trainer)",
        "harness.data.types:Dataset.split", "accb0d285d8f"),
)


def resolve(function: str):
    module_name, _, qualname = function.partition(":")
    target = importlib.import_module(module_name)
    for part in qualname.split("."):
        target = getattr(target, part)
    return target


def checksum(function: str) -> str:
    """Of the source of a function or class, or of the ``repr`` of a constant."""
    target = resolve(function)
    source = (inspect.getsource(target) if inspect.isfunction(target) or inspect.isclass(target)
              else repr(target))
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:12]


def stale_rows() -> list[tuple[Deviation, str]]:
    """Rows whose function changed since its checksum was written: (row, current checksum)."""
    return [(row, checksum(row.function)) for row in DEVIATIONS
            if checksum(row.function) != row.checksum]


def markdown_table() -> str:
    lines = ["| where | the code as written | the harness | why | implemented in |",
             "|---|---|---|---|---|"]
    for row in DEVIATIONS:
        cells = [row.place, row.literal, row.harness, row.why, f"`{row.function}`"]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def main() -> int:
    for row, current in [(r, checksum(r.function)) for r in DEVIATIONS]:
        mark = "" if current == row.checksum else "   <- changed: update the row's text"
        print(f"{row.function:45s} {current}{mark}")
    print()
    print(markdown_table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
