"""Job kinds of the Merge studio: `merge` writes a merged model to disk with mergekit and registers it
(backend.merge.save); `merge_sweep` walks the merge's main parameter over a grid, in memory, measuring domain and
general perplexity at each point (backend.merge.sweep; cooperative: it stops between points)."""
from __future__ import annotations

from backend.actions import Action, declare
from backend.errors import MergeError
from backend.merge.config import MergeConfig
from backend.merge.sweep import SweepConfig
from jobs.kinds import register

SWEEP_CURVES = (("domain_ppl", "domain perplexity (validation)"), ("general_ppl", "general French perplexity"),
                ("general_ppl_en", "general English perplexity"))


def check_merge(studio, cfg: MergeConfig) -> None:
    """Before the row is written: parents registered and compatible, output name free, room on disk."""
    from backend.merge.save import check_merge as check

    check(studio.db, studio.home, cfg)


def check_sweep(studio, cfg: SweepConfig) -> None:
    from backend.merge.sweep import check_sweep as check

    check(studio.db, cfg)


@register("merge", config=MergeConfig, devices=("cpu",), check=check_merge, title="Merge (save)",
          cluster={"cpus": 4, "mem": "32G", "time": "2:00:00"})
def run_merge_job(studio, cfg: MergeConfig, job) -> dict:
    from backend.merge.save import save_merge

    result = save_merge(studio.db, studio.home, cfg, job_id=job.job_id, owner=job.owner, progress=job.progress)
    job.log(f"merged model {result['model_id']} {'reused from' if result.get('reused') else 'written to'} "
            f"{result['path']} (parents {', '.join(result['parents'])})")
    return result


@register("merge_sweep", config=SweepConfig, devices=("cuda", "cpu"), cooperative=True, check=check_sweep,
          title="Merge t-sweep", curves=SWEEP_CURVES, cluster={"cpus": 4, "mem": "32G", "time": "8:00:00"})
def run_merge_sweep(studio, cfg: SweepConfig, job) -> dict:
    from backend.merge.sweep import run_sweep

    return run_sweep(studio.db, studio.home, cfg, device=job.torch_device, progress=job.progress, metric=job.metric,
                     should_stop=job.should_stop, log=job.log, cache=job.job_dir / "tokens")


def _read(studio, path: str) -> dict:
    from backend.merge.config import load_merge_file

    return load_merge_file(studio.db, path)


def merge_summary(studio, cfg: MergeConfig, rows, options) -> tuple[dict, str]:
    r = rows[0]["result"]
    return r, f"{r['model_id']}: {r['method']} of {' and '.join(r['parents'])}" + (
        " (the same merge, saved before: reused)" if r.get("reused") else f"; mergekit YAML {r['yaml']}")


def sweep_summary(studio, cfg: SweepConfig, rows, options) -> tuple[dict, str]:
    r = rows[0]["result"]
    best = ", ".join(f"{by} {t:g}" for by, t in (r.get("best") or {}).items())
    return r, f"{len(r['points'])} points of {r['main']}; best: {best or '—'}"


MERGE = declare(Action("merge", ("merge",), MergeConfig, kind="merge", title="Merge", title_fr="Fusion",
                       error=MergeError, what="merge config", read_file=_read, summary=merge_summary,
                       help="merge a DAPT model with its base (mergekit) as a job; --config takes a mergekit-style "
                            "YAML (merge_method, base_model, models, parameters) or the studio's merge config"))
SWEEP = declare(Action("merge-sweep", ("merge", "sweep"), SweepConfig, kind="merge_sweep", title="Merge t-sweep",
                       title_fr="Balayage de fusion", error=MergeError, what="sweep config", read_file=_read,
                       summary=sweep_summary,
                       help="submit a t-sweep: domain and general perplexity over a grid of the main parameter, "
                            "with its Pareto points"))
