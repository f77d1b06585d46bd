"""The `train` job kind: domain-adaptive pre-training of a registered model on a corpus snapshot
(backend.training). Cooperative: the loop polls ctx.should_stop() between micro-batches and returns, so a cancel
leaves the last checkpoint to resume from."""
from __future__ import annotations

from pathlib import Path

from backend.training.config import TrainConfig
from jobs.kinds import register


def check_train(db, home: Path, config: TrainConfig) -> None:
    """Before the row is written: model and snapshot exist, block size within the context, memory fits a device."""
    from backend.training.validate import check

    check(db, home, config)


@register("train", config=TrainConfig, devices=("cuda", "cpu"), cooperative=True, check=check_train,
          title="DAPT training")
def run_train(ctx) -> dict:
    from backend.training.loop import run_dapt

    return run_dapt(ctx)
