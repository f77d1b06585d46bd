"""A disk filling up while a training job writes its checkpoints and model, and while a merge writes its model:
each job fails cleanly (status failed, resumable, the reason says the disk is full), nothing written before is
damaged (the earlier job's checkpoints still load, the registered models' bytes are unchanged, no half-written
folder is left or registered, `PRAGMA integrity_check` ok), and once space is freed both resume to success.

How the disk fills: as root, frbio_home is a 256 MB tmpfs mounted for the test, filled with a ballast file down to
a few MB (real ENOSPC). Without root (or where mount is refused), the workers run under RLIMIT_FSIZE = 8 MB instead
(EFBIG on any file over 8 MB: the checkpoint and model weights, not the logs or the registry) — the same code path
up to the error's name (FRBIO_TEST_NO_MOUNT=1 forces it). The figures table says which method ran."""
from __future__ import annotations

import hashlib
import json
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from frbio_core.settings import PROJECT_ROOT
from jobs import store
from jobs.launchers import worker_env
from test_training import build_env, config, run
from tests.data_helpers import mount_tmpfs

MB = 2 ** 20
LIMIT = 8 * MB


def fill(home: Path, name: str, leave: int) -> None:
    """A ballast file that leaves `leave` bytes free on home's file system."""
    size = shutil.disk_usage(home).free - leave
    with open(home / name, "wb") as f:
        for _ in range(size // MB):
            f.write(b"\0" * MB)
        f.write(b"\0" * (size % MB))


def hashes(*folders: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest()
            for folder in folders for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def run_worker(env: dict, job_id: str, limit: int | None) -> int:
    """`python -m jobs.worker ID` (it takes the queued job itself), with a file-size limit in the RLIMIT variant."""
    def limited():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return subprocess.run([sys.executable, "-m", "jobs.worker", job_id], cwd=PROJECT_ROOT, env=env, timeout=600,
                          stdin=subprocess.DEVNULL, capture_output=True, preexec_fn=limited if limit else None).returncode


@pytest.fixture
def disk(tmp_path, shared_data, default_model_home):
    root = tmp_path / "disk"
    mounted = mount_tmpfs(root / "home", 256)
    try:
        yield {"env": build_env(root, shared_data, default_model_home), "method": "tmpfs" if mounted else "rlimit"}
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(root / "home")], capture_output=True)


def test_a_full_disk_fails_the_job_cleanly_and_damages_nothing(disk, figures):
    env, method = disk["env"], disk["method"]
    db, home = env["db"], env["home"]
    limit = LIMIT if method == "rlimit" else None
    cfg = dict(max_steps=10, save_every=5, keep_last=5, eval_every=0)
    earlier, result = run(env, config(env, **cfg))                     # trained before the disk fills
    earlier_ckpts = store.job_dir(home, earlier) / "checkpoints"
    earlier_model = Path(result["model_path"])
    before = hashes(earlier_ckpts, earlier_model, home / "models" / "tiny")
    assert sorted(p.name for p in earlier_ckpts.iterdir()) == ["step-00000005", "step-00000010"]

    worker = worker_env(env["settings"], "", "cpu")
    if method == "tmpfs":
        fill(home, "ballast-1", 45 * MB)        # room for the merge's up-front disk check (about 30 MB)...
    merge = store.submit(db, home, "merge", {"base_model": "tiny", "dapt_model": result["model_id"]})
    train = store.submit(db, home, "train", config(env, **cfg))
    if method == "tmpfs":
        fill(home, "ballast-2", 6 * MB)         # ...then something else fills the disk while they run
    codes = [run_worker(worker, job, limit) for job in (train, merge)]
    rows = {job: store.get(db, job) for job in (train, merge)}

    after = hashes(earlier_ckpts, earlier_model, home / "models" / "tiny")
    from safetensors.torch import load_file
    loadable = all(load_file(str(d / "weights.safetensors")) and json.loads((d / "checkpoint.json").read_text())
                   for d in earlier_ckpts.iterdir())
    leftovers = [p.name for p in (home / "models").iterdir() if p.name.startswith(".")] + \
                [p.name for p in (store.job_dir(home, train) / "checkpoints").iterdir()]
    registered = {r[0] for r in db.execute("SELECT id FROM models").fetchall()}
    integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
    clean = all(r["status"] == "failed" and r["resumable"] and r["exit_reason"].startswith("disk full")
                for r in rows.values())
    how = "tmpfs 256 MB filled to 6 MB free" if method == "tmpfs" else "RLIMIT_FSIZE 8 MB on the workers"
    figures(f"disk full during a checkpoint and a merge ({how})",
            f"train {rows[train]['status']}, merge {rows[merge]['status']}; reason "
            f"'{rows[train]['exit_reason'][:40]}…'", "both failed, resumable, 'disk full'", clean)
    figures("  ... what was written before", f"checkpoints {'load' if loadable else 'BROKEN'}, models "
            f"{'unchanged' if before == after else 'CHANGED'}, leftovers {len(leftovers)}, integrity {integrity}",
            "load, unchanged, 0, ok", loadable and before == after and not leftovers and integrity == "ok")
    assert codes == [1, 1] and clean, {j: (r["status"], r["exit_reason"]) for j, r in rows.items()}
    assert before == after and loadable and not leftovers, leftovers
    assert registered == {"tiny", result["model_id"]} and integrity == "ok"

    for ballast in home.glob("ballast-*"):                                  # space is freed: both resume
        ballast.unlink()
    for job in (train, merge):
        store.requeue(db, job)
        run_worker(worker, job, None)
    done = {job: store.get(db, job) for job in (train, merge)}
    figures("  ... resumed once space is freed", ", ".join(f"{r['kind']} {r['status']}" for r in done.values()),
            "both succeeded", all(r["status"] == "succeeded" for r in done.values()))
    assert all(r["status"] == "succeeded" for r in done.values()), {j: r["exit_reason"] for j, r in done.items()}
    assert hashes(earlier_ckpts, earlier_model) == {k: v for k, v in before.items() if "/models/tiny/" not in k}
