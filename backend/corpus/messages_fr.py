"""French for the sentences backend.corpus writes (frbio_core.translations)."""

FR: dict[str, str] = {
    # catalogue.py: sources and uploads
    "give the source a name": "donnez un nom à la source",
    "kind must be 'domain' or 'general', not '{kind}'":
        "kind doit valoir 'domain' ou 'general', pas '{kind}'",
    "{file}: unsupported file type; upload .jsonl, .jsonl.gz, .parquet or .txt":
        "{file} : type de fichier non pris en charge ; envoyez un fichier .jsonl, .jsonl.gz, .parquet ou .txt",
    "a source named '{name}' already exists (owner: {owner}); choose another name, or replace it as its owner or an "
    "admin (--replace)":
        "une source nommée '{name}' existe déjà (propriétaire : {owner}) ; choisissez un autre nom, ou "
        "remplacez-la en tant que propriétaire ou administrateur (--replace)",
    "a source named '{name}' was just added by someone else; choose another name":
        "une source nommée '{name}' vient d'être ajoutée par quelqu'un d'autre ; choisissez un autre nom",
    "unknown source '{name}'": "source inconnue '{name}'",
    "'{name}' is a source of the data folders, not an upload: it cannot be replaced":
        "'{name}' est une source des dossiers de données, pas un fichier envoyé : elle ne peut pas être remplacée",
    "could not store the upload: {reason}": "impossible d'enregistrer le fichier envoyé : {reason}",

    # hub.py: Hugging Face Hub imports
    "'{dataset}' is not a Hub dataset id (expected owner/name)":
        "'{dataset}' n'est pas un identifiant de jeu de données du Hub (attendu : propriétaire/nom)",
    "'{dataset}' has no 'text' column (columns: {columns})":
        "'{dataset}' n'a pas de colonne 'text' (colonnes : {columns})",
    "Could not load '{dataset}' (split {split}): {error}":
        "Impossible de charger '{dataset}' (partie {split}) : {error}",
    "could not store '{dataset}': {reason}": "impossible d'enregistrer '{dataset}' : {reason}",
    "Cannot load '{dataset}' from the Hugging Face Hub: {reason}. On a machine with Hub access run "
    "`python -m backend corpus hub {dataset}` there and copy frbio_home/uploads/hub/, or put the dataset's "
    "parquet/JSONL files in a data folder (corpus/) and rescan.":
        "Impossible de charger '{dataset}' depuis le Hub Hugging Face : {reason}. Sur une machine qui accède au Hub, "
        "lancez `python -m backend corpus hub {dataset}` puis copiez frbio_home/uploads/hub/, ou placez les fichiers "
        "parquet/JSONL du jeu de données dans un dossier de données (corpus/) et relancez l'analyse.",
    "offline mode is on (HF_HUB_OFFLINE=1)": "le mode hors ligne est activé (HF_HUB_OFFLINE=1)",
    "the Hub is unreachable from this machine": "le Hub est injoignable depuis cette machine",

    # readers.py: corpus files
    "{file}: unsupported file type; use .jsonl, .jsonl.gz, .parquet or a folder of .txt files":
        "{file} : type de fichier non pris en charge ; utilisez .jsonl, .jsonl.gz, .parquet ou un dossier de "
        "fichiers .txt",
    "{where}: expected a JSON object with a 'text' field, got {type}":
        "{where} : un objet JSON avec un champ 'text' était attendu, reçu {type}",
    "{file} line {line}: expected a JSON object with a 'text' field, got {type}":
        "{file} ligne {line} : un objet JSON avec un champ 'text' était attendu, reçu {type}",
    "{file} row {row}: expected a JSON object with a 'text' field, got {type}":
        "{file} ligne {row} : un objet JSON avec un champ 'text' était attendu, reçu {type}",
    "{where}: no 'text' field (fields: {fields})": "{where} : pas de champ 'text' (champs : {fields})",
    "{file} line {line}: no 'text' field (fields: {fields})":
        "{file} ligne {line} : pas de champ 'text' (champs : {fields})",
    "{file} row {row}: no 'text' field (fields: {fields})":
        "{file} ligne {row} : pas de champ 'text' (champs : {fields})",
    "{where}: 'text' must be a string, got {type}": "{where} : 'text' doit être du texte, reçu {type}",
    "{file} line {line}: 'text' must be a string, got {type}":
        "{file} ligne {line} : 'text' doit être du texte, reçu {type}",
    "{file} row {row}: 'text' must be a string, got {type}":
        "{file} ligne {row} : 'text' doit être du texte, reçu {type}",
    "{file}: empty file, no documents": "{file} : fichier vide, aucun document",
    "{file}: no 'text' column (columns: {columns})": "{file} : pas de colonne 'text' (colonnes : {columns})",
    "{file}: {size} MB is over the {limit} MB limit for one document":
        "{file} : {size} MB dépasse la limite de {limit} MB pour un document",
    "{file}: binary file, not text": "{file} : fichier binaire, pas du texte",
    "{file}: folder has no .txt files": "{file} : le dossier ne contient aucun fichier .txt",
    "{file}: only empty .txt files, no documents": "{file} : uniquement des fichiers .txt vides, aucun document",
    "{path}: no such file or folder": "{path} : fichier ou dossier introuvable",
    "{file}: binary file, not text (expected JSONL, gzip JSONL or parquet)":
        "{file} : fichier binaire, pas du texte (JSONL, JSONL gzip ou parquet attendu)",
    "{file}: truncated or corrupt gzip after line {line} ({error}); re-download or re-compress the file":
        "{file} : gzip tronqué ou corrompu après la ligne {line} ({error}) ; téléchargez ou compressez de nouveau "
        "le fichier",
    "{file}: not a readable parquet file ({error})": "{file} : fichier parquet illisible ({error})",
    "{file}: not UTF-8 text (byte 0x{byte} at offset {offset}); re-encode the file as UTF-8":
        "{file} : texte non UTF-8 (octet 0x{byte} à la position {offset}) ; réencodez le fichier en UTF-8",
    "{file} line {line}: a single line longer than {limit} MB; split the document (one JSON object per line) or "
    "use a folder of .txt files":
        "{file} ligne {line} : une seule ligne dépasse {limit} MB ; découpez le document (un objet JSON par ligne) "
        "ou utilisez un dossier de fichiers .txt",
    "{file} line {line}: not UTF-8 text (byte 0x{byte} at column {column}); re-encode the file as UTF-8":
        "{file} ligne {line} : texte non UTF-8 (octet 0x{byte} à la colonne {column}) ; réencodez le fichier en "
        "UTF-8",
    "{file} line {line}: not valid JSON ({error} at column {column})":
        "{file} ligne {line} : JSON invalide ({error} à la colonne {column})",

    # snapshot.py and recipe.py: recipes and snapshots
    "recipe": "recette",
    "recipe.sources: unknown domain source '{source}'": "recipe.sources : source du domaine inconnue '{source}'",
    "recipe.sources: unknown domain source '{source}' (it is a general-domain source: use general_sources)":
        "recipe.sources : source du domaine inconnue '{source}' (c'est une source du domaine général : utilisez "
        "general_sources)",
    "recipe.sources: unknown domain source '{source}'{hint}":
        "recipe.sources : source du domaine inconnue '{source}'{hint}",
    " (it is a general-domain source: use general_sources)":
        " (c'est une source du domaine général : utilisez general_sources)",
    "recipe.weights: unknown domain source '{source}'": "recipe.weights : source du domaine inconnue '{source}'",
    "recipe.general_sources: unknown general-domain source '{source}'":
        "recipe.general_sources : source du domaine général inconnue '{source}'",
    "recipe.sources: '{source}' cannot be read: {error}": "recipe.sources : '{source}' est illisible : {error}",
    "recipe.sources: {sources} do(es) not allow commercial use; remove it or set license_mode: research":
        "recipe.sources : {sources} n'autorise(nt) pas l'usage commercial ; retirez-la(les) ou choisissez "
        "license_mode: research",
    "the recipe selects no domain source (check sources, license_mode, document_types)":
        "la recette ne retient aucune source du domaine (vérifiez sources, license_mode, document_types)",
    "recipe.replay_fraction > 0 but no general-domain training source is catalogued":
        "recipe.replay_fraction > 0 mais aucune source d'entraînement du domaine général n'est cataloguée",
    "the recipe leaves no training document (all weights are 0 or every document was removed by cleaning and "
    "length bounds)":
        "la recette ne laisse aucun document d'entraînement (tous les poids valent 0, ou chaque document a été "
        "retiré par le nettoyage et les bornes de longueur)",
    "unknown snapshot '{snapshot}'": "instantané inconnu '{snapshot}'",

    # the build's progress (job.py, snapshot.py, cleaning_batch.py, dedup.py, tokens.py)
    "scanning sources": "analyse des sources",
    "reading sources": "lecture des sources",
    "cleaning {count} documents": "nettoyage de {count} documents",
    "cleaned {done}/{total} documents": "{done}/{total} documents nettoyés",
    "removing duplicates": "suppression des doublons",
    "exact duplicates": "doublons exacts",
    "MinHash signatures {done}/{total}": "signatures MinHash {done}/{total}",
    "kept {kept}/{total} documents": "{kept}/{total} documents conservés",
    "reading general-domain text": "lecture du texte du domaine général",
    "counting tokens": "comptage des tokens",
    "counting tokens: {source}": "comptage des tokens : {source}",
    "splitting and mixing": "découpage et mélange",
    "writing parquet files": "écriture des fichiers parquet",
    "done": "terminée",

    # job.py: the build's summary
    "Built: {snapshot} — {docs} training documents, {tokens} tokens; {exact} exact and {near} near duplicates "
    "removed. {licence}":
        "Construit : {snapshot} — {docs} documents d'entraînement, {tokens} tokens ; {exact} doublons exacts et "
        "{near} quasi-doublons retirés. {licence}",
    "Already built (same recipe, same inputs): {snapshot} — {docs} training documents, {tokens} tokens; {exact} "
    "exact and {near} near duplicates removed. {licence}":
        "Déjà construit (même recette, mêmes entrées) : {snapshot} — {docs} documents d'entraînement, {tokens} "
        "tokens ; {exact} doublons exacts et {near} quasi-doublons retirés. {licence}",

    # search_index.py and viewer.py: reading a snapshot
    "type a word to search for (letters or digits)": "saisissez un mot à rechercher (lettres ou chiffres)",
    "cannot write the search index of snapshot {snapshot}: {reason}":
        "impossible d'écrire l'index de recherche de l'instantané {snapshot} : {reason}",
    "indexing {done}/{total} documents": "indexation de {done}/{total} documents",
    "unknown snapshot '{snapshot}' (see python -m backend corpus snapshots)":
        "instantané inconnu '{snapshot}' (voir python -m backend corpus snapshots)",
    "the folder of snapshot '{snapshot}' is gone: {folder}":
        "le dossier de l'instantané '{snapshot}' a disparu : {folder}",
    "snapshot {snapshot} has no split '{split}' (it has: {known})":
        "l'instantané {snapshot} n'a pas de partie '{split}' (il a : {known})",
    "{file} has {count} documents: no row {row}": "{file} contient {count} documents : pas de ligne {row}",
    "no document '{doc}' in snapshot {snapshot}": "aucun document '{doc}' dans l'instantané {snapshot}",
    "no document '{doc}' in snapshot {snapshot} (source {source})":
        "aucun document '{doc}' dans l'instantané {snapshot} (source {source})",
    "no document '{doc}' in snapshot {snapshot} (split {split})":
        "aucun document '{doc}' dans l'instantané {snapshot} (partie {split})",
    "no document '{doc}' in snapshot {snapshot} (source {source}) (split {split})":
        "aucun document '{doc}' dans l'instantané {snapshot} (source {source}) (partie {split})",
}
