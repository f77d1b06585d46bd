"""French for the sentences backend.training writes (frbio_core.translations)."""

FR: dict[str, str] = {
    # loop.py: progress of a training run
    "preparing data": "préparation des données",
    "tokenizing {split}": "tokenisation de {split}",
    "evaluating the base model": "évaluation du modèle de base",
    "compiling the model (torch.compile): the first step takes a minute or more":
        "compilation du modèle (torch.compile) : le premier pas prend une minute ou plus",
    "step {step}/{max_steps} · loss {loss:.3f} · {tps:.0f} tok/s · ETA {eta}":
        "pas {step}/{max_steps} · perte {loss} · {tps} tok/s · fin dans {eta}",
    "final evaluation": "évaluation finale",
    "saving the model": "enregistrement du modèle",
    "stopped while preparing data": "arrêtée pendant la préparation des données",

    # loop.py: failures during a run
    "block_size {block_size} is above the context length of '{model}' ({context})":
        "block_size {block_size} dépasse la longueur de contexte de '{model}' ({context})",
    "base_model: '{model}' cannot be loaded from {path}: {error}":
        "base_model : '{model}' ne peut pas être chargé depuis {path} : {error}",
    "the loss became {loss} at step {step} (learning rate {lr:.3g} too high?); the last checkpoint is intact":
        "la perte est devenue {loss} au pas {step} (taux d'apprentissage {lr} trop élevé ?) ; le dernier point de "
        "contrôle est intact",

    # data.py
    "the model's tokenizer has no end-of-sequence token to separate packed documents":
        "le tokenizer du modèle n'a pas de token de fin de séquence pour séparer les documents mis bout à bout",
    "the training split holds less than one block of tokens":
        "la part d'entraînement contient moins d'un bloc de tokens",
    "snapshot folder {folder} has no {file}": "le dossier d'instantané {folder} ne contient pas {file}",

    # validate.py: the checks before a run is queued
    "base_model: cannot read config.json of '{model}': {error}":
        "base_model : impossible de lire le config.json de '{model}' : {error}",
    "snapshot: unknown snapshot '{snapshot}' (built: {built}; build one in the Corpus tab or with "
    "`python -m backend corpus build`)":
        "snapshot : instantané inconnu '{snapshot}' (construits : {built} ; construisez-en un dans l'onglet Corpus "
        "ou avec `python -m backend corpus build`)",
    "snapshot: '{snapshot}' has no train.parquet in {folder}":
        "snapshot : '{snapshot}' n'a pas de train.parquet dans {folder}",
    "block_size: {block_size} is above the context length of '{model}' ({context} tokens): choose at most that":
        "block_size : {block_size} dépasse la longueur de contexte de '{model}' ({context} tokens) : choisissez au "
        "plus cette valeur",
    "snapshot: '{snapshot}' holds about {tokens} training tokens, less than one block of {block_size}: choose a "
    "smaller block_size or a larger snapshot":
        "snapshot : '{snapshot}' contient environ {tokens} tokens d'entraînement, moins d'un bloc de {block_size} : "
        "choisissez un block_size plus petit ou un instantané plus grand",
    "output_name: '{name}' would be stored as '{slug}': use lower-case letters, digits, '-' and '.' only":
        "output_name : '{name}' serait enregistré sous '{slug}' : n'utilisez que des minuscules, des chiffres, '-' "
        "et '.'",
    "output_name: a model named '{name}' already exists: choose another":
        "output_name : un modèle nommé '{name}' existe déjà : choisissez-en un autre",
    "micro_batch_size: a micro-batch of {micro_batch} × {block_size} tokens does not fit in memory ({needs}): "
    "lower micro_batch_size (raise grad_accum to keep the tokens per step){hint}":
        "micro_batch_size : un micro-lot de {micro_batch} × {block_size} tokens ne tient pas en mémoire ({needs}) : "
        "réduisez micro_batch_size (augmentez grad_accum pour garder le nombre de tokens par pas){hint}",
    "micro_batch_size: a micro-batch of {micro_batch} × {block_size} tokens does not fit in memory ({needs}): "
    "lower micro_batch_size (raise grad_accum to keep the tokens per step)":
        "micro_batch_size : un micro-lot de {micro_batch} × {block_size} tokens ne tient pas en mémoire ({needs}) : "
        "réduisez micro_batch_size (augmentez grad_accum pour garder le nombre de tokens par pas)",
    "micro_batch_size: a micro-batch of {micro_batch} × {block_size} tokens does not fit in memory ({needs}): "
    "lower micro_batch_size (raise grad_accum to keep the tokens per step) or turn on gradient_checkpointing":
        "micro_batch_size : un micro-lot de {micro_batch} × {block_size} tokens ne tient pas en mémoire ({needs}) : "
        "réduisez micro_batch_size (augmentez grad_accum pour garder le nombre de tokens par pas) ou activez "
        "gradient_checkpointing",
    " or turn on gradient_checkpointing": " ou activez gradient_checkpointing",
    "lora_target_modules: '{model}' has no module named {modules} (try ['all-linear'])":
        "lora_target_modules : '{model}' n'a pas de module nommé {modules} (essayez ['all-linear'])",

    # config.py: what the config's validators say (inside "Invalid train config: …")
    "train config": "configuration d'entraînement",
    "warmup_steps ({warmup}) is more than max_steps ({max_steps}): the learning rate would never reach its peak; "
    "lower the warm-up or train longer":
        "warmup_steps ({warmup}) dépasse max_steps ({max_steps}) : le taux d'apprentissage n'atteindrait jamais son "
        "pic ; réduisez l'échauffement ou entraînez plus longtemps",
    "keep_steps {step} is outside the run (steps 1 to max_steps = {max_steps})":
        "keep_steps {step} est en dehors de l'entraînement (pas 1 à max_steps = {max_steps})",
    "required: the id of a built corpus snapshot (snap-…)":
        "obligatoire : l'identifiant d'un instantané de corpus construit (snap-…)",
    "snapshot: required: the id of a built corpus snapshot (snap-…)":
        "snapshot : obligatoire : l'identifiant d'un instantané de corpus construit (snap-…)",

    # job.py: the run's summary
    "{job}: stopped at step {step} ({reason})": "{job} : arrêtée au pas {step} ({reason})",
    "{model}: {steps} steps, {tokens} tokens": "{model} : {steps} pas, {tokens} tokens",
    "{model}: {steps} steps, {tokens} tokens; domain perplexity {start} → {end}":
        "{model} : {steps} pas, {tokens} tokens ; perplexité du domaine {start} → {end}",
}
