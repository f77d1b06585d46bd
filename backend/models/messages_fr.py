"""French for the sentences backend.models writes (frbio_core.translations)."""

FR: dict[str, str] = {
    # hub.py: downloads from the Hugging Face Hub (errors, progress lines)
    "'{repo}' is not a Hub model id (expected owner/name)":
        "« {repo} » n'est pas un identifiant de modèle du Hub (attendu : propriétaire/nom)",
    "Looking up {repo}": "Recherche de {repo} sur le Hub",
    "'{repo}': {architecture} is not a causal language model (FrBio Studio trains and merges decoder-only models, "
    "e.g. LlamaForCausalLM)":
        "« {repo} » : {architecture} n'est pas un modèle de langue causal (FrBio Studio entraîne et fusionne des "
        "modèles décodeurs seuls, par ex. LlamaForCausalLM)",
    "'{repo}' has no safetensors or pytorch_model.bin weights (GGUF/ONNX-only repositories are not supported)":
        "« {repo} » n'a pas de poids safetensors ni pytorch_model.bin (les dépôts uniquement GGUF/ONNX ne sont pas "
        "pris en charge)",
    "Not enough disk space for '{repo}': {needed} GB needed, {free} GB free in {folder}":
        "Pas assez d'espace disque pour « {repo} » : {needed} GB nécessaires, {free} GB libres dans {folder}",
    "Downloaded {repo}": "{repo} téléchargé",
    "{done} / {total} MB ({files}/{count} files)": "{done} / {total} MB ({files}/{count} fichiers)",
    "{done} MB ({files}/{count} files)": "{done} MB ({files}/{count} fichiers)",
    # hub.py: what a Hub error says (the action is one of the two below)
    "download '{repo}' from the Hugging Face Hub": "télécharger « {repo} » depuis le Hub Hugging Face",
    "publish to the Hugging Face Hub as '{repo}'": "publier sur le Hub Hugging Face sous le nom « {repo} »",
    "Cannot {action}: offline mode is on (HF_HUB_OFFLINE=1) (Hub unreachable/offline). Instead: {hint}.":
        "Impossible de {action} : le mode hors ligne est activé (HF_HUB_OFFLINE=1). À la place : {hint}.",
    "Cannot {action}: the Hub is unreachable from this machine (Hub unreachable/offline). Instead: {hint}.":
        "Impossible de {action} : le Hub est injoignable depuis cette machine. À la place : {hint}.",
    "publish from a machine with Hub access (copy the folder there), or unset HF_HUB_OFFLINE":
        "publiez depuis une machine qui a accès au Hub (copiez-y le dossier), ou retirez HF_HUB_OFFLINE",
    "on a machine with Hub access download the model folder (e.g. `hf download REPO --local-dir DIR`), copy it here "
    "and register it with `python -m backend models import DIR --copy`":
        "sur une machine qui a accès au Hub, téléchargez le dossier du modèle (par ex. "
        "`hf download REPO --local-dir DIR`), copiez-le ici et enregistrez-le avec "
        "`python -m backend models import DIR --copy`",
    "Cannot {action}: the repository is gated; accept its conditions on huggingface.co and provide a token "
    "(HF_TOKEN)":
        "Impossible de {action} : l'accès au dépôt est restreint ; acceptez ses conditions sur huggingface.co et "
        "fournissez un token (HF_TOKEN)",
    "Cannot {action}: repository not found (or private: provide a token with HF_TOKEN)":
        "Impossible de {action} : dépôt introuvable (ou privé : fournissez un token avec HF_TOKEN)",
    "Cannot {action}: revision not found": "Impossible de {action} : révision introuvable",
    "Cannot {action}: the Hub refused the token (HTTP {status}); check that it is valid and has write access":
        "Impossible de {action} : le Hub a refusé le token (HTTP {status}) ; vérifiez qu'il est valide et qu'il a "
        "les droits d'écriture",
    "Cannot {action}: no Hugging Face token (set HF_TOKEN, log in with `hf auth login`, or enter a token in your "
    "settings)":
        "Impossible de {action} : aucun token Hugging Face (définissez HF_TOKEN, connectez-vous avec "
        "`hf auth login` ou saisissez un token dans vos paramètres)",
    "Cannot {action}: {reason}": "Impossible de {action} : {reason}",
    # job.py: the model_download job
    "Cannot download '{repo}': offline mode is on (HF_HUB_OFFLINE=1). On a machine with Hub access, download it "
    "there and import the folder (Models → Import a local folder).":
        "Impossible de télécharger « {repo} » : le mode hors ligne est activé (HF_HUB_OFFLINE=1). Téléchargez-le "
        "sur une machine qui a accès au Hub, puis importez le dossier (Modèles → Importer un dossier Hugging Face "
        "local).",
    "{model}: {architecture}, {params}M parameters": "{model} : {architecture}, {params} M de paramètres",
    # importing.py: local folders
    "importing a folder of the server is off: the operator lists the folders it may come from with --import-roots":
        "l'import d'un dossier du serveur est désactivé : l'opérateur indique les dossiers autorisés avec "
        "--import-roots",
    "'{path}' is not under an import root (allowed: {roots})":
        "« {path} » n'est pas dans un dossier d'import autorisé (dossiers autorisés : {roots})",
    "A model folder named '{model}' already exists under models/: choose another name (--name)":
        "Un dossier de modèle nommé « {model} » existe déjà dans models/ : choisissez un autre nom (--name)",
    "Could not copy the folder into models/{model}: {reason}":
        "Impossible de copier le dossier dans models/{model} : {reason}",
    "the folder holds a link out of it ({link}): not copied":
        "le dossier contient un lien vers l'extérieur ({link}) : il n'est pas copié",
    "a model with id '{model}' already exists (owner: {owner}): choose another name (--name), or replace it as its "
    "owner or an admin (--replace)":
        "un modèle d'identifiant « {model} » existe déjà (propriétaire : {owner}) : choisissez un autre nom "
        "(--name), ou remplacez-le si vous en êtes le propriétaire ou administrateur (--replace)",
    # registry.py
    "a model with id '{model}' already exists (owner: {owner}): choose another name, or replace it as its owner or "
    "an admin (--replace)":
        "un modèle d'identifiant « {model} » existe déjà (propriétaire : {owner}) : choisissez un autre nom, ou "
        "remplacez-le si vous en êtes le propriétaire ou administrateur (--replace)",
    "unknown model '{model}' (registered: {known})": "modèle inconnu « {model} » (modèles enregistrés : {known})",
    # resolve.py: "<role>: …" where the role is a field name (base_model, dapt_model)
    "no model given": "aucun modèle indiqué",
    "{role}: no model given": "{role} : aucun modèle indiqué",
    "{role}: unknown model '{model}' (registered: {known})":
        "{role} : modèle inconnu « {model} » (modèles enregistrés : {known})",
    "{role}: unknown model '{model}' (registered: {known}); register it first: python -m backend models import "
    "{path}":
        "{role} : modèle inconnu « {model} » (modèles enregistrés : {known}) ; enregistrez-le d'abord : "
        "python -m backend models import {path}",
    "'{model}' cannot be used: {reason}": "« {model} » est inutilisable : {reason}",
    "{role}: '{model}' cannot be used: {reason}": "{role} : « {model} » est inutilisable : {reason}",
    # inspect.py: what is wrong with a model folder
    "Model folder not found: {folder}": "Dossier du modèle introuvable : {folder}",
    "Not a folder: {path} (expected a Hugging Face model folder with config.json, weights and a tokenizer)":
        "Ce n'est pas un dossier : {path} (attendu : un dossier de modèle Hugging Face avec config.json, des poids "
        "et un tokenizer)",
    "No tokenizer in {folder}: expected tokenizer.json (or tokenizer.model / vocab.json) beside config.json. Save it "
    "with tokenizer.save_pretrained(folder).":
        "Aucun tokenizer dans {folder} : tokenizer.json (ou tokenizer.model / vocab.json) est attendu à côté de "
        "config.json. Enregistrez-le avec tokenizer.save_pretrained(folder).",
    "The model folder {folder} is empty": "Le dossier du modèle {folder} est vide",
    "{folder} holds a LoRA adapter (adapter_config.json), not a full model: merge it into its base model first "
    "(peft's merge_and_unload) and save that folder":
        "{folder} contient un adaptateur LoRA (adapter_config.json), pas un modèle complet : fusionnez-le d'abord "
        "avec son modèle de base (merge_and_unload de peft) et enregistrez ce dossier",
    "No config.json in {folder}: not a Hugging Face model folder":
        "Pas de config.json dans {folder} : ce n'est pas un dossier de modèle Hugging Face",
    "config.json in {folder} is not valid JSON ({error})":
        "config.json dans {folder} n'est pas du JSON valide ({error})",
    "config.json in {folder} is not a JSON object": "config.json dans {folder} n'est pas un objet JSON",
    "config.json in {folder} names no architecture (no 'architectures' nor 'model_type')":
        "config.json dans {folder} ne nomme aucune architecture (ni 'architectures' ni 'model_type')",
    "{folder}: model type '{model_type}' is not a causal language model (FrBio Studio trains and merges decoder-only "
    "models such as Llama, Qwen, Mistral)":
        "{folder} : le type de modèle « {model_type} » n'est pas un modèle de langue causal (FrBio Studio entraîne "
        "et fusionne des modèles décodeurs seuls, comme Llama, Qwen, Mistral)",
    "{folder}: {architecture} is not a causal language model (FrBio Studio trains and merges decoder-only models, "
    "e.g. LlamaForCausalLM)":
        "{folder} : {architecture} n'est pas un modèle de langue causal (FrBio Studio entraîne et fusionne des "
        "modèles décodeurs seuls, par ex. LlamaForCausalLM)",
    "{index} in {folder} is not a valid shard index": "{index} dans {folder} n'est pas un index de fragments valide",
    "{folder} is incomplete: {count} weight shard(s) listed in {index} are missing ({names}{more})":
        "{folder} est incomplet : {count} fragment(s) de poids listé(s) dans {index} manque(nt) ({names}{more})",
    "No weights in {folder}: expected model.safetensors (or sharded *.safetensors, or pytorch_model.bin)":
        "Aucun poids dans {folder} : model.safetensors est attendu (ou des *.safetensors fragmentés, ou "
        "pytorch_model.bin)",
    # inspect.py: a broken safetensors file ("{bad}" is the sentence just below)
    "{file} in {folder} is corrupt or truncated": "{file} dans {folder} est corrompu ou tronqué",
    "{bad} (file of {size} bytes)": "{bad} (fichier de {size} octets)",
    "{bad} (header length {length} does not fit in a {size}-byte file)":
        "{bad} (en-tête de {length} octets, trop long pour un fichier de {size} octets)",
    "{bad} (unreadable header)": "{bad} (en-tête illisible)",
    "{bad} (header is not a JSON object)": "{bad} (l'en-tête n'est pas un objet JSON)",
    "{bad} (tensor '{name}' is described wrongly)": "{bad} (le tenseur « {name} » est mal décrit)",
    "{bad} (tensor '{name}' has invalid offsets)": "{bad} (le tenseur « {name} » a des positions invalides)",
    "{bad} (header describes {described} bytes, the file has {size})":
        "{bad} (l'en-tête décrit {described} octets, le fichier en a {size})",
    # publish.py
    "give your own Hugging Face token to publish: this server does not lend its own (its operator can allow that "
    "with --allow-server-hub-token)":
        "donnez votre propre token Hugging Face pour publier : ce serveur ne prête pas le sien (son opérateur peut "
        "l'autoriser avec --allow-server-hub-token)",
    "The folder of model '{model}' is gone: {folder}": "Le dossier du modèle « {model} » a disparu : {folder}",
    "unknown snapshot '{snapshot}'": "instantané inconnu '{snapshot}'",   # as backend.corpus and evaluation
    "The folder of snapshot '{snapshot}' is gone: {folder}":
        "Le dossier de l'instantané « {snapshot} » a disparu : {folder}",
    "'{repo}' is not a Hub repository id (expected owner/name)":
        "« {repo} » n'est pas un identifiant de dépôt du Hub (attendu : propriétaire/nom)",
    # trust.py
    "model '{model}' ships its own Python code (auto_map in its config): it is not run because its files changed "
    "since an admin allowed it: the permission has lapsed; (python -m backend trust-remote-code {model})":
        "le modèle « {model} » contient son propre code Python (auto_map dans sa configuration) : il n'est pas "
        "exécuté, car ses fichiers ont changé depuis qu'un administrateur l'a autorisé : l'autorisation a expiré "
        "(python -m backend trust-remote-code {model})",
    "model '{model}' ships its own Python code (auto_map in its config): it is not run unless an admin allows it for "
    "this model (python -m backend trust-remote-code {model})":
        "le modèle « {model} » contient son propre code Python (auto_map dans sa configuration) : il n'est exécuté "
        "que si un administrateur l'autorise pour ce modèle (python -m backend trust-remote-code {model})",
}
