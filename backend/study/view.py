"""What the Reproduce tab shows of a study, as plain data (no gradio): the budget in words, the study's status line,
one row per stage with its jobs, the artefacts with where to find them, and, once the report is written, its numbers
read back from report.json (so the tab shows exactly what the report holds)."""
from __future__ import annotations

import json
import time
from pathlib import Path

from frbio_core.translations import translated
from backend.study.config import PRESETS, StudyConfig
from backend.study.state import stage_rows, summaries
from backend.study.results import role_label, results_table, total_wall_s

ICONS = {"done": "✅", "succeeded": "✅", "running": "⏳", "queued": "⏳", "pending": "·", "failed": "❌",
         "cancelled": "⏹"}
STAGE_HEADERS = ["stage", "status", "wall time", "jobs"]
ARTEFACT_HEADERS = ["what", "id", "where to see it"]
# the budgets' descriptions in French (the English is PRESETS[...]["description"])
DESCRIPTIONS_FR = {
    "smallest": "un test de fumée : 4 pas d'entraînement de 2 × 64 tokens, un balayage de 3 points, 5 items par banc "
                "d'essai, 4 blocs de 64 tokens par ensemble de perplexité (quelques minutes ; les chiffres ne disent rien)",
    "cpu-hour": "DAPT de 150 pas × 4 × 256 tokens (≈ 0,15 M tokens, lr 2e-5 cosinus, ceux de l'article), balayage SLERP "
                "t = 0, 0,1, …, 1, perplexité sur 16 blocs de 256 tokens par ensemble, les 60 premiers items de "
                "FrenchMedMCQA simple, 40 de FrenchMedMCQA multiple et de SIB-200-fr, 25 de PubMedQA (3 / 5 exemples "
                "résolus, comme l'article) ; moins d'une heure sur 2 cœurs CPU",
    "full-tests": "la DAPT et le balayage de « cpu-hour », puis chaque item de test de chaque banc d'essai, pour "
                  "distinguer de plus petites différences (des heures sur 2 cœurs CPU : voir l'estimation de durée)",
}


def study_choices(db, limit: int = 50, lang: str = "en") -> list[tuple[str, str]]:
    """(label, id) of the studies, newest first."""
    return [(f"{r['id']} · {r['name']} · {translated(r['status'], lang)}", r["id"])
            for r in summaries(db, limit=limit)]


def eval_seconds(db, settings, c: StudyConfig) -> tuple[float, dict[str, int], bool]:
    """(estimated seconds to score the 4 compared models, items per benchmark, whether every time per item was
    measured in this home): items × seconds per item, the median this home measured for the benchmark (its stored
    evaluations' duration ÷ items), else the benchmark's reference figure (metadata.frbio.seconds_per_item)."""
    import statistics

    from backend.evaluation.benchmarks import PREFIX
    from backend.evaluation.tasks import get_task

    total, items, measured = 0.0, {}, True
    for name in c.benchmarks:
        spec = get_task(settings, PREFIX + name) if settings is not None else None
        n = c.eval_limits.get(name) or (spec.test_items if spec else None) or 0
        seen = [d / k for d, k in db.execute("SELECT duration_s, n_samples FROM evals WHERE task = ? AND "
                                             "duration_s > 0 AND n_samples > 0", [PREFIX + name]).fetchall()] \
            if db is not None and db["evals"].exists() else []
        per = statistics.median(seen) if seen else (spec.seconds_per_item if spec else None) or 2.0
        measured = measured and bool(seen)
        items[name] = n
        total += 4 * n * per
    return total, items, measured


def budget_markdown(cfg: StudyConfig, db=None, settings=None, lang: str = "en") -> str:
    """What the study will do, in numbers, from its resolved config (with the registry and settings: the time its
    evaluations will take, from the times per item measured here), in `lang` ('en' or 'fr')."""
    c = cfg.resolve()
    if lang == "fr":
        return _budget_fr(c, db, settings)
    tokens = c.max_steps * c.micro_batch_size * c.block_size
    limits = ", ".join(f"{name} {'all' if not c.eval_limits.get(name) else c.eval_limits[name]}"
                       for name in c.benchmarks) or "none"
    return "\n".join([
        f"**Budget `{c.budget}`** — {PRESETS[c.budget]['description']}.",
        "",
        f"- **Corpus**: {'every source that allows commercial use' if not c.sources else ', '.join(c.sources)} "
        f"({c.license_mode} licences), the paper's cleaning and near-duplicate removal, 1 % validation per source.",
        f"- **DAPT** of `{c.base_model}`: {c.max_steps:,} steps × {c.micro_batch_size} blocks × {c.block_size} tokens "
        f"= **{tokens:,} tokens**, lr {c.learning_rate:g} cosine, no warm-up, weight decay 0.05.",
        f"- **SLERP sweep**: t = {', '.join(f'{t:g}' for t in c.sweep_grid)}; perplexity on {c.ppl_blocks} blocks of "
        f"{c.block_size} tokens per set (domain, general French, general English). Best point: `{c.best_by}`.",
        "- **Compared**: base, DAPT, SLERP t = 0.5 and the best sweep point, each saved as a model"
        + ("." if c.checkpoint_best_by == "off" else
           f"; and the run's best checkpoint by `{c.checkpoint_best_by}` perplexity (one kept every "
           f"{c.train_eval_every} steps) with its SLERP t = 0.5 merge."),
        f"- **Benchmarks** (items): {limits}; few-shot {c.fewshot_medical} medical, {c.fewshot_general} general.",
    ] + ([_eval_line(*eval_seconds(db, settings, c))] if settings is not None else []))


def _budget_fr(c: StudyConfig, db, settings) -> str:
    def num(x) -> str:
        return f"{x:,}".replace(",", "\u202f")

    def dec(x) -> str:
        return f"{x:g}".replace(".", ",")
    tokens = c.max_steps * c.micro_batch_size * c.block_size
    limits = ", ".join(f"{name} {'tous' if not c.eval_limits.get(name) else c.eval_limits[name]}"
                       for name in c.benchmarks) or "aucun"
    lines = [
        f"**Budget `{c.budget}`** — {DESCRIPTIONS_FR[c.budget]}.",
        "",
        f"- **Corpus** : {'chaque source qui autorise l’usage commercial' if not c.sources else ', '.join(c.sources)} "
        f"(licences `{c.license_mode}`), le nettoyage de l’article et la suppression des quasi-doublons, 1 % de "
        "validation par source.",
        f"- **DAPT** de `{c.base_model}` : {num(c.max_steps)} pas × {c.micro_batch_size} blocs × {c.block_size} tokens "
        f"= **{num(tokens)} tokens**, lr {c.learning_rate:g} cosinus, sans échauffement, décroissance des poids 0,05.",
        f"- **Balayage SLERP** : t = {' ; '.join(dec(t) for t in c.sweep_grid)} ; perplexité sur {c.ppl_blocks} blocs "
        f"de {c.block_size} tokens par ensemble (domaine, français général, anglais général). Meilleur point : "
        f"`{c.best_by}`.",
        "- **Comparés** : la base, la DAPT, SLERP t = 0,5 et le meilleur point du balayage, chacun enregistré comme "
        "modèle" + ("." if c.checkpoint_best_by == "off" else
                    f" ; et le meilleur point de contrôle de l’entraînement selon la perplexité `{c.checkpoint_best_by}` "
                    f"(un gardé tous les {c.train_eval_every} pas) avec sa fusion SLERP t = 0,5."),
        f"- **Bancs d’essai** (items) : {limits} ; {c.fewshot_medical} exemples résolus en médical, "
        f"{c.fewshot_general} en général.",
    ]
    if settings is not None:
        seconds, items, measured = eval_seconds(db, settings, c)
        lines.append(f"- **Évaluation** de 4 modèles sur {num(sum(items.values()))} items : environ "
                     f"{_wall(seconds).replace('.', ',')} ({'temps par item mesurés ici' if measured else 'temps par item de référence sur 2 cœurs CPU'}"
                     " ; plus d’items détectent de plus petites différences).")
    return "\n".join(lines)


def _eval_line(seconds: float, items: dict[str, int], measured: bool) -> str:
    return (f"- **Scoring** 4 models on {sum(items.values()):,} items: about {_wall(seconds)} "
            f"({'times per item measured in this home' if measured else 'reference times per item on 2 CPU cores'}"
            "; more items detect smaller differences).")


def _wall(seconds) -> str:
    if seconds is None:
        return ""
    if seconds >= 7200:
        return f"{seconds / 3600:,.1f} h"
    return f"{seconds:,.0f} s" if seconds < 120 else f"{seconds / 60:,.1f} min"


def status_markdown(row: dict | None, lang: str = "en") -> str:
    if row is None:
        return "Aucune étude choisie." if lang == "fr" else "No study selected."
    total = total_wall_s(row)
    started = time.strftime("%Y-%m-%d %H:%M", time.localtime(row["created_at"]))
    status = translated(row["status"], lang)
    text = f"{ICONS.get(row['status'], '')} **{row['id']}** · {row['name']} · **{status}** · " + translated(
        f"stage `{row['stage']}` · started {started}", lang)
    if total:
        text += " · " + translated(f"{_wall(total)} so far" if row["status"] == "running" else f"total {_wall(total)}",
                                   lang)
    if row["error"]:
        text += f"\n\n❌ {translated(row['error'], lang)}"
        if row["status"] in ("failed", "cancelled"):
            text += " — " + translated("**Resume** continues from this stage; what finished is reused.", lang)
    return text


def stages_table(db, row: dict | None, lang: str = "en") -> list[list[str]]:
    """[stage, status, wall time, jobs] per stage; a running job shows its progress and last message."""
    if row is None:
        return []
    out = []
    for s in stage_rows(db, row):
        jobs = []
        for j in s["jobs"]:
            text = f"{j['label']}: {j['id']} {translated(j['status'], lang)}"
            if j["status"] in ("running", "queued"):
                text += f" {j['progress'] or 0:.0%}" + (
                    f" — {translated(j['message'], lang)}" if j["message"] else "")
            jobs.append(text)
        out.append([translated(s["title"], lang), f"{ICONS.get(s['status'], '')} {translated(s['status'], lang)}",
                    _wall(s["wall_s"]), "; ".join(jobs)])
    return out


def training_job(row: dict | None) -> str | None:
    """The study's DAPT job (its curves are shown live while it trains, and kept after)."""
    return None if row is None else (row["jobs"].get("train") or {}).get("dapt")


def artefact_rows(row: dict | None, lang: str = "en") -> list[list[str]]:
    """Every artefact of the study with its id and the tab where it is shown."""
    return [[translated(what, lang), ident, translated(where, lang)] for what, ident, where in _artefacts(row)]


def _artefacts(row: dict | None) -> list[list[str]]:
    if row is None:
        return []
    a, jobs = row["artefacts"], row["jobs"]
    out = []
    if a.get("snapshot"):
        out.append(["corpus snapshot", a["snapshot"], "Corpus → Snapshots"])
    for stage, what in (("snapshot", "snapshot job"), ("train", "DAPT training job"), ("sweep", "SLERP sweep job")):
        for job_id in (jobs.get(stage) or {}).values():
            out.append([what, job_id, "Jobs (log, curves)"])
    if a.get("dapt_model"):
        out.append(["DAPT model", a["dapt_model"], "Models, Generate, Compare"])
    if a.get("best_t") is not None:
        out.append(["best sweep point", f"t = {a['best_t']:g}", "the trade-off figure above"])
    for label, model_id in (a.get("merged") or {}).items():
        out.append([f"merged model (SLERP {label})", model_id, "Models, Generate, Compare, Merge"])
    for label, path in (a.get("merge_yaml") or {}).items():
        out.append([f"mergekit YAML ({label})", path, "re-run with mergekit-yaml"])
    for role, tasks in (a.get("evals") or {}).items():
        for task, eval_id in tasks.items():
            out.append([f"evaluation: {role_label(role, a)} / {task.removeprefix('frbio_')}", eval_id,
                        "Compare (cached)"])
    if row.get("report_path"):
        out.append(["report (HTML)", row["report_path"], "download below"])
        french = Path(row["report_path"]).with_suffix(".fr.html")
        if french.is_file():        # (a study reported before there was a French page has none)
            out.append(["report in French (HTML)", str(french), "download below"])
        out.append(["every number (JSON)", str(Path(row["report_path"]).with_suffix(".json")), "download below"])
    return out


def report_numbers(row: dict | None) -> dict | None:
    """The written report's data (report.json), or None before the report stage."""
    if row is None or not row.get("report_path"):
        return None
    path = Path(row["report_path"]).with_suffix(".json")
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None


def results_view(row: dict | None, lang: str = "en") -> tuple[list[str], list[list[str]], list[str]]:
    """(headers, rows, findings) of the finished study, from its report.json; empty before."""
    data = report_numbers(row)
    if not data or not data.get("results"):
        return [], [], []
    headers, rows = results_table(data["results"])
    headers = [translated(h, lang) for h in headers]
    rows = [[translated(c, lang) for c in r] for r in rows]
    return headers, rows, [translated(f, lang) for f in data.get("findings", [])]


def report_files(row: dict | None) -> list[Path]:
    if row is None or not row.get("report_path"):
        return []
    html = Path(row["report_path"])
    return [p for p in (html, html.with_suffix(".fr.html"), html.with_suffix(".json")) if p.is_file()]
