"""The numbers of a finished (or running) study, gathered once for the report, the Reproduce tab and the CLI: the
evaluation results of the compared models under role labels (a compare.Comparison), the sweep, the findings in
plain words, the stage timings and the machine."""
from __future__ import annotations

import math
import os
import platform
import time
from pathlib import Path

from backend.evaluation.compare import Comparison, delta_cell, fmt_p, long_rows
from frbio_core.settings import Settings
from backend.study.stages import PERPLEXITY, comparisons, eval_configs

QUESTION = ("Is biomedical domain-adaptive pre-training (DAPT) worth it for this model, and does merging the DAPT "
            "model back with its base (SLERP) recover what DAPT costs on general text?")
PPL_KEYS = {"domain_ppl": "domain (biomedical validation)", "general_ppl": "general French",
            "general_ppl_en": "general English"}


def role_label(role: str, artefacts: dict) -> str:
    """A compared model's name in the report: base, DAPT, SLERP t=0.5, best SLERP t=…, checkpoint step N (the run's
    best kept checkpoint), SLERP t=0.5 of step N."""
    best_t = artefacts.get("best_t")
    if role.startswith("checkpoint"):
        step = (artefacts.get("checkpoint") or {}).get("step", "?")
        return f"checkpoint step {step}" if role == "checkpoint" else f"SLERP t=0.5 of step {step}"
    return {"base": "base", "dapt": "DAPT", "t=0.5": "SLERP t=0.5"}.get(
        role, f"best SLERP t={best_t:g}" if best_t is not None else "best")


def labelled_comparison(db, home: Path, settings: Settings, row: dict) -> Comparison | None:
    """One Comparison over every eval config of the study, its models named by role (base, DAPT, SLERP t=0.5, best
    SLERP t=…), each model row keeping its registry id as `model_id`. None before the merge stage is done."""
    from backend.study.config import StudyConfig
    from backend.study.stages import StageContext, compared_models

    a = row["artefacts"]
    if "merged" not in a:
        return None
    ctx = StageContext(db, Path(home), settings, row, StudyConfig.model_validate(row["config"]))

    roles = compared_models(ctx)
    comps = comparisons(ctx)
    first = comps[0]
    by_id = {m["id"]: m for m in first.models}
    models = [{**by_id[mid], "id": role_label(role, a), "model_id": mid, "role": role}
              for role, mid in roles.items()]
    order = [f"frbio_{b}" for b in ctx.cfg.benchmarks] + [PERPLEXITY]
    tasks = sorted({t.name: t for c in comps for t in c.tasks}.values(), key=lambda t: order.index(t.name)
                   if t.name in order else len(order))
    cells = {}
    for comp in comps:
        for (mid, task), cell in comp.cells.items():
            for m in models:
                if m["model_id"] == mid:
                    cells[(m["id"], task)] = cell
    return Comparison(first.cfg, models, tasks, cells, db=db)


def result_rows(comp: Comparison | None) -> list[dict]:
    """compare.long_rows with the role and the registry id of each model."""
    if comp is None:
        return []
    ids = {m["id"]: (m["role"], m["model_id"]) for m in comp.models}
    return [{**r, "role": ids[r["model"]][0], "model_id": ids[r["model"]][1]} for r in long_rows(comp)]


def lower_is_better(row: dict) -> bool:
    return row["task"] == PERPLEXITY or row["lower_is_better"]


def results_table(rows: list[dict]) -> tuple[list[str], list[list[str]]]:
    """Task, metric, then per model 'value ± stderr' and, after the base, its change with its paired 95 % interval and
    Holm-corrected p, marked ▲ better / ▼ worse only where that is significant (perplexities: lower is better)."""
    models = list(dict.fromkeys(r["model"] for r in rows))
    headers = ["task", "metric"] + [h for m in models for h in ([m] if m == models[0] else [m, f"Δ {m}"])]
    table: dict[tuple[str, str], dict] = {}
    for r in rows:
        table.setdefault((r["task_title"], r["metric"]), {})[r["model"]] = r
    out = []
    for (title, metric), by_model in table.items():
        line = [title, metric]
        for m in models:
            r = by_model.get(m)
            line.append("—" if r is None or r["value"] is None else f"{r['value']:.3f}" + (
                f" ± {r['stderr']:.3f}" if r.get("stderr") is not None else ""))
            if m != models[0]:
                line.append(delta_cell(r))
        out.append(line)
    return headers, out


def _pct(new: float, old: float) -> str:
    return f"{(new - old) / old * 100:+.1f} %"


def findings(row: dict, rows: list[dict]) -> list[str]:
    """What the numbers say, in plain words, without judging beyond them: a benchmark difference is called better or
    worse only when the paired test says so after Holm's correction across the study's comparisons; otherwise it
    says that these items cannot tell, and the smallest difference they could have detected."""
    a = row["artefacts"]
    out = []
    cell = {(r["role"], r["task"], r["metric"]): r for r in rows}

    def ppl(role: str, key: str):
        return (cell.get((role, PERPLEXITY, key)) or {}).get("value")

    train = a.get("train") or {}
    for role, words in (("dapt", f"DAPT ({train.get('steps', '?')} steps, {(train.get('tokens_seen') or 0) / 1e6:.2f} M "
                                 "tokens)"), ("t=0.5", "Merging at t = 0.5"),
                        ("best", f"The best sweep point (t = {a.get('best_t', 0.5):g})"),
                        ("checkpoint", f"The best checkpoint by {(a.get('checkpoint') or {}).get('by')} perplexity "
                                       f"({role_label('checkpoint', a)})"),
                        ("checkpoint t=0.5", "Merging that checkpoint at t = 0.5")):
        parts = [f"{name}: {ppl('base', k):.2f} → {ppl(role, k):.2f} ({_pct(ppl(role, k), ppl('base', k))})"
                 for k, name in PPL_KEYS.items() if ppl(role, k) is not None and ppl("base", k)]
        if parts:
            out.append(f"{words} vs the base, perplexity: " + "; ".join(parts) + ".")
    base_d, dapt_d = ppl("base", "domain_ppl"), ppl("dapt", "domain_ppl")
    base_e, dapt_e = ppl("base", "general_ppl_en"), ppl("dapt", "general_ppl_en")
    for role in ("t=0.5", "best", "checkpoint t=0.5"):
        m_d, m_e = ppl(role, "domain_ppl"), ppl(role, "general_ppl_en")
        if None in (dapt_d, base_d, m_d) or dapt_d >= base_d:
            continue
        text = f"{role_label(role, a)} keeps {(base_d - m_d) / (base_d - dapt_d) * 100:.0f} % of the " \
               "domain perplexity gain of DAPT"
        if None not in (dapt_e, base_e, m_e) and dapt_e > base_e:
            text += f" and recovers {(dapt_e - m_e) / (dapt_e - base_e) * 100:.0f} % of its general-English loss"
        out.append(text + ".")
    for r in rows:
        if r["role"] == "base" or lower_is_better(r) or r["value"] is None or r["delta"] is None:
            continue
        base = cell.get(("base", r["task"], r["metric"])) or {}
        head = (f"{r['task_title']}, {r['metric']}, {r['model']}: {r['value']:.3f} vs base "
                f"{base.get('value', float('nan')):.3f}, {r['delta']:+.3f}")
        if r.get("p_holm") is not None:
            said = {"better": "better than the base", "worse": "worse than the base"}.get(r["verdict"], r["verdict"])
            out.append(f"{head} [95 % CI {r['ci_low']:+.3f}, {r['ci_high']:+.3f}], p = {fmt_p(r['p_holm'])} after "
                       f"Holm: {said}; n = {r['n']}.")
            continue
        se = math.sqrt((r["stderr"] or 0) ** 2 + (base.get("stderr") or 0) ** 2)
        if se == 0:
            out.append(f"{head}; n = {r['n']}.")
        elif abs(r["delta"]) > 2 * se:
            out.append(f"{head} (more than 2 standard errors; no per-item test); n = {r['n']}.")
        else:
            out.append(f"{head} (within 2 standard errors; no per-item test); n = {r['n']}.")
    return out


def machine() -> dict:
    """Where the study ran: CPU model and cores, memory, GPUs, Python and torch versions, load average."""
    info = {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count()}
    try:
        text = Path("/proc/cpuinfo").read_text()
        info["cpu"] = next((ln.split(":", 1)[1].strip() for ln in text.splitlines() if ln.startswith("model name")),
                           platform.processor())
        mem = next(ln for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal"))
        info["memory_gb"] = round(int(mem.split()[1]) / 1e6, 1)
    except (OSError, StopIteration):
        info["cpu"] = platform.processor()
    try:
        import torch

        info["torch"] = torch.__version__
        info["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    except Exception:  # noqa: BLE001
        info["gpus"] = []
    try:
        info["load_average"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        pass
    return info


def stage_table(row: dict) -> list[dict]:
    from backend.study.state import STAGE_NAMES

    out = []
    for name in STAGE_NAMES:
        t = row["timings"].get(name)
        if not t:
            continue
        out.append({"stage": name, "wall_s": t.get("wall_s"), "started": time.strftime(
            "%Y-%m-%d %H:%M:%S", time.localtime(t["started_at"])) if t.get("started_at") else None,
                    "jobs": t.get("jobs") or {label: {"id": j} for label, j in (row["jobs"].get(name) or {}).items()}})
    return out


def total_wall_s(row: dict) -> float | None:
    starts = [t["started_at"] for t in row["timings"].values() if t.get("started_at")]
    ends = [t["finished_at"] for t in row["timings"].values() if t.get("finished_at")]
    return round(max(ends) - min(starts), 1) if starts and ends else None


def eval_settings(row: dict) -> list[dict]:
    from backend.study.config import StudyConfig

    return eval_configs(StudyConfig.model_validate(row["config"]), row["artefacts"].get("snapshot", ""))
