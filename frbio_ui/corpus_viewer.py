"""Corpus tab, "Read a snapshot": page through a built snapshot's documents by split and source, 20 at a time,
search their text, and open one: its text before and after cleaning (what cleaning removed struck through) and its
near-duplicate cluster. The reading is backend.corpus.viewer and backend.corpus.doc_view; this module lays out the
components and writes what they return in the page's language (labels through tr, the text the server writes through
viewer_language)."""
from __future__ import annotations

import html
import re

import gradio as gr
import pandas as pd

from backend.corpus import doc_view, viewer
from backend.corpus.snapshot import list_snapshots
from backend.studio import Studio
from frbio_core.errors import UserError
from frbio_core.translations import translated
from frbio_ui import guard
from frbio_ui.i18n import add_strings, tr
from frbio_ui.session import viewer_language

EN = {
    "viewer.title": "Read a snapshot", "viewer.snapshot": "Snapshot", "viewer.split": "Split",
    "viewer.source": "Source", "viewer.search": "Search the text: words, \"a phrase\", a prefix*",
    "viewer.search_button": "Search", "viewer.clear": "Show all", "viewer.previous": "← Previous page",
    "viewer.next": "Next page →", "viewer.document": "Document",
    "viewer.before_after": "#### Before and after cleaning",
    "viewer.legend": "Struck through in red: removed by cleaning; in green: what cleaning put in its place.",
    "viewer.cluster": "#### Near-duplicate cluster",
    # written by the server (viewer_language)
    "split.train": "training", "split.validation": "validation", "split.general_validation":
        "general-domain validation", "split.dropped_duplicates": "removed as duplicates",
    "all_sources": "all sources", "col.n": "#", "col.id": "id", "col.source": "source", "col.words": "words",
    "col.text": "beginning of the text", "col.match": "where it matches", "col.relation": "removed as",
    "col.where": "in the snapshot",
    "count": "{n} documents · page {page} / {pages}", "count_one": "1 document · page 1 / 1",
    "matches": "{n} documents match « {q} » · page {page} / {pages}",
    "matches_one": "1 document matches « {q} » · page 1 / 1",
    "index_built": " (search index of {docs} documents built in {s} s, kept with the snapshot)",
    "no_snapshot": "Nothing yet: no snapshot has been built. Build one above, then read it here.",
    "choose_snapshot": "Choose a snapshot to read.",
    "empty": "Nothing here: no document in this split for this source.",
    "no_match": "No document matches « {q} ».",
    "choose_doc": "Choose a document in the table to see it before and after cleaning.",
    "doc_title": "**{id}** · {source} · {split} · {n} words",
    "state.changed": "⚠️ The source file has changed since this snapshot was built: “before” is the current file's text.",
    "state.missing": "The source file is gone: only the text the snapshot holds is shown.",
    "state.not_found": "This document is no longer in its source file: only the text the snapshot holds is shown.",
    "state.no_input": "The snapshot names no input file for this source: only its text is shown.",
    "not_reproduced": "Cleaning the raw text again with the snapshot's rules gives another result (the rules changed "
                      "since the build): the marks compare the raw text with the text the snapshot holds.",
    "unchanged": "Cleaning changed nothing in this document.",
    "changed": "Characters removed by cleaning: {removed} · put in their place: {inserted}.",
    "truncated": "Only the first {n} characters are shown.",
    "not_recorded": "Duplicates were not recorded for this snapshot (it was built before the builds recorded them).",
    "unique": "No duplicate of this document was removed.",
    "dropped": "This document was removed: it duplicates **{id}** ({source}), which the snapshot keeps ({where}).",
    "dropped_gone": "This document was removed: it duplicates **{id}** ({source}), itself not in the snapshot "
                    "(removed later by the length bounds).",
    "kept": "The snapshot keeps this document; {n} duplicates of it were removed:",
    "exact": "exact copy of {of}", "near": "near-duplicate of {of} (similarity {sim})",
    "where": "{split}, row {row}", "nowhere": "removed",
    "more": "… and {n} more.",
}
FR = {
    "viewer.title": "Lire un instantané", "viewer.snapshot": "Instantané", "viewer.split": "Partie",
    "viewer.source": "Source", "viewer.search": "Chercher dans le texte : mots, \"une expression\", un préfixe*",
    "viewer.search_button": "Chercher", "viewer.clear": "Tout afficher", "viewer.previous": "← Page précédente",
    "viewer.next": "Page suivante →", "viewer.document": "Document",
    "viewer.before_after": "#### Avant et après nettoyage",
    "viewer.legend": "Barré en rouge : retiré par le nettoyage ; en vert : ce que le nettoyage a mis à la place.",
    "viewer.cluster": "#### Groupe de quasi-doublons",
    "split.train": "entraînement", "split.validation": "validation", "split.general_validation":
        "validation (texte général)", "split.dropped_duplicates": "retirés comme doublons",
    "all_sources": "toutes les sources", "col.n": "n°", "col.id": "identifiant", "col.source": "source",
    "col.words": "mots", "col.text": "début du texte", "col.match": "passage trouvé", "col.relation": "retiré comme",
    "col.where": "dans l'instantané",
    "count": "{n} documents · page {page} / {pages}", "count_one": "1 document · page 1 / 1",
    "matches": "{n} documents contiennent « {q} » · page {page} / {pages}",
    "matches_one": "1 document contient « {q} » · page 1 / 1",
    "index_built": " (index de recherche de {docs} documents construit en {s} s, gardé avec l'instantané)",
    "no_snapshot": "Rien pour l'instant : aucun instantané n'a été construit. Construisez-en un ci-dessus, puis "
                   "lisez-le ici.",
    "choose_snapshot": "Choisissez un instantané à lire.",
    "empty": "Rien ici : aucun document de cette source dans cette partie.",
    "no_match": "Aucun document ne contient « {q} ».",
    "choose_doc": "Choisissez un document dans le tableau pour le voir avant et après nettoyage.",
    "doc_title": "**{id}** · {source} · {split} · {n} mots",
    "state.changed": "⚠️ Le fichier source a changé depuis la construction de cet instantané : « avant » est le texte "
                     "du fichier actuel.",
    "state.missing": "Le fichier source a disparu : seul le texte que garde l'instantané est affiché.",
    "state.not_found": "Ce document n'est plus dans son fichier source : seul le texte que garde l'instantané est "
                       "affiché.",
    "state.no_input": "L'instantané ne nomme aucun fichier pour cette source : seul son texte est affiché.",
    "not_reproduced": "Nettoyer à nouveau le texte brut avec les règles de l'instantané donne un autre résultat (les "
                      "règles ont changé depuis) : les marques comparent le texte brut au texte que garde l'instantané.",
    "unchanged": "Le nettoyage n'a rien changé à ce document.",
    "changed": "Caractères retirés par le nettoyage : {removed} · mis à leur place : {inserted}.",
    "truncated": "Seuls les {n} premiers caractères sont affichés.",
    "not_recorded": "Les doublons n'ont pas été enregistrés pour cet instantané (construit avant que les "
                    "constructions les enregistrent).",
    "unique": "Aucun doublon de ce document n'a été retiré.",
    "dropped": "Ce document a été retiré : il double **{id}** ({source}), que l'instantané garde ({where}).",
    "dropped_gone": "Ce document a été retiré : il double **{id}** ({source}), lui-même absent de l'instantané "
                    "(retiré ensuite par les bornes de longueur).",
    "kept": "L'instantané garde ce document ; {n} doublons en ont été retirés :",
    "exact": "copie exacte de {of}", "near": "quasi-doublon de {of} (similarité {sim})",
    "where": "{split}, ligne {row}", "nowhere": "retiré",
    "more": "… et {n} de plus.",
}
add_strings({k: v for k, v in EN.items() if k.startswith("viewer.")},
            {k: v for k, v in FR.items() if k.startswith("viewer.")})


def say(key: str, lang: str, **values) -> str:
    """A sentence the server writes, in `lang` (whole numbers grouped as each language writes them)."""
    values = {k: number(v, lang) if isinstance(v, int) and not isinstance(v, bool) else v for k, v in values.items()}
    return (FR if lang == "fr" else EN)[key].format(**values)


def number(n: int, lang: str) -> str:
    return f"{n:,}".replace(",", "\u202f" if lang == "fr" else ",")


def _md(text: str) -> str:
    """User or document text inside a Markdown line, its emphasis and code marks shown as typed."""
    return re.sub(r"([\\`*_\[\]<>#|])", r"\\\1", text)


def decimal(value: float, digits: int, lang: str) -> str:
    text = f"{value:.{digits}f}"
    return text.replace(".", ",") if lang == "fr" else text


def snapshot_choices(studio: Studio) -> list[tuple[str, str]]:
    return [(s["id"] if s["name"] in (s["id"], "", None) else f"{s['name']} ({s['id']})", s["id"])
            for s in list_snapshots(studio.db)]


def _split_label(split: str, lang: str) -> str:
    return say(f"split.{split}", lang)


def _listing(studio: Studio, snap, split, source, query, page, lang, progress=None) -> tuple:
    """Everything the listing shows: (split dropdown, source dropdown, status line, table, document dropdown,
    page number, query, rows of the page)."""
    hidden = gr.update(value=None, visible=False)
    nothing = gr.update(choices=[], value=None)
    if not snap:
        line = say("choose_snapshot" if snapshot_choices(studio) else "no_snapshot", lang)
        return nothing, nothing, line, hidden, nothing, 1, "", []
    try:
        folder, _ = viewer.find_snapshot(studio.db, snap)
        splits = list(viewer.split_files(folder))
        split = split if split in splits else splits[0]
        counts = viewer.sources(folder, split)
        source = source if source in [s for s, _ in counts] else None
        if query:
            result = viewer.search(folder, query, split, source, page, progress=progress)
        else:
            result = viewer.page(folder, split, source, page)
    except UserError as exc:
        return gr.update(), gr.update(), f"❌ {translated(exc, lang)}", hidden, nothing, 1, query, []
    split_dd = gr.update(choices=[(_split_label(s, lang), s) for s in splits], value=split)
    source_dd = gr.update(choices=[(f"{say('all_sources', lang)} ({number(sum(n for _, n in counts), lang)})", "")]
                          + [(f"{s} ({number(n, lang)})", s) for s, n in counts], value=source or "")
    docs = result["documents"]
    if not docs:
        line = say("no_match", lang, q=_md(query)) if query else say("empty", lang)
        return split_dd, source_dd, line, hidden, nothing, 1, query, []
    if query:
        line = say("matches_one" if result["total"] == 1 else "matches", lang, n=result["total"], q=_md(query),
                   page=result["page"], pages=result["pages"])
        if result.get("index"):
            built = result["index"]
            line += say("index_built", lang, docs=built["documents"], s=decimal(built["seconds"], 1, lang))
    else:
        line = say("count_one" if result["total"] == 1 else "count", lang, n=result["total"], page=result["page"],
                   pages=result["pages"])
    first = (result["page"] - 1) * viewer.PAGE_SIZE
    headers = [say(k, lang) for k in ("col.n", "col.id", "col.source", "col.words",
                                       "col.match" if query else "col.text")]
    frame = pd.DataFrame([[first + i + 1, d["id"], d["source"], d["n_words"], d["excerpt"]]
                          for i, d in enumerate(docs)], columns=headers)
    doc_dd = gr.update(choices=[(f"{first + i + 1}. {d['id']}", str(d["row"])) for i, d in enumerate(docs)],
                       value=None)
    return (split_dd, source_dd, line, gr.update(value=frame, visible=True), doc_dd, result["page"], query,
            [d["row"] for d in docs])


def diff_html(view: dict) -> str:
    """The before/after text: kept text as is, removed parts in <del>, what replaced them in <ins>."""
    parts = []
    for text, op in view["segments"]:
        shown = html.escape(doc_view.visible(text, spaces=text.isspace()) if op != "=" else text)
        parts.append(shown if op == "=" else f"<del class='rm'>{shown}</del>" if op == "-" else
                     f"<ins class='add'>{shown}</ins>")
    return ("<div class='preview-text' id='viewer-diff-text' style='max-height: 480px'>" + "".join(parts)
            + "</div>")


def _document_notes(view: dict, lang: str) -> str:
    lines = [say("doc_title", lang, id=_md(view["id"]), source=_md(view["source"]),
                 split=_split_label(view["split"], lang),
                 n=view["n_words"])]
    if view["state"] != "ok":
        lines.append(say(f"state.{view['state']}", lang))
    if view["reproduced"] is False:
        lines.append(say("not_reproduced", lang))
    if view["reproduced"] is not None:
        lines.append(say("changed", lang, removed=view["removed_chars"], inserted=view["inserted_chars"])
                     if view["removed_chars"] or view["inserted_chars"] else say("unchanged", lang))
    if view["truncated"]:
        lines.append(say("truncated", lang, n=doc_view.MAX_SHOWN))
    return "\n\n".join(lines)


def _where(places: list, lang: str) -> str:
    return "; ".join(say("where", lang, split=_split_label(s, lang), row=r) for s, r in places[:3]) \
        or say("nowhere", lang)


def cluster_html(cluster: dict, lang: str) -> str:
    """The document's duplicate cluster as a sentence and a table of the removed documents."""
    if not cluster["recorded"]:
        return f"<p>{html.escape(say('not_recorded', lang))}</p>"
    if cluster["role"] == "unique":
        return f"<p>{html.escape(say('unique', lang))}</p>"
    kept = cluster["kept"]
    if cluster["role"] == "dropped":
        key = "dropped" if kept["where"] else "dropped_gone"
        head = say(key, lang, id=html.escape(kept["id"]), source=html.escape(kept["source"]),
                   where=html.escape(_where(kept["where"], lang)))
    else:
        head = say("kept", lang, n=cluster["total"])
    head = head.replace("**", "<b>", 1).replace("**", "</b>", 1)
    cols = "".join(f"<th>{html.escape(say(k, lang))}</th>" for k in ("col.source", "col.id", "col.relation"))
    rows = []
    for m in cluster["members"]:
        of = m["duplicate_of"]["id"]
        relation = (say("exact", lang, of=of) if m["kind"] == "exact"
                    else say("near", lang, of=of, sim=decimal(m["similarity"], 2, lang)))
        mine = " style='font-weight: bold'" if (m["source"], m["id"]) == (cluster["source"], cluster["id"]) else ""
        rows.append(f"<tr{mine}><td>{html.escape(m['source'])}</td><td>{html.escape(m['id'])}</td>"
                    f"<td>{html.escape(relation)}</td></tr>")
    more = cluster["total"] - len(cluster["members"])
    tail = f"<p>{html.escape(say('more', lang, n=more))}</p>" if more > 0 else ""
    return f"<p>{head}</p><table><thead><tr>{cols}</tr></thead><tbody>{''.join(rows)}</tbody></table>{tail}"


def build_viewer(studio: Studio) -> gr.Dropdown:
    """Lay out the section (inside the caller's layout) and wire it; returns its snapshot dropdown."""
    with gr.Accordion(tr("viewer.title"), open=False) as section:
        with gr.Row():
            snap_dd = gr.Dropdown(snapshot_choices(studio), value=None, label=tr("viewer.snapshot"),
                                  elem_id="viewer-snapshot", scale=3)
            split_dd = gr.Dropdown([], label=tr("viewer.split"), elem_id="viewer-split", scale=2)
            source_dd = gr.Dropdown([], label=tr("viewer.source"), elem_id="viewer-source", scale=2)
        with gr.Row():
            search_box = gr.Textbox(label=tr("viewer.search"), elem_id="viewer-search", scale=4)
            search_btn = gr.Button(tr("viewer.search_button"), elem_id="viewer-search-button", scale=1)
            clear_btn = gr.Button(tr("viewer.clear"), elem_id="viewer-clear", scale=1)
        status = gr.Markdown(elem_id="viewer-status")
        table = gr.Dataframe(visible=False, interactive=False, wrap=True, elem_id="viewer-table",
                             column_widths=["6%", "22%", "14%", "8%", "50%"])
        with gr.Row():
            prev_btn = gr.Button(tr("viewer.previous"), elem_id="viewer-previous", size="sm")
            next_btn = gr.Button(tr("viewer.next"), elem_id="viewer-next", size="sm")
        doc_dd = gr.Dropdown([], label=tr("viewer.document"), elem_id="viewer-doc")
        gr.Markdown(tr("viewer.before_after"))
        gr.Markdown(tr("viewer.legend"))
        doc_md = gr.Markdown(elem_id="viewer-doc-title")
        diff = gr.HTML(elem_id="viewer-diff")
        gr.Markdown(tr("viewer.cluster"))
        cluster = gr.HTML(elem_id="viewer-cluster")
        page_no, query, rows = gr.State(1), gr.State(""), gr.State([])

    listing = [split_dd, source_dd, status, table, doc_dd, page_no, query, rows]

    def show(snap, split, source, text, page, request, progress=None):
        lang = viewer_language(studio, request)
        follow = (lambda f, m: progress(f, desc=translated(m, lang))) if progress is not None else None
        return _listing(studio, snap, split, source or None, (text or "").strip(), page, lang, follow)

    def on_snapshot(snap, request: gr.Request):
        return show(snap, "train", None, "", 1, request) + ("",)

    def on_search(snap, split, source, text, request: gr.Request, progress=gr.Progress()):
        return show(snap, split, source, text, 1, request, progress)

    def on_clear(snap, split, source, request: gr.Request):
        return show(snap, split, source, "", 1, request) + ("",)

    def on_page(step):
        def turn(snap, split, source, text, page, request: gr.Request):
            return show(snap, split, source, text, page + step, request)
        return turn

    def on_row(rows_shown, evt: gr.SelectData):
        index = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        return str(rows_shown[index]) if 0 <= index < len(rows_shown) else gr.update()

    def on_document(snap, split, row, request: gr.Request):
        lang = viewer_language(studio, request)
        if not snap or row in (None, ""):
            return say("choose_doc", lang), "", ""
        try:
            folder, _ = viewer.find_snapshot(studio.db, snap)
            manifest = viewer.read_manifest(folder)
            view = doc_view.cleaning_view(studio.db, folder, manifest, split, int(row))
            group = doc_view.duplicate_cluster(folder, split, int(row))
        except UserError as exc:
            return f"❌ {translated(exc, lang)}", "", ""
        return _document_notes(view, lang), diff_html(view), cluster_html(group, lang)

    def on_refresh(snap):
        choices = snapshot_choices(studio)
        return gr.update(choices=choices, value=snap if snap in [c[1] for c in choices] else None)

    where = [snap_dd, split_dd, source_dd]
    snap_dd.change(guard.read(on_snapshot), [snap_dd], listing + [search_box])
    for dd in (split_dd, source_dd):
        dd.input(guard.read(on_search), where + [query], listing)
    search_btn.click(guard.read(on_search), where + [search_box], listing)
    search_box.submit(guard.read(on_search), where + [search_box], listing)
    clear_btn.click(guard.read(on_clear), where, listing + [search_box])
    prev_btn.click(guard.read(on_page(-1)), where + [query, page_no], listing)
    next_btn.click(guard.read(on_page(+1)), where + [query, page_no], listing)
    table.select(guard.read(on_row), [rows], [doc_dd])
    doc_dd.change(guard.read(on_document), [snap_dd, split_dd, doc_dd], [doc_md, diff, cluster])
    section.expand(guard.read(on_refresh), [snap_dd], [snap_dd])

    # at page load: the snapshots of now, and the empty state redrawn only for a language other than the English it
    # was built in (a load event answered late, on a busy server, would otherwise undo a snapshot chosen meanwhile)
    def on_load_choices():
        return gr.update(choices=snapshot_choices(studio))

    gr.on(None, guard.read(on_load_choices), None, [snap_dd], show_progress="hidden")

    def on_load(request: gr.Request):
        if viewer_language(studio, request) == "en":
            return [gr.update()] * (len(listing) + 1)
        return on_snapshot(None, request)

    gr.on(None, guard.read(on_load), None, listing + [search_box], show_progress="hidden")
    return snap_dd


def follow(studio: Studio, picked: gr.Dropdown, snap_dd: gr.Dropdown) -> None:
    """The viewer opens the snapshot picked in `picked` (the Corpus tab's own snapshot list)."""
    def on_pick(snap):
        choices = snapshot_choices(studio)
        return gr.update(choices=choices, value=snap) if snap in [c[1] for c in choices] else gr.update()

    picked.change(guard.read(on_pick), [picked], [snap_dd])
