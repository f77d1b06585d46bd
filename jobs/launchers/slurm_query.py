"""What the app asks a Slurm cluster, each an argument list with a time limit: what a partition's nodes offer
(`sinfo`: CPUs, memory, GPUs), and a job's state with Slurm's reason, from `squeue` while the controller lists the
job, then `scontrol show job` (the controller keeps a finished job for MinJobAge, 300 s by default), then `sacct`
where accounting storage exists (many small lab clusters have no slurmdbd: sacct then says "accounting storage is
disabled", which is not an answer)."""
from __future__ import annotations

import re
import subprocess
import time
from dataclasses import dataclass

QUERY_TIMEOUT_S = 20.0
GONE = "GONE"                     # nothing in Slurm knows the job any more
OFFER_TTL_S = 60.0
_offers: dict[str | None, tuple[float, "Offer"]] = {}


@dataclass(frozen=True)
class Offer:
    """The most one node of a partition offers: CPUs, memory (MB) and GPUs (0 when it lists none)."""
    partition: str
    cpus: int
    mem_mb: int
    gpus: int


def run(argv: list[str]) -> subprocess.CompletedProcess | None:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=QUERY_TIMEOUT_S, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None


def gpus_in(gres: str) -> int:
    """GPUs in a node's GRES field: 'gpu:4', 'gpu:a100:2(S:0-1)', 'gpu:2,shard:8' → 4, 2, 2; '(null)' → 0."""
    return sum(int(m.group(1)) for m in re.finditer(r"(?:^|,)gpu(?::[\w.-]+)?:(\d+)", gres or ""))


def partition_offer(partition: str | None) -> Offer | None:
    """What the partition's (the default partition's when None) best node offers, from
    `sinfo -h -N -o %P|%c|%m|%G`; None when sinfo cannot be asked or knows no such partition. Cached a minute."""
    cached = _offers.get(partition)
    if cached and time.monotonic() - cached[0] < OFFER_TTL_S:
        return cached[1]
    done = run(["sinfo", "-h", "-N", "-o", "%P|%c|%m|%G"])
    if done is None or done.returncode != 0:
        return None
    nodes = []
    for line in done.stdout.splitlines():
        parts = line.strip().split("|")
        if len(parts) != 4:
            continue
        name, cpus, mem, gres = parts
        default = name.endswith("*")
        if (partition is None and default) or name.rstrip("*") == partition:
            nodes.append((name.rstrip("*"), int(re.sub(r"\D", "", cpus) or 0), int(re.sub(r"\D", "", mem) or 0),
                          gpus_in(gres)))
    if not nodes:
        return None
    offer = Offer(nodes[0][0], max(n[1] for n in nodes), max(n[2] for n in nodes), max(n[3] for n in nodes))
    _offers[partition] = (time.monotonic(), offer)
    return offer


def mem_mb(text: str) -> int:
    """'16G' → 16384, '500M' → 500, '2T' → 2097152, '1024' (Slurm's default unit) → 1024."""
    m = re.fullmatch(r"(\d+)([KMGT]?)", str(text).strip().upper())
    if not m:
        raise ValueError(f"not a memory size: {text}")
    n, unit = int(m.group(1)), m.group(2)
    return {"K": max(1, n // 1024), "": n, "M": n, "G": n * 1024, "T": n * 1024 ** 2}[unit]


def job_state(slurm_id: str) -> tuple[str | None, str]:
    """(state, reason) of a Slurm job: 'PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', … with
    Slurm's reason ('' when none), (GONE, '') when nothing knows it, (None, '') when Slurm could not be asked (then
    nothing is concluded)."""
    queue = run(["squeue", "-j", str(slurm_id), "-h", "-o", "%T|%r"])
    if queue is not None and queue.returncode == 0 and queue.stdout.strip():
        state, _, reason = queue.stdout.strip().splitlines()[0].partition("|")
        return state.strip().upper(), "" if reason.strip() in ("None", "") else reason.strip()
    asked = queue is not None and (queue.returncode == 0 or "invalid job id" in (queue.stderr or "").lower())
    shown = run(["scontrol", "show", "job", "-o", str(slurm_id)])
    if shown is not None and shown.returncode == 0 and "JobState=" in shown.stdout:
        fields = dict(re.findall(r"(\w+)=(\S*)", shown.stdout))
        code, _, signal = fields.get("ExitCode", "0:0").partition(":")
        said = [fields.get("Reason", ""), f"exit code {code}" if code not in ("", "0") else "",
                f"signal {signal}" if signal not in ("", "0") else ""]
        return fields["JobState"].upper(), ", ".join(s for s in said if s and s != "None")
    asked = asked or (shown is not None and "invalid job id" in (shown.stderr or "").lower())
    acct = run(["sacct", "-j", str(slurm_id), "-n", "-X", "-P", "-o", "State,Reason"])
    if acct is not None and acct.returncode == 0:
        lines = [line.strip() for line in acct.stdout.splitlines() if line.strip()]
        if lines:
            state, _, reason = lines[-1].partition("|")
            return state.split()[0].rstrip("+").upper(), "" if reason in ("None", "") else reason
    return (GONE, "") if asked else (None, "")
