"""Licence lineage: what a snapshot, a DAPT model and a merge inherit, and the one wording of it used by the cards,
the UI, the CLI and the reports.

- A snapshot allows commercial use only when every source in it does (research-only sources make it
  NON-COMMERCIAL).
- A DAPT model allows it only when its base model and its training snapshot do.
- A merge allows it only when both parents and the DAPT parent's training snapshot do.
- Licences are carried over: a merge takes the licences of its parents, joined with AND.
"""
from __future__ import annotations

from typing import Iterable

COMMERCIAL = "Commercial use allowed"
NON_COMMERCIAL = "NON-COMMERCIAL (research only)"
COMMERCIAL_FR = "Usage commercial autorisé"
NON_COMMERCIAL_FR = "NON COMMERCIAL (recherche uniquement)"


def allowed(*flags) -> bool:
    """Commercial use is allowed when every part allows it (an unknown flag, None, counts as allowed: a base
    model imported without a licence flag)."""
    return all(True if flag is None else bool(flag) for flag in flags)


def snapshot_allowed(sources: Iterable[dict]) -> bool:
    return allowed(*(bool(s["commercial_use"]) for s in sources))


def model_allowed(base: dict | None, snapshot: dict | None) -> bool:
    """A DAPT model: its base and its training snapshot."""
    return allowed((base or {}).get("commercial_use"), None if snapshot is None else snapshot.get("commercial_use"))


def merge_allowed(parents: Iterable[dict], snapshot: dict | None) -> bool:
    """A merge: every parent, and the DAPT parent's training snapshot."""
    return allowed(*(p.get("commercial_use") for p in parents),
                   None if snapshot is None else snapshot.get("commercial_use"))


def merged_licence(parents: Iterable[dict]) -> str | None:
    found = sorted({p.get("license") for p in parents if p.get("license")})
    return " AND ".join(found) if found else None


def status(commercial: bool, language: str = "en") -> str:
    """'Commercial use allowed' or 'NON-COMMERCIAL (research only)' (or in French)."""
    if language == "fr":
        return COMMERCIAL_FR if commercial else NON_COMMERCIAL_FR
    return COMMERCIAL if commercial else NON_COMMERCIAL


WHY = {"base": "its licence does not allow it",
       "snapshot": "it contains documents from research-only sources",
       "dapt": "its base model or its training data does not allow it",
       "merged": "a parent model, or the training data of the DAPT model, does not allow it"}
WHY_ALLOWED = {"base": "its licence permits it",
               "snapshot": "every document comes from a source whose licence permits it",
               "dapt": "its base model and the licences of its training data permit it",
               "merged": "both parent models and the DAPT model's training data permit it"}


WHY_FR = {"base": "sa licence ne le permet pas",
          "snapshot": "il contient des documents de sources réservées à la recherche",
          "dapt": "son modèle de base ou ses données d'entraînement ne le permettent pas",
          "merged": "un modèle parent, ou les données d'entraînement du modèle DAPT, ne le permettent pas"}
WHY_ALLOWED_FR = {"base": "sa licence le permet",
                  "snapshot": "chaque document vient d'une source dont la licence le permet",
                  "dapt": "son modèle de base et les licences de ses données d'entraînement le permettent",
                  "merged": "les deux modèles parents et les données d'entraînement du modèle DAPT le permettent"}


SHORT = ("commercial", "research only")      # a table cell's words
SHORT_FR = ("commercial", "recherche uniquement")


def badge(commercial: bool, short: bool = False, language: str = "en") -> str:
    """For the UI: '✅ Commercial use allowed' or '⚠️ NON-COMMERCIAL (research only)'; `short` for a table cell:
    '✅ commercial' or '⚠️ research only' (or in French)."""
    if short:
        words = SHORT_FR if language == "fr" else SHORT
        return f"✅ {words[0]}" if commercial else f"⚠️ {words[1]}"
    return ("✅ " if commercial else "⚠️ ") + status(commercial, language)


def sentence(commercial: bool, kind: str = "snapshot", language: str = "en") -> str:
    """For cards and reports (Markdown): the status and why, for a snapshot, a DAPT model or a merge (or in
    French)."""
    fr = language == "fr"
    colon = " :" if fr else ":"
    if commercial:
        return f"{status(True, language)}{colon} {(WHY_ALLOWED_FR if fr else WHY_ALLOWED)[kind]}."
    return f"**{status(False, language)}**{colon} {(WHY_FR if fr else WHY)[kind]}."


def status_sentence(commercial: bool) -> str:
    """One line for the CLI and messages after a build."""
    return f"{COMMERCIAL}." if commercial else f"⚠️ {NON_COMMERCIAL}: {WHY['snapshot']}."
