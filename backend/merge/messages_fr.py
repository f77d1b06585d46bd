"""French for the sentences backend.merge writes (frbio_core.translations)."""

FR: dict[str, str] = {
    # compat.py: the compatibility check (its message and warnings are shown in the Merge tab)
    "Cannot merge: {reason}": "Fusion impossible : {reason}",
    "{model}: weights in {file} (pickle) — the studio merges safetensors models only":
        "{model} : poids dans {file} (pickle) — le studio ne fusionne que des modèles safetensors",
    "base and DAPT model are the same folder: choose two different models":
        "le modèle de base et le modèle DAPT sont le même dossier : choisissez deux modèles différents",
    "base and DAPT model are the same model: choose the DAPT model trained from it":
        "le modèle de base et le modèle DAPT sont le même modèle : choisissez le modèle DAPT entraîné à partir "
        "de lui",
    "{key} differs: {a} in the base {base}, {b} in the DAPT model {dapt}":
        "{key} diffère : {a} dans le modèle de base {base}, {b} dans le modèle DAPT {dapt}",
    "{key}: {a} in the base {base}, {b} in the DAPT model {dapt} (the base's is kept)":
        "{key} : {a} dans le modèle de base {base}, {b} dans le modèle DAPT {dapt} (celui du modèle de base est "
        "gardé)",
    "tensor {name} is in the base {base} but not in the DAPT model {dapt}":
        "le tenseur {name} est dans le modèle de base {base} mais pas dans le modèle DAPT {dapt}",
    "tensor {name} is in the DAPT model {dapt} but not in the base {base}":
        "le tenseur {name} est dans le modèle DAPT {dapt} mais pas dans le modèle de base {base}",
    "tensor {name} has shape {a} in the base {base}, {b} in the DAPT model {dapt}":
        "le tenseur {name} a la forme {a} dans le modèle de base {base}, {b} dans le modèle DAPT {dapt}",
    "dtype {a}/{b}: tensors of the base {base} and the DAPT model {dapt} differ in precision (merged in the wider "
    "one)": "dtype {a}/{b} : les tenseurs du modèle de base {base} et du modèle DAPT {dapt} n'ont pas la même "
            "précision (fusionnés dans la plus large)",
    "tokenizer: vocabulary of {a} tokens in the base {base}, {b} in the DAPT model {dapt}":
        "tokenizer : vocabulaire de {a} tokens dans le modèle de base {base}, {b} dans le modèle DAPT {dapt}",
    "tokenizer: token {token} has id {a} in the base {base}, id {b} in the DAPT model {dapt}":
        "tokenizer : le token {token} a l'id {a} dans le modèle de base {base}, l'id {b} dans le modèle DAPT {dapt}",
    "tokenizer: token {token} has id {a} in the base {base}, absent in the DAPT model {dapt}":
        "tokenizer : le token {token} a l'id {a} dans le modèle de base {base}, et manque dans le modèle DAPT {dapt}",
    "compatible: {arch}, {layers} layers, {n} tensors with the same shapes, same tokenizer":
        "compatibles : {arch}, {layers} couches, {n} tenseurs de mêmes formes, même tokenizer",

    # config.py: a merge config, or a mergekit YAML read back
    "merge config": "configuration de fusion",
    "the id of a registered DAPT model": "l'identifiant d'un modèle DAPT enregistré",
    "dapt_model: required: the id of a registered DAPT model":
        "dapt_model : obligatoire : l'identifiant d'un modèle DAPT enregistré",
    "{keys}: not supported in a studio merge (it keeps the models' dtype and the base's tokenizer, and merges whole "
    "models: use `models:`)":
        "{keys} : non pris en charge dans une fusion du studio (elle garde le dtype des modèles et le tokenizer du "
        "modèle de base, et fusionne des modèles entiers : utilisez `models:`)",
    "models: the list is empty: name the base model and the DAPT model":
        "models : la liste est vide : indiquez le modèle de base et le modèle DAPT",
    "base_model: {method} needs the base model named in base_model":
        "base_model : {method} a besoin du modèle de base indiqué dans base_model",
    "models: a studio merge is a base and one DAPT model; got {n} model(s) besides the base {base} (run "
    "mergekit-yaml directly to merge more)": "models : une fusion du studio réunit un modèle de base et un seul "
                                             "modèle DAPT ; {n} modèle(s) reçu(s) en plus du modèle de base {base} "
                                             "(lancez mergekit-yaml directement pour en fusionner davantage)",
    "{where}: {names} is not a parameter of {method} (its parameters: {known})":
        "{where} : {names} n'est pas un paramètre de {method} (ses paramètres : {known})",
    "models[{base}].parameters.{name}: the base takes a number, or nothing (then 1 − the DAPT model's {name})":
        "models[{base}].parameters.{name} : le modèle de base prend un nombre, ou rien (alors 1 − la valeur "
        "{name} du modèle DAPT)",
    "parameters.{name}: only a number can be used here, got {setting} (run mergekit-yaml directly for other "
    "schedules)": "parameters.{name} : seul un nombre est accepté ici, reçu {setting} (lancez mergekit-yaml "
                  "directement pour d'autres plannings)",
    "parameters.{name}: only a number, or filters self_attn / mlp with per-layer lists and a final default value "
    "(as BioMistral's SLERP), can be used here, got {setting} (run mergekit-yaml directly for other schedules)":
        "parameters.{name} : seuls un nombre, ou des filtres self_attn / mlp avec des listes par couche et une valeur "
        "par défaut finale (comme le SLERP de BioMistral), sont acceptés ici, reçu {setting} (lancez mergekit-yaml "
        "directement pour d'autres plannings)",

    # methods.py: the methods offered, their parameters
    "method: '{name}' is not offered here: {why} (offered: {offered})":
        "method : '{name}' n'est pas proposée ici : {why} (proposées : {offered})",
    "method: '{name}' is not a mergekit merge method (offered: {offered})":
        "method : '{name}' n'est pas une méthode de fusion de mergekit (proposées : {offered})",
    "takes exactly {n} input models; a studio merge has two (base and DAPT)":
        "prend exactement {n} modèles en entrée ; une fusion du studio en a deux (modèle de base et DAPT)",
    "takes {low} to {high} input models; a studio merge has two (base and DAPT)":
        "prend de {low} à {high} modèles en entrée ; une fusion du studio en a deux (modèle de base et DAPT)",
    "takes {n} or more input models; a studio merge has two (base and DAPT)":
        "prend {n} modèles ou plus en entrée ; une fusion du studio en a deux (modèle de base et DAPT)",
    "parameter(s) {names} are not numbers or switches":
        "le(s) paramètre(s) {names} ne sont ni des nombres ni des interrupteurs",
    "{method} parameters": "paramètres de {method}",
    "{field}: a schedule is a list of numbers separated by commas, got '{value}'":
        "{field} : un planning est une liste de nombres séparés par des virgules, reçu '{value}'",
    "{field}: schedule values of '{main}' must lie in [{low}, {high}], got {value}":
        "{field} : les valeurs du planning de '{main}' doivent être dans [{low}, {high}], reçu {value}",
    "{method} has no interpolation parameter to sweep": "{method} n'a pas de paramètre d'interpolation à balayer",

    # preview.py: the in-memory preview
    "mergekit cannot plan this merge: {reason}": "mergekit ne peut pas planifier cette fusion : {reason}",
    "tensor {name} is missing from the {role} model": "le tenseur {name} manque dans le modèle {role}",
    "the preview model has no tensor {name}": "le modèle d'aperçu n'a pas de tenseur {name}",
    "merge failed: {reason}": "échec de la fusion : {reason}",
    "unknown model '{which}' (base, dapt or merged)": "modèle inconnu '{which}' (base, dapt ou merged)",
    "no merge computed yet: move a slider or press Preview first":
        "aucune fusion calculée pour l'instant : déplacez d'abord un curseur ou cliquez sur Aperçu",

    # save.py: checks before a merge is saved, and its progress
    "dapt_model: the same model as base_model: choose the DAPT model trained from it":
        "dapt_model : le même modèle que base_model : choisissez le modèle DAPT entraîné à partir de lui",
    "output_name: '{name}' would be stored as '{slug}': use lower-case letters, digits, '-' and '.' only":
        "output_name : '{name}' serait enregistré sous '{slug}' : n'utilisez que des minuscules, des chiffres, '-' "
        "et '.'",
    "output_name: a model named '{name}' already exists{whose}: choose another":
        "output_name : un modèle nommé '{name}' existe déjà{whose} : choisissez-en un autre",
    "output_name: a model named '{name}' already exists (owner: {owner}): choose another":
        "output_name : un modèle nommé '{name}' existe déjà (propriétaire : {owner}) : choisissez-en un autre",
    "output_name: a model named '{name}' already exists: choose another":
        "output_name : un modèle nommé '{name}' existe déjà : choisissez-en un autre",
    "Not enough disk space for the merged model: about {need} GB needed, {free} GB free in {folder}":
        "Pas assez d'espace disque pour le modèle fusionné : environ {need} GB nécessaires, {free} GB libres dans "
        "{folder}",
    "output_name: a folder {folder} already exists: choose another name":
        "output_name : un dossier {folder} existe déjà : choisissez un autre nom",
    "mergekit failed: {reason}": "échec de mergekit : {reason}",
    "the same merge is already saved as {model}: reused":
        "la même fusion est déjà enregistrée sous {model} : réutilisée",
    "merging {dapt} into {base} ({method}) with mergekit": "fusion de {dapt} dans {base} ({method}) avec mergekit",
    "writing the model card": "écriture de la fiche du modèle",
    "registered {model}": "{model} enregistré",

    # sweep.py: the t-sweep's checks and progress
    "sweep config": "configuration du balayage",
    "snapshot: unknown snapshot '{snapshot}' (build one in the Corpus tab)":
        "snapshot : instantané inconnu '{snapshot}' (créez-en un dans l'onglet Corpus)",
    "snapshot: '{snapshot}' has no domain validation text to measure":
        "snapshot : '{snapshot}' n'a pas de texte de validation du domaine à mesurer",
    "snapshot: the DAPT model '{dapt}' records no training snapshot: choose the snapshot whose validation text to "
    "measure": "snapshot : le modèle DAPT '{dapt}' n'indique aucun instantané d'entraînement : choisissez "
               "l'instantané dont le texte de validation sera mesuré",
    "loading the base and DAPT models": "chargement du modèle de base et du modèle DAPT",
    "preparing the validation text": "préparation du texte de validation",
    "{n} points, {front} on the Pareto front": "{n} points, dont {front} sur le front de Pareto",

    # job.py: what a finished merge or sweep says
    "{model}: {method} of {base} and {dapt} (the same merge, saved before: reused)":
        "{model} : {method} de {base} et {dapt} (la même fusion, enregistrée auparavant : réutilisée)",
    "{model}: {method} of {base} and {dapt}; mergekit YAML {yaml}":
        "{model} : {method} de {base} et {dapt} ; YAML mergekit {yaml}",
    "{n} points of {main}; best: {best}": "{n} points de {main} ; meilleur : {best}",
}
