"""The `eval` job kind: evaluate one registered model on the benchmarks and perplexity tasks whose results are not
cached yet. Each task's result is stored when it finishes, so a cancelled job keeps those."""
from __future__ import annotations

from pydantic import Field, field_validator

from backend.actions import Action, Option, declare
from backend.errors import EvalError
from backend.evaluation.config import EvalConfig, split_names
from frbio_core.config import labels
from jobs.kinds import register


def check_eval(studio, cfg: EvalConfig) -> None:
    """Before the row is written: the model is registered, every task is known, a perplexity task has a snapshot
    to measure."""
    from backend.evaluation.runner import validate

    validate(studio.db, studio.settings, cfg)


@register("eval", config=EvalConfig, devices=("cuda", "cpu"), check=check_eval, title="Evaluation",
          cluster={"cpus": 4, "mem": "32G", "time": "8:00:00"})
def run_eval_job(studio, cfg: EvalConfig, job) -> dict:
    from backend.evaluation.runner import run_eval

    result = run_eval(studio.db, studio.settings, cfg, device=job.torch_device, progress=job.progress, log=job.log,
                      job_id=job.job_id, owner=job.owner)
    for e in result["evals"]:
        job.metric(stage="result", task=e["task"], cached=e["cached"], n_samples=e["n_samples"], **e["metrics"])
    _to_run_tensorboard(studio, cfg.model, [e for e in result["evals"] if not e["cached"]], job.log)
    return result


def _to_run_tensorboard(studio, model_id: str, evals: list[dict], log) -> None:
    """A training run's checkpoint (or trained model) just scored: its scores beside the run's curves in TensorBoard
    (at its training step), so the trajectory is there too. Never fails the evaluation."""
    from backend.models.registry import find_model
    from backend.training.trackers import log_checkpoint_evaluation
    from jobs.store import job_dir

    row = find_model(studio.db, model_id)
    if not evals or not row or row["kind"] not in ("checkpoint", "dapt") or not row.get("job_id") \
            or row.get("step") is None:
        return
    values = {f"{e['task'].removeprefix('frbio_')}/{k}": v for e in evals for k, v in e["metrics"].items()
              if not k.endswith("_stderr")}
    try:
        log_checkpoint_evaluation(job_dir(studio.home, row["job_id"]), int(row["step"]), values)
    except (OSError, ValueError) as exc:
        log(f"WARNING: scores not added to run {row['job_id']}'s TensorBoard folder ({exc})")


class CompareConfig(EvalConfig):
    """Compare 2–N registered models (the first is the reference) on benchmarks and perplexity."""

    model: str = Field("", json_schema_extra={"cli": False, "ui": "hidden"})
    run: str = Field("", json_schema_extra={"cli": False, "ui": "hidden"})
    models: list[str] = Field(default_factory=list, description=(
        "Model ids, the first being the reference (typically the base); comma-separated on the command line."),
        json_schema_extra=labels("Models", "Modèles",
            description_fr=("Identifiants des modèles, le premier étant la référence (en général le modèle de base) ; séparés"
            " par des virgules en ligne de commande.")))

    clean_only: bool = Field(False, description=(
        "Score only the items a contamination check did not find in a compared model's training snapshot (run it "
        "from the Corpus tab or `corpus contamination`)."),
        json_schema_extra=labels("Clean items only (not in the training data)",
                                 "Questions non contaminées seulement (absentes des données d'entraînement)",
            description_fr=("Ne noter que les questions qu'une recherche de contamination n'a pas trouvées dans l'instantané "
            "d'entraînement d'un modèle comparé (à lancer depuis l'onglet Corpus ou avec `corpus "
            "contamination`).")))

    @field_validator("models", mode="before")
    @classmethod
    def _models(cls, value):
        return split_names(value)

    def eval_config(self) -> EvalConfig:
        """The evaluation settings every compared model is scored with."""
        return EvalConfig(**self.model_dump(exclude={"models", "clean_only", "run"}))


def submit_eval(studio, cfg: EvalConfig, owner, device, options) -> list[str]:
    """One job for what is not cached yet (none when everything is); with `run`, one per point of the run's
    trajectory still missing a result."""
    from backend.evaluation.compare import Comparison, submit_missing
    from backend.evaluation.runner import plan

    if cfg.follow and not cfg.run:
        raise EvalError("follow: only a training run's checkpoints can be followed (give --run JOB)")
    if cfg.run:
        from backend.evaluation.trajectory import submit

        return submit(studio, cfg, owner, device)

    model, _, planned = plan(studio.db, studio.settings, cfg)
    if all(p.cached is not None for p in planned):
        return []
    comp = Comparison(cfg, [model], [p.spec for p in planned], {(model["id"], p.spec.name): p for p in planned})
    submit = lambda kind, config, owner=None: studio.scheduler.submit(kind, config, owner=owner,  # noqa: E731
                                                                      device=device)
    return list(submit_missing(studio.db, studio.home, submit, comp, owner=owner).values())


def _submit_compare(studio, cfg: CompareConfig, owner, device, options) -> list[str]:
    from backend.evaluation.compare import collect, submit_missing

    comp = collect(studio.db, studio.settings, cfg.models, cfg.eval_config())
    if comp.complete or options.get("cached_only"):
        return []
    submit = lambda kind, config, owner=None: studio.scheduler.submit(kind, config, owner=owner,  # noqa: E731
                                                                      device=device)
    return list(dict.fromkeys(submit_missing(studio.db, studio.home, submit, comp, owner=owner).values()))


def _eval_summary(studio, cfg, rows, options):
    from backend.evaluation.cli import eval_results, trajectory_results

    return trajectory_results(studio, cfg) if cfg.run else eval_results(studio, cfg, rows)


def _compare_summary(studio, cfg, rows, options):
    from backend.evaluation.cli import compare_results

    return compare_results(studio, cfg, rows, options)


EVAL = declare(Action("eval", ("eval",), EvalConfig, kind="eval", title="Evaluation", title_fr="Évaluation",
                      error=EvalError, what="eval config", waits=True, submit=submit_eval, summary=_eval_summary,
                      help="evaluate a model on benchmarks and perplexity (cached results reused)"))
COMPARE = declare(Action("compare", ("compare",), CompareConfig, kind="eval", title="Comparison",
                         title_fr="Comparaison", error=EvalError, what="eval config", waits=True,
                         submit=_submit_compare,
                         summary=_compare_summary,
                         options=(Option("--html", "write a self-contained HTML report here"),
                                  Option("--csv", "write every value as CSV here"),
                                  Option("--cached-only", "report cached results only; run nothing", "flag")),
                         help="compare models on benchmarks: table, HTML report, CSV"))
