"""Benchmark: the running app under 20 concurrent sessions polling job status and listing models, against ONE
session doing the same, in the same run.

The app (`python app.py`, its defaults: queue with 4 concurrent handlers) serves a fresh home holding 8 registered
models and 50 jobs, one of which has a training-like metrics.jsonl (300 steps of loss, learning rate and tokens/s,
perplexity every 20 steps) and a 400-line log. Each session is its own gradio_client.Client (its own session hash,
the same queue protocol as the browser) and repeats: `job_status` (the Jobs panel's timer handler: job table, status
line, curves figure, log tail) on that job, then `list_models` (the Models tab's refresh), then waits — 2 s, the
browser's own timer, and 0.5 s, four times that rate. Latency is measured per call, client side.

Each call goes the way the page sends it: the polls are declared queue=False, so the browser POSTs them to
/run/<api_name> (one request); anything queued goes through gradio_client (queue join + event stream).

BASELINE  1 session, ROUNDS rounds, 2 s apart.
LOAD      20 sessions at once, ROUNDS rounds each, 2 s apart (the page's rate), then 0.5 s apart (4x).
BEFORE    20 sessions, 2 s apart, every call through the queue protocol, as the polls were sent before.

    .venv/bin/python bench/ui_load.py [--sessions 20] [--rounds 30]

Writes bench/results/ui_load.json and the table in bench/README.md (between the ui_load markers). Client and server
share this machine's cores, as they would not in production.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import harness
from harness import ROOT

harness.env_defaults(GRADIO_ANALYTICS_ENABLED="False")
RESULTS = harness.BENCH / "results" / "ui_load.json"
THINK_S = (2.0, 0.5)   # the page polls every 2 s; 0.5 s is four times its rate
ENDPOINTS = ("/job_status", "/list_models")


def build_home(home: Path) -> str:
    """8 tiny models, 50 jobs; returns the id of the job with a training-like history."""
    from frbio_core import registry
    from backend.models.importing import make_tiny_model
    from jobs import store

    db = registry.connect(home / "frbio.db")
    for i in range(8):
        make_tiny_model(home, f"tiny-{i}", seed=i, tokenizer_from=None, db=db)
    ids = [store.submit(db, home, "test_sleep", {"seconds": 0}, owner=f"user{i % 5}") for i in range(50)]
    for job_id in ids:
        store.set_status(db, job_id, "succeeded", progress=1.0)
    job = ids[-1]
    folder = store.job_dir(home, job)
    with open(folder / store.METRICS_FILE, "w") as f:
        for step in range(1, 301):
            f.write(json.dumps({"step": step, "loss": 3.0 / step ** 0.3, "lr": 2e-5, "tokens_per_s": 575.0}) + "\n")
            if step % 20 == 0:
                f.write(json.dumps({"step": step, "domain_ppl": 20 - step / 30, "general_ppl": 15 + step / 100}) + "\n")
    (folder / store.LOG_FILE).write_text("".join(f"[12:00:{i % 60:02d}] step {i}: loss 2.1\n" for i in range(400)))
    return job


def direct_endpoints(url: str) -> dict[str, int]:
    """{'/api_name': its number of inputs} of the dependencies declared queue=False: the browser POSTs those straight
    to /run/<api_name> and joins the queue (SSE) for the others; the bench does the same."""
    with urllib.request.urlopen(url + "config", timeout=10) as r:
        config = json.load(r)
    return {"/" + d["api_name"]: len(d["inputs"]) for d in config["dependencies"]
            if d.get("api_name") and d.get("queue", True) is False}


def session(url: str, job: str, rounds: int, think_s: float, out: list, start: threading.Barrier,
            direct: dict[str, int]) -> None:
    import httpx
    from gradio_client import Client

    client = Client(url, verbose=False)
    http = httpx.Client(timeout=60)
    calls = {"/job_status": [job], "/list_models": []}
    start.wait()
    for _ in range(rounds):
        for name, args in calls.items():
            t = time.perf_counter()
            if name not in direct:
                client.predict(*args, api_name=name)
            else:   # as the browser: one POST; a State input goes as None (the server keeps it under the session)
                data = args + [None] * (direct[name] - len(args))
                http.post(f"{url}gradio_api/run{name}", json={"data": data, "session_hash": client.session_hash}
                          ).raise_for_status()
            out.append((name, (time.perf_counter() - t) * 1000))
        time.sleep(think_s)
    http.close()
    client.close()


def run_phase(url: str, job: str, sessions: int, rounds: int, think_s: float, direct: dict[str, int]) -> dict:
    samples: list = []
    barrier = threading.Barrier(sessions)
    threads = [threading.Thread(target=session, args=(url, job, rounds, think_s, samples, barrier, direct))
               for _ in range(sessions)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    out = {"sessions": sessions, "rounds": rounds, "think_s": think_s, "calls": len(samples), "wall_s": round(wall, 1)}
    for name in (*ENDPOINTS, "all"):
        ms = sorted(v for n, v in samples if name in (n, "all"))
        out[name] = {"p50_ms": round(statistics.median(ms), 1), "p95_ms": round(ms[int(0.95 * (len(ms) - 1))], 1),
                     "max_ms": round(ms[-1], 1), "n": len(ms)}
    return out


def main() -> int:
    parser = harness.bench_parser(__doc__, RESULTS, child=False)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="frbio-ui-load-"))
    os.environ["FRBIO_JOB_KIND_MODULES"] = "tests.jobkinds"   # the trivial kind the 50 jobs are of
    job = build_home(tmp / "home")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRBIO_") or k == "FRBIO_JOB_KIND_MODULES"}
    env["GRADIO_TEMP_DIR"] = str(tmp / "gradio")
    log = open(tmp / "app.log", "wb")
    app = subprocess.Popen([sys.executable, "app.py", "--port", str(port), "--home", str(tmp / "home"),
                            "--no-import-default-model", "--data", str(tmp / "no-data")], cwd=ROOT, env=env,
                           stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                if app.poll() is not None:
                    raise SystemExit((tmp / "app.log").read_text())
                time.sleep(0.3)
        direct = direct_endpoints(url)
        single = run_phase(url, job, 1, args.rounds, THINK_S[0], direct)
        loads = [run_phase(url, job, args.sessions, args.rounds, think, direct) for think in THINK_S]
        # the same load through the queue protocol (queue join + event stream), as every poll went before
        via_queue = run_phase(url, job, args.sessions, args.rounds, THINK_S[0], {})
    finally:
        app.terminate()
        app.wait(30)
    m = harness.machine_info("machine", "cpus")
    report = {"date": dt.datetime.now().isoformat(timespec="seconds"), "machine": f"{m['machine']}, {m['cpus']} cores",
              "think_s": THINK_S, "baseline_single_session": single,
              "load": loads, "target_p95_ms": 500, "queued": {n: n not in direct for n in ENDPOINTS},
              "load_via_queue": via_queue,
              "p95_ratio": [round(load["all"]["p95_ms"] / single["all"]["p95_ms"], 2) for load in loads]}
    return harness.publish(report, args.out, RESULTS, "ui_load", readme_table(report, args.sessions), section=SECTION)


SECTION = """## UI under load (`ui_load.py`)

Twenty browser sessions at once against the running app, each polling a job's status (the Jobs panel's timer
handler: job table, status line, curves, log tail) and listing the models, every 2 s (the page's own timer) and
every 0.5 s (four times that rate), against one session doing the same, in the same run, and against the same
20 sessions through gradio's queue protocol (how every poll was sent before they were declared `queue=False`; the
browser now POSTs them in one request). The panel re-sends nothing that did not change (the job table, status, log
and curves). Latency is measured client side, client and server on the same 2 cores.

```bash
.venv/bin/python bench/ui_load.py            # about two minutes; --sessions, --rounds
```

"""


def readme_table(report: dict, sessions: int) -> str:
    single = report["baseline_single_session"]
    phases = [("1 session (baseline), every 2 s", single)] + [
        (f"{sessions} sessions, every {load['think_s']:g} s", load) for load in report["load"]]
    if report.get("load_via_queue"):
        phases.append((f"{sessions} sessions, every {report['load_via_queue']['think_s']:g} s, through the queue "
                       "(before)", report["load_via_queue"]))
    rows = [[label, name, f"{ph[name]['p50_ms']:.0f}", f"{ph[name]['p95_ms']:.0f}", f"{ph[name]['max_ms']:.0f}",
             ph[name]["n"]] for label, ph in phases for name in (*ENDPOINTS, "all")]
    verdicts = "; ".join(f"every {load['think_s']:g} s: p95 {load['all']['p95_ms']:.0f} ms, {ratio}× the single "
                         f"session's, target {'met' if load['all']['p95_ms'] < report['target_p95_ms'] else 'NOT met'}"
                         for load, ratio in zip(report["load"], report["p95_ratio"]))
    return "\n".join([f"Run {report['date']} on {report['machine']}; target p95 < {report['target_p95_ms']} ms "
                      f"under load. {verdicts}.", "",
                      harness.markdown_table(["sessions", "call", "p50 ms", "p95 ms", "max ms", "calls"], rows,
                                             "llrrrr")])


if __name__ == "__main__":
    sys.exit(main())
