"""One process, or one rank of several under `accelerate launch`/torchrun (jobs.scaleout starts those): the device,
DDP or FSDP (full shard, FSDP2 `fully_shard` per decoder layer) wrapping, gradient sync only on the last
micro-batch, averaged losses, a stop decided by any rank, and full (unsharded) states for checkpoints.

Single-process runs go through the same calls, which then do nothing."""
from __future__ import annotations

import contextlib
import os


class Dist:
    def __init__(self, strategy: str, device_type: str):
        import torch

        self.world = int(os.environ.get("WORLD_SIZE", "1") or 1)
        self.rank = int(os.environ.get("RANK", "0") or 0)
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0") or 0)
        self.strategy = strategy if self.world > 1 else "single"
        self.device_type = device_type
        if device_type == "cuda":
            self.device = f"cuda:{self.local_rank}" if self.world > 1 else "cuda"
            torch.cuda.set_device(self.local_rank if self.world > 1 else 0)
        else:
            self.device = "cpu"
        if self.world > 1 and not torch.distributed.is_initialized():
            torch.distributed.init_process_group(backend="nccl" if device_type == "cuda" else "gloo")

    @property
    def main(self) -> bool:
        return self.rank == 0

    def wrap(self, model):
        """Returns the module the training forward goes through (DDP wrapper, or the FSDP-sharded model itself).
        Call before creating the optimizer (FSDP replaces the parameters by shards)."""
        if self.strategy == "ddp":
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.local_rank] if self.device_type == "cuda" else None
            return DistributedDataParallel(model, device_ids=ids)
        if self.strategy == "fsdp":
            from torch.distributed.fsdp import fully_shard

            for module in model.modules():
                if type(module).__name__.endswith("DecoderLayer"):
                    fully_shard(module)
            fully_shard(model)
        return model

    def sync_context(self, forward, model, last: bool):
        """Gradients are all-reduced only on the last micro-batch of a step."""
        if self.strategy == "ddp" and not last:
            return forward.no_sync()
        if self.strategy == "fsdp":
            model.set_requires_gradient_sync(last)
        return contextlib.nullcontext()

    def mean(self, value) -> float:
        import torch

        if self.world == 1:
            return float(value)
        t = torch.as_tensor(float(value), dtype=torch.float64, device=self.device)
        torch.distributed.all_reduce(t)
        return float(t) / self.world

    def any(self, flag: bool) -> bool:
        import torch

        if self.world == 1:
            return bool(flag)
        t = torch.tensor(1.0 if flag else 0.0, device=self.device)
        torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
        return bool(t.item() > 0)

    def barrier(self) -> None:
        import torch

        if self.world > 1:
            torch.distributed.barrier()

    # -- checkpoint states: plain state dicts in one process and under DDP; gathered full ones under FSDP
    def states(self, model, optimizer, params: dict) -> tuple[dict, dict]:
        """(trainable weights by name, optimizer state) to save; under FSDP only rank 0's are complete."""
        if self.strategy != "fsdp":
            return params, optimizer.state_dict()
        from torch.distributed.checkpoint.state_dict import StateDictOptions, get_state_dict

        options = StateDictOptions(full_state_dict=True, cpu_offload=True)
        model_state, optim_state = get_state_dict(model, optimizer, options=options)
        trainable = {n for n in params}
        return {k: v for k, v in model_state.items() if k in trainable}, optim_state

    def load_states(self, model, optimizer, params: dict, weights: dict, optim_state: dict) -> None:
        import torch

        if self.strategy != "fsdp":
            missing = [n for n in params if n not in weights]
            if missing:
                raise ValueError(f"checkpoint lacks {len(missing)} parameters (e.g. {missing[0]})")
            with torch.no_grad():
                for name, p in params.items():
                    p.copy_(weights[name].to(p.device, p.dtype))
            optimizer.load_state_dict(optim_state)
            return
        from torch.distributed.checkpoint.state_dict import StateDictOptions, set_state_dict

        options = StateDictOptions(full_state_dict=True, broadcast_from_rank0=True, strict=False)
        set_state_dict(model, optimizer, model_state_dict=weights, optim_state_dict=optim_state, options=options)

    def unwrap_for_save(self, model):
        """A plain module with full weights for save_pretrained (FSDP: gathered on every rank; use on rank 0)."""
        if self.strategy != "fsdp":
            return model
        from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

        full = get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
        return full

    def close(self) -> None:
        import torch

        if self.world > 1 and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
