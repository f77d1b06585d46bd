"""A run's trajectory: a tiny model trained 4 steps keeping checkpoints at steps 2 and 4 (the last is the trained
model itself), the kept checkpoint registered as a model of its own (kind, step, tokens seen, lineage, complete
Hugging Face folder), the disk estimate counting it, `eval --run` queuing one evaluation per point (base, 2, 4),
the trajectory's series and chart, nothing queued again once cached, and a checkpoint merged with its base and
re-run identically by `mergekit-yaml`."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from backend.actions import get_action
from backend.evaluation import charts
from backend.evaluation.config import EvalConfig, EvalError
from backend.evaluation.trajectory import run_points, table, trajectory
from backend.models.registry import get_model, lineage
from jobs import store
from tests.data_helpers import run_in_process
from tests.test_training import build_env, config

MERGEKIT_YAML = Path(sys.executable).parent / "mergekit-yaml"
TASKS = ["frenchmedmcqa_single", "sib200_fr"]


@pytest.fixture(scope="module")
def run(shared_data, tmp_path_factory, default_model_home):
    """A trained run with a kept checkpoint, and the benchmarks' data beside the corpus."""
    root = tmp_path_factory.mktemp("trajectory")
    env = build_env(root, shared_data, default_model_home)
    (root / "data" / "bench").symlink_to(shared_data / "bench", target_is_directory=True)
    job_id = env["submit"](config(env, max_steps=4, keep_steps=[2, 4], save_every=2, eval_every=2))
    result = run_in_process(env["settings"], env["db"], job_id)
    return {**env, "job_id": job_id, "result": result}


def test_kept_checkpoint_is_a_model_with_its_step_tokens_and_lineage(run):
    from transformers import AutoModelForCausalLM

    db, job_id = run["db"], run["job_id"]
    points = run_points(db, job_id)
    assert [(p["step"], p["kind"]) for p in points] == [(0, "base"), (2, "checkpoint"), (4, "dapt")]
    ckpt = get_model(db, points[1]["model"])
    tokens_per_step = 4 * 128     # micro-batch 4 × 128-token blocks, no accumulation
    assert ckpt["kind"] == "checkpoint" and ckpt["step"] == 2 and ckpt["tokens_seen"] == 2 * tokens_per_step
    assert ckpt["job_id"] == job_id and ckpt["snapshot_id"] == run["snapshot"]
    assert [r["id"] for r in lineage(db, ckpt["id"])] == [ckpt["id"], "tiny"]
    folder = Path(ckpt["path"])
    assert "Checkpoint at step 2 of 4" in (folder / "README.md").read_text("utf-8")
    # a complete folder any tool loads, with weights between the base's and the trained model's
    import torch

    models = [AutoModelForCausalLM.from_pretrained(get_model(db, p["model"])["path"]) for p in points]
    w = [dict(m.named_parameters())["model.layers.0.mlp.up_proj.weight"].detach() for m in models]
    assert not torch.equal(w[0], w[1]) and not torch.equal(w[1], w[2])
    # the trained model kept training after the checkpoint was saved from it: its row says step 4
    assert get_model(db, points[2]["model"])["step"] == 4 and run["result"]["steps"] == 4
    kept = [m for m in store.read_metrics(store.job_dir(run["home"], job_id)) if "kept_checkpoint" in m]
    assert kept == [{**kept[0], "step": 2, "kept_checkpoint": ckpt["id"], "tokens_seen": 2 * tokens_per_step}]


def test_the_run_names_its_best_checkpoint_by_each_perplexity_criterion(run):
    import math

    result, db = run["result"], run["db"]
    points = result["checkpoints"]
    assert [p["step"] for p in points] == [2, 4] and points[1]["model_id"] == result["model_id"]
    evals = {m["step"]: m for m in store.read_metrics(store.job_dir(run["home"], run["job_id"])) if "domain_ppl" in m}
    for p in points:      # each kept checkpoint carries the perplexities measured at its own step
        assert p["domain_ppl"] == evals[p["step"]]["domain_ppl"] and p["general_ppl"] == evals[p["step"]]["general_ppl"]
    base = result["initial"]

    def ratio(p, keys):
        return sum(math.log(p[k] / base[k]) for k in keys) / len(keys)

    general = [k for k in ("general_ppl", "general_ppl_en") if base.get(k)]
    expected = {"domain": min(points, key=lambda p: (p["domain_ppl"], -p["step"])),
                "general": min(points, key=lambda p: (round(ratio(p, general), 12), -p["step"])),
                "balanced": min(points, key=lambda p: (round(ratio(p, ["domain_ppl", *general]), 12), -p["step"]))}
    assert result["best_checkpoint"] == {by: p["model_id"] for by, p in expected.items()}
    assert all(get_model(db, m)["kind"] in ("checkpoint", "dapt") for m in result["best_checkpoint"].values())


def test_disk_estimate_counts_the_kept_checkpoints(run):
    from backend.training.config import TrainConfig
    from backend.training.prelaunch import prelaunch

    one = prelaunch(run["db"], run["home"], TrainConfig(**config(run, max_steps=4, keep_steps=[2])), "cpu")["disk"]
    three = prelaunch(run["db"], run["home"], TrainConfig(**config(run, max_steps=8, keep_every=2)), "cpu")["disk"]
    assert one["kept_checkpoints"] == 1 and three["kept_checkpoints"] == 3     # steps 2, 4, 6 (8 is the model)
    assert three["kept"] == 3 * one["model"] and one["free"] > 0 and one["fits"] is True


def test_eval_run_queues_every_point_then_the_trajectory_has_three_points(run):
    studio, db, job_id = run["studio"], run["db"], run["job_id"]
    action = get_action("eval")
    data = {"run": job_id, "tasks": TASKS, "limit": 6, "batch_size": 4}
    ids = action.launch(studio, data, device="cpu")
    evaluated = {store.get(db, i)["config"]["model"] for i in ids}
    assert evaluated == {p["model"] for p in run_points(db, job_id)} and len(ids) == 3
    assert action.launch(studio, data, device="cpu") == ids            # queued ones are reused, not queued twice
    for i in ids:
        run_in_process(run["settings"], db, i)
        store.set_status(db, i, "succeeded")
    assert action.launch(studio, data, device="cpu") == []             # every point cached

    # the checkpoint's and the trained model's scores sit beside the run's curves in TensorBoard, at their steps
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(store.job_dir(run["home"], job_id) / "tensorboard" / "checkpoints"))
    events.Reload()
    assert [e.step for e in events.Scalars("frenchmedmcqa_single/acc")] == [2, 4]

    traj = trajectory(db, run["settings"], job_id, EvalConfig(tasks=TASKS, limit=6, batch_size=4))
    assert traj["pending"] == [] and len(traj["series"]) == 2
    for s in traj["series"]:
        assert [p["step"] for p in s["points"]] == [0, 2, 4]
        base, *later = s["points"]
        assert base["delta"] is None and all(p["delta"] == pytest.approx(p["value"] - base["value"]) for p in later)
        assert all(p["n"] == 6 and p["ci_low"] <= p["delta"] <= p["ci_high"] for p in later)
    assert [p["step"] for p in traj["tradeoff"]] == [0, 2, 4]      # FrenchMedMCQA (medical) against SIB-200 (general)
    headers, rows = table(traj)
    assert headers[2:] == ["step 0 (base)", "step 2", "step 4"] and len(rows) == 2 and "Δ" in rows[0][3]
    fig = charts.trajectory(traj)
    assert [list(t.x) for t in fig.data] == [[0, 2, 4], [0, 2, 4]]
    assert list(charts.trajectory_tradeoff(traj).data[0].x) == [p["general"] for p in traj["tradeoff"]]

    payload, text = action.describe(studio, action.parse(data), [])
    assert "step 2" in text and payload["run"] == job_id


def test_following_a_run_queues_an_evaluation_of_each_checkpoint_as_it_is_written(run, capsys):
    studio, db = run["studio"], run["db"]
    action = get_action("eval")
    job_id = run["submit"](config(run, max_steps=4, keep_every=2, save_every=2, eval_every=2, output_name="followed"))
    follow = {"run": job_id, "follow": True, "tasks": ["sib200_fr"], "limit": 3}
    before = action.launch(studio, follow, owner="bob", device="cpu")     # queued: only the base has no result yet
    assert [store.get(db, i)["config"]["model"] for i in before] == ["tiny"]
    audit = list(db["audit"].rows_where("action = ? AND target = ?", ["follow-evals", job_id]))
    assert len(audit) == 1 and audit[0]["actor"] == "bob"
    result = run_in_process(run["settings"], db, job_id)                  # the run writes step 2, then the model
    queued = [j for j in store.list_jobs(db, kind="eval", limit=None) if j["id"] not in before
              and j["config"].get("model") in (f"{result['model_id']}-step2", result["model_id"])]
    assert sorted(j["config"]["model"] for j in queued) == sorted([f"{result['model_id']}-step2", result["model_id"]])
    assert all(j["owner"] == "bob" and j["status"] == "queued" and j["config"]["tasks"] == ["frbio_sib200_fr"]
               and j["config"]["limit"] == 3 for j in queued)
    assert capsys.readouterr().out.count("queued (asked to follow the run)") == 2       # the run's log lines
    # a finished run keeps nothing more; following needs a run
    store.set_status(db, job_id, "succeeded")
    with pytest.raises(EvalError, match=f"run {job_id} is succeeded"):
        action.launch(studio, follow, owner="bob", device="cpu")
    with pytest.raises(EvalError, match="give --run JOB"):
        action.launch(studio, {"model": "tiny", "follow": True, "tasks": ["sib200_fr"]}, device="cpu")


def test_eval_run_refuses_what_is_not_a_training_run(run):
    with pytest.raises(EvalError, match="not a training job"):
        get_action("eval").launch(run["studio"], {"run": "job-999999", "tasks": TASKS}, device="cpu")


def test_a_checkpoint_merged_with_its_base_is_reproduced_by_mergekit_yaml(run, tmp_path):
    from backend.merge import save as merge_save
    from backend.merge.config import MergeConfig
    from tests.test_merge_save import weights

    ckpt = run_points(run["db"], run["job_id"])[1]["model"]
    cfg = MergeConfig(base_model="tiny", dapt_model=ckpt, method="slerp", parameters={"t": 0.5},
                      output_name="tiny-slerp-step2")
    result = merge_save.save_merge(run["db"], run["home"], cfg, job_id="job-000099")
    row = get_model(run["db"], result["model_id"])
    assert row["kind"] == "merged" and row["parents"] == ["tiny", ckpt]
    rerun = tmp_path / "rerun"
    subprocess.run([str(MERGEKIT_YAML), result["yaml"], str(rerun), "--quiet"], check=True, capture_output=True,
                   timeout=300)
    saved, again = weights(row["path"]), weights(rerun)
    assert set(saved) == set(again) and max((saved[k] - again[k]).abs().max().item() for k in saved) == 0.0
