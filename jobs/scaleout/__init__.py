"""Scale-out on existing engines: one job on several local GPUs through `accelerate launch` (DDP, or FSDP full
shard as in the paper), or a job submitted to a Slurm cluster with `sbatch`.

  launch  what a job asks for (`num_gpus`, `strategy` in its config), the generated `<job_dir>/accelerate.yaml`,
          the worker's argument list (plain `python -m jobs.worker ID` for one process, `accelerate launch` for N)
  local   several GPU slots claimed at once (one SQL statement), the placement policy, ranks inside the worker,
          stopping every process of a multi-process job
  slurm   `<job_dir>/job.sbatch`, `sbatch --parsable`, the job's state from `squeue`/`sacct`, `scancel`

The scheduler (jobs.scheduler) and the worker (jobs.worker) call these; nothing here starts a thread or imports
torch.
"""
from jobs.scaleout.launch import (ACCELERATE_FILE, STRATEGIES, accelerate_config, decoder_layer_class, free_port,
                                  gpus_requested, strategy_of, worker_command, write_accelerate_config)
from jobs.scaleout.local import (claim_devices, is_ancestor, job_process_groups, place, process_rank, split_devices,
                                 stop_job_processes)
from jobs.scaleout.slurm import SlurmError, job_state, sbatch_script, scancel, submit_job

__all__ = [
    "ACCELERATE_FILE", "STRATEGIES", "accelerate_config", "decoder_layer_class", "free_port", "gpus_requested",
    "strategy_of", "worker_command", "write_accelerate_config",
    "claim_devices", "is_ancestor", "job_process_groups", "place", "process_rank", "split_devices",
    "stop_job_processes",
    "SlurmError", "job_state", "sbatch_script", "scancel", "submit_job",
]
