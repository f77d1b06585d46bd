"""The README.md model card of a model FrBio Studio produces (DAPT, merge, tiny test model), or publishes without
one: YAML front matter the Hub reads (license, base_model, tags, datasets) and a short body stating the corpus
snapshot's licence status, the method, hyperparameters and metrics."""
from __future__ import annotations

from pathlib import Path

import yaml
from backend.lineage import status as status_of

TAGS = ["frbio-studio", "biomedical", "french"]


def model_card(*, title: str, base_models: list[str] | None = None, snapshot: dict | None = None,
               method: str = "", hyperparameters: dict | None = None, metrics: dict | None = None,
               license: str | None = None, description: str = "") -> str:
    """The card's text. `snapshot`: {"id", "commercial_use", "licenses" (names or dicts with 'license'),
    optionally "repo_id" when the snapshot is on the Hub}."""
    base_models = [b for b in (base_models or []) if b]
    non_commercial = bool(snapshot) and not snapshot.get("commercial_use", True)
    front = {"license": license or "unknown"}
    if license and license not in _HUB_LICENCES:  # the Hub accepts its own identifiers only
        front = {"license": "other", "license_name": license}
    front |= {"library_name": "transformers", "pipeline_tag": "text-generation",
              "tags": TAGS + [t for t in (method, "non-commercial" if non_commercial else "") if t]}
    if base_models:
        front["base_model"] = base_models[0] if len(base_models) == 1 else base_models
    if snapshot:
        front["datasets"] = [snapshot.get("repo_id") or snapshot["id"]]
    lines = ["---", yaml.safe_dump(front, sort_keys=False, allow_unicode=True).strip(), "---", "", f"# {title}", ""]
    if description:
        lines += [description, ""]
    if base_models:
        lines += [f"Base model{'s' if len(base_models) > 1 else ''}: " + ", ".join(f"`{b}`" for b in base_models), ""]
    if method:
        lines += [f"Method: {method}", ""]
    if snapshot:
        licences = sorted({(x.get("license") if isinstance(x, dict) else str(x)) or "unknown"
                           for x in snapshot.get("licenses") or []})
        status = status_of(not non_commercial)
        lines += [f"Training corpus: snapshot `{snapshot['id']}` ({status}"
                  + (f"; licences: {', '.join(licences)}" if licences else "") + ").", ""]
    for heading, values in (("Hyperparameters", hyperparameters), ("Metrics", metrics)):
        if values:
            lines += [f"## {heading}", "", "| name | value |", "|---|---|"]
            lines += [f"| {k} | {_fmt(v)} |" for k, v in values.items()] + [""]
    lines += [f"Licence: {license or 'unknown'}. Licence flags follow the sources' configuration; they are not "
              "legal advice.", ""]
    return "\n".join(lines)


def write_model_card(folder: Path | str, *, title: str, base_models: list[str] | None = None,
                     snapshot: dict | None = None, method: str = "", hyperparameters: dict | None = None,
                     metrics: dict | None = None, license: str | None = None, description: str = "") -> Path:
    """Write `folder/README.md` (replacing any) and return its path."""
    path = Path(folder) / "README.md"
    path.write_text(model_card(title=title, base_models=base_models, snapshot=snapshot, method=method,
                               hyperparameters=hyperparameters, metrics=metrics, license=license,
                               description=description), encoding="utf-8")
    return path


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value).replace("|", "\\|")


# Licence identifiers the Hub accepts in `license:` (others go to license_name with license: other).
_HUB_LICENCES = {
    "apache-2.0", "mit", "openrail", "bigscience-openrail-m", "creativeml-openrail-m", "bigscience-bloom-rail-1.0",
    "bigcode-openrail-m", "afl-3.0", "artistic-2.0", "bsl-1.0", "bsd", "bsd-2-clause", "bsd-3-clause",
    "bsd-3-clause-clear", "c-uda", "cc", "cc0-1.0", "cc-by-2.0", "cc-by-2.5", "cc-by-3.0", "cc-by-4.0",
    "cc-by-sa-3.0", "cc-by-sa-4.0", "cc-by-nc-2.0", "cc-by-nc-3.0", "cc-by-nc-4.0", "cc-by-nd-4.0",
    "cc-by-nc-nd-3.0", "cc-by-nc-nd-4.0", "cc-by-nc-sa-2.0", "cc-by-nc-sa-3.0", "cc-by-nc-sa-4.0",
    "cdla-sharing-1.0", "cdla-permissive-1.0", "cdla-permissive-2.0", "wtfpl", "ecl-2.0", "epl-1.0", "epl-2.0",
    "etalab-2.0", "eupl-1.1", "eupl-1.2", "agpl-3.0", "gfdl", "gpl", "gpl-2.0", "gpl-3.0", "lgpl", "lgpl-2.1",
    "lgpl-3.0", "isc", "h-research", "intel-research", "lppl-1.3c", "ms-pl", "apple-ascl", "apple-amlr",
    "mpl-2.0", "odc-by", "odbl", "openmdw-1.0", "openrail++", "osl-3.0", "postgresql", "ofl-1.1", "ncsa",
    "unlicense", "zlib", "pddl", "lgpl-lr", "deepfloyd-if-license", "fair-noncommercial-research-license",
    "llama2", "llama3", "llama3.1", "llama3.2", "llama3.3", "llama4", "gemma", "other", "unknown",
}
