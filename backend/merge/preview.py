"""The in-memory merge preview: base and DAPT models loaded once, ONE preview model whose tensors are recomputed in
place when a slider is released, and generation from any of the three (base | DAPT | merged) on the same prompt.

Each update plans the merge with mergekit's own planner (`MergePlanner`: per-tensor parameters resolved by
mergekit, schedules and filters included) and merges every tensor with mergekit's per-tensor task
(`ExecuteMergeMethodTask.execute`) on the tensors already in memory, in the order mergekit's executor runs them
when it writes to disk, after seeding as `run_merge` does — so randomised methods (DARE, DELLA) give the very
tensors `mergekit-yaml --random-seed N` writes. SLERP, linear and the task-arithmetic family go through
closed forms with cached angle / difference (fastpaths.py), checked against mergekit's disk output in the tests.

One preview per process (`get_preview`): opening another pair releases the previous one, so memory stays at
base + DAPT + one preview copy (+ the cached difference for task-arithmetic methods).
"""
from __future__ import annotations

import copy
import gc
import threading
import time
from pathlib import Path
from typing import Any

from backend.merge.compat import check_compatible
from backend.merge.config import mergekit_config
from backend.merge.fastpaths import FastPaths
from backend.merge.methods import MergeError


def _load(folder: Path, device: str):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(folder), dtype="auto", local_files_only=True,
                                                 trust_remote_code=False)
    model.to(device).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def _signature(folder: Path) -> tuple:
    from backend.models.inspect import weight_files

    return tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in weight_files(folder))


def _first_token_timer():
    """A logits processor that notes when the first new token's logits are ready (time to first token)."""
    from transformers import LogitsProcessor

    class FirstToken(LogitsProcessor):
        at: float | None = None

        def __call__(self, input_ids, scores):
            if self.at is None:
                self.at = time.perf_counter()
            return scores

    return FirstToken()


class MergePreview:
    def __init__(self, base: Path | str, dapt: Path | str, device: str = "cpu",
                 names: tuple[str, str] = ("the base", "the DAPT model")):
        from transformers import AutoTokenizer

        self.base_path, self.dapt_path = Path(base).resolve(), Path(dapt).resolve()
        self.compatibility = check_compatible(self.base_path, self.dapt_path, names)
        self.device = device
        self.signature = (_signature(self.base_path), _signature(self.dapt_path), device)
        self.tokenizer = AutoTokenizer.from_pretrained(str(self.base_path), local_files_only=True)
        self.models = {"base": _load(self.base_path, device), "dapt": _load(self.dapt_path, device)}
        self.merged = copy.deepcopy(self.models["base"])          # the one preview copy, reused
        self._sources = {role: m.state_dict() for role, m in self.models.items()}
        self._targets = self.merged.state_dict()
        self._fast = FastPaths()
        self._orders: dict[str, dict[str, int]] = {}
        self._generations: dict[tuple, dict] = {}
        self.lock = threading.RLock()
        self.state: dict | None = None                          # what the preview weights are now
        from mergekit.options import MergeOptions

        self._options = MergeOptions(quiet=True, device=device)

    # ------------------------------------------------------------------------------------------ planning
    def _plan(self, config: dict, method: str) -> tuple[list, dict]:
        """mergekit's per-tensor tasks for `config`, in the order its executor runs them to disk; and the roles
        ('base' / 'dapt') of its model references."""
        from mergekit.architecture import get_architecture_info
        from mergekit.config import MergeConfiguration
        from mergekit.graph import Executor
        from mergekit.io.tasks import SaveTensor
        from mergekit.merge import _model_out_config
        from mergekit.merge_methods.task_adapter import ExecuteMergeMethodTask
        from mergekit.plan import MergePlanner

        def planned():
            merge_config = MergeConfiguration.model_validate(copy.deepcopy(config))
            arch = get_architecture_info(merge_config, self._options)
            out_config = _model_out_config(merge_config, arch)
            return MergePlanner(merge_config, arch, self._options, out_config).plan_to_disk("/nonexistent")

        try:
            targets = planned()
            if method not in self._orders:
                schedule = Executor(planned()).schedule.tasks
                names = [h.task().output_weight.name for h in schedule
                         if isinstance(h.task(), ExecuteMergeMethodTask)]
                self._orders[method] = {n: i for i, n in enumerate(names)}
        except (RuntimeError, ValueError, TypeError) as exc:
            raise MergeError(f"mergekit cannot plan this merge: {exc}") from None
        tasks = [t.tensor_task for t in targets if isinstance(t, SaveTensor)]
        order = self._orders[method]
        tasks.sort(key=lambda t: order.get(t.output_weight.name, len(order)))
        roles = {}
        for task in tasks[:1]:
            for ref in task.model_order:
                roles[ref] = "base" if Path(ref.model.path).resolve() == self.base_path else "dapt"
        return tasks, roles

    def _inputs(self, task, roles: dict) -> dict:
        from mergekit.common import dtype_from_name

        out = {}
        for ref, info in task.gather_tensors.weight_info.items():
            source = self._sources[roles[ref]]
            name = next((n for n in [info.name, *(info.aliases or ()), *(info.tied_names or ())] if n in source),
                        None)
            if name is None:
                if not info.optional:
                    raise MergeError(f"tensor {info.name} is missing from the {roles[ref]} model")
                continue
            tensor = source[name]
            if info.force_dtype:
                tensor = tensor.to(dtype_from_name(info.force_dtype))
            out[ref] = tensor
        return out

    # ------------------------------------------------------------------------------------------ merging
    def update(self, method: str, parameters: dict, seed: int = 0) -> dict:
        """Recompute the preview weights in place for this method and parameters. Returns timings (s)."""
        import torch
        from transformers.trainer_utils import set_seed

        with self.lock:
            t0 = time.perf_counter()
            config = mergekit_config(method, parameters, self.base_path, self.dapt_path)
            tasks, roles = self._plan(config, method)
            t1 = time.perf_counter()
            set_seed(seed)   # as run_merge(random_seed=seed): the random methods draw in mergekit's order
            fast = generic = 0
            written: set[int] = set()
            try:
                with torch.no_grad():
                    for task in tasks:
                        target = self._targets.get(task.output_weight.name)
                        if target is None:
                            raise MergeError(f"the preview model has no tensor {task.output_weight.name}")
                        if target.data_ptr() in written:   # tied weights: already merged through their twin
                            continue
                        inputs = self._inputs(task, roles)
                        by_role = {roles[r]: t for r, t in inputs.items()}
                        if self._fast.apply(task, roles, by_role.get("base"), by_role.get("dapt"), target):
                            fast += 1
                        else:
                            result = task.execute(tensors=inputs)
                            if result is not None:
                                target.copy_(result)
                            generic += 1
                        written.add(target.data_ptr())
            except (RuntimeError, ValueError) as exc:
                self.state = None
                raise MergeError(f"merge failed: {exc}") from None
            t2 = time.perf_counter()
            self.state = {"method": method, "parameters": dict(parameters), "seed": seed}
            return {"plan_s": round(t1 - t0, 4), "merge_s": round(t2 - t1, 4), "weights_s": round(t2 - t0, 4),
                    "tensors": len(tasks), "closed_form": fast, "mergekit": generic}

    def merged_tensors(self) -> dict[str, Any]:
        """The preview model's tensors by checkpoint name (live views: copy them to keep them)."""
        return dict(self._targets)

    # ------------------------------------------------------------------------------------------ generation
    def generate(self, which: str, prompt: str, max_new_tokens: int = 40, greedy: bool = True,
                 temperature: float = 0.8, seed: int = 0) -> dict:
        """Text generated by 'base', 'dapt' or 'merged' (the preview weights) from `prompt`; with the time to the
        first new token and in all. Base and DAPT answers are cached per prompt and settings."""
        import torch

        if which not in ("base", "dapt", "merged"):
            raise MergeError(f"unknown model '{which}' (base, dapt or merged)")
        if which == "merged" and self.state is None:
            raise MergeError("no merge computed yet: move a slider or press Preview first")
        key = (which, prompt, max_new_tokens, greedy, temperature, seed)
        if which != "merged" and key in self._generations:
            return self._generations[key]
        model = self.merged if which == "merged" else self.models[which]
        with self.lock, torch.no_grad():
            inputs = self.tokenizer(prompt or " ", return_tensors="pt").to(self.device)
            first = _first_token_timer()
            torch.manual_seed(seed)
            start = time.perf_counter()
            sampling = {"do_sample": False} if greedy else {"do_sample": True, "temperature": temperature,
                                                            "top_p": 0.95}
            output = model.generate(**inputs, max_new_tokens=max_new_tokens, logits_processor=[first],
                                    pad_token_id=self.tokenizer.eos_token_id, **sampling)
            total = time.perf_counter() - start
        new = output[0, inputs["input_ids"].shape[1]:]
        result = {"text": self.tokenizer.decode(new, skip_special_tokens=True), "tokens": int(new.numel()),
                  "first_token_s": round((first.at or time.perf_counter()) - start, 4), "total_s": round(total, 4)}
        if which != "merged":
            self._generations[key] = result
        return result

    def close(self) -> None:
        self._fast.clear()
        self.models.clear()
        self._sources.clear()
        self._targets.clear()
        self.merged = None


_lock = threading.Lock()
_current: MergePreview | None = None


def get_preview(base: Path | str, dapt: Path | str, device: str = "cpu",
                names: tuple[str, str] = ("the base", "the DAPT model")) -> MergePreview:
    """The process's preview for this pair, loading it (and releasing any other) when needed."""
    global _current
    base, dapt = Path(base).resolve(), Path(dapt).resolve()
    with _lock:
        current = _current
        if current is not None and (current.base_path, current.dapt_path, current.device) == (base, dapt, device):
            try:
                if current.signature == (_signature(base), _signature(dapt), device):
                    return current
            except Exception:  # noqa: BLE001 — a folder that vanished: reopen (and fail clearly) below
                pass
        if current is not None:
            current.close()
            _current = None
            gc.collect()
        _current = MergePreview(base, dapt, device, names)
        return _current


def release_preview() -> None:
    global _current
    with _lock:
        if _current is not None:
            _current.close()
            _current = None
            gc.collect()


def preview_models(db, base_id: str, dapt_id: str, device: str = "cpu") -> MergePreview:
    """The preview of two registered models (MergeError naming what is wrong otherwise)."""
    from backend.merge.config import resolve_model

    base = resolve_model(db, base_id, "base_model")
    dapt = resolve_model(db, dapt_id, "dapt_model")
    return get_preview(base["path"], dapt["path"], device, (f"the base {base['id']}", f"the DAPT model {dapt['id']}"))


def preview_and_generate(db, base_id: str, dapt_id: str, method: str, parameters: dict, seed: int, prompt: str,
                         max_new_tokens: int = 40, greedy: bool = True) -> dict:
    """What the Merge tab shows when a slider is released: the preview weights recomputed in place, then base |
    DAPT | merged generated from the same prompt (base and DAPT from cache after the first time)."""
    preview = preview_models(db, base_id, dapt_id)
    timings = preview.update(method, parameters, seed)
    out = {"timings": timings, "warnings": preview.compatibility.warnings}
    for which in ("merged", "base", "dapt"):
        out[which] = preview.generate(which, prompt, max_new_tokens, greedy)
    return out
