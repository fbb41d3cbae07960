"""Each head's gradient at probe steps (the review's claims 6 and 3).

On the shared trunk (encoder and post-encoder norm): each head's gradient norm, the pairwise
cosines and PCGrad's conflict (cosine < 0). At step 0 the same per-head gradients are taken over
every parameter and compared with one backward of the weighted total on the same weights and
batch: the backward agreement. One instrument, not two, because the agreement is computed
from the per-head gradients that the conflict probe takes anyway; apart, they would be taken
twice at step 0.
"""

from __future__ import annotations

import math

import pandas as pd

from harness.instruments.registry import Instrument, Plot, Table
from harness.schema import HEADS, PAIR_NAMES

AGREEMENT = "backward_agreement"


def shared_norm_key(head: str) -> str:
    return f"probe/shared_grad_norm/{head}"


def cosine_key(pair: str) -> str:
    return f"probe/cosine/{pair}"


def conflict_key(pair: str) -> str:
    return f"probe/conflict/{pair}"


def summary(steps, facts: dict) -> dict:
    agreement = facts.get(AGREEMENT) or {}
    return {"backward_max_abs_diff": agreement.get("max_abs_diff"),
            "backward_rel_diff": agreement.get("rel_diff")}


def agreement_table(records) -> pd.DataFrame:
    """One backward of the total against the sum of per-head backward passes, same weights and
    batch (step 0 of every run)."""
    rows = []
    for (variant, seed), facts in records.facts.items():
        a = facts.get(AGREEMENT)
        if a:
            rows.append({"variant": variant, "seed": seed,
                         "backward": records.design(variant)["backward"],
                         "max_abs_diff": a["max_abs_diff"], "rel_diff": a["rel_diff"],
                         "single_norm": a["single_norm"], "per_head_norm": a["per_head_norm"]})
    return pd.DataFrame(rows)


def conflict_table(records) -> pd.DataFrame:
    """Per variant: mean cosine of each pair of heads' gradients on the shared encoder and the
    share of probes where they conflict (cosine < 0)."""
    rows = []
    for variant in records.variant_names():
        row = {"variant": variant}
        for pair in PAIR_NAMES:
            cos = records.step_values(variant, cosine_key(pair))["value"]
            conflict = records.step_values(variant, conflict_key(pair))["value"]
            row[f"cosine {pair}"] = float(cos.mean()) if len(cos.dropna()) else math.nan
            row[f"conflict rate {pair}"] = (float(conflict.dropna().mean())
                                            if len(conflict.dropna()) else math.nan)
        rows.append(row)
    return pd.DataFrame(rows)


INSTRUMENT = Instrument(
    name="head_gradients",
    doc=__doc__,
    hooks="harness.instruments.head_gradients.hooks:HeadGradientsHooks",
    keys=(*map(shared_norm_key, HEADS), *map(cosine_key, PAIR_NAMES),
          *map(conflict_key, PAIR_NAMES)),
    facts=(AGREEMENT,),
    summary=summary,
    tables={"backward_agreement": Table(agreement_table, position=30),
            "head_conflict": Table(conflict_table, position=40)},
    plots={"head_cosine": Plot(tuple((cosine_key(p), p) for p in PAIR_NAMES),
                               "cosine of the heads' gradients on the shared encoder",
                               caption="Head-gradient cosine on the shared encoder",
                               position=30, ylim=(-1.05, 1.05))},
)
