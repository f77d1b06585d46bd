"""A real one-node Slurm cluster for the test suite (Debian's slurm-wlm 22.05 and munge, installed by `make test`):
a private munged (its own key, socket and folder, run as the `munge` user), then slurmctld and slurmd as root with
a one-node `slurm.conf` under a temporary folder: `ProctrackType=proctrack/linuxproc`, `TaskPlugin=task/none`,
`SelectType=select/cons_tres` (CR_CPU: one job per core), no accounting storage (`sacct` says so, as on many small
lab clusters), the node's CPUs and memory from this machine. Client commands find it through `SLURM_CONF`.

`start()` returns a Cluster, or raises Unavailable with the reason (not root, binaries missing, a daemon that did
not come up: its log's last lines)."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BINARIES = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "scancel", "sinfo")
PARTITION = "debug"


class Unavailable(RuntimeError):
    pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(predicate, what: str, timeout: float, log: Path | None = None) -> None:
    """Poll `predicate` until true; Unavailable with the log's tail after `timeout` (a daemon that never comes up)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.2)
    tail = log.read_text(errors="replace").splitlines()[-15:] if log and log.exists() else []
    raise Unavailable(f"{what} did not happen within {timeout:g} s" + ("\n" + "\n".join(tail) if tail else ""))


@dataclass
class Cluster:
    root: Path
    conf: Path
    node: str
    cpus: int
    env: dict = field(default_factory=dict)      # SLURM_CONF for client commands
    procs: list = field(default_factory=list)

    def run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=60, env={**os.environ, **self.env})
        if check and done.returncode != 0:
            raise AssertionError(f"{' '.join(argv)}: exit {done.returncode}: {done.stderr.strip()}")
        return done

    def idle_cpus(self) -> int:
        """CPUs of the node no job holds (sinfo's allocated/idle/other/total)."""
        out = self.run("sinfo", "-h", "-N", "-o", "%C").stdout.split()[0]
        return int(out.split("/")[1])

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
        for proc in reversed(self.procs):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(self.root, ignore_errors=True)


def missing() -> str | None:
    """Why no cluster can be started here, or None."""
    if os.geteuid() != 0:
        return "the one-node Slurm cluster needs root (slurmctld and slurmd run as root)"
    lacking = [b for b in BINARIES if shutil.which(b) is None and not Path(f"/usr/sbin/{b}").exists()]
    if lacking:
        return f"slurm-wlm/munge not installed ({', '.join(lacking)} missing): `make test` installs them"
    return None


def start(timeout: float = 60.0) -> Cluster:
    reason = missing()
    if reason:
        raise Unavailable(reason)
    import pwd

    munge = pwd.getpwnam("munge")
    root = Path(tempfile.mkdtemp(prefix="frbio-slurm-"))
    root.chmod(0o755)
    mdir = root / "munge"
    mdir.mkdir()
    mdir.chmod(0o711)     # munged: the socket folder searchable by all, its key readable by munge only
    (mdir / "munge.key").write_bytes(os.urandom(128))
    (mdir / "munge.key").chmod(0o600)
    for path in (mdir, mdir / "munge.key"):
        os.chown(path, munge.pw_uid, munge.pw_gid)
    sock = mdir / "munge.socket"
    for sub in ("state", "spool"):
        (root / sub).mkdir()
    node = socket.gethostname().split(".")[0]
    cpus = os.cpu_count() or 1
    memory_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2 ** 20
    conf = root / "slurm.conf"
    conf.write_text("\n".join([
        "ClusterName=frbio-test", f"SlurmctldHost={node}", "SlurmUser=root", "SlurmdUser=root",
        "AuthType=auth/munge", f"AuthInfo=socket={sock}", "CredType=cred/munge",
        f"SlurmctldPort={_free_port()}", f"SlurmdPort={_free_port()}",
        f"StateSaveLocation={root / 'state'}", f"SlurmdSpoolDir={root / 'spool'}",
        f"SlurmctldPidFile={root / 'slurmctld.pid'}", f"SlurmdPidFile={root / 'slurmd.pid'}",
        f"SlurmctldLogFile={root / 'slurmctld.log'}", f"SlurmdLogFile={root / 'slurmd.log'}",
        "ProctrackType=proctrack/linuxproc", "TaskPlugin=task/none", "MpiDefault=none",
        "SelectType=select/cons_tres", "SelectTypeParameters=CR_CPU",
        "AccountingStorageType=accounting_storage/none", "JobAcctGatherType=jobacct_gather/none",
        "JobCompType=jobcomp/none", "ReturnToService=2", "SchedulerType=sched/backfill",
        "SlurmctldTimeout=30", "SlurmdTimeout=30", "InactiveLimit=0", "KillWait=5", "MinJobAge=300",
        f"NodeName={node} CPUs={cpus} RealMemory={memory_mb} State=UNKNOWN",
        f"PartitionName={PARTITION} Nodes=ALL Default=YES MaxTime=INFINITE State=UP", ""]))
    cluster = Cluster(root, conf, node, cpus, env={"SLURM_CONF": str(conf)})
    env = {**os.environ, "SLURM_CONF": str(conf)}
    try:
        cluster.procs.append(subprocess.Popen(
            ["runuser", "-u", "munge", "--", shutil.which("munged") or "/usr/sbin/munged", "--foreground",
             f"--socket={sock}", f"--key-file={mdir / 'munge.key'}", f"--pid-file={mdir / 'munged.pid'}",
             f"--log-file={mdir / 'munged.log'}", f"--seed-file={mdir / 'munged.seed'}", "--num-threads=2"],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT))
        _wait(sock.exists, "munged's socket", timeout, mdir / "munged.log")
        for daemon in ("slurmctld", "slurmd"):
            exe = shutil.which(daemon) or f"/usr/sbin/{daemon}"
            cluster.procs.append(subprocess.Popen([exe, "-D", *(["-i"] if daemon == "slurmctld" else [])], env=env,
                                                  stdout=open(root / f"{daemon}.out", "w"), stderr=subprocess.STDOUT))
            if daemon == "slurmctld":
                _wait(lambda: cluster.run("scontrol", "ping", check=False).stdout.count("UP") > 0,
                      "slurmctld answering", timeout, root / "slurmctld.log")
        _wait(lambda: "idle" in cluster.run("sinfo", "-h", "-o", "%T", check=False).stdout,
              "the node becoming idle", timeout, root / "slurmd.log")
    except BaseException:
        cluster.stop()
        raise
    return cluster


if __name__ == "__main__":   # by hand: start, show, stop
    c = start()
    print(c.run("sinfo").stdout, c.run("scontrol", "show", "node").stdout[:400])
    c.stop()
