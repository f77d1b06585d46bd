"""How a claimed job runs, behind one interface (`base.Launcher`): start it, stop it, and tell whether it still
runs. The scheduler chooses one per job and dispatches; it knows none of their mechanics.

  process      one worker process on this machine (`python -m jobs.worker ID`), one device
  accelerate   one job on several local GPUs through `accelerate launch` (DDP, or FSDP full shard as in the paper)
  multiprocess what several GPUs need: slots claimed together, placement, ranks, stopping every process
  slurm        a job submitted to a Slurm cluster with `sbatch`, followed with squeue/sacct, stopped with scancel
"""
from jobs.launchers.base import Launcher, worker_env
from jobs.launchers.process import AccelerateLauncher, ProcessLauncher
from jobs.launchers.slurm import SlurmLauncher

__all__ = ["Launcher", "worker_env", "ProcessLauncher", "AccelerateLauncher", "SlurmLauncher"]
