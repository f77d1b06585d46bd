"""What the Train tab shows before launch: the config checked (clear refusal otherwise), the memory needed per
device with fits / does not fit, the FLOPs-model time (the equivalent command line: backend.action_cli.command_line)."""
from __future__ import annotations

from pathlib import Path

from backend.training import estimate as est
from backend.training.config import TrainConfig
from backend.training.validate import check, model_config, resolve_base
from jobs.devices import local_devices


def devices_for(device: str) -> list[str]:
    return local_devices() if device in ("", "any") else [device]


def prelaunch(db, home: Path, cfg: TrainConfig, device: str = "any") -> dict:
    """Raises TrainError when the config cannot run; else the estimate, timed with the FLOPs model."""
    devices = devices_for(device)
    check(db, home, cfg, devices=devices)
    base = resolve_base(db, home, cfg.base_model)
    shape = est.model_shape(model_config(base), base.get("n_params"))
    return est.estimate(shape, cfg, devices, home=home, dtype=base.get("dtype"))
