"""The one mechanism for long work (corpus builds, training, disk merges, evaluations).

  store      the `jobs` rows and folders (jobs/<id>/config.json, log.txt, metrics.jsonl, checkpoints/)
  kinds      the registry of job kinds: name → config class + runner (`@register("corpus_build", config=Recipe)`)
  context    what a runner gets: config, folder, device, progress(), metric(), log(), should_stop()
  worker     `python -m jobs.worker JOB_ID`: runs one job in its own process session, heartbeats, final status
  scheduler  slots per device, FIFO, launches workers, cancel, reconcile (dead/stale workers), resume
  processes  is a worker alive, is its process group empty, stop a group (SIGTERM, then SIGKILL)
  devices    device discovery (CPU, GPUs via nvidia-smi or torch) and slot counts
  cli        `python -m backend jobs list|show|cancel|resume|wait|serve|submit-corpus`

Nothing here imports gradio; heavy imports (torch, transformers) stay inside the runners.
"""
