"""Models tab: the registry (architecture, size, licence, lineage), local import, Hub download (a job), publish."""
from __future__ import annotations

import gradio as gr

from backend.corpus.readers import CorpusInputError
from backend.corpus.snapshot import list_snapshots
from backend.models import importing, publish
from backend.models.registry import ModelError, lineage, list_models
from backend.lineage import badge as licence_badge
from backend.studio import Studio
from frbio_core.errors import UserError
from frbio_core.translations import translated
from backend.models.job import DOWNLOAD, HubDownload
from frbio_ui import guard
from frbio_ui.forms import build_form
from frbio_ui.i18n import add_strings, tr
from frbio_ui.i18n_tables import columns, word
from frbio_ui.launch import Follower, wire_launch
from frbio_ui.polling import poll
from frbio_ui.session import acting, current_user, viewer_language

HEADERS = ["model", "kind", "architecture", "parameters", "dtype", "size on disk", "context", "vocabulary",
           "chat template", "licence", "parents", "commercial use"]
YES_NO = {True: "yes", False: "no", None: "?"}
add_strings({"models.table": "Registered models"}, {"models.table": "Modèles enregistrés"})


def model_table(studio: Studio, lang: str = "en"):
    """The models table with its headers and yes/no cells in `lang`."""
    import pandas as pd

    rows = [[word(c, lang) if j == 8 else c for j, c in enumerate(r)] for r in model_rows(studio, lang)]
    return pd.DataFrame(rows, columns=columns(HEADERS, lang))


def model_rows(studio: Studio, lang: str = "en") -> list[list]:
    return [[m["id"], m["kind"] + (f" · {word('step', lang)} {m['step']:,}" if m["kind"] == "checkpoint"
                                   and m.get("step") else ""),
             m["architecture"], f"{(m['n_params'] or 0) / 1e6:,.1f} M", m["dtype"],
             f"{(m['size_bytes'] or 0) / 2**20:,.0f} MiB", m["context_length"],
             f"{m['vocab_size']:,}" if m.get("vocab_size") else "?",
             YES_NO[None if m.get("chat_template") is None else bool(m["chat_template"])], m["license"] or "?",
             " + ".join(m["parents"]) or "—", licence_badge(bool(m["commercial_use"]), short=True,
                                                                  language=lang)]
            for m in list_models(studio.db)]


def lineage_markdown(studio: Studio, model_id: str, lang: str = "en") -> str:
    chain = lineage(studio.db, model_id)
    steps = " ← ".join(f"**{m['id']}** ({m['kind']})" for m in chain)
    me = chain[0]
    extra = ("\n\n" + translated(f"Trained on snapshot `{me['snapshot_id']}`.", lang)) if me.get("snapshot_id") else ""
    return f"{steps}{extra}\n\n" + translated(f"Folder: `{me['path']}` · origin: {me['origin']}", lang)


def build_models_tab(studio: Studio):
    table = gr.Dataframe(model_rows(studio), headers=HEADERS, interactive=False, elem_id="models-table", wrap=True,
                         label=tr("models.table"), show_label=False)
    with gr.Row():
        pick = gr.Dropdown([m["id"] for m in list_models(studio.db)], label=tr("models.pick", "Model"), scale=3)
        refresh = gr.Button(tr("models.refresh", "Refresh"), scale=1)
    lineage_md = gr.Markdown(elem_id="model-lineage")
    msg = gr.Markdown(elem_id="models-msg")
    with gr.Accordion(tr("models.import", "Import a local Hugging Face folder"), open=False):
        path = gr.Textbox(label=tr("models.path", "Folder path"), elem_id="import-path")
        with gr.Row():
            name = gr.Textbox(label=tr("models.name", "Name (optional)"))
            licence = gr.Textbox(label=tr("models.licence", "Licence (if the card has none)"))
            copy = gr.Checkbox(label=tr("models.copy", "Copy into frbio_home/models"), value=False)
            replace = gr.Checkbox(label=tr("models.replace"), value=False)
        import_btn = gr.Button(tr("models.import_button", "Import"), variant="primary", elem_id="import-button")
    with gr.Accordion(tr("models.download", "Download from the Hugging Face Hub (background job)"), open=False):
        dl_form = build_form(HubDownload)
        dl_btn = gr.Button(tr("models.download_button", "Download"), elem_id="download-button")
        dl_follow = Follower(studio, "download")
    with gr.Accordion(tr("models.publish", "Publish to the Hugging Face Hub"), open=False):
        with gr.Row():
            what = gr.Radio(["model", "snapshot"], value="model", label=tr("models.publish_what", "What"))
            item = gr.Dropdown([m["id"] for m in list_models(studio.db)], label=tr("models.item", "Model or snapshot"),
                               allow_custom_value=True)
        repo = gr.Textbox(label=tr("models.repo", "Hub repository (owner/name)"))
        with gr.Row():
            token = gr.Textbox(label=tr("models.token", "Hub token (empty: HF_TOKEN from the server)"),
                               type="password")
            private = gr.Checkbox(label=tr("models.private", "Private repository"), value=True)
        pub_btn = gr.Button(tr("models.publish_button", "Publish"), elem_id="publish-button")

    def refreshed(message="", request: gr.Request = None):
        ids = [m["id"] for m in list_models(studio.db)]
        return model_table(studio, viewer_language(studio, request)), gr.update(choices=ids), message

    def on_pick(model_id, request: gr.Request):
        if not model_id:
            return ""
        lang = viewer_language(studio, request)
        try:
            return lineage_markdown(studio, model_id, lang)
        except ModelError as exc:
            return f"❌ {translated(exc, lang)}"

    def on_import(folder, model_name, model_licence, do_copy, do_replace, request: gr.Request):
        lang = viewer_language(studio, request)
        try:
            with acting(request):
                row = importing.import_local(studio.db, studio.home, (folder or "").strip(), name=model_name or None,
                                             license=model_licence or None, copy=do_copy, actor=current_user(request),
                                             roots=studio.settings.import_roots, replace=do_replace)
        except UserError as exc:
            return refreshed(f"❌ {translated(exc, lang)}", request)
        return refreshed(translated(f"✅ Registered **{row['id']}**: {row['architecture']}, "
                                    f"{row['n_params'] / 1e6:,.1f} M parameters.", lang), request)

    def on_what(kind):
        ids = [m["id"] for m in list_models(studio.db)] if kind == "model" else \
            [s["id"] for s in list_snapshots(studio.db)]
        return gr.update(choices=ids, value=None)

    def on_publish(kind, item_id, repo_id, hub_token, is_private, request: gr.Request):
        fn = publish.publish_model if kind == "model" else publish.publish_snapshot
        try:
            with acting(request):
                result = fn(studio.db, item_id, (repo_id or "").strip(), token=hub_token or None,
                            private=is_private, actor=current_user(request),
                            server_token=studio.settings.allow_server_hub_token)
        except (ModelError, CorpusInputError, UserError) as exc:
            return f"❌ {translated(exc, viewer_language(studio, request))}"
        return translated(f"✅ Published to {result['url']}", viewer_language(studio, request))

    outputs = [table, pick, msg]
    poll(refresh.click, refreshed, None, outputs, api_name="list_models")
    pick.change(guard.read(on_pick), [pick], [lineage_md])
    import_btn.click(guard.admin(on_import), [path, name, licence, copy, replace], outputs)
    wire_launch(studio, DOWNLOAD, dl_btn, dl_form.inputs, lambda *values: dl_form.to_dict(values), dl_follow, msg)
    dl_follow.on_done(lambda ids: refreshed(), None, outputs)
    what.change(guard.read(on_what), [what], [item])
    pub_btn.click(guard.owner(on_publish, target=1, kind="model"), [what, item, repo, token, private], [msg])
    def listed(request: gr.Request = None):     # at page load: the table and the list, never the message line
        return refreshed("", request)[:2]         # (a load answered late would blank a reply shown meanwhile)

    gr.on(None, guard.read(listed), None, [table, pick], show_progress="hidden")

    def what_labels(request: gr.Request):   # "model" / "snapshot" in the page's language
        fr = viewer_language(studio, request) == "fr"
        return gr.update(choices=[("modèle" if fr else "model", "model"),
                                  ("instantané" if fr else "snapshot", "snapshot")])
    gr.on(None, guard.read(what_labels), None, [what], show_progress="hidden")
