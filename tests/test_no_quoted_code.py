"""The project's code and comments are its own: no lines quoted from another project's code.

harness/metrics.py follows the matching rules of AitW's ``android_in_the_wild/action_matching.py``
(google-research/google-research); it describes them in words and names the upstream function,
but must not copy its lines. This scans every tracked (or new, not ignored) text file for
fragments that only a copied line of that module would contain: its JAX calls, its variable and
parameter names, its constant definitions, its comments, and calls of its functions. Naming an
upstream function in prose (without a call's parenthesis) is a reference, and is allowed.

Not scanned: the Apache-2.0 data sample under tests/data, and this file (it lists the fragments).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
THIS = Path(__file__).resolve()

SUFFIXES = {".py", ".md", ".txt", ".rst", ".j2", ".html", ".sh", ".toml", ".cfg", ".yml", ".yaml"}
EXCLUDED_DIRS = ("tests/data/",)

#: Case-sensitive regular expressions, each matching what a copied upstream line would contain.
UPSTREAM_FRAGMENTS = [
    r"\bjnp\.",                                    # any jax.numpy call
    r"\bimport jax\b|\bfrom jax\b",
    r"annotation_positions\[:,",                   # upstream's indexing of the box array
    r"resized_annotation_positions",
    r"annotation_height_augment_fraction",         # upstream's lower-case parameter names
    r"annotation_width_augment_fraction",
    r"matching_tap_distance_threshold_screen_percentage",
    r"\b_TAP_DISTANCE_THRESHOLD\s*=",              # upstream's constant definitions
    r"\b_SWIPE_DISTANCE_THRESHOLD\s*=",
    r"ANNOTATION_(?:WIDTH|HEIGHT)_AUGMENT_FRACTION\s*=",
    r"Limit bounding box positions to the screen",  # upstream's comments
    r"y-axis is inverted for AndroidEnv",
    r"Interval determining if an action is a tap",
    r"#\s*Fraction of the screen",
    r"\b_resize_annotation_bounding_boxes\(",      # calls or definitions of upstream functions
    r"\b_yx_in_bounding_boxes\(",
    r"\b_check_tap_actions_match\(",
    r"\b_check_drag_actions_match\(",
    r"\bcheck_actions_match\(",
    r"\bis_tap_action\(",
    r"\b_get_direction\(",
    r"\btap_?1_(?:yx|in_box)|\btap_?2_(?:yx|in_box)",  # upstream's local variable names
    r"\bdrag_1_(?:deltas|magnitudes|main_axis|touch_yx|lift_yx)",
    r"\baction_1_action_type|\baction_2_action_type",
    r"\bhas_non_dual_point_action\b",
    r"\bdifferent_dual_point_types\b",
    r"\bnormalized_start_yx\b|\bnormalized_end_yx\b",
    r"\bboth_in_box\b|\bwithin_threshold\b|\bdrags_match\b",
    r"bottom, right = top \+ height",
]
PATTERN = re.compile("|".join(f"(?:{f})" for f in UPSTREAM_FRAGMENTS))


def _listed_files() -> list[str]:
    """Files git tracks plus new files it does not ignore; a plain walk without git."""
    try:
        out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                             cwd=ROOT, capture_output=True, text=True, check=True).stdout
        return out.splitlines()
    except (OSError, subprocess.CalledProcessError):
        skip = {".git", ".venv", "__pycache__", ".pytest_cache", "reports", "build", "dist"}
        return [str(p.relative_to(ROOT)) for p in ROOT.rglob("*")
                if p.is_file() and not skip.intersection(p.relative_to(ROOT).parts)]


def scanned_files() -> list[Path]:
    files = []
    for rel in _listed_files():
        path = ROOT / rel
        if (path.suffix in SUFFIXES and path.is_file() and path.resolve() != THIS
                and not rel.replace("\\", "/").startswith(EXCLUDED_DIRS)):
            files.append(path)
    return files


def find_quoted_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) of every line that contains an upstream fragment."""
    return [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1)
            if PATTERN.search(line)]


def test_scan_covers_the_matching_module():
    names = {p.relative_to(ROOT).as_posix() for p in scanned_files()}
    assert "harness/metrics.py" in names and "tests/test_metrics.py" in names
    assert not any(n.startswith("tests/data/") for n in names)


def test_fragments_catch_copied_lines_but_not_references():
    # Copied-looking lines (assembled here so that this file itself stays free of them).
    copied = [
        "jnp" + ".maximum(0, a - b)",
        "x = annotation_positions" + "[:, 2]",
        "#   _TAP_DISTANCE" + "_THRESHOLD = 0.14",
        "return _yx_in_bounding" + "_boxes(tap, boxes)",
        "<= matching_tap_distance" + "_threshold_screen_percentage",
    ]
    for line in copied:
        assert find_quoted_lines(line), line
    # Our own prose references and code stay allowed.
    own = [
        "Source: action_matching.py, function ``_resize_annotation_bounding_boxes``, commit ...",
        "TAP_MATCH_DISTANCE = _DTYPE(0.14)",
        "taps = pred_tap & true_tap & _taps_match(p_touch, t_touch, boxes)",
        "def actions_match(pred_type, pred_touch_yx, pred_lift_yx,",
    ]
    for line in own:
        assert not find_quoted_lines(line), line


def test_no_upstream_code_lines_in_the_repository():
    hits = []
    for path in scanned_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        hits += [f"{path.relative_to(ROOT).as_posix()}:{n}: {line}"
                 for n, line in find_quoted_lines(text)]
    assert not hits, ("lines that look copied from AitW's action_matching.py; describe the rule "
                      "in words and cite the upstream function instead:\n" + "\n".join(hits))
