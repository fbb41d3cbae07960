#!/usr/bin/env bash
# One call on a lent GPU machine (device tool), from the repository root:
#   run(command="bash scripts/gpu_check.sh", timeout_s=540)
# The image there has torch, transformers, pandas, matplotlib, jinja2 and tqdm; the harness
# runs from the checkout without installing. Results land in $OUT/gpu_check.json.
set -euo pipefail
export PYTHONPATH=.:${PYTHONPATH:-} PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
OUT=${OUT:-reports/gpu}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/nvidia-smi.txt"
python3 scripts/gpu_check.py --out "$OUT/gpu_check.json" 2>&1 | tee "$OUT/gpu_check.log"
# the harness end to end on the GPU, both designs, bf16, a short budget
python3 run_ablation.py --variants original,fixed --seeds 1 --steps 100 --device cuda \
    --precision bf16 --out "$OUT/ablation" --no-progress 2>&1 | tail -n 8 | tee -a "$OUT/gpu_check.log"
