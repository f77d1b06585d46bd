"""The snapshot's README.md dataset card: licences, attribution, counts, cleaning, how to load it."""
from __future__ import annotations

from pathlib import Path

from backend.lineage import sentence


def _licence_tag(manifest: dict) -> str:
    return "other" if not manifest["commercial_use"] else "multiple-open-licences"


def write_card(path: Path, manifest: dict) -> None:
    splits = manifest["splits"]
    status = sentence(manifest["commercial_use"], "snapshot")
    lines = [
        "---",
        f"license: {_licence_tag(manifest)}",
        "language: [fr]",
        "tags: [biomedical, french, domain-adaptive-pretraining, frbio-studio]",
        f"pretty_name: {manifest['name']}",
        # the files of each split, so `load_dataset(folder)` (and a Hub push) gives the snapshot's own splits: left
        # to its file-name rules, `datasets` puts general_validation.parquet into `validation`
        "configs:",
        "- config_name: default",
        "  data_files:",
        "  - {split: train, path: train.parquet}",
        "  - {split: validation, path: validation.parquet}",
        "- config_name: general",
        "  data_files:",
        "  - {split: validation, path: general_validation.parquet}",
        "---",
        f"# {manifest['name']} ({manifest['id']})",
        "",
        "French biomedical corpus snapshot built by FrBio Studio for domain-adaptive pre-training, following the "
        "PARTAGES recipe (Mannion et al., LREC 2026): per-source licences, rule-based cleaning, exact and "
        "near-duplicate removal, validation split stratified by source.",
        "",
        f"**Licence status.** {status}",
        "",
        "## Sources and licences",
        "",
        "| source | licence | commercial use | train docs | train tokens | validation docs |",
        "|---|---|---|---:|---:|---:|",
    ]
    for lic in manifest["licenses"]:
        tr = splits["train"].get(lic["source"], {})
        va = splits["validation"].get(lic["source"], {})
        lines.append(f"| {lic['source']} | {lic['license']} | {'yes' if lic['commercial_use'] else 'no'} | "
                     f"{tr.get('docs', 0):,} | {tr.get('tokens', 0):,} | {va.get('docs', 0):,} |")
    lines += ["", "## Attribution", ""]
    for lic in manifest["licenses"]:
        origin = f" — {lic['attribution']}" if lic.get("attribution") else ""
        lines.append(f"- {lic['source']}: {lic['license']}{origin}")
    lines += ["", "## Cleaning (documents / words removed)", "", "| step | docs changed | docs removed | words removed |",
              "|---|---:|---:|---:|"]
    for name, rule in manifest["cleaning"].get("rules", {}).items():
        words = rule.get("words_removed", 0)   # negative when a step splits words (a tag replaced by a space)
        lines.append(f"| {name} | {rule.get('docs_changed', 0):,} | {rule.get('docs_removed', 0):,} | "
                     + (f"{words:,} |" if words >= 0 else f"0 ({-words:,} added) |"))
    dedup = manifest["dedup"]
    lines += [f"| exact duplicates | | {dedup.get('exact', {}).get('removed', 0):,} | |",
              f"| near duplicates | | {dedup.get('near', {}).get('removed', 0):,} | |",
              f"| length bounds | | {manifest['length_filter']['removed']:,} | |", "",
              "## Files", "",
              "- `train.parquet`: training documents (mixed by the recipe's weights; replay included if any)",
              "- `validation.parquet`: held-out domain documents, stratified by source",
              "- `general_validation.parquet`: general-domain text (French, and English where catalogued) for "
              "measuring drift", "",
              "```python",
              "from datasets import load_dataset",
              "ds = load_dataset('path/to/this/folder')              # train and validation (domain)",
              "general = load_dataset('path/to/this/folder', 'general')  # general-domain validation text",
              "```", "",
              f"Recipe and input file hashes: `manifest.json`. Licence flags copy the source configuration; "
              "they are not legal advice.", ""]
    check = manifest.get("contamination")
    if check:
        lines += ["## Benchmark contamination", "",
                  f"Test items sharing at least {check['flag_n']} consecutive words (lower-cased, punctuation "
                  f"removed; {check['min_n']}-gram hashes) with `train.parquet`:", "",
                  "| benchmark | items | flagged | longest shared span (words) |", "|---|---:|---:|---:|"]
        lines += [f"| {b['title']} | {b['items']:,} | {b['flagged']:,} | {b['longest']} |" for b in check["benchmarks"]]
        lines.append("")
    path.write_text("\n".join(lines), "utf-8")
