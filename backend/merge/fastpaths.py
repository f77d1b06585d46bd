"""Closed forms of mergekit's merge of ONE tensor for the interactive preview, where what does not depend on the
slider is computed once: SLERP's angle between the two tensors, the task-arithmetic difference DAPT − base (kept
sparsified for TIES / Breadcrumbs at the current density), TIES' magnitude order of that difference. The math is mergekit's (mergekit/merge_methods/slerp.py,
linear.py, generalized_task_arithmetic.py) rearranged, and tests/test_merge_preview.py checks every method against
mergekit's own output written to disk (max difference < 1e-6). Anything else — random sparsification (DARE,
DELLA), other methods, non-float32 tensors — goes through mergekit's own per-tensor code instead.

`apply(task, roles, base, dapt, out)` (roles: mergekit model reference → 'base' / 'dapt') writes the merged tensor into `out` in place and returns True, or returns False
(nothing written) when the tensor is not one of these cases.
"""
from __future__ import annotations

from typing import Any


class FastPaths:
    def __init__(self):
        self._dots: dict[str, Any] = {}        # tensor name → cosine between base and DAPT (1×1, float32)
        self._deltas: dict[str, tuple] = {}    # tensor name → (sparsification key, DAPT − base sparsified)
        self._ranks: dict[str, Any] = {}       # tensor name → rank of each |DAPT − base| (TIES' magnitude order)

    def clear(self) -> None:
        self._dots.clear()
        self._deltas.clear()
        self._ranks.clear()

    def apply(self, task, roles: dict, base, dapt, out) -> bool:
        import torch

        if base is None or dapt is None or not (base.dtype == dapt.dtype == out.dtype == torch.float32):
            return False
        if base.shape != dapt.shape or base.shape != out.shape or base.numel() == 0:
            return False
        name = task.output_weight.name
        refs = roles
        per_input = {refs[ref]: dict(values.items()) for ref, values in task.input_parameters.items()}
        shared = dict(task.parameters.items())
        method = task.method_name
        if method == "slerp" and task.base_model is not None:
            self._slerp(name, shared["t"], base, dapt, out)
            return True
        if method == "linear":
            order = [refs[r] for r in task.model_order]
            if sorted(order) != ["base", "dapt"]:
                return False
            self._linear(order, per_input, shared["normalize"], base, dapt, out)
            return True
        return self._task_arithmetic(method, name, shared, per_input.get("dapt", {}), base, dapt, out)

    # --- SLERP: mergekit.merge_methods.slerp.slerp with the angle cached
    def _slerp(self, name: str, t: float, base, dapt, out) -> None:
        import torch

        dot = self._dots.get(name)
        if dot is None:
            dot = self._dots[name] = _slerp_dot(base, dapt)
        t = torch.tensor([t], dtype=torch.float32).reshape(-1, 1)
        linear = dot.abs() > 0.9995
        theta = torch.acos(torch.where(linear, 0, dot))
        sin_theta = torch.sin(theta)
        coef_a = torch.where(linear, 1 - t, torch.sin((1 - t) * theta) / sin_theta)
        coef_b = torch.where(linear, t, torch.sin(t * theta) / sin_theta)
        torch.mul(base, float(coef_a), out=out)
        out.add_(dapt, alpha=float(coef_b))

    # --- linear: mergekit.merge_methods.linear.linear_merge
    @staticmethod
    def _linear(order: list[str], per_input: dict, normalize: bool, base, dapt, out) -> None:
        import torch

        tensors = {"base": base, "dapt": dapt}
        weights = torch.tensor([per_input[role]["weight"] for role in order], dtype=torch.float32)
        torch.mul(tensors[order[0]], float(weights[0]), out=out)
        out.add_(tensors[order[1]], alpha=float(weights[1]))
        if normalize:
            out.div_(weights.sum())

    # --- task arithmetic, TIES, Breadcrumbs (deterministic sparsification) with one DAPT model:
    # GeneralizedTaskArithmeticMerge.merge_group reduces to base + c · sparsify(DAPT − base), where
    # c = lambda · weight / divisor (divisor: weight when normalising a non-zero weight, else 1).
    def _task_arithmetic(self, method: str, name: str, shared: dict, dapt_params: dict, base, dapt, out) -> bool:
        import torch
        from mergekit import merge_methods
        from mergekit.merge_methods.generalized_task_arithmetic import GeneralizedTaskArithmeticMerge
        from mergekit.sparsify import RescaleNorm, SparsificationMethod, sparsify

        merge = merge_methods.get(method)
        if not isinstance(merge, GeneralizedTaskArithmeticMerge) or "weight" not in dapt_params:
            return False
        sparsification = merge.sparsification_method
        if sparsification not in (None, SparsificationMethod.magnitude, SparsificationMethod.magnitude_outliers):
            return False  # random masks: mergekit's own code, seeded, in mergekit's order
        extra = {k: dapt_params[k] for k in ("gamma", "epsilon") if k in dapt_params}
        key = (sparsification, dapt_params.get("density"), bool(shared["rescale"]), tuple(sorted(extra.items())))
        if sparsification is None:
            key = (None,)
        cached = self._deltas.get(name)
        if cached is None or cached[0] != key:
            self._deltas.pop(name, None)
            delta = dapt - base
            rescale = RescaleNorm.l1 if shared["rescale"] else None
            if sparsification == SparsificationMethod.magnitude:
                delta = self._magnitude(name, delta, dapt_params["density"], rescale)
            elif sparsification is not None:
                delta = sparsify(delta, density=dapt_params["density"], method=sparsification, rescale_norm=rescale,
                                 **extra)
            self._deltas[name] = cached = (key, delta)
        weight = float(torch.tensor(dapt_params["weight"], dtype=torch.float32))
        if merge.consensus_method is not None:
            divisor = weight if weight != 0 else 1.0
        else:
            divisor = weight if abs(weight) >= 1e-8 else 1.0
        coefficient = (weight / divisor if shared["normalize"] else weight) * shared["lambda"]
        torch.add(base, cached[1], alpha=coefficient, out=out)
        return True


    def _magnitude(self, name: str, delta, density: float, rescale):
        """mergekit.sparsify.magnitude (keep the `density` largest |changes|) with the rank of every element in
        mergekit's order (argsort of |delta|, descending) kept, so moving the density slider costs one comparison
        instead of a sort. The rank is stored as int32 (4 bytes per weight)."""
        import torch
        from mergekit.sparsify import rescaled_masked_tensor

        if density >= 1:
            return delta
        rank = self._ranks.get(name)
        if rank is None:
            w = delta.abs().reshape(-1)
            order = torch.argsort(w.float() if w.device.type == "cpu" else w, descending=True)
            index_dtype = torch.int32 if order.numel() < 2**31 else torch.int64
            rank = torch.empty(order.numel(), dtype=index_dtype, device=order.device)
            rank[order] = torch.arange(order.numel(), dtype=index_dtype, device=order.device)
            self._ranks[name] = rank
            del order, w
        k = max(1, int(density * delta.numel()))
        mask = (rank < k).to(delta.dtype).reshape_as(delta)
        return rescaled_masked_tensor(delta, mask, rescale)


def _slerp_dot(v0, v1):
    """The clamped cosine between two tensors exactly as mergekit's slerp computes it (chunked float32 norms)."""
    import torch
    from mergekit.merge_methods.slerp import _CHUNK_ELEMENTS

    dtype = torch.float32
    eps = 1e-8
    a = v0.reshape(1, -1)
    b = v1.reshape(1, -1)
    chunk_size = max(1, _CHUNK_ELEMENTS // a.shape[0])
    norm_a_parts, norm_b_parts = [], []
    for start in range(0, a.shape[1], chunk_size):
        norm_a_parts.append(torch.linalg.vector_norm(a[:, start:start + chunk_size].to(dtype), dim=1, keepdim=True))
        norm_b_parts.append(torch.linalg.vector_norm(b[:, start:start + chunk_size].to(dtype), dim=1, keepdim=True))
    norm_a = torch.linalg.vector_norm(torch.stack(norm_a_parts), dim=0)
    norm_b = torch.linalg.vector_norm(torch.stack(norm_b_parts), dim=0)
    norm_a = torch.where(norm_a > eps, norm_a, 1)
    norm_b = torch.where(norm_b > eps, norm_b, 1)
    dot_parts = []
    for start in range(0, a.shape[1], chunk_size):
        x = a[:, start:start + chunk_size].to(dtype) / norm_a
        y = b[:, start:start + chunk_size].to(dtype) / norm_b
        dot_parts.append((x * y).sum(dim=1, keepdim=True))
    return torch.stack(dot_parts).sum(dim=0).clamp(-1, 1)
