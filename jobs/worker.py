"""`python -m jobs.worker JOB_ID`: run one job in this process and write its final status itself, so the job
outlives whoever launched it (the app, the CLI).

Launched by the scheduler in its own process session with stdout/stderr on the job's log.txt. It records its pid
and process group, heartbeats every 2 s from a thread (on its own SQLite connection), turns SIGTERM into a clean
'cancelled' exit, runs the kind's runner, then writes 'succeeded' + result or 'failed' + the exception's message
(the traceback goes to log.txt). Run by hand on a queued job, it takes the job itself (no slot accounting).
Exit status: 0 succeeded, 1 failed, 2 nothing to run, 143 cancelled.

Under `accelerate launch` (a job on several GPUs, jobs.launchers) each of the N processes runs this module: rank 0
(RANK/LOCAL_RANK 0 or unset) does all of the above, the row keeping the launcher's pid and process group; the other
ranks run the runner only and write nothing about the job. On Slurm (the row has an `external_id`, or the device
'slurm'), the worker runs on a compute node: it writes no pid (local pids mean nothing to the app's host) and
refuses to run an attempt other than the one it was submitted for (FRBIO_JOB_ATTEMPT).
"""
from __future__ import annotations

import argparse
import faulthandler
import os
import signal
import sys
import threading
import traceback

HEARTBEAT_S = 2.0
HARD_STOP_S = 2.0   # after SIGTERM, exit by then even if the runner has not unwound (the scheduler kills at 3 s)


class Heartbeat(threading.Thread):
    """Stamps the job's heartbeat every `interval` seconds; calls `on_lost(status)` once if the row stops being
    this worker's (cancelled from another process, marked failed by a reconcile, resumed elsewhere)."""

    def __init__(self, db_path, job_id: str, attempt: int, interval: float = HEARTBEAT_S, on_lost=None):
        super().__init__(name=f"heartbeat-{job_id}", daemon=True)
        self.db_path, self.job_id, self.attempt, self.interval = db_path, job_id, attempt, interval
        self.on_lost = on_lost
        self._halt = threading.Event()

    def run(self) -> None:
        from frbio_core import registry
        from jobs import store

        db = registry.connect(self.db_path)
        while not self._halt.wait(self.interval):
            try:
                if store.heartbeat(db, self.job_id, self.attempt):
                    continue
                if self._halt.is_set():
                    return
                row = store.find(db, self.job_id)
                if self.on_lost:
                    self.on_lost(row["status"] if row else "deleted")
                return
            except Exception as exc:  # a failed stamp is retried at the next beat; the scheduler allows 15 s
                print(f"heartbeat: {type(exc).__name__}: {exc}", flush=True)

    def stop(self) -> None:
        self._halt.set()


def _take_job(db, store, job_id: str, device: str) -> tuple[dict | None, str]:
    row = store.find(db, job_id)
    if row is None:
        return None, f"unknown job '{job_id}'"
    if row["status"] == "queued":  # run by hand, outside any scheduler
        store.claim(db, job_id, device, slots=1_000_000)
        row = store.get(db, job_id)
    if row["status"] != "running":
        return None, f"job {job_id} is {row['status']}: nothing to run"
    from jobs.launchers.multiprocess import is_ancestor
    from jobs.launchers.slurm import DEVICE as SLURM
    from jobs.processes import worker_alive

    fields = {"pid": os.getpid(), "pgid": os.getpgid(0), "device": device}
    if row.get("external_id") or row["device"] == SLURM:
        submitted = os.environ.get("FRBIO_JOB_ATTEMPT")
        if submitted and submitted != str(row["attempt"]):
            return None, f"job {job_id} is at attempt {row['attempt']}; this Slurm job was for attempt {submitted}"
        slurm_id = os.environ.get("SLURM_JOB_ID")
        if row.get("external_id") and slurm_id and slurm_id != row["external_id"]:
            return None, f"job {job_id} belongs to Slurm job {row['external_id']}, not to this one ({slurm_id})"
        fields = {}
    elif row["pid"] and is_ancestor(row["pid"]):  # started by accelerate's launcher: the row keeps its pid/group
        fields = {"device": device}
    elif row["pid"] and row["pid"] != os.getpid() and worker_alive(row["pid"], job_id):
        return None, f"job {job_id} is already running in process {row['pid']}"
    if not store.update(db, job_id, expect=("running",), if_attempt=row["attempt"], heartbeat=store.now(),
                        **fields):
        return None, f"job {job_id} changed before it could start"
    return store.get(db, job_id), ""


def _prepare(db, settings, row: dict):
    """(kind, config, context) of the job: its config's references to other jobs' results filled in and validated
    by its kind, and the feature layer's context; a config that had references is also checked (as at submit)."""
    from jobs import deps
    from jobs.kinds import get_kind, make_context

    kind = get_kind(row["kind"])
    cfg = kind.validate(deps.resolve(db, row["config"]))
    context = make_context(settings)
    if deps.referenced(row["config"]) and kind.check is not None:
        kind.check(context, cfg)
    return kind, cfg, context


def _run_rank(db, settings, store, job_id: str, rank: int) -> int:
    """A rank other than 0 of a job under accelerate: run the runner on the job's config, write nothing about the
    job (rank 0 owns the row, heartbeat, metrics and final status). Exit status 0 done, 1 failed, 2 nothing to run.
    SIGTERM keeps its default action (torchrun and a cancel stop the ranks with it)."""
    from jobs.reporter import RankReporter

    row = store.find(db, job_id)
    if row is None or row["status"] != "running":
        print(f"worker rank {rank}: job {job_id} is {row and row['status']}: nothing to run", flush=True)
        return 2
    if row.get("external_id") or row["device"] == "slurm":
        row = {**row, "device": os.environ.get("FRBIO_JOB_DEVICE") or "cpu"}
    job = RankReporter(db, settings.home_path, row, rank=rank)
    job.log(f"worker pid {os.getpid()}: {job.kind} attempt {job.attempt} (LOCAL_RANK="
            f"{os.environ.get('LOCAL_RANK', '?')}, WORLD_SIZE={os.environ.get('WORLD_SIZE', '?')})")
    try:
        kind, cfg, context = _prepare(db, settings, row)
        kind.run(context, cfg, job)
    except BaseException:  # noqa: BLE001 — torchrun sees the exit status and stops the other ranks
        traceback.print_exc(file=sys.stdout)
        return 1
    return 0


DISK_FULL = ("no space left on device", "os error 28", "errno 28", "file too large", "os error 27",
             "disk quota exceeded")


def disk_full(exc: BaseException, home) -> bool:
    """Whether a failure comes from a full disk (ENOSPC, EFBIG, EDQUOT anywhere in the exception chain, as errno or
    in a library's message), or happened while less than 64 MiB were left under `home` (torch.save's is obscure)."""
    import errno
    import shutil

    seen = exc
    while seen is not None:
        if getattr(seen, "errno", None) in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
            return True
        if any(text in str(seen).lower() for text in DISK_FULL):
            return True
        seen = seen.__cause__ or seen.__context__
    try:
        return shutil.disk_usage(home).free < 64 * 2 ** 20
    except OSError:
        return False


def _stopped_by_slurm(db, store, job, reason: str | None) -> tuple[str, str | None]:
    """(status, reason) of a Slurm job stopped by a signal: cancelled when the app cancelled it (its cancel marks
    the row first), else stopped by Slurm (scancel behind the app's back, the time limit, preemption): failed
    (resumable) with Slurm's state and reason."""
    from jobs.launchers.slurm_query import job_state

    current = store.find(db, job.job_id)
    if current is None or current["status"] != "running":
        return "cancelled", reason
    slurm_id = os.environ.get("SLURM_JOB_ID") or current.get("external_id") or "?"
    state, why = job_state(slurm_id)
    said = ", ".join(w for w in (state if state and state not in ("RUNNING", "COMPLETING") else "", why) if w)
    return "failed", (f"stopped by Slurm (job {slurm_id}" + (f": {said}" if said else "") + f"; {reason}); resume "
                      "to continue from the last checkpoint")


def _output_to_log(path) -> None:
    """Make stdout/stderr the job's log.txt (already so when the scheduler launched us; run by hand, not yet)."""
    try:
        out, log = os.fstat(1), os.stat(path)
        if (out.st_dev, out.st_ino) == (log.st_dev, log.st_ino):
            return
    except OSError:
        pass
    print(f"worker: output goes to {path}", flush=True)
    sys.stderr.flush()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.worker", description=__doc__.split("\n\n")[0])
    parser.add_argument("job_id")
    parser.add_argument("--home", help="FrBio home (default: $FRBIO_HOME, else ./frbio_home)")
    args = parser.parse_args(argv)

    from frbio_core import registry
    from frbio_core.errors import UserError
    from frbio_core.settings import load_settings
    from jobs import store
    from jobs.kinds import load_kinds
    from jobs.reporter import JobCancelled, Reporter

    settings = load_settings(**({"home": args.home} if args.home else {}))
    db = registry.connect(settings.db_path)
    load_kinds()
    from jobs.launchers.multiprocess import process_rank

    rank = process_rank()
    if rank != 0:
        return _run_rank(db, settings, store, args.job_id, rank)
    row, error = _take_job(db, store, args.job_id, os.environ.get("FRBIO_JOB_DEVICE") or "cpu")
    if row is None:
        print(f"worker: {error}", flush=True)
        return 2
    on_slurm = bool(row.get("external_id") or row["device"] == "slurm")
    if on_slurm:  # the runner sees the node's device, not 'slurm'
        row = {**row, "device": os.environ.get("FRBIO_JOB_DEVICE") or "cpu"}
    job = Reporter(db, settings.home_path, row)
    _output_to_log(job.job_dir / store.LOG_FILE)
    me = os.getpid()
    state = {"armed": True, "cooperative": False}

    def on_signal(signum, frame):
        if os.getpid() != me:  # a forked helper inherited this handler: die as the signal means
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        first = not job.should_stop()
        job.request_stop(job.stop_reason or f"stopped by {signal.Signals(signum).name}")
        if first:
            timer = threading.Timer(HARD_STOP_S, hard_stop)
            timer.daemon = True
            timer.start()
        if first and state["armed"] and not state["cooperative"]:
            raise JobCancelled(job.stop_reason)

    def hard_stop() -> None:  # the runner did not wind down in time (e.g. stuck in a library's pool teardown)
        try:
            conn = registry.connect(settings.db_path)
            final, why = "cancelled", job.stop_reason
            if on_slurm:
                final, why = _stopped_by_slurm(conn, store, job, why)
            store.finish(conn, job.job_id, final, attempt=job.attempt, exit_reason=why, resumable=True)
            job.log(f"cancelled: {job.stop_reason} (did not stop within {HARD_STOP_S:g} s: exiting at once; "
                    "where it was:)")
            faulthandler.dump_traceback(file=sys.stdout, all_threads=True)
        finally:
            os._exit(143)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)

    def lost(status: str) -> None:  # the row was moved on elsewhere (e.g. cancelled through the registry)
        job.stop_reason = job.stop_reason or f"job became {status} elsewhere"
        os.kill(me, signal.SIGTERM)  # stop as a cancel would (the handler runs in the main thread)

    beat = Heartbeat(settings.db_path, job.job_id, job.attempt, on_lost=lost)
    beat.start()
    status, reason, result, resumable = "failed", None, None, False
    try:
        job.log(f"worker pid {me} (process group {os.getpgid(0)}): {job.kind} attempt {job.attempt} "
                f"on {job.device} (CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', '(unset)')!r})")
        kind, cfg, context = _prepare(db, settings, row)
        state["cooperative"] = kind.cooperative
        result = kind.run(context, cfg, job)
        state["armed"] = False
        if job.should_stop():
            status, reason, resumable = "cancelled", job.stop_reason, True
        else:
            status = "succeeded"
    except JobCancelled as exc:
        state["armed"] = False
        status, reason, resumable = "cancelled", str(exc) or job.stop_reason or "cancelled", True
    except BaseException as exc:  # noqa: BLE001 — every failure becomes a 'failed' row with its reason
        state["armed"] = False
        traceback.print_exc(file=sys.stdout)
        reason = str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
        if disk_full(exc, settings.home_path):
            reason, resumable = (f"disk full ({reason[:200]}): free space under {settings.home_path}, then resume; "
                                 "what was written before (checkpoints, models) is intact"), True
    beat.stop()
    if status == "cancelled" and on_slurm:
        status, reason = _stopped_by_slurm(db, store, job, reason)
    job.log(f"{status}" + (f": {reason}" if reason else ""))
    written = store.finish(db, job.job_id, status, attempt=job.attempt, exit_reason=reason, result=result,
                           resumable=resumable)
    if not written:
        current = store.find(db, job.job_id)
        job.log(f"final status not written: the job is already {current and current['status']}")
    sys.stdout.flush()
    return {"succeeded": 0, "failed": 1, "cancelled": 143}[status]


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Every write is committed and every file closed: skip the interpreter teardown (a second or more with torch
    # loaded), so the process — and the memory it holds, GPU memory included — is gone right after the final status.
    os._exit(code)
