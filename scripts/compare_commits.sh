#!/usr/bin/env bash
# Run the quick grid at two commits on this machine and compare their records: a change made
# only for speed or structure must leave every record except timings identical.
#   scripts/compare_commits.sh REV_A [REV_B]     (REV_B defaults to the working tree)
# Extra arguments after -- go to run_ablation.py (e.g. -- --variants 'original,fixed').
set -euo pipefail
cd "$(dirname "$0")/.."
PY="$(pwd)/.venv/bin/python"
rev_a="$1"; shift
rev_b="${1:-WORKTREE}"; [ $# -gt 0 ] && shift
[ "${1:-}" = "--" ] && shift
scratch="$(mktemp -d)"
trap 'git worktree remove --force "$scratch/a" >/dev/null 2>&1 || true;
      git worktree remove --force "$scratch/b" >/dev/null 2>&1 || true; rm -rf "$scratch"' EXIT

checkout() {   # a commit in its own worktree, or the working tree itself
    if [ "$1" = "WORKTREE" ]; then echo "$(pwd)"; else
        git worktree add -q --detach "$scratch/$2" "$1" && echo "$scratch/$2"; fi
}
dir_a="$(checkout "$rev_a" a)"
dir_b="$(checkout "$rev_b" b)"
# The script's folder comes first on sys.path, so each side imports its own harness/.
(cd "$dir_a" && "$PY" run_ablation.py --variants all --quick --jobs 1 --no-report --no-progress \
    --out "$scratch/out_a" "$@" >/dev/null)
(cd "$dir_b" && "$PY" run_ablation.py --variants all --quick --jobs 1 --no-report --no-progress \
    --out "$scratch/out_b" "$@" >/dev/null)
"$PY" -m harness.compare "$scratch/out_a" "$scratch/out_b"
