"""Corpus tab: source catalogue, recipe form (generated from Recipe), live estimate, cleaning preview, build,
snapshot list with card, charts and download, and reading a snapshot's documents (frbio_ui.corpus_viewer)."""
from __future__ import annotations

import html
import json

import gradio as gr
import pandas as pd

from backend import lineage
from backend.corpus import catalogue, estimate as est, preview, snapshot, tokens
from backend.corpus.readers import CorpusInputError
from backend.corpus.job import BUILD
from backend.corpus.recipe import Recipe, parse_recipe
from backend.default_model import DEFAULT_MODEL_NAME
from backend.studio import Studio
from jobs import store
from frbio_ui import charts, downloads
from frbio_ui.corpus_viewer import build_viewer, follow
from frbio_ui import guard
from frbio_ui.forms import build_form
from frbio_ui.i18n import tr
from frbio_ui.launch import Follower, wire_launch
from frbio_ui.i18n_tables import columns, word
from frbio_ui.presets_bar import presets_bar
from frbio_ui.session import acting, current_user, viewer_language
from frbio_core.errors import UserError
from frbio_core.translations import translated

SOURCE_HEADERS = ["source", "kind", "licence", "commercial use", "document type", "documents", "words", "tokens",
                  "status"]
SNAPSHOT_HEADERS = ["id", "name", "licence status", "train docs", "validation docs", "train tokens", "sources"]


def source_rows(studio: Studio, tokenizer: str, lang: str = "en") -> list[list]:
    rows = catalogue.list_sources(studio.db)
    known = tokens.cached_source_tokens(studio.db, rows, tokenizer)
    return [[r["name"], word(r["kind"], lang) + (f" ({word(r['split'], lang)}, {r['language']})" if r["split"] else ""),
             r["license"], lineage.badge(bool(r["commercial_use"]), short=True, language=lang), r["document_type"],
             r["n_docs"], r["n_words"], known.get(r["name"], "—"),
             "ok" if r["status"] == "ok" else f"❌ {translated(r['error'], lang)}"] for r in rows]


def source_table(studio: Studio, tokenizer: str, lang: str = "en") -> pd.DataFrame:
    return pd.DataFrame(source_rows(studio, tokenizer, lang), columns=columns(SOURCE_HEADERS, lang))


def snapshot_rows(studio: Studio, lang: str = "en") -> list[list]:
    return [[s["id"], s["name"], lineage.badge(bool(s["commercial_use"]), short=True, language=lang),
             s["n_train_docs"], s["n_val_docs"], s["n_tokens"], ", ".join(json.loads(s["sources"] or "[]"))]
            for s in snapshot.list_snapshots(studio.db)]


def snapshot_table(studio: Studio, lang: str = "en") -> pd.DataFrame:
    return pd.DataFrame(snapshot_rows(studio, lang), columns=columns(SNAPSHOT_HEADERS, lang))


def _choices(studio: Studio) -> dict[str, list]:
    rows = [r for r in catalogue.list_sources(studio.db) if r["status"] == "ok"]
    domain = [r["name"] for r in rows if r["kind"] == "domain"]
    return {"sources": domain,
            "document_types": sorted({r["document_type"] for r in rows if r["kind"] == "domain"}),
            "general_sources": [r["name"] for r in rows if r["kind"] == "general"],
            "tokenizer": ["default"] + [p.name for p in sorted(studio.settings.folder("models").iterdir())
                                         if (p / "tokenizer.json").is_file() and p.name != DEFAULT_MODEL_NAME]}


ESTIMATE = {
    "en": ("**Training split (before cleaning and dedup):** {docs:,} documents · {words:,} words · {tokens:,} tokens",
           " (≈, some token counts estimated from words)", " · of which replay {n:,} tokens", "Licences"),
    "fr": ("**Partie entraînement (avant nettoyage et dédoublonnage) :** {docs:,} documents · {words:,} mots · "
           "{tokens:,} tokens", " (≈, certains comptes de tokens estimés à partir des mots)",
           " · dont replay {n:,} tokens", "Licences")}


def _estimate_markdown(e: dict, lang: str = "en") -> str:
    t = e["train"]
    split, approx, replay, licences = ESTIMATE[lang]
    status = ("✅ " if e["commercial_use"] else "⚠️ ") + lineage.sentence(e["commercial_use"], "snapshot",
                                                                        language=lang)
    return (f"{status}\n\n" + split.format(docs=t["docs"], words=t["words"], tokens=t["tokens"])
            + ("" if e["tokens_exact"] else approx)
            + (replay.format(n=e["replay_tokens"]) if e["replay_tokens"] else "")
            + f"\n\n{licences} : {', '.join(e['licenses'])}".replace(" :", ":" if lang == "en" else " :"))


def _preview_html(items: list[dict], lang: str = "en") -> str:
    if not items:
        return f"<p>{translated('No documents.', lang)}</p>"
    parts = []
    for it in items:
        body = "".join(html.escape(t) if op == "=" else
                       (f"<del class='rm'>{html.escape(t)}</del>" if op == "-" else f"<ins class='add'>{html.escape(t)}</ins>")
                       for t, op in it["segments"])
        status = (f" — <b>{translated('document dropped', lang)}</b>" if it["dropped"] else
                  "" if it["before"] != it["after"] else f" — {translated('unchanged', lang)}")
        parts.append(f"<div class='preview-doc'><div class='preview-id'>{html.escape(it['id'])}{status}</div>"
                     f"<div class='preview-text'>{body}</div></div>")
    return "".join(parts)


def build_corpus_tab(studio: Studio):
    """Render the tab; returns (load_fn, inputs, outputs) for the page-load estimate."""
    choices = _choices(studio)
    commercial = {r["name"]: bool(r["commercial_use"]) for r in catalogue.list_sources(studio.db)}

    with gr.Accordion(tr("corpus.sources"), open=True):
        with gr.Row():
            tokenizer_dd = gr.Dropdown(choices["tokenizer"], value="default", label=tr("corpus.tokenizer"), scale=2)
            rescan_btn = gr.Button(tr("corpus.rescan"), scale=1)
            count_btn = gr.Button(tr("corpus.count_tokens"), scale=1)
        sources_df = gr.Dataframe(source_table(studio, "default"), interactive=False,
                                  elem_id="sources-table", wrap=True, max_height=420)
        sources_msg = gr.Markdown(elem_id="sources-msg")
        with gr.Accordion(tr("corpus.add_source"), open=False):
            with gr.Row():
                up_file = gr.File(label=tr("corpus.upload_file"), file_types=[".jsonl", ".gz", ".parquet", ".txt"],
                                  elem_id="upload-file")
                with gr.Column():
                    up_name = gr.Textbox(label=tr("corpus.source_name"), elem_id="upload-name")
                    up_license = gr.Textbox(label=tr("corpus.license"), value="unknown")
                    up_commercial = gr.Checkbox(label=tr("corpus.commercial"), value=False)
                    up_type = gr.Textbox(label=tr("corpus.document_type"), value="unknown")
                    up_kind = gr.Radio(["domain", "general"], value="domain", label=tr("corpus.kind"))
                    up_replace = gr.Checkbox(label=tr("corpus.replace"), value=False)
                    up_btn = gr.Button(tr("corpus.add"), variant="primary", elem_id="upload-button")
        with gr.Accordion(tr("corpus.hub"), open=False):
            with gr.Row():
                hub_id = gr.Textbox(catalogue.DEFAULT_HUB_DATASET, label=tr("corpus.hub_id"), scale=3)
                hub_btn = gr.Button(tr("corpus.hub_load"), scale=1, elem_id="hub-button")

    with gr.Row():
        with gr.Column(scale=3):
            gr.Markdown("#### " + tr("corpus.recipe"))
            weights_state = gr.State({})

            def weights_widget(form):
                return weights_state

            form = build_form(Recipe, choices=choices, custom={"weights": weights_widget})

            # Re-rendered when the selection or a weight changes; keys keep each slider (and its value) stable.
            @gr.render(inputs=[form.component("sources"), weights_state])
            def _weight_sliders(selected, weights):
                names = selected or [n for n in choices["sources"]]
                with gr.Accordion(tr("corpus.weights"), open=bool(selected)):
                    for name in names:
                        slider = gr.Slider(0, 5, value=weights.get(name, 1.0), step=0.1, label=name,
                                           key=f"w-{name}")
                        slider.release(guard.read(lambda v, w, n=name: {**w, n: v}), [slider, weights_state],
                                       weights_state)
        with gr.Column(scale=2):
            estimate_md = gr.Markdown(elem_id="estimate")
            estimate_plot = gr.Plot(label=tr("corpus.tokens_chart"))
            build_btn = gr.Button(tr("corpus.build"), variant="primary", elem_id="build-button")
            build_msg = gr.Markdown(elem_id="build-msg")
            build_follow = Follower(studio, "build")
            presets_bar(studio, BUILD, form.inputs, lambda *values: form.to_dict(values), form.updates)

    with gr.Accordion(tr("corpus.preview"), open=False):
        with gr.Row():
            prev_source = gr.Dropdown(choices["sources"], value=(choices["sources"] or [None])[0],
                                      label=tr("corpus.preview_source"))
            prev_btn = gr.Button(tr("corpus.preview_button"))
        prev_html = gr.HTML(elem_id="preview")

    gr.Markdown("#### " + tr("corpus.snapshots"))
    snaps_df = gr.Dataframe(snapshot_table(studio), interactive=False,
                            elem_id="snapshots-table", wrap=True)
    with gr.Row():
        snap_dd = gr.Dropdown([s[0] for s in snapshot_rows(studio)], label=tr("corpus.snapshots"), scale=3)
        refresh_btn = gr.Button(tr("corpus.refresh"), scale=1)
        contam_btn = gr.Button(tr("corpus.contamination"), scale=2, elem_id="contamination-button")
    contam_md = gr.Markdown(elem_id="contamination-msg")
    with gr.Row():
        card_md = gr.Markdown(elem_id="snapshot-card")
        with gr.Column():
            length_plot = gr.Plot(label=tr("corpus.length_chart"))
            snap_tokens_plot = gr.Plot(label=tr("corpus.tokens_chart"))
            snap_files = gr.File(label=tr("corpus.download"), file_count="multiple", interactive=False)
    viewer_snapshot = build_viewer(studio)

    # --- handlers: call backend, format, nothing else -------------------------------------------------------
    def recipe_from(values) -> Recipe:
        data = form.to_dict(values)
        return parse_recipe(data)

    def on_estimate(request: gr.Request, *values):
        lang = viewer_language(studio, request)
        try:
            recipe = recipe_from(values)
            e = est.estimate(studio.db, recipe)
        except CorpusInputError as exc:
            return f"❌ {translated(exc, lang)}", None
        return _estimate_markdown(e, lang), charts.tokens_per_source(
            e["sources"], commercial, word("Training tokens by source (estimate)", lang))

    def show_catalogue(tokenizer, message="", request: gr.Request = None):
        c = _choices(studio)
        commercial.update({r["name"]: bool(r["commercial_use"]) for r in catalogue.list_sources(studio.db)})
        return (source_table(studio, tokenizer, viewer_language(studio, request)), message, gr.update(choices=c["sources"]),
                gr.update(choices=c["document_types"]), gr.update(choices=c["general_sources"]),
                gr.update(choices=c["sources"]))

    def on_rescan(tokenizer, request: gr.Request):
        lang = viewer_language(studio, request)
        rows = studio.scan_sources()
        errors = [r for r in rows if r["status"] != "ok"]
        domain = sum(r["kind"] == "domain" for r in rows)
        msg = translated(f"{domain} domain and {len(rows) - domain} general-domain sources.", lang) + "".join(
            f"\n\n❌ **{r['name']}**: {translated(r['error'], lang)}" for r in errors)
        return show_catalogue(tokenizer, msg, request)

    catalogue_outputs = [sources_df, sources_msg, form.component("sources"), form.component("document_types"),
                         form.component("general_sources"), prev_source]

    def on_count(tokenizer, request: gr.Request, progress=gr.Progress()):
        lang = viewer_language(studio, request)
        rows = [r for r in catalogue.list_sources(studio.db) if r["status"] == "ok"]
        try:
            tokens.source_tokens(studio.db, rows, tokenizer, studio.home,
                                 progress=lambda f, m: progress(f, desc=translated(m, lang)))
        except (CorpusInputError, RuntimeError, OSError) as exc:
            return source_table(studio, tokenizer, lang), f"❌ {translated(exc, lang)}"
        return source_table(studio, tokenizer, lang), translated(f"Token counts for '{tokenizer}' are cached.", lang)

    def on_upload(file, name, license, is_commercial, doc_type, kind, replace, tokenizer, request: gr.Request):
        lang = viewer_language(studio, request)
        if not file:
            return (gr.update(), translated("❌ Choose a file first.", lang)) + (gr.update(),) * 4
        try:
            with acting(request):
                rows = catalogue.import_upload(studio.db, studio.settings.folder("uploads"), file, name, license,
                                               is_commercial, doc_type, kind, owner=current_user(request),
                                               replace=replace)
        except UserError as exc:
            return (gr.update(), f"❌ {translated(exc, lang)}") + (gr.update(),) * 4
        added = ", ".join(f"**{r['name']}** ({r['n_docs']:,} documents)" for r in rows)
        return show_catalogue(tokenizer, request=request, message=translated(f"✅ Added {added}", lang))

    def on_hub(dataset_id, tokenizer, request: gr.Request):
        from backend.corpus.hub import import_hub_dataset
        try:
            with acting(request):
                import_hub_dataset(studio.db, studio.settings.folder("uploads"), dataset_id,
                                   owner=current_user(request))
        except CorpusInputError as exc:
            return (gr.update(), f"❌ {translated(exc, viewer_language(studio, request))}") + (gr.update(),) * 4
        return show_catalogue(tokenizer, translated(f"✅ Imported {dataset_id}", viewer_language(studio, request)),
                              request)

    def on_preview(source, request: gr.Request, *values):
        lang = viewer_language(studio, request)
        if not source:
            return f"<p>{translated('Choose a source.', lang)}</p>"
        try:
            cfg = recipe_from(values).cleaning
            return _preview_html(preview.preview_cleaning(studio.db, source, cfg), lang)
        except CorpusInputError as exc:
            return f"<p>❌ {html.escape(translated(exc, lang))}</p>"

    def on_built(ids, request: gr.Request | None = None):   # called by the follower: the app's default language
        """The build ended: list the snapshot and select it (its card shows)."""
        rows = snapshot_rows(studio)
        jobs = [store.find(studio.db, j) for j in ids]
        built = next((j["result"]["snapshot_id"] for j in jobs if j and j["status"] == "succeeded"), None)
        return snapshot_table(studio, viewer_language(studio, request)), \
            gr.update(choices=[r[0] for r in rows], **({"value": built} if built else {}))

    def on_contamination(snap_id, request: gr.Request):
        from backend.evaluation.contamination import check, summary_lines

        lang = viewer_language(studio, request)
        if not snap_id:
            return translated("❌ Choose a snapshot first.", lang), gr.update()
        try:
            with acting(request):
                report = check(studio.db, studio.settings, snap_id, actor=current_user(request))
        except UserError as exc:
            return f"❌ {translated(exc, lang)}", gr.update()
        return ("\n".join(f"- {translated(line, lang)}" for line in summary_lines(report)) + "\n\n"
                + translated(f"({report['seconds']:.1f} s; written to the snapshot's card and manifest)", lang),
                on_select(snap_id, request)[0])

    def on_select(snap_id, request: gr.Request):
        lang = viewer_language(studio, request)
        if not snap_id:
            return "", None, None, None
        try:
            manifest = snapshot.load_manifest(studio.db, snap_id)
            files = snapshot.snapshot_files(studio.db, snap_id)
            lengths = snapshot.snapshot_lengths(studio.db, snap_id)
        except CorpusInputError as exc:
            return f"❌ {translated(exc, lang)}", None, None, None
        card = files[0].read_text("utf-8").split("---", 2)[-1]
        per_source = manifest["splits"]["train"]
        flags = {lic["source"]: lic["commercial_use"] for lic in manifest["licenses"]}
        return (card, charts.length_histogram(lengths, word("Training documents by length", lang)),
                charts.tokens_per_source(per_source, flags, word("Training tokens by source", lang)),
                downloads.offer(studio.home, files))

    def on_refresh(request: gr.Request):
        rows = snapshot_rows(studio)
        return snapshot_table(studio, viewer_language(studio, request)), gr.update(choices=[r[0] for r in rows])

    for comp in form.inputs:
        comp.change(guard.read(on_estimate), form.inputs, [estimate_md, estimate_plot], trigger_mode="always_last",
                    show_progress="hidden")
    rescan_btn.click(guard.user(on_rescan), [tokenizer_dd], catalogue_outputs)
    count_btn.click(guard.user(on_count), [tokenizer_dd], [sources_df, sources_msg])
    up_btn.click(guard.user(on_upload), [up_file, up_name, up_license, up_commercial, up_type, up_kind, up_replace,
                                               tokenizer_dd],
                 catalogue_outputs)
    hub_btn.click(guard.user(on_hub), [hub_id, tokenizer_dd], catalogue_outputs)
    prev_btn.click(guard.read(on_preview), [prev_source] + form.inputs, [prev_html])
    wire_launch(studio, BUILD, build_btn, form.inputs, lambda *values: recipe_from(values), build_follow, build_msg)
    build_follow.on_done(on_built, [], [snaps_df, snap_dd])
    snap_dd.change(guard.read(on_select), [snap_dd], [card_md, length_plot, snap_tokens_plot, snap_files])
    follow(studio, snap_dd, viewer_snapshot)
    contam_btn.click(guard.user(on_contamination), [snap_dd], [contam_md, card_md])
    refresh_btn.click(guard.read(on_refresh), None, [snaps_df, snap_dd])
    # on every page load too: the table and dropdown above hold the snapshots of app start-up, not later builds
    gr.on(None, guard.read(on_refresh), None, [snaps_df, snap_dd], show_progress="hidden")
    gr.on(None, guard.read(show_catalogue), [tokenizer_dd], catalogue_outputs, show_progress="hidden")
    return on_estimate, form.inputs, [estimate_md, estimate_plot]
