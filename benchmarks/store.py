"""The treatment-history store under a practice's years: load, size, start-up and the aggregate queries.

    make bench-store                                  # 10,000 and 100,000 sessions (about an hour on 2 cores)
    python benchmarks/store.py --sizes 1000 --session-size 500 --runs 2    # a quick look

For each size N: a year of N generated sessions (benchmarks/generate.py --history) is loaded with
`chemoden load --jobs 2` into a new store in a temporary folder (wall time, sessions a second, the
peak memory of the load's process tree, the store's size on disk); `chemoden serve --store` is
started and timed until /status answers; then the library queries code-frequencies,
conflicts-by-rule, interval-violations and codes-by-month run RUNS times each through
`chemoden query NAME --store DIR --format json` (a new process each time, start-up included) and
through the running server's /sparql (POST, JSON results). Beside them the same queries run over
`chemoden query NAME --session FILE` with --session-size sessions, which codes every session again
on each call. With two sizes, load time, size and each query's p50 are projected linearly to
1,000,000 sessions (a projection, not a measure).

Memory: /proc is sampled every 0.2 s over the load process and all its descendants (the worker
processes): the peak of their summed proportional set size (PSS, /proc/PID/smaps_rollup: a page
shared by the forked workers counted once, in shares) is "the process tree"; the peak of their
summed resident sizes (RSS, which counts each shared page once per process: an upper bound) and
getrusage(RUSAGE_CHILDREN)'s ru_maxrss (the largest single process) are reported beside it.

The machine's load is part of every figure: the load average is recorded, and the CPU time the
rest of the machine used during each load (from /proc/stat, less this benchmark's own processes)
is reported as cores busy with other work.

Prints one table and writes the numbers to benchmarks/store-results.json. Nothing is kept: the
sessions and stores live in a temporary folder (--work DIR keeps them there instead).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from generate import history_lines  # noqa: E402
from load import _rss_kib, _tree  # noqa: E402

QUERIES = ["code-frequencies", "conflicts-by-rule", "interval-violations", "codes-by-month"]
TARGETS = {"load_s": 300.0, "load_mib": 1024.0, "ready_s": 2.0, "query_p50_s": 5.0}  # at 100,000 sessions
TARGET_SIZE = 100_000
CHEMODEN = [sys.executable, "-m", "reasoner"]


# ---------------------------------------------------------------------------
# The machine
# ---------------------------------------------------------------------------

def _busy_jiffies() -> int:
    """CPU time the whole machine has spent busy (all cores), in clock ticks."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    values = [int(v) for v in fields]
    return sum(values) - values[3] - (values[4] if len(values) > 4 else 0)  # less idle and iowait


def _own_seconds() -> float:
    """CPU seconds of this process and its finished children."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


class Machine:
    """How busy the rest of the machine was between start() and stop()."""

    def start(self) -> None:
        self.t0, self.busy0, self.own0 = time.monotonic(), _busy_jiffies(), _own_seconds()
        self.load0 = os.getloadavg()[0]

    def stop(self) -> dict:
        wall = time.monotonic() - self.t0
        ticks = os.sysconf("SC_CLK_TCK")
        busy = (_busy_jiffies() - self.busy0) / ticks
        own = _own_seconds() - self.own0
        return {"wall_s": round(wall, 1), "load_average_before": round(self.load0, 2),
                "load_average_after": round(os.getloadavg()[0], 2),
                "other_cores_busy": round(max(0.0, busy - own) / wall, 2) if wall else 0.0}


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


# ---------------------------------------------------------------------------
# Steps
# ---------------------------------------------------------------------------

def generate(path: Path, n: int, seed: int) -> float:
    start = time.perf_counter()
    with path.open("w", encoding="utf-8") as fh:
        for text in history_lines(n, seed):
            fh.write(text + "\n")
    return time.perf_counter() - start


def disk_bytes(directory: Path) -> int:
    """Bytes the folder takes on disk, a file hard-linked twice (a snapshot) counted once."""
    seen, total = set(), 0
    for base, _dirs, files in os.walk(directory):
        for name in files:
            st = os.lstat(os.path.join(base, name))
            if st.st_ino not in seen:
                seen.add(st.st_ino)
                total += st.st_blocks * 512
    return total


def load(sessions: Path, store: Path, jobs: int) -> dict:
    """`chemoden load` into a new store: wall time, the summary line, memory of the process tree."""
    machine = Machine()
    machine.start()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen([*CHEMODEN, "load", str(sessions), "--store", str(store), "--jobs", str(jobs), "--quiet"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0.0, 0.0]  # PSS, RSS

    def sample() -> None:
        while proc.poll() is None:
            tree = _tree(proc.pid)
            peak[0] = max(peak[0], sum(_pss_kib(p) for p in tree) / 1024)
            peak[1] = max(peak[1], sum(_rss_kib(p) for p in tree) / 1024)
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    seconds = time.perf_counter() - start
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"chemoden load failed ({proc.returncode}):\n{err}")
    summary = next((line for line in err.splitlines() if line.startswith("load:")), "")
    history_s = coding_s = None
    if "findings, " in summary:
        history_s = float(summary.split("findings, ")[1].split(" s)")[0])
    if " records/s" in summary:  # the coding and writing loop: records over its rate
        rate = float(summary.split(" records/s")[0].rsplit(" ", 1)[1])
        coding_s = round(int(summary.split(" records")[0].split()[-1]) / rate, 1) if rate else None
    rest = round(seconds - coding_s - history_s, 1) if coding_s is not None and history_s is not None else None
    return {"seconds": round(seconds, 1), "summary": summary, "coding_s": coding_s, "history_s": history_s,
            "rest_s": rest,
            "cpu_s": round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 1),
            "peak_tree_mib": round(peak[0], 1), "peak_tree_rss_mib": round(peak[1], 1),
            "largest_process_mib": round(after.ru_maxrss / 1024, 1),
            "machine": machine.stop()}


def _pss_kib(pid: int) -> int:
    """A process's proportional set size (its private pages and its share of shared ones)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return _rss_kib(pid)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port: int, path: str, timeout: float = 5.0) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        answer = conn.getresponse()
        answer.read()
        return answer.status
    finally:
        conn.close()


def serve(store: Path, timeout: int) -> tuple[subprocess.Popen, int, float]:
    """`chemoden serve --store`: the process, its port and the seconds until /status answered."""
    port = _free_port()
    start = time.perf_counter()
    proc = subprocess.Popen([*CHEMODEN, "serve", "--store", str(store), "--host", "127.0.0.1", "--port", str(port),
                             "--timeout", str(timeout)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()  # keep the pipe drained
    deadline = start + 120
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            raise SystemExit("chemoden serve --store ended before it answered")
        try:
            if _get(port, "/status", timeout=2) == 200:
                return proc, port, time.perf_counter() - start
        except OSError:
            pass
        time.sleep(0.02)
    proc.kill()
    raise SystemExit("chemoden serve --store did not answer /status within 120 s")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def cli_query(name: str, source: list[str]) -> tuple[float, int]:
    start = time.perf_counter()
    proc = subprocess.run([*CHEMODEN, "query", name, *source, "--format", "json"], cwd=ROOT, capture_output=True,
                          text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"chemoden query {name} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return seconds, len(json.loads(proc.stdout)["results"]["bindings"])


def http_query(port: int, text: str) -> tuple[float, int, int]:
    start = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    try:
        conn.request("POST", "/sparql", body=text.encode("utf-8"),
                     headers={"Content-Type": "application/sparql-query", "Accept": "application/sparql-results+json"})
        answer = conn.getresponse()
        body = answer.read()
    finally:
        conn.close()
    seconds = time.perf_counter() - start
    rows = len(json.loads(body)["results"]["bindings"]) if answer.status == 200 else -1
    return seconds, answer.status, rows


def timings(values: list[float]) -> dict:
    return {"p50_s": round(statistics.median(values), 3), "max_s": round(max(values), 3),
            "runs_s": [round(v, 3) for v in values]}


# ---------------------------------------------------------------------------
# One size
# ---------------------------------------------------------------------------

def run_size(n: int, work: Path, args) -> dict:
    sessions = work / f"year-{n}.jsonl"
    store = work / f"store-{n}"
    print(f"[{n:,} sessions] generating ...", file=sys.stderr, flush=True)
    generated = generate(sessions, n, args.seed)
    print(f"[{n:,} sessions] chemoden load --jobs {args.jobs} ...", file=sys.stderr, flush=True)
    loaded = load(sessions, store, args.jobs)
    size = disk_bytes(store)
    manifest = json.loads((store / "chemoden-store.json").read_text())
    out = {"sessions": n, "generate_s": round(generated, 1), "load": loaded,
           "sessions_per_s": round(n / loaded["seconds"], 1), "stored_sessions": manifest.get("sessions"),
           "store_bytes": size, "bytes_per_session": round(size / n)}
    print(f"[{n:,} sessions] loaded in {loaded['seconds']} s; chemoden serve --store ...", file=sys.stderr, flush=True)
    server, port, ready = serve(store, args.server_timeout)
    out["ready_s"] = round(ready, 2)
    texts = {name: (ROOT / "ontology" / "queries" / f"{name}.rq").read_text(encoding="utf-8") for name in QUERIES}
    queries: dict = {}
    try:
        machine = Machine()
        machine.start()
        for name in QUERIES:
            http_runs, statuses, rows = [], [], None
            for _ in range(args.runs):
                seconds, status, rows = http_query(port, texts[name])
                http_runs.append(seconds)
                statuses.append(status)
            queries[name] = {"sparql": {**timings(http_runs), "statuses": statuses, "rows": rows}}
    finally:
        stop(server)
    for name in QUERIES:
        cli_runs = []
        for _ in range(args.runs):
            seconds, rows = cli_query(name, ["--store", str(store)])
            cli_runs.append(seconds)
        queries[name]["cli"] = {**timings(cli_runs), "rows": rows}
    out["queries"] = queries
    out["query_machine"] = machine.stop()
    if not args.work:
        shutil.rmtree(store, ignore_errors=True)
        sessions.unlink(missing_ok=True)
    return out


def run_session_path(n: int, work: Path, args) -> dict:
    """The same queries over `--session FILE`: every call codes the n sessions again."""
    sessions = work / f"year-{n}-session.jsonl"
    generate(sessions, n, args.seed)
    print(f"[--session {n:,}] chemoden query NAME --session FILE ...", file=sys.stderr, flush=True)
    out = {"sessions": n, "queries": {}}
    machine = Machine()
    machine.start()
    for name in QUERIES:
        runs = []
        for _ in range(args.session_runs):
            seconds, rows = cli_query(name, ["--session", str(sessions)])
            runs.append(seconds)
        out["queries"][name] = {**timings(runs), "rows": rows}
    out["machine"] = machine.stop()
    if not args.work:
        sessions.unlink(missing_ok=True)
    return out


def project(sizes: list[dict], target: int = 1_000_000) -> dict | None:
    """A straight line through the two largest sizes, read at `target` sessions."""
    if len(sizes) < 2:
        return None
    a, b = sorted(sizes, key=lambda s: s["sessions"])[-2:]

    def line(ya: float, yb: float) -> float:
        """Through the two points; never below the larger size's own figure (noise can tilt a flat line)."""
        slope = (yb - ya) / (b["sessions"] - a["sessions"])
        return max(yb, ya + slope * (target - a["sessions"]))

    out = {"sessions": target, "from": [a["sessions"], b["sessions"]],
           "load_s": round(line(a["load"]["seconds"], b["load"]["seconds"])),
           "store_bytes": round(line(a["store_bytes"], b["store_bytes"])),
           "history_s": round(line(a["load"]["history_s"] or 0, b["load"]["history_s"] or 0))}
    for name in QUERIES:
        for how in ("cli", "sparql"):
            out[f"{name}_{how}_p50_s"] = round(line(a["queries"][name][how]["p50_s"], b["queries"][name][how]["p50_s"]), 1)
    return out


# ---------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------

def _mark(value: float, limit: float, size: int) -> str:
    if size != TARGET_SIZE:
        return ""
    return "met" if value <= limit else "NOT met"


def table(report: dict) -> str:
    rows = [("measure", *[f"{s['sessions']:,} sessions" for s in report["sizes"]], "target (100,000)")]
    sizes = report["sizes"]

    def row(label, cells, target=""):
        rows.append((label, *cells, target))

    row("load --jobs 2: wall", [f"{s['load']['seconds']:.0f} s ({s['sessions_per_s']:.0f}/s) "
                                f"{_mark(s['load']['seconds'], TARGETS['load_s'], s['sessions'])}".rstrip() for s in sizes],
        "<= 300 s")
    row("  coding and writing the sessions", [f"{s['load']['coding_s']:.0f} s" if s["load"]["coding_s"] is not None
                                              else "-" for s in sizes])
    row("  the history pass (rules across visits)", [f"{s['load']['history_s']:.1f} s"
                                                     if s["load"]["history_s"] is not None else "-" for s in sizes])
    row("  start-up and the snapshot", [f"{s['load']['rest_s']:.1f} s" if s["load"]["rest_s"] is not None else "-"
                                        for s in sizes])
    row("  CPU time (parent and workers)", [f"{s['load']['cpu_s']:.0f} s" for s in sizes])
    row("  other work on the machine", [f"{s['load']['machine']['other_cores_busy']:.2f} cores busy, load average "
                                        f"{s['load']['machine']['load_average_before']:.1f}" for s in sizes])
    row("load peak memory: process tree (PSS)", [f"{s['load']['peak_tree_mib']:.0f} MiB "
                                                 f"{_mark(s['load']['peak_tree_mib'], TARGETS['load_mib'], s['sessions'])}"
                                                 .rstrip() for s in sizes], "< 1024 MiB")
    row("  summed RSS (shared pages once a process)", [f"{s['load']['peak_tree_rss_mib']:.0f} MiB" for s in sizes])
    row("  largest single process", [f"{s['load']['largest_process_mib']:.0f} MiB" for s in sizes])
    row("store on disk", [f"{s['store_bytes'] / 2**20:,.0f} MiB ({s['bytes_per_session'] / 1024:.1f} KiB a session)"
                          for s in sizes])
    row("serve --store ready (/status answers)", [f"{s['ready_s']:.2f} s {_mark(s['ready_s'], TARGETS['ready_s'], s['sessions'])}"
                                                  .rstrip() for s in sizes], "< 2 s")
    for name in QUERIES:
        for how, label in (("cli", "query --store (new process)"), ("sparql", "/sparql of the server")):
            cells = []
            for s in sizes:
                q = s["queries"][name][how]
                cells.append(f"p50 {q['p50_s']:.2f} s, max {q['max_s']:.2f} s "
                             f"{_mark(q['p50_s'], TARGETS['query_p50_s'], s['sessions'])}".rstrip())
            row(f"{name}: {label}", cells, "p50 <= 5 s")
    width = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(str(cell).ljust(w) for cell, w in zip(r, width)).rstrip() for r in rows]
    session = report.get("session_path")
    if session:
        lines.append("")
        lines.append(f"The same queries over `chemoden query NAME --session FILE` with {session['sessions']:,} sessions "
                     f"(coded again on every call; {len(session['queries'][QUERIES[0]]['runs_s'])} runs each):")
        for name in QUERIES:
            q = session["queries"][name]
            lines.append(f"  {name}: p50 {q['p50_s']:.1f} s, max {q['max_s']:.1f} s")
    projection = report.get("projection")
    if projection:
        lines.append("")
        lines.append(f"Projection to {projection['sessions']:,} sessions (a straight line through the "
                     f"{projection['from'][0]:,} and {projection['from'][1]:,} figures, not a measure):")
        lines.append(f"  load {projection['load_s'] / 60:.0f} min (history pass {projection['history_s']} s), "
                     f"store {projection['store_bytes'] / 2**30:.1f} GiB")
        for name in QUERIES:
            lines.append(f"  {name}: p50 {projection[f'{name}_cli_p50_s']:.1f} s (query --store), "
                         f"{projection[f'{name}_sparql_p50_s']:.1f} s (/sparql)")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="sessions per run, comma-separated (default 10000,100000)")
    parser.add_argument("--session-size", type=int, default=5000,
                        help="sessions for the --session comparison (0: none; default 5000)")
    parser.add_argument("--runs", type=int, default=5, help="runs of each query over the store (default 5)")
    parser.add_argument("--session-runs", type=int, default=3,
                        help="runs of each query over --session (each codes every session; default 3)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--server-timeout", type=int, default=120,
                        help="chemoden serve --timeout, so a slow query is measured rather than refused (default 120)")
    parser.add_argument("--work", metavar="DIR", help="keep the sessions and stores in DIR (default: a temporary folder)")
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "store-results.json"))
    args = parser.parse_args(argv)

    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    report = {"machine": f"{platform.machine()}, {_cores()} cores, Python {platform.python_version()}",
              "date": time.strftime("%Y-%m-%d"), "runs": args.runs, "jobs": args.jobs, "sizes": []}
    machine = Machine()
    machine.start()
    with tempfile.TemporaryDirectory(prefix="chemoden-bench-store-") as tmp:
        work = Path(args.work) if args.work else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for n in sizes:
            report["sizes"].append(run_size(n, work, args))
        if args.session_size:
            report["session_path"] = run_session_path(args.session_size, work, args)
    report["projection"] = project(report["sizes"])
    report["whole_run"] = machine.stop()
    text = table(report)
    print(f"Chemoden treatment-history store benchmark ({report['machine']}; {report['date']}; "
          f"other work on the machine through the run: {report['whole_run']['other_cores_busy']:.2f} cores busy "
          f"on average, load average {report['whole_run']['load_average_before']:.1f} at the start)")
    print(text)
    Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
