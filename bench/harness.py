"""The benchmarks' shared harness: everything the scripts in bench/ need around the code they time, written once.

Each bench/*.py script times one capability of FrBio Studio against a named baseline in the same run, writes its
figures to bench/results/<name>.json and rewrites its table in bench/README.md. What they all need for that is here:

- `machine_info(*fields)`: the machine and its load (CPU model, cores, RAM, load average, Python, torch and package
  versions, date), each fact under the JSON key its script has always written it under;
- `run_child(script, args)`: one variant in its own fresh Python process, which writes its figures as JSON to the
  file given by `--result`; the parent samples the peak memory (RSS, and PSS when asked) and CPU time of that process
  or of its whole process tree (psutil); `maxrss_mb()`: the child's own getrusage peak;
- `run_order(variants, rounds)`: the order of the runs, interleaved round by round (drift of the machine then touches
  every variant alike) or each variant's runs together; `run_all(order, run)`: those runs, progress on stderr;
  `median_run(runs)`: the run reported;
- timers: `Stages` (seconds per stage of one run), `timed_command` (wall and CPU time of a command line);
- `write_results(path, data)`, `markdown_table(headers, rows)`, `update_readme(marker, table)`: the JSON and the
  table between `<!-- marker:start -->` and `<!-- marker:end -->` in bench/README.md, with `publish()` doing the
  three at the end of a run (the README only from the default results file); `format_scores` for score cells;
- `bench_parser`, `variant_list`: the command-line pieces every script has;
- `shared_data()`, `work_dir()`, `link_tree()`, `env_defaults()`: the shared data folder, a scratch folder, a model
  folder hard-linked into a fresh home, environment defaults (offline hubs, tokenizers' threads).

Importing it puts the project root on sys.path, so that the scripts import the application. It is a library, not a
benchmark: running it only prints this text.
"""
from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
README = BENCH / "README.md"
sys.path.insert(0, str(ROOT))


def env_defaults(**values: str) -> None:
    """Set each environment variable unless it is set already (children inherit them)."""
    for key, value in values.items():
        os.environ.setdefault(key, value)


def shared_data() -> Path:
    """The shared data folder (corpus/, general/, bench/): $FRBIO_SHARED_DATA, else ../shared/data."""
    return Path(os.environ.get("FRBIO_SHARED_DATA") or ROOT.parent / "shared" / "data").expanduser().resolve()


@contextmanager
def work_dir(prefix: str, keep: Path | None = None) -> Iterator[Path]:
    """A scratch folder for one benchmark run, removed at the end; `keep` (a --work folder): that one, kept."""
    work = keep or Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield work
    finally:
        if keep is None:
            shutil.rmtree(work, ignore_errors=True)


def link_tree(source: Path, dest: Path, fallback: str = "copy") -> None:
    """`dest`: the folder `source` made of hard links (no disk space, no time); where hard links fail (another file
    system), a real copy, or with fallback="symlink" a symbolic link to `source`."""
    try:
        shutil.copytree(source, dest, copy_function=os.link)
    except OSError:
        shutil.rmtree(dest, ignore_errors=True)
        if fallback == "symlink":
            dest.symlink_to(source, target_is_directory=True)
        else:
            shutil.copytree(source, dest)


# ------------------------------------------------------------------------------------------------ the machine

def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor()


def _torch():
    import torch

    return torch


FACTS: dict[str, Callable[[], object]] = {
    "cpu": _cpu_model,                                           # the CPU model's name
    "cpus": os.cpu_count,                                        # cores of the machine
    "cpus_usable": lambda: len(os.sched_getaffinity(0)),         # cores this process may use
    "memory_gb": lambda: round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
    "machine": platform.machine,
    "python": platform.python_version,
    "platform": platform.platform,
    "torch": lambda: _torch().__version__,
    "default_torch_threads": lambda: _torch().get_num_threads(),
    "load_average": lambda: os.getloadavg()[0],                  # the 1-minute load average, now
    "load_averages": lambda: [round(x, 2) for x in os.getloadavg()],  # 1, 5 and 15 minutes, now
    "date": lambda: dt.date.today().isoformat(),
    "utc_time": lambda: dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
}


def machine_info(*fields: str, packages: Sequence[str] = ()) -> dict:
    """The machine and its load now, as a dict of the `fields` in their order: each a fact of FACTS, written under
    its own name ("cpus") or under another key ("cpu_count=cpus"); "packages" gives the installed version of each of
    `packages` (None when absent)."""
    out = {}
    for field in fields:
        key, _, fact = field.partition("=")
        fact = fact or key
        if fact == "packages":
            out[key] = {name: _version(name) for name in packages}
        else:
            out[key] = FACTS[fact]()
    return out


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


# ------------------------------------------------------------------------------------------------ results

def write_results(path: Path, data: dict) -> None:
    """The results JSON (folders made as needed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False, default=str) + "\n", "utf-8")


def same_path(a: Path | str, b: Path | str) -> bool:
    """Whether two paths name the same file (the README table follows only the default results file)."""
    return Path(a).resolve() == Path(b).resolve()


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[object]], align: str | None = None) -> str:
    """A markdown table; `align`: a letter a column, l (---) or r (---:), default the first left, the others right."""
    align = align or "l" + "r" * (len(headers) - 1)
    lines = [_table_row(headers), "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"]
    return "\n".join(lines + [_table_row(row) for row in rows])


def _table_row(cells: Sequence[object]) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def format_scores(metrics: dict) -> str:
    """A result's metrics for a table cell, standard errors left out: "acc 0.2512, f1 0.1034"."""
    return ", ".join(f"{k} {v:.4f}" for k, v in metrics.items() if not k.endswith("_stderr"))


def update_readme(marker: str, table_markdown: str, section: str | None = None) -> None:
    """Replace what stands between `<!-- marker:start -->` and `<!-- marker:end -->` in bench/README.md by
    `table_markdown`; without those markers, append them (after `section`, a heading and text, when given)."""
    start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    block = f"{start}\n{table_markdown}\n{end}"
    text = README.read_text("utf-8") if README.is_file() else "# Benchmarks\n"
    if start in text and end in text:
        text = text[:text.index(start)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + (section.strip() + "\n\n" if section else "") + block + "\n"
    README.write_text(text, "utf-8")


def publish(report: dict, out: Path, results: Path, marker: str, table_markdown: str, *, section: str | None = None,
            readme: bool = True, show: bool = True) -> int:
    """The end of a benchmark: `report` written to `out`; when `out` is the script's own results file (`results`, the
    default) and `readme`, `table_markdown` put between the script's markers in bench/README.md (see update_readme);
    the table printed when `show`. Returns 0, the exit status."""
    write_results(out, report)
    if readme and same_path(out, results):
        update_readme(marker, table_markdown, section)
    if show:
        print(table_markdown)
    return 0


# ------------------------------------------------------------------------------------------------ command line

def bench_parser(doc: str, results: Path, child: bool = True) -> argparse.ArgumentParser:
    """The parser every script starts from: its description (the docstring's first paragraph), --out (default the
    script's results file, the only one whose figures go to the README) and, for the scripts that run each variant
    in a child process, the hidden --child VARIANT and --result FILE of that process."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=results,
                        help="where to write the JSON (the README table is rewritten only for the default)")
    if child:
        parser.add_argument("--child", help=argparse.SUPPRESS)
        parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    return parser


def variant_list(parser: argparse.ArgumentParser, text: str, known: Sequence[str]) -> list[str]:
    """The comma-separated variants of `text`, each one of `known` (else a usage error)."""
    variants = [v.strip() for v in text.split(",") if v.strip()]
    unknown = [v for v in variants if v not in known]
    if unknown:
        parser.error(f"unknown variant(s) {unknown}; known: {tuple(known)}")
    return variants


# ------------------------------------------------------------------------------------------------ runs

def run_order(variants: Sequence[str], rounds: int = 1, interleave: bool = True) -> list[tuple[int, str]]:
    """(round, variant) in the order to run them: every variant once per round, round after round (interleaved, so
    that drift of the machine's load touches every variant alike), or, interleave=False, each variant's runs
    together."""
    if interleave:
        return [(r, v) for r in range(rounds) for v in variants]
    return [(r, v) for v in variants for r in range(rounds)]


def run_all(order: Sequence[tuple[int, str]], run: Callable[[str], dict], label: str = "running {variant}",
            describe: Callable[[str, dict], str] | None = None) -> list[dict]:
    """Run each (round, variant) of `order` (see run_order) with `run(variant)`, saying on stderr what starts
    (`label`, formatted with variant, round (from 1) and rounds) and, when given, `describe(variant, result)` once it
    is done. The results, in that order."""
    rounds = max((r for r, _ in order), default=-1) + 1
    results = []
    for round_, variant in order:
        print(label.format(variant=variant, round=round_ + 1, rounds=rounds), file=sys.stderr, flush=True)
        results.append(run(variant))
        if describe:
            print(describe(variant, results[-1]), file=sys.stderr, flush=True)
    return results


def median_run(runs: list[dict], key: str = "wall_s") -> dict:
    """The median run by `key` (the upper one of an even number)."""
    return sorted(runs, key=lambda r: r[key])[len(runs) // 2]


@dataclass
class ChildRun:
    """What a child process reported (`result`, its JSON) and what the parent measured of it."""
    result: dict
    wall_s: float           # the whole process, start-up included
    peak_rss_mb: float      # peak of the summed RSS (of the process, or of its tree)
    peak_pss_mb: float      # the same for PSS (shared pages divided among their sharers); 0 unless asked
    cpu_s: float            # user + system seconds of the process(es) seen; 0 unless asked
    processes: int          # how many processes were seen


def run_child(script: str | Path, args: Sequence[str], *, name: str, interval: float | None = 0.05,
              tree: bool = True, pss: bool = False, cpu: bool = False, quiet: bool = False,
              env: dict | None = None) -> ChildRun:
    """Run `python SCRIPT ARGS --result FILE` from the project root in a fresh process and return the JSON it wrote to
    FILE with what was sampled, every `interval` seconds (None: nothing), over the process and, `tree`, all its
    descendants: RSS, PSS too when `pss` (dearer to read), CPU seconds when `cpu`. `quiet`: the child's output is
    not shown (its stderr's end is, when it fails). A failed child stops the benchmark (SystemExit)."""
    import psutil

    with tempfile.TemporaryDirectory(prefix="frbio-bench-") as tmp:
        result_path = Path(tmp) / "result.json"
        cmd = [sys.executable, str(Path(script).resolve()), *map(str, args), "--result", str(result_path)]
        out = {"stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE, "text": True} if quiet else {}
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, **out)
        peak, cpu_by_pid, done = {"rss": 0, "pss": 0}, {}, threading.Event()

        def sample() -> None:
            try:
                ps = psutil.Process(proc.pid)
            except psutil.Error:
                return
            while not done.is_set():
                try:
                    procs = [ps] + (ps.children(recursive=True) if tree else [])
                except psutil.Error:
                    procs = []
                rss = pss_ = 0
                for p in procs:
                    try:
                        info = p.memory_full_info() if pss else p.memory_info()
                        if cpu:
                            times = p.cpu_times()
                            cpu_by_pid[p.pid] = max(cpu_by_pid.get(p.pid, 0.0), times.user + times.system)
                        else:
                            cpu_by_pid.setdefault(p.pid, 0.0)
                    except psutil.Error:
                        continue
                    rss, pss_ = rss + info.rss, pss_ + getattr(info, "pss", info.rss)
                peak["rss"], peak["pss"] = max(peak["rss"], rss), max(peak["pss"], pss_)
                done.wait(interval)

        sampler = threading.Thread(target=sample, daemon=True) if interval else None
        if sampler:
            sampler.start()
        _, err = proc.communicate()
        done.set()
        if sampler:
            sampler.join()
        if proc.returncode != 0:
            raise SystemExit(f"{name} failed (exit {proc.returncode})" + (f":\n{err[-4000:]}" if err else ""))
        result = json.loads(result_path.read_text("utf-8"))
    return ChildRun(result, time.perf_counter() - start, peak["rss"] / 2**20, peak["pss"] / 2**20 if pss else 0.0,
                    sum(cpu_by_pid.values()), len(cpu_by_pid))


def maxrss_mb() -> float:
    """This process's peak RSS so far (getrusage ru_maxrss), MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ------------------------------------------------------------------------------------------------ timers

class Stages:
    """Seconds per stage of one run: `mark(name)` closes the running stage and opens the next, `mark(None)` closes
    the last (a stage marked again adds up). `cpu_s`: CPU seconds of this process, not its workers, from the
    creation to `mark(None)`."""

    def __init__(self, digits: int = 2):
        self.digits, self.current, self.seconds, self.cpu_s = digits, None, {}, None
        self.last, self.cpu0 = time.perf_counter(), time.process_time()

    def mark(self, name: str | None) -> None:
        now = time.perf_counter()
        if self.current:
            self.seconds[self.current] = round(self.seconds.get(self.current, 0) + now - self.last, self.digits)
        self.current, self.last = name, now
        if name is None:
            self.cpu_s = round(time.process_time() - self.cpu0, self.digits)


def timed_command(cmd: list[str], env: dict | None = None, log: Path | None = None) -> tuple[float, float, str]:
    """Run a command line from the project root (stderr appended to `log`): (wall seconds, CPU seconds of the command
    and its descendants, its stdout). A failed command stops the benchmark (SystemExit)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with open(log or os.devnull, "a") as err:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=err, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout[-2000:]}\nsee {log}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), proc.stdout


if __name__ == "__main__":
    print(__doc__)
