"""Helpers for tests: small data folders and homes built from the real data (copies of chosen sources of
../shared/data, so a test may add or break files without touching the shared folder; a home whose default model is
the session's converted one, symlinked, not converted again, its catalogue scanned), homes of tiny random models, the
real sources' documents, and waiting for a state."""
from __future__ import annotations

import gzip
import json
import shutil
from functools import cache
from pathlib import Path


def data_folder(shared: Path, root: Path, corpus: list[str], general: list[str], sidecars: bool = True) -> Path:
    """`root` holding corpus/<name>.jsonl.gz and general/<name>.jsonl.gz copied from `shared` (with each folder's
    sources.json licence sidecar unless `sidecars` is False); returns `root`."""
    for sub, names in (("corpus", corpus), ("general", general)):
        if not names:
            continue
        (root / sub).mkdir(parents=True)
        for name in names:
            shutil.copy(shared / sub / f"{name}.jsonl.gz", root / sub)
        if sidecars:
            shutil.copy(shared / sub / "sources.json", root / sub)
    return root


def home_with_default_model(home: Path, default_model_home: Path) -> Path:
    """`home` with models/<default model> symlinked to the one converted in `default_model_home`; returns `home`."""
    from backend.default_model import DEFAULT_MODEL_NAME, default_model_dir

    (home / "models").mkdir(parents=True)
    (home / "models" / DEFAULT_MODEL_NAME).symlink_to(default_model_dir(default_model_home), target_is_directory=True)
    return home


def home_with_catalogue(shared: Path, root: Path, default_model_home: Path, corpus: list[str], general: list[str],
                        scan: bool = True):
    """`root`/data holding `corpus` and `general` copied from `shared` (see `data_folder`) and `root`/home holding the
    default model (see `home_with_default_model`), with its registry connected and the data folder scanned into the
    catalogue (unless `scan` is False); returns (home, db)."""
    from backend.corpus import catalogue
    from frbio_core import registry

    data_folder(shared, root / "data", corpus, general)
    home = home_with_default_model(root / "home", default_model_home)
    db = registry.connect(home / "frbio.db")
    if scan:
        catalogue.scan(db, [root / "data"])
    return home, db


def home_with_tiny_models(home: Path, names: list[str]):
    """`home`'s registry with a tiny byte-tokenizer model registered under each of `names` (seeds 0, 1, …);
    returns the registry."""
    from backend.models.importing import make_tiny_model
    from frbio_core.registry import connect

    db = connect(home / "frbio.db")
    for i, name in enumerate(names):
        make_tiny_model(home, name=name, seed=i, tokenizer_from=None, db=db)
    return db


@cache
def _read_jsonl_gz(path: Path) -> tuple[dict, ...]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return tuple(json.loads(line) for line in f)


def corpus_documents(shared: Path, source: str) -> list[dict]:
    """The documents of the real source corpus/<source>.jsonl.gz of `shared` (read once per session; a fresh list
    each call)."""
    return list(_read_jsonl_gz(shared / "corpus" / f"{source}.jsonl.gz"))


def clone(src: Path, dst: Path) -> Path:
    """A copy of the folder `src` at `dst`; returns `dst`."""
    shutil.copytree(src, dst)
    return dst


def wait_for(predicate, timeout: float, what: str = "condition", interval: float = 0.05):
    """Poll `predicate` until it returns something true (returned), or fail naming `what` after `timeout` s: tests
    wait for the state they need, never for a fixed time."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{what}: not reached within {timeout} s")


def run_in_process(settings, db, job_id: str, stop_after: int | None = None) -> dict:
    """Run a submitted job's runner in this process, as its worker would (its kind, its config validated, a
    Studio as context, a Reporter); `stop_after`: ask it to stop once a metric record of that step with a loss is
    written."""
    from backend.studio import Studio
    from jobs import store
    from jobs.kinds import get_kind

    row = store.get(db, job_id)
    kind = get_kind(row["kind"])
    job = reporter(db, settings.home_path, row, stop_after)
    return kind.run(Studio(settings), kind.validate(row["config"]), job)


def reporter(db, home, row: dict, stop_after: int | None = None):
    """The Reporter a worker would make for `row`, optionally asking to stop after step `stop_after`."""
    from jobs.reporter import Reporter

    job = Reporter(home, row)
    if stop_after is not None:
        record = job.metric

        def metric(rec=None, **values):
            out = record(rec, **values)
            if out.get("step") == stop_after and "loss" in out:
                job.request_stop("test stop")
            return out

        job.metric = metric
    return job


def mount_tmpfs(path: Path, size_mb: int) -> bool:
    """Mount a tmpfs of `size_mb` MB at `path` (a real disk that fills up); False where that is not possible (not
    root, no mount, FRBIO_TEST_NO_MOUNT set). The caller unmounts it (`umount -l`)."""
    import os
    import subprocess

    if os.geteuid() != 0 or shutil.which("mount") is None or os.environ.get("FRBIO_TEST_NO_MOUNT"):
        return False
    path.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(path)],
                          capture_output=True).returncode == 0
