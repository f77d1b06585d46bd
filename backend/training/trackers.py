"""Experiment trackers of a DAPT run: the same metrics as `metrics.jsonl`, under the same tag names, in each.

- **TensorBoard**, always (the paper's): event files in `<job folder>/tensorboard/` (torch's `SummaryWriter`, no
  TensorFlow needed), plus the config and the model card as text; a finished benchmark evaluation of a checkpoint
  goes to `<job folder>/tensorboard/checkpoints/` (`log_checkpoint_evaluation`), a run of its own beside the curves.
  View: `tensorboard --logdir <job folder>/tensorboard`, or `--logdir <home>/jobs` for every run.
- **MLflow** (`trackers: [mlflow]`): experiment "frbio-dapt" at `settings.mlflow_tracking_uri` (default: the local
  file store `file://<home>/mlruns`); one MLflow run per attempt named after the model, tagged `frbio.job_id`, the
  flattened config as parameters, the model card as the artefact `model_card/README.md`.
- **Weights & Biases** (`wandb`): project "frbio-dapt", group = the job id, `mode="offline"` unless
  `settings.wandb_mode` says online (or is 'auto' and `WANDB_API_KEY` is set); the offline run folder is
  `<job folder>/wandb/offline-run-*` (upload later with `wandb sync`, or view it here with `wandb leet`); the model
  card as an artefact of type `model_card`.
- **Trackio** (`trackio`): project "frbio-dapt" in its local SQLite store `<home>/trackio/` (`$TRACKIO_DIR` wins when
  set), group = the job id; the model card as an artefact. View: `TRACKIO_DIR=<home>/trackio trackio show`.

Nothing is sent anywhere by default: W&B offline, MLflow and Trackio local, their telemetry and error reporting
off (unless the environment says otherwise). An optional tracker that cannot be imported, started, written or
closed is one line `WARNING: <name> tracker off: <reason>` in the job log and is dropped; the run goes on.

Tags: `train/<key>` for the step records (loss, lr, grad_norm, tokens_per_s, tokens_seen, epoch, step_s) and
`eval/<key>` for the perplexities (domain_ppl, general_ppl, general_ppl_en, …) — the keys of `metrics.jsonl`.

A resumed job (attempt n > 1, continuing from checkpoint step k) writes a new TensorBoard event file in the same
folder that starts with a restart marker at step k + 1 (`purge_step`), so TensorBoard drops the points the
interrupted attempt wrote after the checkpoint, as `trim_metrics` drops them from metrics.jsonl; MLflow, W&B and
Trackio get a new run per attempt ("<name> (attempt n)", same job id tag/group) whose points start at step k + 1.
"""
from __future__ import annotations

import contextlib
import io
import json
import math
import os
import shlex
import sys
from numbers import Real
from pathlib import Path
from typing import Callable

TRACKERS = ("tensorboard", "mlflow", "wandb", "trackio")
PROJECT = "frbio-dapt"
TB_DIR, TB_CHECKPOINTS = "tensorboard", "checkpoints"
SKIP = {"step", "attempt", "time"}


def tag(key: str) -> str:
    """The tag of a metrics.jsonl key in every tracker: 'loss' → 'train/loss', 'domain_ppl' → 'eval/domain_ppl'."""
    return f"eval/{key}" if "_ppl" in key or key == "eval_s" else f"train/{key}"


def scalars(values: dict) -> dict[str, float]:
    """The finite numbers of a metrics record under their tags (step, attempt and time left out)."""
    return {tag(k): float(v) for k, v in values.items()
            if k not in SKIP and isinstance(v, Real) and not isinstance(v, bool) and math.isfinite(v)}


def flatten(config: dict, prefix: str = "") -> dict[str, str]:
    """A nested config as flat 'a.b' → text parameters (lists and other values as JSON)."""
    out: dict[str, str] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return out


def chosen(settings, cfg) -> list[str]:
    """The optional trackers of a run: those its config names, else (when it names none beyond TensorBoard) the
    app-wide default `settings.default_trackers`."""
    named = [t for t in (getattr(cfg, "trackers", None) or []) if t != "tensorboard"]
    if not named:
        named = [t for t in (getattr(settings, "default_trackers", None) or []) if t != "tensorboard"]
    return list(dict.fromkeys(named))


def mlflow_uri(settings) -> str:
    return getattr(settings, "mlflow_tracking_uri", None) or (Path(settings.home_path) / "mlruns").as_uri()


def wandb_mode(settings) -> str:
    mode = getattr(settings, "wandb_mode", "auto") or "auto"
    if mode == "auto":
        return "online" if os.environ.get("WANDB_API_KEY") else "offline"
    return mode


def trackio_dir(home: Path) -> Path:
    """Where Trackio writes: `$TRACKIO_DIR`, else `<home>/trackio` (set before trackio is imported: it reads the
    variable once, at import)."""
    if "trackio.utils" in sys.modules:
        return Path(sys.modules["trackio.utils"].TRACKIO_DIR)
    return Path(os.environ.setdefault("TRACKIO_DIR", str(Path(home) / "trackio")))


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ImportError):
        return f"the package is not installed ({exc})"
    text = (str(exc).strip().splitlines() or [""])[0]
    return (f"{type(exc).__name__}: {text}" if text else type(exc).__name__)[:300]


@contextlib.contextmanager
def _quiet():
    """Trackio prints its messages to stdout, which is the job log: keep them out of it."""
    with contextlib.redirect_stdout(io.StringIO()):
        yield


class _TensorBoard:
    name = "tensorboard"

    def __init__(self, folder: Path, config: dict, start_step: int):
        from torch.utils.tensorboard import SummaryWriter

        self.where = folder
        self.writer = SummaryWriter(str(folder), purge_step=start_step + 1 if start_step else None, flush_secs=10)
        if not start_step:
            self.writer.add_text("config", "```json\n" + json.dumps(config, indent=1) + "\n```", 0)

    def log(self, step: int, values: dict[str, float]) -> None:
        for key, value in values.items():
            self.writer.add_scalar(key, value, step)

    def artifact(self, path: Path, step: int) -> None:
        self.writer.add_text("model_card", Path(path).read_text("utf-8"), step)

    def close(self, failed: bool) -> None:
        self.writer.close()


class _MLflow:
    name = "mlflow"

    def __init__(self, uri: str, run_name: str, job_id: str, attempt: int, config: dict):
        os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")   # a server down: a warning soon, not minutes
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "20")
        if uri.startswith("file:") or "://" not in uri:
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")    # MLflow 3 keeps it, in maintenance mode
        elif uri.startswith(("http://", "https://")):
            _reachable(uri)
        from mlflow.entities import Metric, Param
        from mlflow.tracking import MlflowClient

        self.Metric, self.where = Metric, uri
        self.client = MlflowClient(tracking_uri=uri)
        experiment = self.client.get_experiment_by_name(PROJECT)
        if experiment is None:
            try:
                experiment_id = self.client.create_experiment(PROJECT)
            except Exception:      # created meanwhile by another job
                experiment_id = self.client.get_experiment_by_name(PROJECT).experiment_id
        else:
            experiment_id = experiment.experiment_id
        self.run_id = self.client.create_run(experiment_id, run_name=run_name, tags={
            "frbio.job_id": job_id, "frbio.attempt": str(attempt)}).info.run_id
        params = [Param(k, v[:6000]) for k, v in flatten(config).items()]
        for i in range(0, len(params), 100):
            self.client.log_batch(self.run_id, params=params[i:i + 100])

    def log(self, step: int, values: dict[str, float]) -> None:
        import time

        now = int(time.time() * 1000)
        self.client.log_batch(self.run_id, metrics=[self.Metric(k, v, now, step) for k, v in values.items()])

    def artifact(self, path: Path, step: int) -> None:
        self.client.log_artifact(self.run_id, str(path), artifact_path="model_card")

    def close(self, failed: bool) -> None:
        self.client.set_terminated(self.run_id, status="FAILED" if failed else "FINISHED")


def _reachable(uri: str) -> None:
    """Raise OSError at once when nothing listens at the server's address (rather than retrying for minutes)."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(uri)
    with socket.create_connection((parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)), 5):
        pass


class _Wandb:
    name = "wandb"

    def __init__(self, mode: str, job_dir: Path, run_name: str, job_id: str, config: dict):
        os.environ.setdefault("WANDB_SILENT", "true")
        os.environ.setdefault("WANDB_ERROR_REPORTING", "false")
        import wandb

        self.wandb, self.job_id, self.where = wandb, job_id, f"{mode}, {job_dir / 'wandb'}"
        self.run = wandb.init(
            project=PROJECT, name=run_name, group=job_id, job_type="dapt", config=config, dir=str(job_dir),
            mode=mode, reinit="create_new",
            settings=wandb.Settings(silent=True, console="off", x_disable_stats=True, x_disable_machine_info=True,
                                    save_code=False, disable_git=True))

    def log(self, step: int, values: dict[str, float]) -> None:
        self.run.log(values, step=step)

    def artifact(self, path: Path, step: int) -> None:
        card = self.wandb.Artifact(f"model-card-{self.job_id}", type="model_card")
        card.add_file(str(path), name="README.md", policy="immutable")
        self.run.log_artifact(card)

    def close(self, failed: bool) -> None:
        self.run.finish(exit_code=1 if failed else 0)


class _Trackio:
    name = "trackio"

    def __init__(self, home: Path, run_name: str, job_id: str, config: dict):
        os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
        self.where = trackio_dir(home)
        import trackio

        self.trackio = trackio
        with _quiet():
            self.run = trackio.init(project=PROJECT, name=run_name, group=job_id, config=config, embed=False,
                                    auto_log_gpu=False, auto_log_cpu=False)

    def log(self, step: int, values: dict[str, float]) -> None:
        self.run.log(values, step=step)

    def artifact(self, path: Path, step: int) -> None:
        with _quiet():
            self.run.log_artifact(Path(path), name="model-card", type="model_card")

    def close(self, failed: bool) -> None:
        with _quiet():
            self.run.finish()
        if self.trackio.context_vars.current_run.get() is self.run:
            self.trackio.context_vars.current_run.set(None)


class Trackers:
    """The open trackers of one run (TensorBoard first); a tracker that fails is dropped with one warning line."""

    def __init__(self, sinks: list, log: Callable[[str], None] = print):
        self._sinks, self._log, self._step = list(sinks), log, 0

    @property
    def names(self) -> list[str]:
        return [s.name for s in self._sinks]

    def log(self, step: int, values: dict) -> None:
        """The finite numbers of `values` (a metrics.jsonl record or part of one) at training step `step`."""
        self._step = max(self._step, int(step))
        found = scalars(values)
        if found:
            self._each("log", int(step), found)

    def artifact(self, path: Path) -> None:
        """The model card (`<model folder>/README.md`)."""
        self._each("artifact", Path(path), self._step)

    def close(self, failed: bool = False) -> None:
        self._each("close", failed)
        self._sinks = []

    def __enter__(self) -> "Trackers":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(failed=exc_type is not None)

    def _each(self, method: str, *args) -> None:
        for sink in list(self._sinks):
            try:
                getattr(sink, method)(*args)
            except Exception as exc:
                self._sinks.remove(sink)
                self._log(f"WARNING: {sink.name} tracker off: {_reason(exc)}")
                if method != "close":
                    with contextlib.suppress(Exception):
                        sink.close(True)


def open_trackers(settings, cfg, job_dir: Path, *, run_name: str, config: dict, log: Callable[[str], None],
                  attempt: int = 1, start_step: int = 0, main: bool = True) -> Trackers:
    """TensorBoard in `<job_dir>/tensorboard/`, and the optional trackers the run asks for (see `chosen`). A resumed
    attempt (`attempt` > 1, from checkpoint step `start_step`) is described in the module docstring. `main`: False
    on the ranks other than 0 of a multi-GPU job (nothing is opened there)."""
    if not main:
        return Trackers([], log)
    job_dir = Path(job_dir)
    job_id, home = job_dir.name, Path(settings.home_path)
    name = run_name if attempt <= 1 else f"{run_name} (attempt {attempt})"
    makers = {"tensorboard": lambda: _TensorBoard(job_dir / TB_DIR, config, start_step),
              "mlflow": lambda: _MLflow(mlflow_uri(settings), name, job_id, attempt, config),
              "wandb": lambda: _Wandb(wandb_mode(settings), job_dir, name, job_id, config),
              "trackio": lambda: _Trackio(home, name, job_id, config)}
    sinks = []
    for tracker in ["tensorboard", *chosen(settings, cfg)]:
        try:
            sinks.append(makers[tracker]())
        except Exception as exc:
            log(f"WARNING: {tracker} tracker off: {_reason(exc)}")
    log("trackers: " + ", ".join(f"{s.name} ({s.where})" for s in sinks)
        + f"; view the curves with: {tensorboard_command(home, job_id)}")
    return Trackers(sinks, log)


def log_checkpoint_evaluation(job_dir: Path, step: int, values: dict) -> Path:
    """Scores of a finished benchmark evaluation of the checkpoint at training step `step` (e.g.
    `{"frenchmedmcqa_single/acc": 0.31}`: the tags as given) added to `<job_dir>/tensorboard/checkpoints/`, shown by
    TensorBoard as a run beside the training curves. Returns that folder."""
    from torch.utils.tensorboard import SummaryWriter

    folder = Path(job_dir) / TB_DIR / TB_CHECKPOINTS
    writer = SummaryWriter(str(folder))
    try:
        for key, value in values.items():
            if isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value):
                writer.add_scalar(key, float(value), int(step))
    finally:
        writer.close()
    return folder


def tensorboard_command(home: Path | str, job_id: str | None = None) -> str:
    """`tensorboard --logdir …` for one run (its tensorboard folder) or, without `job_id`, for every run."""
    folder = Path(home) / "jobs" / job_id / TB_DIR if job_id else Path(home) / "jobs"
    return f"tensorboard --logdir {shlex.quote(str(folder))}"


VIEW_FR = {"TensorBoard, this run": "TensorBoard, cette exécution",
           "TensorBoard, all runs": "TensorBoard, toutes les exécutions",
           "MLflow (needs the full `mlflow` package)": "MLflow (demande le paquet `mlflow` complet)",
           "W&B offline: view here": "W&B hors ligne : voir ici",
           "W&B offline: upload (needs `wandb login`)": "W&B hors ligne : téléverser (demande `wandb login`)"}


def view_commands(settings, job_id: str | None = None, lang: str = "en") -> list[tuple[str, str]]:
    """(what, command) to look at the runs: TensorBoard for the run and for all runs, MLflow, W&B, Trackio; `what`
    in `lang` ('en' or 'fr')."""
    out = _view_commands(settings, job_id)
    return [(VIEW_FR.get(what, what), command) for what, command in out] if lang == "fr" else out


def _view_commands(settings, job_id: str | None) -> list[tuple[str, str]]:
    from jobs.folders import ID_RE

    home, uri = Path(settings.home_path), mlflow_uri(settings)
    job_id = job_id if job_id and ID_RE.match(str(job_id)) else None
    out = [("TensorBoard, this run", tensorboard_command(home, job_id))] if job_id else []
    out.append(("TensorBoard, all runs", tensorboard_command(home)))
    out.append(("MLflow (needs the full `mlflow` package)",
                ("MLFLOW_ALLOW_FILE_STORE=true " if uri.startswith("file:") else "")
                + f"mlflow ui --backend-store-uri {shlex.quote(uri)}"))
    jobs = shlex.quote(str(home / "jobs"))
    if job_id:
        out.append(("W&B offline: view here", f"wandb leet {jobs}/{job_id}/wandb"))
    out.append(("W&B offline: upload (needs `wandb login`)", f"wandb sync {jobs}/{job_id or '*'}/wandb/offline-run-*"))
    folder = os.environ.get("TRACKIO_DIR") or str(home / "trackio")
    out.append(("Trackio", f"TRACKIO_DIR={shlex.quote(folder)} trackio show --project {PROJECT}"))
    return out
