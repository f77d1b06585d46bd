"""`python -m jobs.worker JOB_ID`: run one job in this process, so the job outlives whoever launched it (the app,
the CLI). The worker never opens the registry: it reports through its job folder only (jobs/channel.py), so the
folder may sit on a cluster's shared file system while the registry stays on the app host's disk.

Launched by the scheduler (FRBIO_JOB_ATTEMPT set) in its own process session with stdout/stderr on the job's
log.txt: it copies the registry copy the scheduler wrote into the folder to node-local disk and runs the kind's
runner against it (jobs/journal.py ships the rows the runner writes back, every 2 s and at the end), beats and
watches for a `stop` file from a thread, turns SIGTERM into a clean 'cancelled' exit, then writes status.json:
'succeeded' + result or 'failed' + the exception's message (the traceback goes to log.txt). The scheduler applies
it all (jobs/ingest.py). Exit status: 0 succeeded, 1 failed, 2 nothing to run, 143 cancelled.

Run by hand (`python -m jobs.worker ID`, no FRBIO_JOB_ATTEMPT), it is its own scheduler for that one job: it
takes the queued job (no slot accounting), writes the folder's registry copy, runs the job as above in-process,
then applies the reports itself.

Under `accelerate launch` (a job on several GPUs, jobs.launchers) each of the N processes runs this module on its
own copy: rank 0 does all of the above; the other ranks run the runner only and report nothing. On Slurm (the row
has an `external_id`, or the device 'slurm') the worker refuses to run an attempt other than the one it was
submitted for (FRBIO_JOB_ATTEMPT) or a job of another Slurm job.
"""
from __future__ import annotations

import argparse
import faulthandler
import os
import shutil
import signal
import sys
import threading
import traceback

from jobs.channel import ATTEMPT_ENV

HEARTBEAT_S = 2.0
HARD_STOP_S = 2.0   # after SIGTERM, exit by then even if the runner has not unwound (the scheduler kills at 3 s)


class Heartbeat(threading.Thread):
    """Every `interval` seconds: beat, ship the registry changes, and call `on_stop(reason)` once when the app left
    a `stop` file for this attempt (a cancel whose signal may not reach this node)."""

    def __init__(self, files, journal, interval: float = HEARTBEAT_S, on_stop=None):
        super().__init__(name="heartbeat", daemon=True)
        self.files, self.journal, self.interval, self.on_stop = files, journal, interval, on_stop
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.wait(self.interval):
            try:
                self.files.beat()
                self.journal.flush()
                reason = self.files.stop_requested()
                if reason and not self._halt.is_set():
                    if self.on_stop:
                        self.on_stop(reason)
                    return
            except Exception as exc:  # retried at the next beat; the scheduler allows 15 s
                print(f"heartbeat: {type(exc).__name__}: {exc}", flush=True)

    def stop(self) -> None:
        self._halt.set()


def _take_job(db, store, job_id: str) -> tuple[dict | None, str]:
    """The job's row in this worker's registry copy, when this worker may run it."""
    row = store.find(db, job_id)
    if row is None:
        return None, f"unknown job '{job_id}'"
    if row["status"] != "running":
        return None, f"job {job_id} is {row['status']}: nothing to run"
    submitted = os.environ.get(ATTEMPT_ENV)
    if submitted and submitted != str(row["attempt"]):
        return None, f"job {job_id} is at attempt {row['attempt']}; this Slurm job was for attempt {submitted}"
    slurm_id = os.environ.get("SLURM_JOB_ID")
    if row.get("external_id") and slurm_id and slurm_id != row["external_id"]:
        return None, f"job {job_id} belongs to Slurm job {row['external_id']}, not to this one ({slurm_id})"
    return row, ""


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
    """A rank other than 0 of a job under accelerate: run the runner on the job's config and report nothing (rank 0
    owns the reports). Exit status 0 done, 1 failed, 2 nothing to run. SIGTERM keeps its default action (torchrun and
    a cancel stop the ranks with it)."""
    from jobs.reporter import RankReporter

    row, error = _take_job(db, store, job_id)
    if row is None:
        print(f"worker rank {rank}: {error}", flush=True)
        return 2
    row = {**row, "device": os.environ.get("FRBIO_JOB_DEVICE") or row["device"] or "cpu"}
    job = RankReporter(settings.home_path, row, rank=rank)
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


def _stopped_by_slurm(job, reason: str | None) -> tuple[str, str | None]:
    """(status, reason) of a Slurm job stopped by a signal: cancelled when the app cancelled it (its cancel leaves a
    `stop` file first), else stopped by Slurm (scancel behind the app's back, the time limit, preemption): failed
    (resumable) with Slurm's state and reason."""
    from jobs.launchers.slurm_query import job_state

    if job.files.stop_requested():
        return "cancelled", reason
    slurm_id = os.environ.get("SLURM_JOB_ID") or job.external_id or "?"
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


def run_job(settings, job_id: str, rank: int = 0) -> tuple[int, dict | None]:
    """Run the job as a launched worker: (exit status, the final status written to status.json, None when there
    was nothing to run). The registry it sees is its own copy; what it changes goes back through the folder."""
    from frbio_core import registry
    from jobs import store
    from jobs.journal import Journal, local_copy
    from jobs.reporter import Reporter

    folder = store.job_dir(settings.home_path, job_id)
    try:
        copy = local_copy(folder)
    except OSError as exc:
        print(f"worker: {exc}", flush=True)
        return 2, None
    settings = settings.model_copy(update={"registry": str(copy)})
    try:
        db = registry.connect(copy)
        if rank != 0:
            return _run_rank(db, settings, store, job_id, rank), None
        row, error = _take_job(db, store, job_id)
        if row is None:
            print(f"worker: {error}", flush=True)
            return 2, None
        on_slurm = bool(row.get("external_id") or row["device"] == "slurm")
        row = {**row, "device": os.environ.get("FRBIO_JOB_DEVICE") or row["device"] or "cpu"}
        job = Reporter(settings.home_path, row)
        job.external_id = row.get("external_id")
        journal = Journal(copy, folder, job.attempt)
        return _run(settings, db, job, journal, on_slurm, lambda: shutil.rmtree(copy.parent, ignore_errors=True))
    finally:
        shutil.rmtree(copy.parent, ignore_errors=True)


def _run(settings, db, job, journal, on_slurm: bool, cleanup) -> tuple[int, dict]:
    from frbio_core.errors import UserError
    from jobs import store
    from jobs.reporter import JobCancelled

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
            final, why = "cancelled", job.stop_reason
            if on_slurm:
                final, why = _stopped_by_slurm(job, why)
            journal.flush()
            job.files.finish(final, why, resumable=True)
            job.log(f"cancelled: {job.stop_reason} (did not stop within {HARD_STOP_S:g} s: exiting at once; "
                    "where it was:)")
            faulthandler.dump_traceback(file=sys.stdout, all_threads=True)
        finally:
            cleanup()    # the registry copy: os._exit skips every `finally`
            os._exit(143)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)

    def stop_asked(reason: str) -> None:  # the app left a stop file (a cancel that no signal brought here)
        job.stop_reason = job.stop_reason or reason
        os.kill(me, signal.SIGTERM)  # stop as a cancel would (the handler runs in the main thread)

    job.files.beat()
    beat = Heartbeat(job.files, journal, on_stop=stop_asked)
    beat.start()
    status, reason, result, resumable = "failed", None, None, False
    try:
        job.log(f"worker pid {me} (process group {os.getpgid(0)}): {job.kind} attempt {job.attempt} "
                f"on {job.device} (CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', '(unset)')!r})")
        kind, cfg, context = _prepare(db, settings, store.get(db, job.job_id))
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
    except BaseException as exc:  # noqa: BLE001 — every failure becomes a 'failed' status with its reason
        state["armed"] = False
        traceback.print_exc(file=sys.stdout)
        reason = str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
        if disk_full(exc, settings.home_path):
            reason, resumable = (f"disk full ({reason[:200]}): free space under {settings.home_path}, then resume; "
                                 "what was written before (checkpoints, models) is intact"), True
    beat.stop()
    if status == "cancelled" and on_slurm:
        status, reason = _stopped_by_slurm(job, reason)
    final = {"status": status, "exit_reason": reason, "result": result, "resumable": resumable}
    job.log(f"{status}" + (f": {reason}" if reason else ""))
    try:
        journal.flush()
        job.files.finish(status, reason, result, resumable)
    except OSError as exc:   # e.g. the disk is full: the scheduler will see the worker gone without a status
        job.log(f"final status not written to {job.job_dir}: {exc}")
    sys.stdout.flush()
    return {"succeeded": 0, "failed": 1, "cancelled": 143}[status], final


def _by_hand(settings, job_id: str) -> int:
    """Run the job here as its own scheduler: take it, write its registry copy, run it, apply its reports."""
    from frbio_core import registry
    from jobs import ingest, store
    from jobs.processes import worker_alive

    db = registry.connect(settings.db_path)
    row = store.find(db, job_id)
    if row is None:
        print(f"worker: unknown job '{job_id}'", flush=True)
        return 2
    if row["status"] == "queued":
        store.claim(db, job_id, os.environ.get("FRBIO_JOB_DEVICE") or "cpu", slots=1_000_000)
        row = store.get(db, job_id)
    if row["status"] != "running":
        print(f"worker: job {job_id} is {row['status']}: nothing to run", flush=True)
        return 2
    if row["pid"] and row["pid"] != os.getpid() and worker_alive(row["pid"], job_id):
        print(f"worker: job {job_id} is already running in process {row['pid']}", flush=True)
        return 2
    ingest.prepare(db, settings.home_path, job_id)
    store.update(db, job_id, expect=("running",), if_attempt=row["attempt"], pid=os.getpid(),
                 pgid=os.getpgid(0), heartbeat=store.now())
    os.environ[ATTEMPT_ENV] = str(row["attempt"])
    code, final = run_job(settings, job_id)
    row = store.get(db, job_id)
    if row["status"] == "running" and not ingest.ingest(db, settings.home_path, row) and final is not None:
        store.finish(db, job_id, final["status"], attempt=row["attempt"], exit_reason=final["exit_reason"],
                     result=final["result"], resumable=final["resumable"])
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.worker", description=__doc__.split("\n\n")[0])
    parser.add_argument("job_id")
    parser.add_argument("--home", help="FrBio home (default: $FRBIO_HOME, else ./frbio_home)")
    args = parser.parse_args(argv)

    from frbio_core.settings import load_settings
    from jobs.kinds import load_kinds
    from jobs.launchers.multiprocess import process_rank

    settings = load_settings(**({"home": args.home} if args.home else {}))
    load_kinds()
    if not os.environ.get(ATTEMPT_ENV):
        return _by_hand(settings, args.job_id)
    return run_job(settings, args.job_id, process_rank())[0]


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Every report is written and every file closed: skip the interpreter teardown (a second or more with torch
    # loaded), so the process — and the memory it holds, GPU memory included — is gone right after the final status.
    os._exit(code)
