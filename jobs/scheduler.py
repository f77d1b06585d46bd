"""Slots per device, a fair queue, dependencies, and dispatch to a launcher; reconcile, cancel, resume.

Devices are discovered once (jobs.devices), one slot each by default (`slots=` or FRBIO_JOB_SLOTS="cpu=2,cuda:0=1").
Each tick (every second from `start()`'s thread): reap finished workers, `reconcile()` (a running row whose
launcher says its worker is gone becomes failed + resumable), then walk the queue in the order of `policy`
(jobs.fairness: round-robin between owners, FIFO for each owner). A job waits while a job it depends on is
unfinished (jobs.deps), and fails when one failed; a ready job gets its config's references filled in, its kind's
`Resources`, and the first free slot among the devices it may use, and its launcher starts it:
`ProcessLauncher` on one device, `AccelerateLauncher` on several GPUs (claimed together; while it waits at the
head of the queue it reserves the GPUs that free up), `SlurmLauncher` when the settings say Slurm.

Only one scheduler per home launches jobs: the active one holds an flock on `<home>/jobs/.scheduler.lock` (released
by the kernel when its process dies, even by kill -9); others, and the CLI, see that (`scheduler_running`), and a
passive scheduler takes over at its next tick once the lock is free. The scheduler is the registry's only writer for
jobs: a worker reports through its folder (jobs/channel.py) and every scheduler's reconcile applies it
(jobs/ingest.py). Jobs never depend on a scheduler running: a new one finds the reports of jobs that ran meanwhile.
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
import subprocess
import sys
import threading
from contextlib import contextmanager
from typing import Any, Callable

from frbio_core import registry
from frbio_core.settings import PROJECT_ROOT, Settings
from jobs import admission, control, deps, fairness, ingest, kinds, store
from jobs.channel import ATTEMPT_ENV
from jobs.devices import device_usage, discover_devices, parse_slots
from jobs.kinds import JobKind, Resources, get_kind
from jobs.launchers import AccelerateLauncher, ProcessLauncher, SlurmLauncher, worker_env
from jobs.launchers import multiprocess as multi
from jobs.launchers.base import note
from jobs.processes import GRACE_S
from jobs.store import JobError
from jobs.lock import LOCK_FILE, mode, scheduler_running  # noqa: F401  (scheduler_running: imported from here)

log = logging.getLogger("frbio.jobs")
STALE_S = 15.0         # a running job silent this long is dead
TICK_S = 1.0


class Scheduler:
    """Launches queued jobs onto free device slots. `start()` runs `tick()` every second in a daemon thread;
    nothing runs on construction. Stopping or discarding the scheduler never stops a running job. `context` is
    what the job kinds' checks and resource answers get (the feature layer's Studio; made from the settings
    when not given)."""
    _asks: dict | None = None     # what the jobs submitted now ask a cluster for (`asking`)

    def __init__(self, settings: Settings, slots: dict[str, int] | int | None = None,
                 devices: dict[str, str] | list[str] | None = None, grace: float = GRACE_S,
                 stale_after: float = STALE_S, interval: float = TICK_S, policy: Callable | None = None,
                 context: Any = None):
        self.settings = settings
        self.home = settings.home_path
        self.project_root = PROJECT_ROOT
        self.db = registry.connect(settings.db_path)   # its own connection: the thread writes on it
        self._context = context
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
        self.launchers = [SlurmLauncher(self), AccelerateLauncher(self), ProcessLauncher(self)]
        self._children: dict[str, subprocess.Popen] = {}
        self._waiting: dict[str, str] = {}
        self._held_why: dict[str, str | None] = {}
        self._lock = threading.RLock()
        self._lock_file = None
        self._wake = threading.Event()
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def context(self) -> Any:
        if self._context is None:
            self._context = kinds.make_context(self.settings)
        return self._context

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
                f.truncate()   # who holds it, read by `running_scheduler` (a command run the other way is refused)
                f.write(json.dumps({"pid": os.getpid(), "mode": mode(self.settings),
                                    "command": " ".join(sys.argv)[:300]}) + "\n")
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
            self.reconcile()   # reaps too
            if not self.try_activate():
                return []
            return self._launch_ready()

    def fair(self, rows: list[dict]) -> list[dict]:
        """The default queue policy: round-robin between owners, FIFO for each owner (jobs.fairness)."""
        running, last_start = fairness.owner_stats(self.db)
        return fairness.fair_order(rows, running, last_start)

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

    def launcher_for(self, row: dict):
        return next(launcher for launcher in self.launchers if launcher.handles(row))

    # ---- launching
    def _fail(self, job: dict, reason: str, resumable: bool) -> None:
        if store.set_status(self.db, job["id"], "failed", expect=("queued",), resumable=int(resumable),
                            exit_reason=reason):
            note(self.home, job["id"], f"[scheduler] {reason}")

    def _prepare(self, job: dict) -> tuple[JobKind, Resources] | None:
        """The job's kind and resources once it may start; None while it waits (or after failing it)."""
        try:
            kind = get_kind(job["kind"])
        except JobError as exc:
            self._fail(job, str(exc), resumable=False)
            return None
        state, why = deps.waiting(self.db, job)
        if state == "waiting":
            if self._waiting.get(job["id"]) != why:
                self._waiting[job["id"]] = why
                store.update(self.db, job["id"], expect=("queued",), message=why)
            return None
        self._waiting.pop(job["id"], None)
        if state == "blocked":
            self._fail(job, f"cannot start: {why}", resumable=True)
            return None
        try:
            cfg = kind.validate(deps.resolve(self.db, job["config"]))
            return kind, kind.resources(self.context, cfg)
        except Exception as exc:  # a bad config or resource answer fails this job, never the scheduler
            self._fail(job, str(exc) if isinstance(exc, JobError) else f"{type(exc).__name__}: {exc}",
                       resumable=False)
            return None

    def _launch_ready(self) -> list[str]:
        slurm = self.settings.slurm
        free = {} if slurm else self.free_slots()
        launched = []
        for job in self.policy(store.list_jobs(self.db, status="queued", order="queued_at, id", limit=None)):
            no_room = not slurm and not any(free.values())
            if no_room and not job.get("depends_on"):
                continue
            prepared = self._prepare(job)   # also moves waiting and blocked dependents on
            if prepared is None or no_room:
                continue
            kind, resources = prepared
            if self._held(job, resources):
                continue
            if slurm:
                if self.launchers[0].start(job, [], resources):
                    launched.append(job["id"])
                continue
            devices = self.candidates(job, kind)
            if not devices:
                self._fail(job, f"no device for it here: asked for {job['requested_device']}, this server has "
                                f"{', '.join(d for d in self.devices if self.slots[d]) or 'no slot'}", True)
                continue
            gpus = resources.gpus if resources.uses_gpus() else 1
            if gpus > 1:
                if self._launch_multi(job, devices, gpus, free):
                    launched.append(job["id"])
                continue
            for device in devices:
                if free[device] > 0 and store.claim(self.db, job["id"], device, self.slots[device]):
                    free[device] -= 1
                    self.launcher_for({"device": device}).start(job, [device], resources)
                    launched.append(job["id"])
                    break
        return launched

    def _held(self, job: dict, resources: Resources) -> bool:
        """Whether the job waits for its owner's per-user limits (jobs.admission); its message says why."""
        on_gpu = resources.uses_gpus() and (self.settings.slurm or any(d.startswith("cuda") for d in self.devices))
        why = admission.held(self.db, self.settings, job, on_gpu)
        if why and self._held_why.get(job["id"]) != why:
            store.update(self.db, job["id"], expect=("queued",), message=why)
        self._held_why[job["id"]] = why
        return why is not None

    def _launch_multi(self, job: dict, devices: list[str], gpus: int, free: dict[str, int]) -> bool:
        """A job on `gpus` GPUs: claim a slot on each of `gpus` free GPUs at once and spawn it; when that many are
        not free, reserve the free ones among its candidates (zeroed in `free`), so no job behind it takes them."""
        cuda = [d for d in devices if d.startswith("cuda:")]
        if job["requested_device"] != "any" or len(cuda) < gpus:
            why = (f"a job on {gpus} GPUs takes any free GPUs: submit it with device 'any'"
                   if job["requested_device"] != "any" else
                   f"it asks for {gpus} GPUs; this server has {len(cuda)} ({', '.join(cuda) or 'no GPU'})")
            self._fail(job, why, resumable=True)
            return False
        chosen = multi.place(cuda, free, gpus)
        if chosen is None or not multi.claim_devices(self.db, job["id"], chosen, self.slots):
            for d in cuda:   # waits at the head: what is free now is kept for it
                free[d] = 0
            return False
        for d in chosen:
            free[d] -= 1
        self.launcher_for({"device": ",".join(chosen)}).start(job, chosen, None)
        return True

    def resources_of(self, row: dict) -> Resources:
        kind = get_kind(row["kind"])
        return kind.resources(self.context, kind.validate(deps.resolve(self.db, row["config"])))

    def launch_plan(self, job_id: str, device: str) -> tuple[list[str], dict[str, str]]:
        """The argument list and environment that start the job on `device` ('cpu', 'cuda:1' or, for a job on
        several GPUs, 'cuda:0,cuda:1'), from its launcher. CUDA_VISIBLE_DEVICES lists the job's GPUs."""
        names = multi.split_devices(device)
        env = worker_env(self.settings, ",".join(self.devices[d] for d in names), device)
        row = {**store.get(self.db, job_id), "device": device}
        launcher = self.launcher_for(row)
        resources = self.resources_of(row) if len(names) > 1 else None
        return launcher.command(row, names, resources), env

    def _spawn(self, job_id: str, device: str) -> None:
        folder = store.job_dir(self.home, job_id)
        folder.mkdir(parents=True, exist_ok=True)
        row = store.get(self.db, job_id)
        try:
            ingest.prepare(self.db, self.home, job_id)
            argv, env = self.launch_plan(job_id, device)
            env[ATTEMPT_ENV] = str(row["attempt"])
            with open(folder / store.LOG_FILE, "ab") as out:
                proc = subprocess.Popen(argv, cwd=str(self.project_root), env=env, stdin=subprocess.DEVNULL,
                                        stdout=out, stderr=subprocess.STDOUT, start_new_session=True, close_fds=True)
        except (OSError, JobError) as exc:
            store.finish(self.db, job_id, "failed", attempt=row["attempt"], resumable=True,
                         exit_reason=f"could not start the worker: {exc}")
            return
        proc.frbio_device = device
        self._children[job_id] = proc
        store.update(self.db, job_id, expect=("running",), if_attempt=row["attempt"], pid=proc.pid, pgid=proc.pid)
        log.info("job %s started on %s (pid %s)", job_id, device, proc.pid)

    # ---- reconcile, cancel, resume
    def reconcile(self) -> list[str]:
        """Apply the workers' reports (jobs/ingest.py); a running row whose worker is gone (without a final status)
        or silent for `stale_after` s becomes failed + resumable ("worker died ..."), its processes killed."""
        failed = []
        self._reap()
        for row in store.list_jobs(self.db, status="running", limit=None):
            if ingest.ingest(self.db, self.home, row):   # the worker's reports first: its beat, its final status
                continue
            row = store.get(self.db, row["id"])
            launcher = self.launcher_for(row)
            why = launcher.verdict(row)   # then, unless it finished while we looked, a dead or silent worker fails
            if why and not ingest.ingest(self.db, self.home, row) and store.finish(
                    self.db, row["id"], "failed", attempt=row["attempt"], exit_reason=why, resumable=True):
                launcher.kill(row)
                note(self.home, row["id"], f"[scheduler] {why}")
                log.warning("job %s: %s", row["id"], why)
                failed.append(row["id"])
        ingest.trailing(self.db, self.home)
        return failed

    def cancel(self, job_id: str, by: str | None = None) -> dict:
        row = control.cancel(self.db, self.home, job_id, by=by, grace=self.grace, reap=self._reap)
        self.wake()
        return row

    def resume(self, job_id: str, by: str | None = None) -> dict:
        row = control.resume(self.db, self.home, job_id, by=by)
        self.wake()
        return row

    def delete(self, job_id: str, by: str | None = None) -> dict:
        return control.delete(self.db, self.home, job_id, by=by)

    @contextmanager
    def asking(self, resources: dict | None):
        """Within it, every job submitted through this scheduler asks a cluster for `resources` ({cpus, mem,
        time}) over its kind's defaults (one user action's jobs: a study's parts too)."""
        before, self._asks = self._asks, resources or None
        try:
            yield
        finally:
            self._asks = before

    def submit(self, kind: str, config, owner: str | None = None, device: str = "any", **options) -> str:
        """Submit a job (checked against the kind's pre-launch check with this scheduler's context)."""
        def admit(spec: JobKind, cfg, dev: str) -> None:
            gpus = spec.resources(self.context, cfg).gpus if cfg is not None else 1
            admission.check_submit(self.db, self.settings, self.devices, self.slots, owner, dev, spec.devices, gpus)

        options.setdefault("resources", self._asks)
        job_id = store.submit(self.db, self.home, kind, config, owner=owner, device=device, context=self.context,
                              admit=admit, **options)
        self.wake()
        return job_id
