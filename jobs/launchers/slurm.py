"""Jobs on a Slurm cluster: `<job_dir>/job.sbatch` generated from the job and the settings, submitted with
`sbatch --parsable`, followed with `squeue`, then `scontrol`, then `sacct` (jobs.launchers.slurm_query), cancelled
with `scancel`. Every command is an argument list. A job asks only for what its kind uses and the partition offers
(`sinfo`): GPUs when the kind uses them and the partition's nodes have some, CPUs, memory and time from the kind's
defaults (the settings and the job's own asks over them), capped at the partition's best node.

The row of a Slurm job is 'running' on the device 'slurm' from submission on (its message says 'PENDING' while
Slurm queues it); `external_id` holds the Slurm job id. The batch script runs the same worker as a local launch
(`accelerate launch` for N > 1 GPUs) on the compute node, which reports its heartbeat, progress and final status
through its job folder only (jobs/channel.py): `frbio_home` (and the project and its venv) must be visible at the
same paths on the compute nodes; the registry need not be (it stays on the app host: `registry` in the settings).
"""
from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

from jobs import store
from jobs.launchers.slurm_query import GONE, QUERY_TIMEOUT_S, Offer, job_state, mem_mb, partition_offer
from jobs.store import JobError

SCRIPT_FILE = "job.sbatch"
DEVICE = "slurm"                  # the `device` of a job row that Slurm runs
SUBMIT_TIMEOUT_S = 60.0
# States in which the job may still write its final status (anything not TERMINAL counts as active too).
ACTIVE_STATES = frozenset({"PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "SUSPENDED", "REQUEUED",
                           "REQUEUE_FED", "REQUEUE_HOLD", "RESIZING", "SIGNALING", "STAGE_OUT", "STOPPED",
                           "RESV_DEL_HOLD", "SPECIAL_EXIT", "POWER_UP_NODE", "UPDATE_DB"})
TERMINAL_STATES = frozenset({"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL",
                             "PREEMPTED", "BOOT_FAIL", "DEADLINE", "REVOKED", GONE})
_SAFE = re.compile(r"^[\w.:,+=/@-]+$")   # one #SBATCH value: no spaces, quotes, newlines


class SlurmError(JobError):
    """sbatch/scancel refused or could not be run; the message is for the user."""


def gpus_for(row: dict, resources, offer: Offer | None = None) -> int:
    """GPUs to ask Slurm for: 0 for a kind that cannot use CUDA or a job asking for the CPU; for `any`, the kind's
    GPUs only where the partition has GPUs (`offer` from sinfo; unknown: as the kind asks); a job asking for CUDA
    on a partition without GPUs is refused."""
    requested = row.get("requested_device") or "any"
    if not resources.uses_gpus() or requested == "cpu":
        return 0
    if offer is not None and offer.gpus == 0:
        if requested.startswith("cuda"):
            raise SlurmError(f"the job asks for {requested} but Slurm partition '{offer.partition}' has no GPUs "
                             "(sinfo lists no gpu GRES): choose a GPU partition or --device cpu")
        return 0
    return int(resources.gpus)


def asks_for(settings, row: dict, resources, offer: Offer | None) -> dict:
    """{cpus, mem, time} of one job: its own asks, else the settings', else its kind's defaults; CPUs and memory
    capped at what the partition's best node offers."""
    own = row.get("resources") or {}
    cpus = int(own.get("cpus") or settings.slurm_cpus_per_task or resources.cpus)
    mem = str(own.get("mem") or settings.slurm_mem or resources.mem)
    time_limit = str(own.get("time") or settings.slurm_time or resources.time)
    if offer is not None:
        cpus = min(cpus, offer.cpus) if offer.cpus else cpus
        if offer.mem_mb and mem_mb(mem) > offer.mem_mb:
            mem = f"{offer.mem_mb}M"
    return {"cpus": cpus, "mem": mem, "time": time_limit}


def _check(name: str, value: Any) -> str:
    text = str(value)
    if not _SAFE.match(text):
        raise SlurmError(f"{name}: '{text}' cannot go on an #SBATCH line (no spaces, quotes or newlines)")
    return text


def _path(path: Path) -> str:
    text = str(path)
    if any(c.isspace() for c in text) or '"' in text or "'" in text:
        raise SlurmError(f"Slurm needs a path without spaces or quotes: {text}")
    return text


def sbatch_script(settings, row: dict, *, gpus: int, command: list[str], project_root: Path,
                  asks: dict) -> str:
    """The batch script for the job: #SBATCH lines (name frbio-<id>, partition, account, --gres=gpu:N,
    --cpus-per-task, --mem, --time from `asks` (asks_for), --output on the job's log.txt in append mode, the
    settings' extra arguments), then cd to the project, FRBIO_HOME and the job's attempt exported, and `command`
    run with exec."""
    job_id = row["id"]
    folder = store.job_dir(settings.home_path, job_id)
    log = _path(folder / store.LOG_FILE).replace("%", "%%")   # sbatch expands %j etc. in --output
    lines = ["#!/bin/bash",
             f"# Generated by FrBio Studio for {job_id} (attempt {row['attempt']}); submitted with "
             f"`sbatch --parsable {SCRIPT_FILE}`.",
             f"#SBATCH --job-name=frbio-{job_id}",
             f"#SBATCH --output={log}",
             "#SBATCH --open-mode=append",
             "#SBATCH --nodes=1",
             "#SBATCH --ntasks=1"]
    if settings.slurm_partition:
        lines.append(f"#SBATCH --partition={_check('slurm_partition', settings.slurm_partition)}")
    if settings.slurm_account:
        lines.append(f"#SBATCH --account={_check('slurm_account', settings.slurm_account)}")
    if gpus > 0:
        lines.append(f"#SBATCH --gres=gpu:{int(gpus)}")
    lines.append(f"#SBATCH --cpus-per-task={int(asks['cpus'])}")
    if asks.get("mem"):
        lines.append(f"#SBATCH --mem={_check('mem', asks['mem'])}")
    if asks.get("time"):
        lines.append(f"#SBATCH --time={_check('time', asks['time'])}")
    for arg in settings.slurm_extra_args:
        if not str(arg).startswith("-"):
            raise SlurmError(f"slurm_extra_args: '{arg}' is not an sbatch option (e.g. --qos=normal)")
        lines.append(f"#SBATCH {_check('slurm_extra_args', arg)}")
    env = {"FRBIO_HOME": str(settings.home_path),
           "FRBIO_DATA": json.dumps([str(p) for p in settings.data_paths]),
           "FRBIO_JOB_DEVICE": "cuda" if gpus > 0 else "cpu",
           "FRBIO_JOB_ATTEMPT": str(row["attempt"]),
           "PYTHONUNBUFFERED": "1"}
    from jobs.kinds import MODULES_ENV, kind_modules

    env[MODULES_ENV] = ",".join(kind_modules())
    lines += ["", "set -eu", f"cd {shlex.quote(str(project_root))}"]
    lines += [f"export {k}={shlex.quote(v)}" for k, v in env.items()]
    lines += ['export TOKENIZERS_PARALLELISM="${TOKENIZERS_PARALLELISM:-false}"',
              f'echo "[slurm] {job_id}: Slurm job ${{SLURM_JOB_ID:-?}} on $(hostname)'
              f' (CUDA_VISIBLE_DEVICES=${{CUDA_VISIBLE_DEVICES:-}})"',
              "exec " + shlex.join(command), ""]
    return "\n".join(lines)


def claim(db, job_id: str) -> bool:
    """queued → running on 'slurm' (no local slot: Slurm queues), clearing a previous attempt's Slurm id."""
    t = store.now()
    cursor = store.execute(db, """
        UPDATE jobs SET status = 'running', device = ?, started_at = ?, heartbeat = ?, finished_at = NULL,
                        pid = NULL, pgid = NULL, external_id = NULL, exit_reason = NULL, message = 'submitting to Slurm'
        WHERE id = ? AND status = 'queued'""", [DEVICE, t, t, job_id])
    return cursor.rowcount > 0


def submit_job(settings, row: dict, resources, *, project_root: Path,
               env: dict[str, str] | None = None, python: str | None = None) -> str:
    """Write the job's batch script (and accelerate.yaml for N > 1 GPUs), submit it with `sbatch --parsable`, and
    return the Slurm job id. SlurmError (a JobError) says why when it cannot."""
    from jobs.launchers.accelerate import worker_command, write_accelerate_config

    folder = store.job_dir(settings.home_path, row["id"])
    folder.mkdir(parents=True, exist_ok=True)
    offer = partition_offer(settings.slurm_partition)
    gpus = gpus_for(row, resources, offer)
    accelerate_file = None
    if gpus > 1:  # port 0: accelerate picks a free one on the compute node
        accelerate_file = write_accelerate_config(folder, resources, gpus, port=0)
    command = worker_command(row["id"], accelerate_file, python=python or sys.executable)
    script = folder / SCRIPT_FILE
    script.write_text(sbatch_script(settings, row, gpus=gpus, command=command, project_root=project_root,
                                    asks=asks_for(settings, row, resources, offer)), "utf-8")
    try:
        done = subprocess.run(["sbatch", "--parsable", str(script)], capture_output=True, text=True,
                              timeout=SUBMIT_TIMEOUT_S, env=env, cwd=str(project_root), stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise SlurmError("sbatch not found: Slurm mode needs the Slurm client commands on PATH") from None
    except (OSError, subprocess.SubprocessError) as exc:
        raise SlurmError(f"sbatch could not be run: {exc}") from None
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise SlurmError(f"sbatch refused the job (exit {done.returncode}): {detail[-1] if detail else 'no message'}")
    first = (done.stdout.strip().splitlines() or [""])[0]
    slurm_id = first.split(";")[0].strip()
    if not re.fullmatch(r"\d+(_\d+)?", slurm_id):
        raise SlurmError(f"sbatch answered '{first}', not a job id")
    return slurm_id


def scancel(slurm_id: str) -> None:
    """`scancel ID`; SlurmError when it fails."""
    try:
        done = subprocess.run(["scancel", str(slurm_id)], capture_output=True, text=True, timeout=QUERY_TIMEOUT_S,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError) as exc:
        raise SlurmError(f"scancel {slurm_id} could not be run: {exc}") from None
    if done.returncode != 0:
        raise SlurmError(f"scancel {slurm_id} failed (exit {done.returncode}): {(done.stderr or '').strip()}")


class SlurmLauncher:
    """Every job goes to Slurm with sbatch (Slurm queues: no local slots); its state comes from squeue/sacct at
    most every `slurm_poll_s` seconds per job."""
    name = "slurm"

    def __init__(self, scheduler):
        self.scheduler = scheduler
        self._polled: dict[tuple[str, int], float] = {}

    def handles(self, row: dict) -> bool:
        return bool(row.get("external_id")) or row.get("device") == DEVICE

    def start(self, row: dict, devices: list[str], resources) -> bool:
        """Claim the queued job (running on 'slurm') and submit it; False when another process took it first."""
        from jobs.launchers.base import note, worker_env

        s = self.scheduler
        if not claim(s.db, row["id"]):
            return False
        row = store.get(s.db, row["id"])
        env = worker_env(s.settings, "", DEVICE)
        try:
            from jobs.ingest import prepare

            prepare(s.db, s.home, row["id"])
        except OSError as exc:
            store.finish(s.db, row["id"], "failed", attempt=row["attempt"], resumable=True,
                         exit_reason=f"could not write the job's registry copy: {exc}")
            return False
        for name in ("CUDA_VISIBLE_DEVICES", "FRBIO_JOB_DEVICE"):   # Slurm sets the GPUs; the script the device
            env.pop(name, None)
        try:
            slurm_id = submit_job(s.settings, row, resources, project_root=s.project_root, env=env)
        except JobError as exc:
            store.finish(s.db, row["id"], "failed", attempt=row["attempt"], resumable=True, exit_reason=str(exc))
            note(s.home, row["id"], f"[scheduler] {exc}")
            return False
        if not store.update(s.db, row["id"], expect=("running",), if_attempt=row["attempt"], external_id=slurm_id,
                            message=f"submitted to Slurm as job {slurm_id}"):
            try:   # cancelled while sbatch ran
                scancel(slurm_id)
            except JobError:
                pass
            return False
        note(s.home, row["id"], f"[scheduler] attempt {row['attempt']} submitted to Slurm as job {slurm_id} "
                                f"({SCRIPT_FILE})")
        return True

    def stop(self, row: dict, grace: float, reap=None) -> str:
        if not row.get("external_id"):
            return ""
        try:
            scancel(row["external_id"])
            return f"; Slurm job {row['external_id']} cancelled (scancel)"
        except JobError as exc:
            return f"; {exc}"

    def verdict(self, row: dict) -> str | None:
        """Why a running Slurm row must be marked failed, or None: Slurm still has it (PENDING, RUNNING, ...), cannot
        be asked right now, or was asked less than `slurm_poll_s` ago."""
        s = self.scheduler
        if not row.get("external_id"):
            if store.now() - (row["started_at"] or 0) <= SUBMIT_TIMEOUT_S * 2:
                return None
            return "never submitted to Slurm (no Slurm job id)"
        t = store.now()
        key = (row["id"], row["attempt"])
        if t - self._polled.get(key, float("-inf")) < s.settings.slurm_poll_s:
            return None
        self._polled[key] = t
        state, reason = job_state(row["external_id"])
        if state == GONE and t - (row["started_at"] or 0) <= SUBMIT_TIMEOUT_S:
            state = None   # just submitted: the controller may not list it yet
        if state is None or state not in TERMINAL_STATES:
            ours = ("submitting to Slurm", "PENDING on Slurm", f"submitted to Slurm as job {row['external_id']}")
            if state in ("PENDING", "RUNNING") and row["message"] in ours and row["message"] != f"{state} on Slurm":
                store.update(s.db, row["id"], expect=("running",), if_attempt=row["attempt"],
                             message=f"{state} on Slurm")   # until the worker reports its own progress
            return None
        return (f"Slurm job {row['external_id']} ended {state}" + (f" ({reason})" if reason else "")
                + " without a final status" if state != GONE else
                f"Slurm job {row['external_id']} is gone (neither squeue, scontrol nor sacct knows it) without a "
                "final status")

    def kill(self, row: dict) -> None:
        return None
