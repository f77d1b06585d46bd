"""The `train` job kind: domain-adaptive pre-training of a registered model on a corpus snapshot. Cooperative: the
loop polls job.should_stop() between micro-batches and returns, so a cancel leaves the last checkpoint to resume
from. Its resources (GPUs, strategy, precision, the layer class FSDP wraps) come from the config."""
from __future__ import annotations

from backend.actions import Action, Option, declare
from backend.errors import TrainError
from backend.training.config import TrainConfig
from jobs.kinds import Resources, register

CURVES = (("loss", "train loss"), ("domain_ppl", "domain perplexity (validation)"),
          ("general_ppl", "general French perplexity"), ("general_ppl_en", "general English perplexity"),
          ("tokens_per_s", "tokens/s"), ("lr", "learning rate"))


def check_train(studio, cfg: TrainConfig) -> None:
    """Before the row is written: model and snapshot exist, block size within the context, memory fits a device."""
    from backend.training.validate import check

    check(studio.db, studio.home, cfg)


def resources(studio, cfg: TrainConfig) -> Resources:
    wrap = None
    if cfg.strategy == "fsdp" and cfg.num_gpus > 1:
        from backend.models.inspect import decoder_layer_class
        from backend.models.resolve import model_folder

        wrap = decoder_layer_class(model_folder(studio.db, studio.home, cfg.base_model))
    return Resources(gpus=cfg.num_gpus, strategy=cfg.strategy, fsdp_wrap=wrap,
                     mixed_precision="no" if cfg.precision == "fp32" else "bf16")


@register("train", config=TrainConfig, devices=("cuda", "cpu"), cooperative=True, check=check_train,
          resources=resources, title="DAPT training", curves=CURVES,
          cluster={"cpus": 8, "mem": "64G", "time": "24:00:00"})
def run_train(studio, cfg: TrainConfig, job) -> dict:
    from backend.training.loop import run_dapt

    return run_dapt(studio, cfg, job)


def estimate(studio, cfg: TrainConfig, options: dict):
    """`--estimate`: the pre-launch check and the memory and time estimate, instead of a job."""
    if not options.get("estimate"):
        return None
    from backend.training.estimate import describe, estimate_config
    from backend.training.validate import check

    check(studio.db, studio.home, cfg)
    result = estimate_config(studio.db, studio.home, cfg)
    return result, describe(result)


def summary(studio, cfg: TrainConfig, rows, options) -> tuple[dict, str]:
    r = rows[0]["result"] or {}
    if not r.get("model_id"):
        return r, f"{rows[0]['id']}: stopped at step {r.get('stopped_at_step')} ({r.get('reason', 'stopped')})"
    start, end = (r.get("initial") or {}).get("domain_ppl"), r.get("domain_ppl")
    ppl = f"; domain perplexity {start:.2f} → {end:.2f}" if start and end else ""
    return r, f"{r['model_id']}: {r.get('steps')} steps, {r.get('tokens_seen', 0):,} tokens{ppl}"


TRAIN = declare(Action("train", ("train",), TrainConfig, kind="train", title="DAPT training",
                       title_fr="Entraînement DAPT", error=TrainError, what="train config", preview=estimate,
                       summary=summary,
                       options=(Option("--estimate", "check the config and print the memory and time estimate; "
                                                     "submit nothing", "flag"),),
                       help="submit a DAPT training job (prints its id)"))
