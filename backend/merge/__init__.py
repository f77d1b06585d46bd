"""Merging a DAPT model back with its base through mergekit: methods and their generated parameter forms
(methods.py), the merge config (config.py), compatibility checks (compat.py), the in-memory preview (preview.py,
fastpaths.py), saving a merge as a registered model (save.py) and the t-sweep (sweep.py)."""
