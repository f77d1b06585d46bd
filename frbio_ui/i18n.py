"""Interface strings in English and French through gr.I18n. A form field's labels are declared on the field
(frbio_core.config.labels) and registered here by frbio_ui.forms under "<ConfigClass>.<field>".

Gradio picks the browser's language; the script from `early_language_script` (first in every page: frbio_ui.web)
gives it instead, before gradio starts, the language chosen with the FR/EN switch (remembered by the browser), a
`?lang=fr|en` in the address, or the server's default (`--language fr` for the clinician demo), and sends it to the
server as the `frbio-lang` cookie (frbio_ui.session.viewer_language); the page-load script from `language_js` applies
it again with the frontend's own `changeLocale` (and is what the voting room's switch calls).
"""
from __future__ import annotations

import json

import gradio as gr

from frbio_ui import i18n_labels

EN: dict[str, str] = {
    "app.title": "FrBio Studio",
    "app.tagline": "Specialise small language models to French biomedicine: corpus → DAPT → merge → compare.",
    "tab.corpus": "Corpus",
    "tab.jobs": "Jobs",
    "jobs.selected": "Job",
    "jobs.cancel": "Cancel",
    "jobs.resume": "Resume",
    "jobs.clone": "Clone",
    "jobs.curves": "Curves",
    "jobs.log": "Log (last lines)",
    "corpus.sources": "Sources",
    "corpus.rescan": "Rescan data folders",
    "corpus.count_tokens": "Count tokens",
    "corpus.tokenizer": "Tokenizer for counts",
    "corpus.add_source": "Add a source (upload)",
    "corpus.upload_file": "Corpus file (.jsonl, .jsonl.gz, .parquet, .txt)",
    "corpus.source_name": "Source name",
    "corpus.license": "Licence",
    "corpus.commercial": "Licence allows commercial use",
    "corpus.document_type": "Document type",
    "corpus.kind": "Domain",
    "corpus.add": "Add source",
    "corpus.hub": "Load from the Hugging Face Hub",
    "corpus.hub_id": "Dataset id",
    "corpus.hub_load": "Load dataset",
    "corpus.recipe": "Recipe",
    "corpus.weights": "Mixing weights",
    "corpus.estimate": "Estimate",
    "corpus.preview": "Preview cleaning",
    "corpus.preview_source": "Source",
    "corpus.preview_button": "Show samples before / after cleaning",
    "corpus.build": "Build snapshot",
    "corpus.snapshots": "Snapshots",
    "corpus.contamination": "Check against the benchmarks (contamination)",
    "corpus.card": "Dataset card",
    "corpus.download": "Download",
    "corpus.charts": "Charts",
    "corpus.tokens_chart": "Tokens per source",
    "corpus.length_chart": "Document length",
    "corpus.refresh": "Refresh",
}

FR: dict[str, str] = {
    "app.title": "FrBio Studio",
    "app.tagline": "Spécialiser de petits modèles de langue au biomédical français : corpus → DAPT → fusion → comparaison.",
    "tab.corpus": "Corpus",
    "tab.jobs": "Tâches",
    "jobs.selected": "Tâche",
    "jobs.cancel": "Annuler",
    "jobs.resume": "Reprendre",
    "jobs.clone": "Dupliquer",
    "jobs.curves": "Courbes",
    "jobs.log": "Journal (dernières lignes)",
    "corpus.sources": "Sources",
    "corpus.rescan": "Relire les dossiers de données",
    "corpus.count_tokens": "Compter les tokens",
    "corpus.tokenizer": "Tokeniseur",
    "corpus.add_source": "Ajouter une source (téléversement)",
    "corpus.upload_file": "Fichier de corpus (.jsonl, .jsonl.gz, .parquet, .txt)",
    "corpus.source_name": "Nom de la source",
    "corpus.license": "Licence",
    "corpus.commercial": "La licence autorise l'usage commercial",
    "corpus.document_type": "Type de document",
    "corpus.kind": "Domaine",
    "corpus.add": "Ajouter la source",
    "corpus.hub": "Charger depuis le Hub Hugging Face",
    "corpus.hub_id": "Identifiant du jeu de données",
    "corpus.hub_load": "Charger",
    "corpus.recipe": "Recette",
    "corpus.weights": "Poids de mélange",
    "corpus.estimate": "Estimation",
    "corpus.preview": "Aperçu du nettoyage",
    "corpus.preview_source": "Source",
    "corpus.preview_button": "Voir des exemples avant / après nettoyage",
    "corpus.build": "Construire l'instantané",
    "corpus.snapshots": "Instantanés",
    "corpus.contamination": "Vérifier la contamination par les bancs d'essai",
    "corpus.card": "Fiche du jeu de données",
    "corpus.download": "Télécharger",
    "corpus.charts": "Graphiques",
    "corpus.tokens_chart": "Tokens par source",
    "corpus.length_chart": "Longueur des documents",
    "corpus.refresh": "Actualiser",
    # gradio's own footer words that its French table lacks
    "common.runs": "Exécutions", "common.runs_description": "Voir les exécutions gardées dans ce navigateur",
}

EN.update({k: v for k, v in i18n_labels.EN.items() if k not in EN})
FR.update({k: v for k, v in i18n_labels.FR.items() if k not in FR})
I18N = gr.I18n(en=EN, fr=FR)


def tr(key: str, fallback: str | None = None):
    """A label looked up in the browser's language; unknown keys fall back to readable English."""
    if key not in EN:
        EN[key] = fallback or key.rsplit(".", 1)[-1].replace("_", " ").capitalize()
    return I18N(key)


def add_strings(en: dict[str, str], fr: dict[str, str]) -> None:
    """Register a tab's own strings (each tab module owns its keys; call at import, before the app is built)."""
    EN.update(en)
    FR.update(fr)


# Gradio 6 keeps the interface language in a svelte-i18n store; its own Settings panel changes it with
# `changeLocale`, exported by the frontend's `core-*.js` chunk (already loaded: found among the page's resources).
_LANGUAGE_JS = """
() => {
  window.frbioSetLanguage = async (lang, remember) => {
    window.frbioLang = lang;
    if (remember) { try { localStorage.setItem("frbio-lang", lang); } catch (e) {} }
    document.cookie = "frbio-lang=" + lang + "; path=/; SameSite=Lax";   // the server writes tables in it
    const url = performance.getEntriesByType("resource").map((e) => e.name)
      .find((n) => /\\/assets\\/core-[^/]*\\.js$/.test(n));
    if (!url) return false;
    const core = await import(url);
    if (typeof core.changeLocale !== "function") return false;
    core.changeLocale(lang);
    document.documentElement.lang = lang;
    return true;
  };
  const asked = new URLSearchParams(window.location.search).get("lang");
  let lang = ["fr", "en"].includes(asked) ? asked : null;
  if (lang) { try { localStorage.setItem("frbio-lang", lang); } catch (e) {} }
  if (!lang) { try { lang = localStorage.getItem("frbio-lang"); } catch (e) {} }
  lang = lang || DEFAULT || (/\\/vote\\/?$/.test(window.location.pathname) ? "fr" : null);  // the voting room: French
  if (lang) window.frbioSetLanguage(lang, false);
}
"""


# Runs first in every page (frbio_ui.web.LanguageHint puts it at the top of <head>, before gradio's modules): gradio
# draws the tab bar once, in the browser's language (navigator.language), so the chosen language is given as the
# browser's before gradio starts; the cookie tells the server (tables it writes at page load) the same language.
_EARLY_JS = """<script>(function () {
  var lang = new URLSearchParams(window.location.search).get("lang");
  if (["fr", "en"].indexOf(lang) < 0) lang = null;
  if (!lang) { try { lang = localStorage.getItem("frbio-lang"); } catch (e) {} }
  if (["fr", "en"].indexOf(lang) < 0) lang = DEFAULT || (/\\/vote\\/?$/.test(window.location.pathname) ? "fr" : null);
  if (lang) {
    try { Object.defineProperty(navigator, "language", { get: function () { return lang; }, configurable: true });
          Object.defineProperty(navigator, "languages", { get: function () { return [lang]; }, configurable: true });
    } catch (e) {}
  }
  var shown = lang || (/^fr/i.test(navigator.language || "") ? "fr" : "en");
  document.cookie = "frbio-lang=" + shown + "; path=/; SameSite=Lax";
  document.documentElement.lang = shown;
})();</script>"""


def early_language_script(default: str = "auto") -> str:
    """The <script> element frbio_ui.web.LanguageHint puts first in every page's <head> (`default` as language_js)."""
    return _EARLY_JS.replace("DEFAULT", json.dumps(None if default == "auto" else default))


def language_js(default: str = "auto") -> str:
    """The page-load script (launch `js=`): the remembered or asked language, else `default` ('auto': browser)."""
    return _LANGUAGE_JS.replace("DEFAULT", json.dumps(None if default == "auto" else default))


def language_switch() -> None:
    """FR | EN buttons (in the header): switch the interface language, remember it in this browser, and load the page
    again (gradio draws its tab bar, and the server its tables, once, in the language the page starts with)."""
    with gr.Row(elem_id="frbio-language", equal_height=True):
        for code, label in (("fr", "FR"), ("en", "EN")):
            gr.Button(label, size="sm", min_width=40, scale=0, elem_id=f"lang-{code}").click(
                None, None, None, js=f"async () => {{ await window.frbioSetLanguage('{code}', true); "
                                     "const u = new URL(window.location.href); u.searchParams.delete('lang'); "
                                     "window.location.replace(u.toString()); }")
