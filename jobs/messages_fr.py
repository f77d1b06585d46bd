"""French for the sentences jobs writes (frbio_core.translations)."""

FR: dict[str, str] = {
    # statuses, as they appear inside the sentences below ("job … is running: nothing to resume")
    "queued": "en file d'attente",
    "running": "en cours",
    "succeeded": "réussie",
    "failed": "échouée",
    "cancelled": "annulée",

    # a job's message (store, launchers, scheduler)
    "starting": "démarrage",
    "queued (resumed)": "en file d'attente (reprise)",
    "submitting to Slurm": "envoi à Slurm",
    "submitted to Slurm as job {slurm_id}": "envoyée à Slurm (tâche Slurm {slurm_id})",
    "{state} on Slurm": "{state} sur Slurm",
    "waiting for {jobs}": "en attente de {jobs}",
    "waiting: {owner} has {limit} job running (the per-user limit)":
        "en attente : {owner} a {limit} tâche en cours (la limite par personne)",
    "waiting: {owner} has {limit} jobs running (the per-user limit)":
        "en attente : {owner} a {limit} tâches en cours (la limite par personne)",
    "waiting: {why}": "en attente : {why}",
    "{owner} used {used} GPU-hours over the last 24 h (limit {limit})":
        "{owner} a utilisé {used} heures-GPU sur les dernières 24 h (limite {limit})",

    # a job's exit reason: cancelled
    "cancelled by {user}": "annulée par {user}",
    "cancelled by the user": "annulée par l'utilisateur",
    "cancelled by {user} before it started": "annulée par {user} avant son démarrage",
    "cancelled by the user before it started": "annulée par l'utilisateur avant son démarrage",
    "cancelled before it started": "annulée avant son démarrage",
    "stopped by {signal}": "arrêtée par {signal}",
    "job became {status} elsewhere": "l'état de la tâche est devenu « {status} » ailleurs",

    # a job's exit reason: failed (scheduler, worker, launchers)
    "cannot start: {why}": "ne peut pas démarrer : {why}",
    "cannot start: it waits for {job}, which was deleted":
        "ne peut pas démarrer : elle attend {job}, qui a été supprimée",
    "cannot start: {job} ({label}) failed: {why}": "ne peut pas démarrer : {job} ({label}) a échoué : {why}",
    "cannot start: {job} ({label}) cancelled: {why}": "ne peut pas démarrer : {job} ({label}) a été annulée : {why}",
    "no device for it here: asked for {device}, this server has {devices}":
        "aucun processeur pour elle ici : {device} demandé, ce serveur a {devices}",
    "no device for it here: asked for {device}, this server has no slot":
        "aucun processeur pour elle ici : {device} demandé, ce serveur n'a aucune place",
    "a job on {gpus} GPUs takes any free GPUs: submit it with device 'any'":
        "une tâche sur {gpus} GPU prend les GPU libres, quels qu'ils soient : soumettez-la avec le processeur 'any'",
    "it asks for {gpus} GPUs; this server has {n} ({devices})":
        "elle demande {gpus} GPU ; ce serveur en a {n} ({devices})",
    "it asks for {gpus} GPUs; this server has {n} (no GPU)":
        "elle demande {gpus} GPU ; ce serveur en a {n} (aucun GPU)",
    "could not start the worker: {error}": "impossible de démarrer le processus de la tâche : {error}",
    "could not write the job's registry copy: {error}":
        "impossible d'écrire la copie du registre de la tâche : {error}",
    "worker died (no heartbeat): it never started":
        "le processus de la tâche s'est arrêté (plus de signal de vie) : il n'a jamais démarré",
    "worker died (no heartbeat): process {pid} is gone without a final status":
        "le processus de la tâche s'est arrêté (plus de signal de vie) : le processus {pid} a disparu sans statut "
        "final",
    "worker died (no heartbeat): silent for {age:.0f} s; its processes were killed":
        "le processus de la tâche s'est arrêté (plus de signal de vie) : silencieux depuis {age} s ; ses processus "
        "ont été tués",
    "disk full ({error}): free space under {home}, then resume; what was written before (checkpoints, models) is "
    "intact":
        "disque plein ({error}) : libérez de l'espace dans {home}, puis reprenez la tâche ; ce qui a été écrit avant "
        "(points de contrôle, modèles) est intact",
    "stopped by Slurm (job {slurm_id}: {said}; {reason}); resume to continue from the last checkpoint":
        "arrêtée par Slurm (tâche Slurm {slurm_id} : {said} ; {reason}) ; reprenez-la pour continuer depuis le "
        "dernier point de contrôle",
    "stopped by Slurm (job {slurm_id}; {reason}); resume to continue from the last checkpoint":
        "arrêtée par Slurm (tâche Slurm {slurm_id} ; {reason}) ; reprenez-la pour continuer depuis le dernier point "
        "de contrôle",
    "never submitted to Slurm (no Slurm job id)": "jamais envoyée à Slurm (pas d'identifiant de tâche Slurm)",
    "Slurm job {slurm_id} ended {state} without a final status":
        "la tâche Slurm {slurm_id} s'est terminée en {state} sans statut final",
    "Slurm job {slurm_id} ended {state} ({reason}) without a final status":
        "la tâche Slurm {slurm_id} s'est terminée en {state} ({reason}) sans statut final",
    "Slurm job {slurm_id} is gone (neither squeue, scontrol nor sacct knows it) without a final status":
        "la tâche Slurm {slurm_id} a disparu (ni squeue, ni scontrol, ni sacct ne la connaissent) sans statut final",

    # admission.py: refusals at submission, and the Jobs tab's line on a person's limits
    "GPU limit reached: {why}; try again later, or ask an admin":
        "limite GPU atteinte : {why} ; réessayez plus tard, ou demandez à un administrateur",
    "device: this server has no {device} (it has {devices})":
        "device : ce serveur n'a pas de {device} (il a {devices})",
    "device: this server has no {device} (it has no device)":
        "device : ce serveur n'a pas de {device} (il n'a aucun processeur)",
    "num_gpus: {gpus} GPUs asked for, this server has {n}": "num_gpus : {gpus} GPU demandés, ce serveur en a {n}",
    "num_gpus: {gpus} GPUs asked for, this server has {n} ({devices})":
        "num_gpus : {gpus} GPU demandés, ce serveur en a {n} ({devices})",
    "jobs running: {running} of {max_running} · GPU-hours over the last 24 h: {used} of {max_hours}":
        "tâches en cours : {running} sur {max_running} · heures-GPU sur les dernières 24 h : {used} sur {max_hours}",
    "jobs running: {running} of {max_running} · GPU-hours over the last 24 h: {used} (no limit)":
        "tâches en cours : {running} sur {max_running} · heures-GPU sur les dernières 24 h : {used} (sans limite)",
    "jobs running: {running} (no limit) · GPU-hours over the last 24 h: {used} of {max_hours}":
        "tâches en cours : {running} (sans limite) · heures-GPU sur les dernières 24 h : {used} sur {max_hours}",
    "jobs running: {running} (no limit) · GPU-hours over the last 24 h: {used} (no limit)":
        "tâches en cours : {running} (sans limite) · heures-GPU sur les dernières 24 h : {used} (sans limite)",

    # store.py, control.py, deps.py, folders.py, cli.py, lock.py
    "unknown job '{id}'": "tâche inconnue « {id} »",
    "'{id}' is not a job id (expected e.g. job-000042)":
        "« {id} » n'est pas un identifiant de tâche (attendu : par ex. job-000042)",
    "could not allocate a job folder under {path}": "impossible de réserver un dossier de tâche dans {path}",
    "device: '{device}' is not a device (use 'any', 'cpu' or 'cuda:N')":
        "device : « {device} » n'est pas un processeur (utilisez 'any', 'cpu' ou 'cuda:N')",
    "device: a {kind} job runs on {devices}, not '{device}'":
        "device : une tâche {kind} s'exécute sur {devices}, pas sur « {device} »",
    "job {id} is {status}: nothing to resume": "la tâche {id} est {status} : rien à reprendre",
    "job {id} succeeded: nothing to resume (clone it to run it again)":
        "la tâche {id} a réussi : rien à reprendre (clonez-la pour la relancer)",
    "job {id} failed with an error and cannot be resumed ({reason}); fix the cause and clone it":
        "la tâche {id} a échoué sur une erreur et ne peut pas être reprise ({reason}) ; corrigez la cause et "
        "clonez-la",
    "job {id} changed while resuming it; try again": "la tâche {id} a changé pendant sa reprise ; réessayez",
    "job {id} changed while deleting it; try again": "la tâche {id} a changé pendant sa suppression ; réessayez",
    "job {id} is part of a group (a study): resume the group, or start a new one":
        "la tâche {id} fait partie d'un groupe (une étude) : reprenez le groupe, ou lancez-en un nouveau",
    "job {id} is {status}: cancel it before deleting it":
        "la tâche {id} est {status} : annulez-la avant de la supprimer",
    "job {id} is already {status}": "la tâche {id} est déjà {status}",
    "{job} has not succeeded (it is {status})": "la tâche {job} n'a pas réussi (état : {status})",
    "the result of {job} ({kind}) has no '{key}'": "le résultat de {job} ({kind}) n'a pas de « {key} »",
    "a scheduler is already running for {home}": "un ordonnanceur tourne déjà pour {home}",
    "this home's scheduler (process {pid}: {command}) runs jobs {where}, and this command asks for {wanted} "
    "execution: its job would run {where}. Run the command {flag}, or stop that process first.":
        "l'ordonnanceur de ce dossier de travail (processus {pid} : {command}) exécute les tâches {where}, et cette "
        "commande demande une exécution {wanted} : sa tâche s'exécuterait {where}. Relancez la commande {flag}, ou "
        "arrêtez d'abord ce processus.",
    "this home's scheduler (process {pid}: {command}) runs jobs on this machine, and this command asks for slurm "
    "execution: its job would run on this machine. Run the command without --slurm, or stop that process first.":
        "l'ordonnanceur de ce dossier de travail (processus {pid} : {command}) exécute les tâches sur cette machine, "
        "et cette commande demande une exécution par Slurm : sa tâche s'exécuterait sur cette machine. Relancez la "
        "commande sans --slurm, ou arrêtez d'abord ce processus.",
    "this home's scheduler (process {pid}: {command}) runs jobs through Slurm (sbatch), and this command asks for "
    "local execution: its job would run through Slurm (sbatch). Run the command with --slurm, or stop that process "
    "first.":
        "l'ordonnanceur de ce dossier de travail (processus {pid} : {command}) exécute les tâches via Slurm (sbatch), "
        "et cette commande demande une exécution locale : sa tâche s'exécuterait via Slurm (sbatch). Relancez la "
        "commande avec --slurm, ou arrêtez d'abord ce processus.",

    # kinds.py, launchers/accelerate.py: a job's kind and resources
    "unknown job kind '{kind}' (known: {known})": "type de tâche inconnu « {kind} » (connus : {known})",
    "num_gpus: must be at least 1, got {gpus}": "num_gpus : au moins 1, reçu {gpus}",
    "strategy: '{strategy}' is not one of {choices}":
        "strategy : « {strategy} » n'est pas l'une des valeurs {choices}",
    "precision: '{precision}' is not one of {choices}":
        "precision : « {precision} » n'est pas l'une des valeurs {choices}",
    "resources: unknown ask '{key}' (known: {known})": "resources : demande inconnue « {key} » (connues : {known})",
    "resources: {key} '{value}' is not {expected}": "resources : {key} « {value} » n'est pas {expected}",
    "a number of CPU cores, e.g. 8": "un nombre de cœurs CPU, par ex. 8",
    "a size such as 32G or 16000M": "une taille comme 32G ou 16000M",
    "a wall-clock limit such as 2:00:00 or 1-12:00:00": "une durée limite comme 2:00:00 ou 1-12:00:00",
    "fsdp_state_dict_type: '{value}' is not one of {choices}":
        "fsdp_state_dict_type : « {value} » n'est pas l'une des valeurs {choices}",

    # launchers/slurm.py
    "{name}: '{value}' cannot go on an #SBATCH line (no spaces, quotes or newlines)":
        "{name} : « {value} » ne peut pas figurer sur une ligne #SBATCH (ni espaces, ni guillemets, ni retours à la "
        "ligne)",
    "Slurm needs a path without spaces or quotes: {path}": "Slurm exige un chemin sans espaces ni guillemets : {path}",
    "the job asks for {device} but Slurm partition '{partition}' has no GPUs (sinfo lists no gpu GRES): choose a "
    "GPU partition or --device cpu":
        "la tâche demande {device} mais la partition Slurm « {partition} » n'a pas de GPU (sinfo ne liste aucune GRES "
        "gpu) : choisissez une partition avec GPU ou --device cpu",
    "slurm_extra_args: '{arg}' is not an sbatch option (e.g. --qos=normal)":
        "slurm_extra_args : « {arg} » n'est pas une option de sbatch (par ex. --qos=normal)",
    "sbatch not found: Slurm mode needs the Slurm client commands on PATH":
        "sbatch introuvable : le mode Slurm exige les commandes client de Slurm dans le PATH",
    "sbatch could not be run: {error}": "impossible d'exécuter sbatch : {error}",
    "sbatch refused the job (exit {code}): {detail}": "sbatch a refusé la tâche (code {code}) : {detail}",
    "sbatch refused the job (exit {code}): no message": "sbatch a refusé la tâche (code {code}) : aucun message",
    "sbatch answered '{answer}', not a job id": "sbatch a répondu « {answer} », pas un identifiant de tâche",
    "scancel {slurm_id} could not be run: {error}": "impossible d'exécuter scancel {slurm_id} : {error}",
    "scancel {slurm_id} failed (exit {code}): {detail}": "scancel {slurm_id} a échoué (code {code}) : {detail}",
}
