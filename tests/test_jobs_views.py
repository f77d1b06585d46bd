"""How jobs look in the UI: status labels, ETA from progress, curves from metrics.jsonl."""
import time

import backend.studio  # noqa: F401  (registers the feature job kinds and their curves)
from frbio_core import registry
from jobs import store, views


def test_eta_and_labels():
    now = time.time()
    running = {"status": "running", "started_at": now - 60, "progress": 0.25}
    assert abs(views.eta_seconds(running, now) - 180) < 1e-6
    assert views.eta_seconds({**running, "progress": 0}, now) is None
    assert views.eta_seconds({**running, "status": "queued"}, now) is None
    assert views.format_duration(3725) == "1h02" and views.format_duration(75) == "1m15"
    assert views.format_duration(None) == "—"
    assert views.status_label({"status": "failed", "resumable": 1}) == "failed (resumable)"


def test_table_and_curves_from_a_real_job_folder(tmp_path, shared_data):
    db = registry.connect(tmp_path / "frbio.db")
    from backend.corpus import catalogue
    catalogue.scan(db, [shared_data])
    job_id = store.submit(db, tmp_path, "corpus_build", {"sources": ["mantra_gsc"]}, owner="alice")
    rows = views.job_table(db)
    assert rows[0][:5] == [job_id, "corpus_build", "", "alice", "queued"]
    folder = store.job_dir(tmp_path, job_id)
    for step, loss in enumerate([3.0, 2.5, 2.1], start=1):
        store.append_metric(folder, {"step": step, "loss": loss, "lr": 2e-5})
    store.append_metric(folder, {"step": 3, "domain_ppl": 14.2, "general_ppl": 30.1})
    series = views.metric_series(tmp_path, job_id, views.curves_of("train"))
    assert series["loss"] == ([1, 2, 3], [3.0, 2.5, 2.1])
    assert series["domain_ppl"] == ([3], [14.2]) and "tokens_per_s" not in series


def test_curves_signature_changes_only_when_metrics_are_written(tmp_path, shared_data):
    """The jobs panel re-sends a job's curves only when this signature changes (a finished job's never does)."""
    from backend.corpus import catalogue

    db = registry.connect(tmp_path / "frbio.db")
    catalogue.scan(db, [shared_data])
    job_id = store.submit(db, tmp_path, "corpus_build", {"sources": ["mantra_gsc"]}, owner="alice")
    assert views.metrics_signature(tmp_path, "job-999999") is None
    empty = views.metrics_signature(tmp_path, job_id)
    folder = store.job_dir(tmp_path, job_id)
    store.append_metric(folder, {"step": 1, "loss": 3.0})
    first = views.metrics_signature(tmp_path, job_id)
    assert first != empty and views.metrics_signature(tmp_path, job_id) == first
    store.append_metric(folder, {"step": 2, "loss": 2.5})
    assert views.metrics_signature(tmp_path, job_id) != first
