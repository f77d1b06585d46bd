"""Experiment trackers of DAPT runs (backend.training.trackers), with the real libraries and no network: a tiny run
through the train job's runner logs to TensorBoard, MLflow (local file store), W&B (offline) and Trackio (local), and
each is read back through the tracker's own reader — TensorBoard's EventAccumulator, MLflow's client, W&B's
`wandb leet inspect --json` (its reader of the offline `.wandb` log), Trackio's SQLite storage — to equal
metrics.jsonl; a resumed run reads back without the interrupted attempt's points; an unreachable or missing tracker
is one warning line and the run still gives its model; checkpoint evaluations land beside the curves."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from backend.training import trackers
from frbio_core.settings import Settings
from jobs import store
from tests.data_helpers import run_in_process
from tests.test_training import build_env

TRAIN_KEYS = ["loss", "lr", "grad_norm", "tokens_per_s", "tokens_seen", "epoch"]
EVAL_KEYS = ["domain_ppl", "general_ppl", "general_ppl_en"]
SMALL = {"base_model": "tiny", "learning_rate": 3e-3, "micro_batch_size": 2, "block_size": 64, "eval_batches": 1,
         "eval_every": 3, "save_every": 3, "max_steps": 6, "precision": "fp32"}


@pytest.fixture(scope="module")
def env(shared_data, tmp_path_factory, default_model_home):
    return build_env(tmp_path_factory.mktemp("trackers"), shared_data, default_model_home)


def run(env, settings=None, stop_after=None, job_id=None, **overrides) -> tuple[str, dict]:
    job_id = job_id or env["submit"]({**SMALL, "snapshot": env["snapshot"], **overrides})
    return job_id, run_in_process(settings or env["settings"], env["db"], job_id, stop_after)


def expected(job_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """metrics.jsonl as tag → [(step, value)]: the step records' train/… and the evaluations' eval/… series."""
    records = store.read_metrics(job_dir)
    out = {trackers.tag(k): [(r["step"], r[k]) for r in records if "loss" in r] for k in TRAIN_KEYS}
    out.update({trackers.tag(k): [(r["step"], r[k]) for r in records if "domain_ppl" in r] for k in EVAL_KEYS})
    return out


def same(got: dict[str, list], want: dict[str, list]) -> None:
    """The same tags, steps and values (within float32 rounding: TensorBoard stores float32)."""
    for name, series in want.items():
        assert [s for s, _ in got.get(name, [])] == [s for s, _ in series], name
        assert [v for _, v in got[name]] == pytest.approx([v for _, v in series], rel=1e-6), name


def tensorboard_series(folder: Path) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0, "tensors": 0})
    acc.Reload()
    # by step, as TensorBoard draws them (two files written in one second by one process are listed by a counter
    # compared as text: ...0.9 after ...0.10)
    return {name: sorted(((e.step, e.value) for e in acc.Scalars(name)), key=lambda p: p[0])
            for name in acc.Tags()["scalars"]}


def mlflow_runs(settings, job_id: str):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(trackers.mlflow_uri(settings))
    experiment = client.get_experiment_by_name(trackers.PROJECT)
    runs = client.search_runs([experiment.experiment_id], filter_string=f"tags.`frbio.job_id` = '{job_id}'",
                              order_by=["attributes.start_time ASC"])
    return client, runs


def mlflow_series(client, runs) -> dict[str, list[tuple[int, float]]]:
    """Every attempt's points, a later attempt's value winning at a step both have."""
    out: dict[str, dict[int, float]] = {}
    for r in runs:
        for name in r.data.metrics:
            for m in sorted(client.get_metric_history(r.info.run_id, name), key=lambda m: m.step):
                out.setdefault(name, {})[m.step] = m.value
    return {name: sorted(points.items()) for name, points in out.items()}


def wandb_records(run_dir: Path) -> list[dict]:
    """The offline run's `.wandb` log as JSON records, through W&B's own reader (`wandb leet inspect --json`)."""
    wandb = Path(sys.executable).with_name("wandb")
    out = subprocess.run([str(wandb), "leet", "inspect", "--json", str(run_dir)], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def wandb_series(records: list[dict]) -> dict[str, list[tuple[int, float]]]:
    out: dict[str, list] = {}
    for r in records:
        if r["type"] == "history":
            item = r["history"]["item"]
            for name, value in item.items():
                if not name.startswith("_"):
                    out.setdefault(name, []).append((item["_step"], value))
    return out


def trackio_series(run_name: str) -> dict[str, list[tuple[int, float]]]:
    from trackio.sqlite_storage import SQLiteStorage

    out: dict[str, list] = {}
    for row in sorted(SQLiteStorage.get_logs(trackers.PROJECT, run=run_name), key=lambda r: r["step"]):
        for name, value in row.items():
            if name not in ("step", "timestamp"):
                out.setdefault(name, []).append((row["step"], value))
    return out


# ------------------------------------------------------------------------------------------- every tracker


def test_every_tracker_reads_back_the_metrics_of_the_run(env, capsys):
    job_id, result = run(env, trackers=["tensorboard", "mlflow", "wandb", "trackio"])
    log = capsys.readouterr().out
    folder = store.job_dir(env["home"], job_id)
    want = expected(folder)
    assert [s for s, _ in want["train/loss"]] == list(range(1, 7)) and [s for s, _ in want["eval/domain_ppl"]] == \
        [0, 3, 6]
    assert "WARNING" not in log
    assert f"view the curves with: tensorboard --logdir {folder / 'tensorboard'}" in log
    assert "trackers: tensorboard (" in log and "mlflow (file://" in log and "wandb (offline" in log
    model_id = result["model_id"]
    card = (Path(result["model_path"]) / "README.md").read_text()

    # TensorBoard: the event files in the job folder, the config and the model card as text
    same(tensorboard_series(folder / "tensorboard"), want)

    # MLflow: one run in experiment frbio-dapt, named after the model, the config as parameters, the card artefact
    client, runs = mlflow_runs(env["settings"], job_id)
    assert len(runs) == 1 and runs[0].info.run_name == model_id and runs[0].info.status == "FINISHED"
    assert runs[0].data.params["learning_rate"] == "0.003" and runs[0].data.params["snapshot"] == env["snapshot"]
    assert json.loads(runs[0].data.params["trackers"]) == ["tensorboard", "mlflow", "wandb", "trackio"]
    same(mlflow_series(client, runs), want)
    assert [a.path for a in client.list_artifacts(runs[0].info.run_id, "model_card")] == ["model_card/README.md"]
    local = client.download_artifacts(runs[0].info.run_id, "model_card/README.md", str(folder))
    assert Path(local).read_text() == card

    # W&B: offline (nothing sent), its run folder in the job folder; config, curves and the card as an artefact
    run_dirs = list((folder / "wandb").glob("offline-run-*"))
    assert len(run_dirs) == 1 and list(run_dirs[0].glob("run-*.wandb"))
    records = wandb_records(run_dirs[0])
    first = next(r["run"] for r in records if r["type"] == "run")
    assert first["display_name"] == model_id and first["run_group"] == job_id and first["project"] == "frbio-dapt"
    assert first["config"]["update"]["learning_rate"] == 0.003 and first["telemetry"]["feature"]["offline"]
    same(wandb_series(records), want)
    artifact = next(r["artifact"] for r in records if r["type"] == "artifact")
    assert artifact["type"] == "model_card" and [c["path"] for c in artifact["manifest"]["contents"]] == ["README.md"]
    assert next(r["exit"] for r in records if r["type"] == "exit").get("exit_code", 0) == 0

    # Trackio: its local SQLite store under the home (trackio imported after the run: it reads TRACKIO_DIR once)
    from trackio.sqlite_storage import SQLiteStorage

    assert trackers.trackio_dir(env["home"]) == Path(env["home"]) / "trackio"
    assert SQLiteStorage.get_project_db_path(trackers.PROJECT).is_file()
    same(trackio_series(model_id), want)
    assert SQLiteStorage.get_run_config(trackers.PROJECT, model_id)["learning_rate"] == 0.003
    card_artifact = SQLiteStorage.get_artifacts(trackers.PROJECT)[0]
    assert card_artifact["name"] == "model-card" and card_artifact["type"] == "model_card"


def test_a_resumed_run_reads_back_without_the_interrupted_attempts_points(env, capsys):
    """Stopped at step 5 (checkpoint 3), resumed: TensorBoard's reader drops steps 4–5 of the first attempt (the
    restart marker), MLflow has a run per attempt whose union (later attempt winning) is metrics.jsonl."""
    job_id, partial = run(env, stop_after=5, trackers=["mlflow"])
    assert partial["checkpoint_step"] == 3
    store.update(env["db"], job_id, attempt=2)                # as `jobs resume` does (store.requeue)
    _, result = run(env, job_id=job_id)
    assert result["resumed_from"] == 3 and "WARNING" not in capsys.readouterr().out
    folder = store.job_dir(env["home"], job_id)
    want = expected(folder)
    assert [s for s, _ in want["train/loss"]] == list(range(1, 7))
    assert len(list((folder / "tensorboard").glob("events.out.tfevents.*"))) == 2
    same(tensorboard_series(folder / "tensorboard"), want)
    client, runs = mlflow_runs(env["settings"], job_id)
    assert [r.info.run_name for r in runs] == [result["model_id"], f"{result['model_id']} (attempt 2)"]
    assert [r.data.tags["frbio.attempt"] for r in runs] == ["1", "2"]
    assert min(m.step for m in client.get_metric_history(runs[1].info.run_id, "train/loss")) == 4
    same(mlflow_series(client, runs), want)


# ------------------------------------------------------------------------------------------- failures


def test_an_unreachable_or_missing_tracker_is_one_warning_and_the_run_gives_its_model(env, capsys, monkeypatch):
    from backend.models.registry import get_model

    monkeypatch.setitem(sys.modules, "wandb", None)            # as if the package were not installed
    settings = Settings(home=str(env["home"]), data=env["settings"].data, mlflow_tracking_uri="http://127.0.0.1:9")
    job_id, result = run(env, settings=settings, max_steps=3, save_every=0, trackers=["mlflow", "wandb"])
    log = capsys.readouterr().out
    warnings = [line for line in log.splitlines() if "WARNING" in line]
    assert len(warnings) == 2, warnings
    assert "WARNING: mlflow tracker off: ConnectionRefusedError" in warnings[0]
    assert "WARNING: wandb tracker off: the package is not installed" in warnings[1]
    assert get_model(env["db"], result["model_id"]) and Path(result["model_path"], "model.safetensors").is_file()
    folder = store.job_dir(env["home"], job_id)
    same(tensorboard_series(folder / "tensorboard"), expected(folder))
    assert not (folder / "wandb").exists()


def test_the_app_wide_default_applies_to_runs_that_name_no_tracker(tmp_path):
    from backend.training.config import TrainConfig

    settings = Settings(home=str(tmp_path), default_trackers=["mlflow", "trackio"])
    assert trackers.chosen(settings, TrainConfig(snapshot="s")) == ["mlflow", "trackio"]
    assert trackers.chosen(settings, TrainConfig(snapshot="s", trackers=["wandb"])) == ["wandb"]
    assert trackers.chosen(Settings(home=str(tmp_path)), TrainConfig(snapshot="s")) == []
    assert trackers.scalars({"step": 3, "attempt": 1, "time": 1.0, "loss": 2.5, "domain_ppl": float("nan"),
                             "general_ppl": 9, "stage": "data", "ok": True}) == {"train/loss": 2.5,
                                                                                 "eval/general_ppl": 9.0}
    commands = dict(trackers.view_commands(settings, "job-000007"))
    assert commands["TensorBoard, this run"] == \
        f"tensorboard --logdir {tmp_path / 'jobs' / 'job-000007' / 'tensorboard'}"
    assert commands["TensorBoard, all runs"] == f"tensorboard --logdir {tmp_path / 'jobs'}"
    assert "TensorBoard, this run" not in dict(trackers.view_commands(settings, "../etc"))


def test_checkpoint_evaluations_are_read_back_beside_the_curves(tmp_path):
    job_dir = tmp_path / "jobs" / "job-000001"
    trackers.log_checkpoint_evaluation(job_dir, 100, {"frenchmedmcqa_single/acc": 0.31, "note": "x"})
    folder = trackers.log_checkpoint_evaluation(job_dir, 200, {"frenchmedmcqa_single/acc": 0.35,
                                                               "frenchmedmcqa_single/hamming": 0.5})
    assert folder == job_dir / "tensorboard" / "checkpoints"
    got = tensorboard_series(folder)
    assert got == {"frenchmedmcqa_single/acc": [(100, pytest.approx(0.31)), (200, pytest.approx(0.35))],
                   "frenchmedmcqa_single/hamming": [(200, 0.5)]}
