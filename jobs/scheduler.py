"""Slots per device, a fair queue, worker processes, cancel, reconcile, resume.

Devices are discovered once (the CPU always; GPUs through nvidia-smi, else torch), one slot each by default
(`slots=` or FRBIO_JOB_SLOTS="cpu=2,cuda:0=1"). Each tick (every second from `start()`'s thread): reap finished
workers, `reconcile()` (a running row whose worker is gone or silent for 15 s becomes failed + resumable), then give
each free slot to the next queued job that can use it, in the order of `policy` (jobs.fairness: round-robin
between owners, FIFO for each owner). A worker is `python -m jobs.worker ID` in its own process
session, output on the job's log.txt, CUDA_VISIBLE_DEVICES set to its one GPU ('' on the CPU).

Only one scheduler per home launches jobs: the active one holds an flock on `<home>/jobs/.scheduler.lock` (released
by the kernel when its process dies, even by kill -9); others, and the CLI, see that (`scheduler_running`), and a
passive scheduler takes over at its next tick once the lock is free. Jobs never depend on the scheduler: a worker
writes its own final status, so the app can die and a new one finds the results.

Scale-out (jobs.scaleout): a job whose config asks for `num_gpus` N > 1 takes one slot on each of N GPUs at once
and runs under `accelerate launch` (DDP or FSDP, `<job_dir>/accelerate.yaml`), CUDA_VISIBLE_DEVICES listing its
GPUs; while it waits at the head of the queue it reserves the GPUs that free up (see jobs.scaleout.local). With
`settings.slurm`, every job is submitted with `sbatch` instead (no local slots) and followed with squeue/sacct.
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Callable

from backend import registry
from backend.settings import PROJECT_ROOT, Settings
from jobs import fairness, store
from jobs.devices import device_usage, discover_devices, parse_slots
from jobs.kinds import JobKind, get_kind
from jobs.processes import GRACE_S, group_alive, signal_group, stop_group, worker_alive
from jobs.scaleout import launch as scaleout_launch, local as multi, slurm
from jobs.store import JobError

log = logging.getLogger("frbio.jobs")
STALE_S = 15.0         # a running job silent this long is dead
TICK_S = 1.0
LOCK_FILE = ".scheduler.lock"


def cancel(db, home: Path, job_id: str, by: str | None = None, grace: float = GRACE_S,
           reap: Callable[[], None] | None = None) -> dict:
    """Cancel a job from any process: a queued one at once; a running one is marked cancelled (a worker that
    cannot be signalled sees it at its next heartbeat), then its process group gets SIGTERM, SIGKILL after
    `grace` s. Returns the row; JobError for a finished job, JobPermissionError when `by` is neither the job's owner
    nor an admin (by None: a trusted local caller)."""
    reason = f"cancelled by {by}" if by else "cancelled by the user"
    row = store.get(db, job_id)
    store.authorize(db, row, by, "cancel")
    if row["status"] == "queued" and store.cancel_queued(db, job_id, reason + " before it started"):
        store.record(db, by, "cancel", job_id, status="queued")
        return store.get(db, job_id)
    row = store.get(db, job_id)
    if row["status"] != "running":
        raise JobError(f"job {job_id} is already {row['status']}")
    store.finish(db, job_id, "cancelled", attempt=row["attempt"], exit_reason=reason, resumable=True)
    store.record(db, by, "cancel", job_id, status="running")
    if row.get("external_id"):  # on Slurm: scancel (its worker also sees the row cancelled at its next heartbeat)
        try:
            slurm.scancel(row["external_id"])
            _note(home, job_id, f"[scheduler] {reason}; Slurm job {row['external_id']} cancelled (scancel)")
        except JobError as exc:
            _note(home, job_id, f"[scheduler] {reason}; {exc}")
    elif len(multi.split_devices(row["device"])) > 1 and row["pgid"]:  # the launcher and every rank's group
        gone = multi.stop_job_processes(job_id, row["pgid"], grace, reap)
        _note(home, job_id, f"[scheduler] {reason}" + ("" if gone else "; some processes did not exit"))
    elif row["pgid"] and (worker_alive(row["pid"], job_id) or group_alive(row["pgid"])):
        gone = stop_group(row["pgid"], grace, reap)
        _note(home, job_id, f"[scheduler] {reason}" + ("" if gone else "; some processes did not exit"))
    else:
        _note(home, job_id, f"[scheduler] {reason}")
    return store.get(db, job_id)


def _note(home: Path, job_id: str, message: str) -> None:
    try:
        store.append_log(store.job_dir(home, job_id), message)
    except OSError:
        pass


def worker_env(settings: Settings, cuda_visible: str, device: str) -> dict[str, str]:
    """The worker's environment: ours, plus the settings (as FRBIO_* variables), its device and its GPU."""
    env = dict(os.environ)
    values = settings.model_dump(mode="json")
    values.update(home=str(settings.home_path), data=[str(p) for p in settings.data_paths])  # cwd differs
    for name, value in values.items():
        if value is None:
            env.pop("FRBIO_" + name.upper(), None)
            continue
        env["FRBIO_" + name.upper()] = (json.dumps(value) if isinstance(value, (list, dict))
                                        else ("1" if value else "0") if isinstance(value, bool) else str(value))
    env.update(FRBIO_JOB_DEVICE=device, CUDA_VISIBLE_DEVICES=cuda_visible, PYTHONUNBUFFERED="1",
               TOKENIZERS_PARALLELISM=env.get("TOKENIZERS_PARALLELISM", "false"))
    return env


# Called as fn(db, home, settings) after each tick of the active scheduler ("module:function"): pipelines of jobs
# (backend.study) advance whenever a scheduler runs. A failing hook is logged, never raised.
POST_TICK_HOOKS: list[str] = ["backend.study.pipeline:advance_all"]


def run_post_tick_hooks(scheduler: "Scheduler") -> None:
    import importlib

    for hook in POST_TICK_HOOKS:
        try:
            module, name = hook.split(":")
            getattr(importlib.import_module(module), name)(scheduler.db, scheduler.home, scheduler.settings)
        except Exception:  # the scheduler must survive anything a hook does
            log.exception("post-tick hook %s failed", hook)


# --------------------------------------------------------------------------------------------------- scheduler

def fifo(rows: list[dict]) -> list[dict]:
    """Oldest queued first, whoever owns it (rows arrive ordered by queued_at). Not the default: see `fair`."""
    return rows


class Scheduler:
    """Launches queued jobs onto free device slots. `start()` runs `tick()` every second in a daemon thread;
    nothing runs on construction. Stopping or discarding the scheduler never stops a running job."""

    def __init__(self, settings: Settings, slots: dict[str, int] | int | None = None,
                 devices: dict[str, str] | list[str] | None = None, grace: float = GRACE_S,
                 stale_after: float = STALE_S, interval: float = TICK_S, policy: Callable | None = None):
        self.settings = settings
        self.home = settings.home_path
        self.db = registry.connect(settings.db_path)   # its own connection: the thread writes on it
        if devices is None:
            devices = discover_devices()
        elif not isinstance(devices, dict):
            devices = {d: (d.split(":")[1] if d.startswith("cuda:") else "") for d in devices}
        self.devices: dict[str, str] = devices
        wanted = parse_slots(getattr(settings, "job_slots", None) or os.environ.get("FRBIO_JOB_SLOTS"))
        if isinstance(slots, int):
            wanted = {"*": slots}
        elif slots:
            wanted.update(slots)
        self.slots = {d: max(0, int(wanted.get(d, wanted.get("*", 1)))) for d in self.devices}
        self.grace, self.stale_after, self.interval = grace, stale_after, interval
        self.policy = policy or self.fair
        self._children: dict[str, subprocess.Popen] = {}
        self._slurm_polled: dict[tuple[str, int], float] = {}
        self._lock = threading.RLock()
        self._lock_file = None
        self._wake = threading.Event()
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None

    # ---- the active-scheduler lock
    @property
    def active(self) -> bool:
        return self._lock_file is not None

    def try_activate(self) -> bool:
        """Become this home's launching scheduler if none is (non-blocking flock); True when we are."""
        with self._lock:
            if self._lock_file is None:
                path = self.home / "jobs" / LOCK_FILE
                path.parent.mkdir(parents=True, exist_ok=True)
                f = open(path, "a+")
                try:
                    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    f.close()
                    return False
                f.seek(0)
                f.truncate()
                f.write(f"{os.getpid()}\n")
                f.flush()
                self._lock_file = f
            return True

    def deactivate(self) -> None:
        with self._lock:
            if self._lock_file is not None:
                fcntl.flock(self._lock_file, fcntl.LOCK_UN)
                self._lock_file.close()
                self._lock_file = None

    # ---- the loop
    def start(self) -> "Scheduler":
        """Reconcile, then tick every `interval` s in a daemon thread (idempotent)."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return self
            self.reconcile()
            self._halt.clear()
            self._thread = threading.Thread(target=self._loop, name="frbio-scheduler", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop ticking and release the lock; running jobs go on (a later scheduler reconciles them)."""
        self._halt.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.deactivate()

    def wake(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        while not self._halt.is_set():
            try:
                self.tick()
            except Exception:  # the loop must survive anything (a locked disk, a bad row)
                log.exception("scheduler tick failed")
            self._wake.wait(self.interval)
            self._wake.clear()

    def tick(self) -> list[str]:
        """One round: reap, reconcile, and (if this is the active scheduler) launch. Returns launched ids."""
        with self._lock:
            self._reap()
            self.reconcile()
            if not self.try_activate():
                return []
            launched = self._launch_ready()
        run_post_tick_hooks(self)
        return launched

    def fair(self, rows: list[dict]) -> list[dict]:
        """The default queue policy: round-robin between owners, FIFO for each owner (jobs.fairness)."""
        running, last_start = fairness.owner_stats(self.db)
        return fairness.fair_order(rows, running, last_start)

    # ---- state
    def _reap(self) -> None:
        with self._lock:
            for job_id, proc in list(self._children.items()):
                if proc.poll() is not None:
                    del self._children[job_id]

    def busy(self) -> dict[str, int]:
        """Occupied slots per device: running rows, plus our own workers still exiting after a final status."""
        self._reap()
        out = {d: 0 for d in self.devices}
        for device, n in store.running_counts(self.db).items():
            for d in multi.split_devices(device):   # a job on several GPUs holds a slot on each
                if d in out:
                    out[d] += n
        running = {r["id"] for r in store.list_jobs(self.db, status="running", limit=None)}
        with self._lock:
            for job_id, proc in self._children.items():
                if job_id not in running:
                    for d in multi.split_devices(getattr(proc, "frbio_device", None)):
                        if d in out:
                            out[d] += 1
        return out

    def usage(self) -> list[dict]:
        """Per device: name, memory used/total, utilisation (nvidia-smi for GPUs, /proc for the CPU), jobs, slots."""
        return device_usage(self.devices, self.slots, self.busy())

    def free_slots(self) -> dict[str, int]:
        busy = self.busy()
        return {d: max(0, self.slots[d] - busy[d]) for d in self.devices}

    def candidates(self, job: dict, kind: JobKind) -> list[str]:
        """Devices this job may take: the one it asked for, or for 'any' the devices of the first device type
        of its kind that this machine has (a training job never falls back to the CPU on a GPU server)."""
        if job["requested_device"] != "any":
            return [job["requested_device"]] if job["requested_device"] in self.devices else []
        for kind_type in kind.devices:
            found = [d for d in self.devices if d.split(":")[0] == kind_type and self.slots[d] > 0]
            if found:
                return found
        return []

    # ---- launching
    def _launch_ready(self) -> list[str]:
        if self.settings.slurm:
            return self._submit_to_slurm()
        free = self.free_slots()
        launched = []
        for job in self.policy(store.list_jobs(self.db, status="queued", order="queued_at, id", limit=None)):
            if not any(free.values()):
                break
            try:
                kind = get_kind(job["kind"])
            except JobError as exc:
                store.set_status(self.db, job["id"], "failed", expect=("queued",), exit_reason=str(exc))
                continue
            devices = self.candidates(job, kind)
            if not devices:
                store.set_status(self.db, job["id"], "failed", expect=("queued",), resumable=1, exit_reason=(
                    f"no device for it here: asked for {job['requested_device']}, this server has "
                    f"{', '.join(d for d in self.devices if self.slots[d]) or 'no slot'}"))
                continue
            try:
                gpus = scaleout_launch.gpus_requested(job["config"]) if "cuda" in kind.devices else 1
            except JobError as exc:
                store.set_status(self.db, job["id"], "failed", expect=("queued",), exit_reason=str(exc))
                continue
            if gpus > 1:
                if self._launch_multi(job, devices, gpus, free):
                    launched.append(job["id"])
                continue
            for device in devices:
                if free[device] > 0 and store.claim(self.db, job["id"], device, self.slots[device]):
                    free[device] -= 1
                    self._spawn(job["id"], device)
                    launched.append(job["id"])
                    break
        return launched

    def _launch_multi(self, job: dict, devices: list[str], gpus: int, free: dict[str, int]) -> bool:
        """A job on `gpus` GPUs: claim a slot on each of `gpus` free GPUs at once and spawn it; when that many are
        not free, reserve the free ones among its candidates (zeroed in `free`), so no job behind it takes them."""
        cuda = [d for d in devices if d.startswith("cuda:")]
        if job["requested_device"] != "any" or len(cuda) < gpus:
            why = (f"a job on {gpus} GPUs takes any free GPUs: submit it with device 'any'"
                   if job["requested_device"] != "any" else
                   f"it asks for {gpus} GPUs; this server has {len(cuda)} "
                   f"({', '.join(cuda) or 'no GPU'})")
            store.set_status(self.db, job["id"], "failed", expect=("queued",), resumable=1, exit_reason=why)
            return False
        chosen = multi.place(cuda, free, gpus)
        if chosen is None or not multi.claim_devices(self.db, job["id"], chosen, self.slots):
            for d in cuda:   # waits at the head: what is free now is kept for it
                free[d] = 0
            return False
        for d in chosen:
            free[d] -= 1
        self._spawn(job["id"], ",".join(chosen))
        return True

    def launch_plan(self, job_id: str, device: str) -> tuple[list[str], dict[str, str]]:
        """The argument list and environment that start the job on `device` ('cpu', 'cuda:1' or, for a job on
        several GPUs, 'cuda:0,cuda:1'): `python -m jobs.worker ID`, or accelerate's launcher (writing
        `<job_dir>/accelerate.yaml`) when there are several GPUs. CUDA_VISIBLE_DEVICES lists the job's GPUs."""
        names = multi.split_devices(device)
        env = worker_env(self.settings, ",".join(self.devices[d] for d in names), device)
        if len(names) <= 1:
            return [sys.executable, "-m", "jobs.worker", job_id], env
        row = store.get(self.db, job_id)
        path = scaleout_launch.write_accelerate_config(store.job_dir(self.home, job_id), row["config"] or {},
                                                       len(names), port=scaleout_launch.free_port(), db=self.db,
                                                       home=self.home)
        return scaleout_launch.worker_command(job_id, path), env

    def _spawn(self, job_id: str, device: str) -> None:
        folder = store.job_dir(self.home, job_id)
        folder.mkdir(parents=True, exist_ok=True)
        row = store.get(self.db, job_id)
        try:
            argv, env = self.launch_plan(job_id, device)
            with open(folder / store.LOG_FILE, "ab") as out:
                proc = subprocess.Popen(argv, cwd=str(PROJECT_ROOT), env=env,
                                        stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                        start_new_session=True, close_fds=True)
        except (OSError, JobError) as exc:
            store.finish(self.db, job_id, "failed", attempt=row["attempt"], resumable=True,
                         exit_reason=f"could not start the worker: {exc}")
            return
        proc.frbio_device = device
        self._children[job_id] = proc
        store.update(self.db, job_id, expect=("running",), if_attempt=row["attempt"], pid=proc.pid, pgid=proc.pid)
        log.info("job %s started on %s (pid %s)", job_id, device, proc.pid)

    def _submit_to_slurm(self) -> list[str]:
        """Slurm mode: every queued job, in policy order, is submitted with sbatch (Slurm does the queueing)."""
        submitted = []
        for job in self.policy(store.list_jobs(self.db, status="queued", order="queued_at, id", limit=None)):
            try:
                kind = get_kind(job["kind"])
            except JobError as exc:
                store.set_status(self.db, job["id"], "failed", expect=("queued",), exit_reason=str(exc))
                continue
            if not slurm.claim(self.db, job["id"]):
                continue
            row = store.get(self.db, job["id"])
            env = worker_env(self.settings, "", slurm.DEVICE)
            for name in ("CUDA_VISIBLE_DEVICES", "FRBIO_JOB_DEVICE"):   # Slurm sets the GPUs; the script the device
                env.pop(name, None)
            try:
                slurm_id = slurm.submit_job(self.settings, row, kind.devices, project_root=PROJECT_ROOT, env=env)
            except JobError as exc:
                store.finish(self.db, job["id"], "failed", attempt=row["attempt"], resumable=True, exit_reason=str(exc))
                _note(self.home, job["id"], f"[scheduler] {exc}")
                continue
            if not store.update(self.db, job["id"], expect=("running",), if_attempt=row["attempt"],
                                external_id=slurm_id, message=f"submitted to Slurm as job {slurm_id}"):
                try:   # cancelled while sbatch ran
                    slurm.scancel(slurm_id)
                except JobError as exc:
                    log.warning("job %s: %s", job["id"], exc)
                continue
            _note(self.home, job["id"], f"[scheduler] attempt {row['attempt']} submitted to Slurm as job {slurm_id} "
                                        f"({slurm.SCRIPT_FILE})")
            log.info("job %s submitted to Slurm as %s", job["id"], slurm_id)
            submitted.append(job["id"])
        return submitted

    def _slurm_verdict(self, row: dict) -> str | None:
        """Why a running Slurm row must be marked failed, or None: Slurm still has it (PENDING, RUNNING, ...), cannot
        be asked right now, or was asked less than `slurm_poll_s` ago."""
        if not row.get("external_id"):
            if store.now() - (row["started_at"] or 0) <= slurm.SUBMIT_TIMEOUT_S * 2:
                return None
            return "never submitted to Slurm (no Slurm job id)"
        t = store.now()
        key = (row["id"], row["attempt"])
        if t - self._slurm_polled.get(key, float("-inf")) < self.settings.slurm_poll_s:
            return None
        self._slurm_polled[key] = t
        state = slurm.job_state(row["external_id"])
        if state == slurm.GONE and t - (row["started_at"] or 0) <= slurm.SUBMIT_TIMEOUT_S:
            state = None   # just submitted: the controller may not list it yet
        if state is None or state not in slurm.TERMINAL_STATES:
            ours = ("submitting to Slurm", "PENDING on Slurm", f"submitted to Slurm as job {row['external_id']}")
            if state in ("PENDING", "RUNNING") and row["message"] in ours and row["message"] != f"{state} on Slurm":
                store.update(self.db, row["id"], expect=("running",), if_attempt=row["attempt"],
                             message=f"{state} on Slurm")   # until the worker reports its own progress
            return None
        return (f"Slurm job {row['external_id']} ended {state} without a final status" if state != slurm.GONE else
                f"Slurm job {row['external_id']} is gone (neither squeue nor sacct knows it) without a final status")

    # ---- reconcile, cancel, resume
    def reconcile(self) -> list[str]:
        """Running rows whose worker is gone (without a final status) or silent for `stale_after` s become
        failed + resumable ("worker died (no heartbeat)"); what is left of their process group is killed."""
        failed = []
        self._reap()
        for row in store.list_jobs(self.db, status="running", limit=None):
            if row.get("external_id") or row["device"] == slurm.DEVICE:   # Slurm's word, not a local pid
                why = self._slurm_verdict(row)
                if why and store.finish(self.db, row["id"], "failed", attempt=row["attempt"], exit_reason=why,
                                        resumable=True):
                    _note(self.home, row["id"], f"[scheduler] {why}")
                    log.warning("job %s: %s", row["id"], why)
                    failed.append(row["id"])
                continue
            age = store.now() - (row["heartbeat"] or row["started_at"] or 0)
            several = len(multi.split_devices(row["device"])) > 1
            stale_after = self.stale_after
            if several and row["heartbeat"] == row["started_at"]:  # rank 0 not up yet: the launcher is importing
                stale_after += multi.LAUNCH_GRACE_S
            with self._lock:
                ours = row["id"] in self._children
            if row["pid"] is None:
                if ours or age <= self.stale_after:
                    continue
                why = "worker died (no heartbeat): it never started"
            elif not worker_alive(row["pid"], row["id"]):
                why = f"worker died (no heartbeat): process {row['pid']} is gone without a final status"
            elif age > stale_after:
                why = f"worker died (no heartbeat): silent for {age:.0f} s; its processes were killed"
            else:
                continue
            if store.finish(self.db, row["id"], "failed", attempt=row["attempt"], exit_reason=why, resumable=True):
                signal_group(row["pgid"], signal.SIGKILL)
                if several:
                    multi.kill_job_processes(row["id"], row["pgid"])
                _note(self.home, row["id"], f"[scheduler] {why}")
                log.warning("job %s: %s", row["id"], why)
                failed.append(row["id"])
        return failed

    def cancel(self, job_id: str, by: str | None = None) -> dict:
        row = cancel(self.db, self.home, job_id, by=by, grace=self.grace, reap=self._reap)
        self.wake()
        return row

    def resume(self, job_id: str, by: str | None = None) -> dict:
        row = store.requeue(self.db, job_id, actor=by)
        _note(self.home, job_id, f"[scheduler] resumed{f' by {by}' if by else ''}: queued again as attempt "
                                 f"{row['attempt']}")
        self.wake()
        return row

    def delete(self, job_id: str, by: str | None = None) -> dict:
        return store.delete(self.db, self.home, job_id, actor=by)

    def submit(self, kind: str, config, owner: str | None = None, device: str = "any") -> str:
        job_id = store.submit(self.db, self.home, kind, config, owner=owner, device=device)
        self.wake()
        return job_id


def scheduler_running(home: Path) -> bool:
    """Whether some process holds this home's active-scheduler lock (an app or `jobs serve` is up)."""
    path = Path(home) / "jobs" / LOCK_FILE
    if not path.exists():
        return False
    with open(path, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(f, fcntl.LOCK_UN)
        return False
