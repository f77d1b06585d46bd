"""Job kinds of the Merge studio: `merge` writes a merged model to disk with mergekit and registers it
(backend.merge.save); `merge_sweep` walks the merge's main parameter over a grid, in memory, measuring domain and
general perplexity at each point (backend.merge.sweep; cooperative: it stops between points)."""
from __future__ import annotations

from pathlib import Path

from backend.merge.config import MergeConfig
from backend.merge.sweep import SweepConfig
from jobs.kinds import register


def check_merge(db, home: Path, config: MergeConfig) -> None:
    """Before the row is written: parents registered and compatible, output name free, room on disk."""
    from backend.merge.save import check_merge as check

    check(db, home, config)


def check_sweep(db, home: Path, config: SweepConfig) -> None:
    from backend.merge.compat import check_compatible
    from backend.merge.config import resolve_model
    from backend.merge.methods import MergeError

    base = resolve_model(db, config.base_model, "base_model")
    dapt = resolve_model(db, config.dapt_model, "dapt_model")
    check_compatible(base["path"], dapt["path"], (f"the base {base['id']}", f"the DAPT model {dapt['id']}"))
    snapshot = config.snapshot or dapt.get("snapshot_id")
    if not snapshot:
        raise MergeError(f"snapshot: the DAPT model '{dapt['id']}' records no training snapshot: choose the snapshot "
                         "whose validation text to measure")
    from backend.corpus.snapshot import existing_snapshot

    if existing_snapshot(db, snapshot) is None:
        raise MergeError(f"snapshot: unknown snapshot '{snapshot}' (build one in the Corpus tab)")


@register("merge", config=MergeConfig, devices=("cpu",), check=check_merge, title="Merge (save)")
def run_merge_job(ctx) -> dict:
    from backend.merge.save import save_merge

    result = save_merge(ctx.db, ctx.home, ctx.config, job_id=ctx.job_id, owner=ctx.owner, progress=ctx.progress)
    ctx.log(f"merged model {result['model_id']} written to {result['path']} and registered "
            f"(parents {', '.join(result['parents'])})")
    return result


@register("merge_sweep", config=SweepConfig, devices=("cuda", "cpu"), cooperative=True, check=check_sweep,
          title="Merge t-sweep")
def run_merge_sweep(ctx) -> dict:
    from backend.merge.sweep import run_sweep

    return run_sweep(ctx.db, ctx.home, ctx.config, device=ctx.torch_device, progress=ctx.progress, metric=ctx.metric,
                     should_stop=ctx.should_stop, log=ctx.log, cache=ctx.job_dir / "tokens")
