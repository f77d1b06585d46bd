"""The runtime for long work (corpus builds, training, merges, evaluations, studies). It knows no feature: a feature
registers its job kinds (config class, pre-launch check, resources, runner) and this package queues, places, runs,
follows, cancels and resumes them, and nothing here imports `backend`.

  store      the `jobs` rows: submit, claim, finish, requeue, delete (conditional writes, retried when locked)
  folders    a job's folder: config.json, log.txt, metrics.jsonl, checkpoints/
  kinds      the registry of job kinds; `Resources`, a kind's typed answer of what a job needs
  deps       jobs that wait for other jobs and take values from their results; groups (a study and its parts)
  reporter   what a runner gets: progress(), metric(), log(), should_stop(), its folder and checkpoint folder
  worker     `python -m jobs.worker JOB_ID`: runs one job in its own process session on a copy of the registry
  channel    what a worker tells the app through its folder: heartbeat, progress, final status, a stop request
  journal    the worker's registry copy and the rows it changed, shipped back as registry_changes.jsonl
  ingest     the scheduler applying those reports: it is the registry's only writer for jobs
  scheduler  slots per device, fair queue, dependencies, dispatch to a launcher, reconcile
  launchers  one interface, three ways to run: a local process, `accelerate launch` on several GPUs, Slurm
  control    cancel, resume, delete from any process (groups included)
  follow     waiting for jobs from a command line (driving a scheduler when none runs)
  devices    device discovery (the one nvidia-smi query) and slot counts
  processes  is a worker alive, is its process group empty, stop a group (SIGTERM, then SIGKILL)
  fairness   the queue policy (round-robin between owners)
  views      a job as a table row and metric series
  cli        `python -m backend jobs list|show|cancel|resume|delete|wait|serve|devices`

Heavy imports (torch, transformers) stay inside the runners.
"""
