#!/usr/bin/env python
"""Run the fuzz suite's generators (tests/fuzz/) and write their counts as JSON.

    python scripts/fuzz_counts.py [--out docs/fuzz/counts.json]

The same inputs and the same classification as tests/test_fuzz_readers.py and
tests/test_fuzz_cli.py; the README quotes the file this writes. The counts depend only on the
code (the generators are seeded), so the file changes only when the readers or the generators
do. Exits 1 when any input ended in a traceback, a silent acceptance, a misread, an error that
names nothing, or a hang, after listing them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.environment import cpu_model  # noqa: E402
from tests.fuzz.runner import MUST_BE_ZERO, TIME_LIMIT_S  # noqa: E402
from tests.fuzz.suite import FAMILIES, run_family  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "fuzz" / "counts.json")
    args = parser.parse_args(argv)
    families, failures, seconds = {}, [], {}
    with tempfile.TemporaryDirectory() as folder:
        for name in FAMILIES:
            start = time.perf_counter()
            tally = run_family(name, Path(folder))
            seconds[name] = round(time.perf_counter() - start, 1)
            families[name] = tally.counts()
            failures += tally.failures()
            print(f"{name}: {families[name]} in {seconds[name]} s", flush=True)
    keys = families["user-json"]
    total = {key: sum(c[key] for c in families.values()) for key in keys}
    record = {
        "command": "python scripts/fuzz_counts.py"
                   + (f" --out {args.out}" if argv or len(sys.argv) > 1 else ""),
        "time_limit_per_input_s": TIME_LIMIT_S,
        "must_be_zero": list(MUST_BE_ZERO),
        "unreadable_files": ("simulated (running as root: os.open and os.listdir answer EACCES "
                             "for the path)" if os.geteuid() == 0 else "chmod 000"),
        "families": families,
        "total": total,
        "seconds": {**seconds, "total": round(sum(seconds.values()), 1)},
        "cpu_model": cpu_model(),
        "cores": os.cpu_count(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}: {total}")
    for result in failures:
        print(f"  {result.case.family}/{result.case.name}: {result.outcome}: {result.detail}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
