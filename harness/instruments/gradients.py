"""Gradient measurements: norms per module group, per-head gradients on the shared encoder,
their cosine (PCGrad's conflict: cosine < 0), one-backward against per-head agreement, and
the coordinate loss's zero gradients. The instruments that attach them: ``grad_norms``,
``head_gradients``, ``gradient_flow`` (:mod:`harness.instruments.registry`)."""

from __future__ import annotations

import torch

from harness.backward import TERMS
from harness.instruments.head_gradients import conflict_key, cosine_key, shared_norm_key
from harness.losses import HEAD_WEIGHTS
from harness.schema import HEAD_PAIRS, PAIR_NAMES


def group_norms(groups: dict[str, list[torch.nn.Parameter]]) -> dict[str, torch.Tensor]:
    """L2 norm of the current gradients of each module group (0 when a group has none)."""
    norms = {}
    for name, params in groups.items():
        grads = [p.grad for p in params if p.grad is not None]
        if grads:
            norms[name] = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
        else:
            norms[name] = torch.zeros(())
    return norms


def _zeros_where_unused(params: list[torch.Tensor], grads) -> list[torch.Tensor]:
    """``autograd.grad(..., allow_unused=True)`` gives None for a parameter the loss does not
    reach: a zero gradient of its shape."""
    return [torch.zeros_like(p) if g is None else g for p, g in zip(params, grads)]


def head_gradients(losses: dict, params: list[torch.nn.Parameter],
                   weights: dict = HEAD_WEIGHTS) -> dict[str, list[torch.Tensor]]:
    """Gradient of each head's loss weighted by the design's ``weights`` with respect to ``params``, leaving ``.grad`` and
    the graph untouched (``autograd.grad`` with ``retain_graph``). A term that has no graph
    or is not finite gets zeros, as the per-head strategy would skip it."""
    grads = {}
    for term in TERMS:
        loss = weights[term] * losses[term]
        if loss.requires_grad and bool(torch.isfinite(loss)):
            got = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
        else:
            got = [None] * len(params)
        grads[term] = _zeros_where_unused(params, got)
    return grads


def flat(tensors: list[torch.Tensor]) -> torch.Tensor:
    return torch.cat([t.reshape(-1).float() for t in tensors]) if tensors else torch.zeros(0)


def cosine(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Cosine similarity; NaN when either vector is zero (no direction to compare)."""
    na, nb = torch.linalg.vector_norm(a), torch.linalg.vector_norm(b)
    if bool(na == 0) or bool(nb == 0):
        return torch.tensor(float("nan"))
    return torch.dot(a, b) / (na * nb)


def head_conflict(head_grads: dict[str, list[torch.Tensor]], n_shared: int) -> dict[str, torch.Tensor]:
    """Norms of each head's gradient on the first ``n_shared`` parameters (the shared trunk)
    and the pairwise cosines between heads, with PCGrad's conflict flag (cosine < 0)."""
    shared = {term: flat(g[:n_shared]) for term, g in head_grads.items()}
    out = {shared_norm_key(t): torch.linalg.vector_norm(v) for t, v in shared.items()}
    for (a, b), pair in zip(HEAD_PAIRS, PAIR_NAMES):
        cos = cosine(shared[a], shared[b])
        out[cosine_key(pair)] = cos
        out[conflict_key(pair)] = (cos < 0).float() if not bool(torch.isnan(cos)) \
            else torch.tensor(float("nan"))
    return out


def backward_agreement(losses: dict, params: list[torch.nn.Parameter],
                       head_grads: dict[str, list[torch.Tensor]]) -> dict[str, float]:
    """Gradient of one backward of the total against the sum of the per-head gradients (each
    skipped when not finite, as the user's loop does), on the same weights and batch."""
    total = torch.autograd.grad(losses["total"], params, retain_graph=True, allow_unused=True)
    single = flat(_zeros_where_unused(params, total))
    summed = flat([sum(parts) for parts in zip(*head_grads.values())])
    diff = (single - summed).abs()
    scale = torch.linalg.vector_norm(summed)
    return {
        "max_abs_diff": float(diff.max()) if diff.numel() else 0.0,
        "rel_diff": float(torch.linalg.vector_norm(single - summed) / scale) if scale > 0 else 0.0,
        "single_norm": float(torch.linalg.vector_norm(single)),
        "per_head_norm": float(scale),
        "single_finite": bool(torch.isfinite(single).all()),
    }


def zero_coordinate_gradient_rows(losses: dict, outputs: dict) -> torch.Tensor | None:
    """Per step: is the coordinate loss's gradient with respect to that step's four outputs
    exactly zero? Rows a routed head did not run for get no gradient by construction."""
    coords = outputs["coordinates"]
    loss = losses["coord"]
    if not (loss.requires_grad and coords.requires_grad) or not bool(torch.isfinite(loss)):
        return torch.ones(coords.shape[0], dtype=torch.bool)
    (grad,) = torch.autograd.grad(loss, coords, retain_graph=True)
    zero = (grad == 0).all(dim=1)
    if outputs.get("coord_rows") is not None:
        zero = zero | ~outputs["coord_rows"]
    return zero
