"""The t-sweep (backend.merge.sweep) on a real snapshot (two small real sources, French and English general text):
domain and general perplexity per grid point, measured in memory; the grid's ends are the parents themselves;
Pareto points marked; run as the `merge_sweep` job kind; bad sweeps refused."""
from __future__ import annotations

from pathlib import Path

import pytest

from backend.merge.methods import MergeError
from backend.merge.sweep import SweepConfig, pareto, run_sweep
from tests.merge_models import perturbed_copy, tiny_models
from tests.data_helpers import home_with_catalogue

SOURCES = ["mantra_gsc", "pxcorpus"]
GENERAL = ["UD_French-Sequoia.dev", "UD_English-EWT.dev"]


@pytest.fixture(scope="module")
def env(shared_data, tmp_path_factory, default_model_home):
    from backend.corpus import snapshot
    from backend.corpus.recipe import Recipe

    home, db = home_with_catalogue(shared_data, tmp_path_factory.mktemp("merge_sweep"), default_model_home, SOURCES,
                                   GENERAL)
    snap = snapshot.build_snapshot(db, home, Recipe(name="sweep", sources=SOURCES))["snapshot_id"]
    models = tiny_models(home, db)
    trained = perturbed_copy(home, db, models["base"], "tiny-dapt-snap", snapshot_id=snap)
    return {"home": home, "db": db, "snapshot": snap, "trained": trained, **models}


def test_pareto_front():
    points = [{"d": 1, "g": 5}, {"d": 2, "g": 2}, {"d": 3, "g": 3}, {"d": 5, "g": 1}, {"d": 2, "g": 2}]
    assert pareto(points, "d", "g") == [0, 1, 3, 4]


def test_sweep_measures_domain_and_general_perplexity(env):
    cfg = SweepConfig(base_model="tiny-base", dapt_model="tiny-other", snapshot=env["snapshot"], grid=[1, 0, 0.5],
                      block_size=64, eval_batches=2, micro_batch_size=4)
    records = []
    result = run_sweep(env["db"], env["home"], cfg, metric=lambda **r: records.append(r))
    points = result["points"]
    assert [p["value"] for p in points] == [0.0, 0.5, 1.0]                    # sorted, once each
    assert result["general_metric"] == "general_ppl"
    for p in points:
        assert {"domain_ppl", "general_ppl", "general_ppl_en"} <= set(p) and p["domain_ppl"] > 1
    assert points[0]["domain_ppl"] == pytest.approx(result["base"]["domain_ppl"], rel=1e-4)   # t = 0 is the base
    assert points[-1]["general_ppl"] == pytest.approx(result["dapt"]["general_ppl"], rel=1e-4)  # t = 1 the other
    assert len({round(p["domain_ppl"], 3) for p in points}) == 3              # the middle is neither
    assert any(p["pareto"] for p in points)
    assert [r["step"] for r in records] == [0, 1, 2] and all("domain_ppl" in r for r in records)


def test_sweep_job_defaults_to_the_dapt_snapshot_and_stops_when_asked(env):
    from frbio_core.settings import Settings
    from jobs import store
    import backend.kinds  # noqa: F401  (registers the feature kinds, as the app does)
    from jobs.kinds import get_kind
    from tests.data_helpers import run_in_process

    kind = get_kind("merge_sweep")
    config = {"base_model": "tiny-base", "dapt_model": "tiny-dapt-snap", "method": "ties",
              "parameters": {"density": 0.5}, "grid": "0, 0.5, 1", "block_size": 64, "eval_batches": 1}
    job_id = store.submit(env["db"], env["home"], "merge_sweep", config)
    result = run_in_process(Settings(home=str(env["home"])), env["db"], job_id)
    assert result["snapshot"] == env["snapshot"] and result["main"] == "weight" and len(result["points"]) == 3
    assert Path(store.job_dir(env["home"], job_id) / "metrics.jsonl").read_text().count("domain_ppl") == 3

    calls = iter([False, True])
    stopped = run_sweep(env["db"], env["home"], kind.validate(config), should_stop=lambda: next(calls, True))
    assert stopped["stopped"] is True and len(stopped["points"]) == 1


@pytest.mark.parametrize("config, message", [
    ({"dapt_model": "tiny-other"}, "records no training snapshot"),
    ({"dapt_model": "tiny-other", "snapshot": "snap-nope"}, "unknown snapshot 'snap-nope'"),
    ({"dapt_model": "tiny-other", "grid": [0.5, 1.5]}, "grid: t = 1.5 is outside [0.0, 1.0]"),
    ({"dapt_model": "tiny-other", "method": "arcee_fusion"}, "no interpolation parameter"),
])
def test_bad_sweeps_are_refused_before_queuing(env, config, message):
    from backend.merge.job import SWEEP
    from backend.studio import Studio
    from frbio_core.errors import UserError
    from frbio_core.settings import Settings
    from jobs import store

    before = len(store.list_jobs(env["db"], limit=None))
    with pytest.raises(UserError) as err:
        SWEEP.launch(Studio(Settings(home=str(env["home"]))), {"base_model": "tiny-base", **config})
    assert message in str(err.value) and "\n" not in str(err.value)
    assert len(store.list_jobs(env["db"], limit=None)) == before


def test_sweep_refuses_an_unknown_snapshot_when_run_directly(env):
    cfg = SweepConfig(base_model="tiny-base", dapt_model="tiny-other", snapshot="snap-missing")
    with pytest.raises(MergeError, match="unknown snapshot 'snap-missing'"):
        run_sweep(env["db"], env["home"], cfg)
