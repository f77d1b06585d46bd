"""French for the sentences frbio_core writes (frbio_core.translations)."""

FR: dict[str, str] = {
    # config.py: configs and config files
    "Invalid {what}: {problems}": "Configuration non valide ({what}) : {problems}",
    "Invalid {what}: expected a mapping of fields, got {type}":
        "Configuration non valide ({what}) : un ensemble de champs était attendu, reçu {type}",
    "{path}: {what} file not found": "{path} : fichier introuvable ({what})",
    "{name}: not valid {fmt} ({detail})": "{name} : {fmt} non valide ({detail})",
    "{name}: a {what} is a mapping of fields, got {type}":
        "{name} : ce fichier ({what}) doit contenir un ensemble de champs, reçu {type}",

    # users.py: accounts
    "'{name}' is reserved (the owner of what a single-user install makes); choose another name":
        "« {name} » est réservé (le propriétaire de ce que crée une installation mono-utilisateur) ; "
        "choisissez un autre nom",
    "'{name}' is not a valid user name (letters, digits, '.', '_', '-', '@'; at most 64 characters, starting with "
    "a letter or digit)":
        "« {name} » n'est pas un nom d'utilisateur valide (lettres, chiffres, '.', '_', '-', '@' ; 64 caractères au "
        "plus, en commençant par une lettre ou un chiffre)",
    "a password needs at least {n} characters": "un mot de passe doit compter au moins {n} caractères",
    "a password has at most 1024 characters": "un mot de passe compte au plus 1024 caractères",
    "unknown user '{name}'": "utilisateur inconnu « {name} »",
    "language: '{language}' is not one of {choices}":
        "language : « {language} » n'est pas l'une des valeurs {choices}",
    "user '{name}' already exists": "l'utilisateur « {name} » existe déjà",

    # users.py: permissions (require, require_can_manage, require_admin)
    "'{actor}' is not an enabled account here: it cannot {action}":
        "« {actor} » n'est pas un compte actif ici : ce compte ne peut pas {action}",
    "'{actor}' is not an enabled account here: it cannot run {title}":
        "« {actor} » n'est pas un compte actif ici : ce compte ne peut pas lancer « {title} »",
    "only an admin can {action}": "seul un administrateur peut {action}",
    "only an admin can {action} ({what})": "seul un administrateur peut {action} ({what})",
    "only an admin can allow a model's own code (trust_remote_code) ({model})":
        "seul un administrateur peut autoriser le code propre d'un modèle (trust_remote_code) ({model})",
    "only an admin can unload the models loaded for everyone (generation cache)":
        "seul un administrateur peut décharger les modèles chargés pour tout le monde (cache de génération)",
    "only an admin can run {title} ({name})": "seul un administrateur peut lancer « {title} » ({name})",
    "you cannot {action} {what}: it belongs to {owner}; only its owner or an admin can {action} it":
        "vous ne pouvez pas {action} {what} : cela appartient à {owner} ; seul son propriétaire ou un administrateur "
        "peut le faire",
    "you cannot {action} job {id}: it belongs to {owner}; only its owner or an admin can {action} it":
        "vous ne pouvez pas {action} la tâche {id} : elle appartient à {owner} ; seul son propriétaire ou un "
        "administrateur peut le faire",
    "you cannot {action} source {id}: it belongs to {owner}; only its owner or an admin can {action} it":
        "vous ne pouvez pas {action} la source {id} : elle appartient à {owner} ; seul son propriétaire ou un "
        "administrateur peut le faire",
    "you cannot {action} preset {id}: it belongs to {owner}; only its owner or an admin can {action} it":
        "vous ne pouvez pas {action} le préréglage {id} : il appartient à {owner} ; seul son propriétaire ou un "
        "administrateur peut le faire",
    "you cannot {action} model {id}: it belongs to {owner}; only its owner or an admin can {action} it":
        "vous ne pouvez pas {action} le modèle {id} : il appartient à {owner} ; seul son propriétaire ou un "
        "administrateur peut le faire",
    "you cannot {action} snapshot {id}: it belongs to {owner}; only its owner or an admin can {action} it":
        "vous ne pouvez pas {action} l'instantané {id} : il appartient à {owner} ; seul son propriétaire ou un "
        "administrateur peut le faire",
    "you cannot {action} voting session {id}: it belongs to {owner}; only its owner or an admin can {action} it":
        "vous ne pouvez pas {action} la session de vote {id} : elle appartient à {owner} ; seul son propriétaire ou "
        "un administrateur peut le faire",
    "you cannot publish to '{repo}' model {id}: it belongs to {owner}; only its owner or an admin can publish to "
    "'{repo}' it":
        "vous ne pouvez pas publier le modèle {id} vers « {repo} » : il appartient à {owner} ; seul son propriétaire "
        "ou un administrateur peut le faire",
    "you cannot publish to '{repo}' snapshot {id}: it belongs to {owner}; only its owner or an admin can publish "
    "to '{repo}' it":
        "vous ne pouvez pas publier l'instantané {id} vers « {repo} » : il appartient à {owner} ; seul son "
        "propriétaire ou un administrateur peut le faire",
    "nobody (a command-line job)": "l'opérateur du serveur (en ligne de commande)",
    # the actions named in those refusals (the `action` argument of require*, from every feature)
    "cancel": "annuler",
    "resume": "reprendre",
    "delete": "supprimer",
    "replace": "remplacer",
    "close": "fermer",
    "prepare the answers of": "préparer les réponses de",
    "see the results of": "voir les résultats de",
    "publish to '{repo}'": "publier vers « {repo} »",
    "create a voting session": "créer une session de vote",
    "vote in a voting session": "voter dans une session de vote",
    "save a preset": "enregistrer un préréglage",
    "unload the models loaded for everyone": "décharger les modèles chargés pour tout le monde",
    "register a folder of the server as a model": "enregistrer un dossier du serveur comme modèle",
    "allow a model's own code (trust_remote_code)": "autoriser le code propre d'un modèle (trust_remote_code)",
}
