"""Load test of `chemoden serve`: concurrent clients mixing library queries and POST /code,
while other clients send heavy queries without pause.

    make load                                   # 50 clients + 2 heavy for 60 s, 1 then 2 coding workers
    python benchmarks/load.py --clients 10 --heavy 1 --seconds 5   # a short run (tests/test_load.py)

Starts its own server on a free loopback port (never another host), over the bundled examples,
then runs the clients for the given time. Each ordinary client loops: a library query (GET or
POST, varied formats) or a generated session to POST /code. Each heavy client loops over queries
that run until the time limit or grow without end (their refusals are expected and counted
apart). Prints one table per run: requests, throughput, p50/p99 latency of the cheap queries and
of POST /code, errors of the ordinary clients (any status other than 200, or a failed connection),
the worker processes ended and replaced, and the memory of the server and its workers sampled
through the run (first, largest, last, and the lowest of the first and last quarters), without
the long lane's worker, which holds what heavy queries build until it is killed at the time
limit (bounded by --worker-memory; its largest is shown apart). Exit 1 when
an ordinary client saw an error, the cheap queries' p99 is over 250 ms, or the memory's floor grew
by more than a quarter from the first quarter of the run (after warm-up) to the last.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import random
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

ACCEPTS = ["application/sparql-results+json", "application/sparql-results+xml", "text/csv", "text/tab-separated-values"]


P99_TARGET_MS = 250.0
# Queries that never end on this dataset, or whose answer grows without end: what a careless or
# hostile client sends
HEAVY = [
    "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }",
    "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } ORDER BY ?a ?f ?i",
    'SELECT ?x WHERE { BIND("xxxxxxxxxxxxxxxx" AS ?a0) '
    + " ".join(f"BIND(CONCAT(?a{i}, ?a{i}) AS ?a{i + 1})" for i in range(23)) + " BIND(?a23 AS ?x) }",
]


def start_server(workers: int, code_workers: int = 1) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "reasoner", "serve", "--host", "127.0.0.1", "--port", "0",
                             "--session", "examples", "--workers", str(workers), "--code-workers", str(code_workers)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line and proc.poll() is not None:
            raise SystemExit("chemoden serve did not start")
        if "SPARQL endpoint http://" in line:
            url = line.split("SPARQL endpoint ")[1].split()[0].rsplit("/sparql", 1)[0]
            threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()  # keep the pipe drained
            return proc, url
    proc.kill()
    raise SystemExit("chemoden serve did not start in time")


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _tree(pid: int) -> list[int]:
    """The process and its descendants (the server and its worker processes)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            children = []
        todo += [int(c) for c in children]
    return out


def memory_mib(pid: int) -> float:
    return sum(_rss_kib(p) for p in _tree(pid)) / 1024


def library(url: str) -> list[dict]:
    host, port = url.split("//")[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    conn.request("GET", "/queries")
    queries = json.loads(conn.getresponse().read())
    conn.close()
    for q in queries:
        body = " ".join(line for line in q["query"].splitlines() if not line.lstrip().startswith("#")).upper()
        q["form"] = min(("SELECT", "ASK", "CONSTRUCT", "DESCRIBE"),
                        key=lambda k: body.find(k) if k in body else len(body) + 1).lower()
    return queries


def client(url: str, stop: float, queries: list[dict], sessions: list[str], seed: int, out: list, errors: list) -> None:
    rng = random.Random(seed)
    host, port = url.split("//")[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=120)
    while time.monotonic() < stop:
        start = time.monotonic()
        kind = "code" if rng.random() < 0.4 else "query"
        try:
            if kind == "code":
                conn.request("POST", "/code", body=rng.choice(sessions).encode(),
                             headers={"Content-Type": "application/json"})
            else:
                query = rng.choice(queries)
                form = query["form"]
                accept = ("text/turtle" if form in ("construct", "describe") else
                          rng.choice(ACCEPTS[:2]) if form == "ask" else rng.choice(ACCEPTS))
                if rng.random() < 0.5:
                    conn.request("GET", "/sparql?" + urlencode({"query": query["query"]}), headers={"Accept": accept})
                else:
                    conn.request("POST", "/sparql", body=urlencode({"query": query["query"]}).encode(),
                                 headers={"Accept": accept, "Content-Type": "application/x-www-form-urlencoded"})
            answer = conn.getresponse()
            body = answer.read()
            took = time.monotonic() - start
            if answer.status != 200:
                errors.append(f"{kind}: {answer.status} {body[:200]!r}")
            out.append((kind, took))
        except (OSError, http.client.HTTPException) as exc:
            errors.append(f"{kind}: {type(exc).__name__}: {exc}")
            conn.close()
            conn = http.client.HTTPConnection(host, int(port), timeout=120)
    conn.close()


CLIENT_PROCESSES = 10


def client_process(url: str, stop: float, queries: list[dict], sessions: list[str], seeds: list[int], outbox) -> None:
    """Some of the ordinary clients, as threads of one process; their results sent back at the end."""
    results: list = []
    errors: list = []
    threads = [threading.Thread(target=client, args=(url, stop, queries, sessions, n, results, errors)) for n in seeds]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    outbox.put((results, errors))


def heavy_client(url: str, stop: float, seed: int, statuses: list) -> None:
    """Heavy queries without pause; every answer's status is kept (refusals are expected)."""
    rng = random.Random(seed)
    host, port = url.split("//")[1].split(":")
    while time.monotonic() < stop:
        conn = http.client.HTTPConnection(host, int(port), timeout=120)
        try:
            conn.request("POST", "/sparql", body=rng.choice(HEAVY).encode(),
                         headers={"Content-Type": "application/sparql-query", "Accept": "text/csv"})
            answer = conn.getresponse()
            answer.read()
            statuses.append(answer.status)
        except (OSError, http.client.HTTPException):
            statuses.append(0)
        finally:
            conn.close()


def run(clients: int = 50, seconds: float = 60.0, workers: int = 2, stream=sys.stdout, heavy: int = 2,
        code_workers: int = 1) -> dict:
    from generate import generate

    sessions = [json.dumps(d) for d in generate(200, seed=5)]
    server, url = start_server(workers, code_workers)
    try:
        queries = library(url)
        samples: list[tuple[float, float]] = []
        results: list[tuple[str, float]] = []
        errors: list[str] = []
        heavy_statuses: list[int] = []
        begin = time.monotonic()
        stop = begin + seconds
        # The clients run in processes of a few threads each: in one process, fifty threads would
        # wait for the interpreter's lock, and that wait would be counted as the server's latency
        ctx = multiprocessing.get_context("spawn")
        outbox = ctx.Queue()
        groups = [list(range(n, clients, CLIENT_PROCESSES)) for n in range(min(CLIENT_PROCESSES, clients))]
        procs = [ctx.Process(target=client_process, args=(url, stop, queries, sessions, group, outbox), daemon=True)
                 for group in groups if group]
        threads = [threading.Thread(target=heavy_client, args=(url, stop, 1000 + n, heavy_statuses))
                   for n in range(heavy)]
        for p in procs:
            p.start()
        for t in threads:
            t.start()
        host, port = url.split("//")[1].split(":")
        while time.monotonic() < stop:
            try:  # the long lane's worker holds what heavy queries build until it is killed: counted apart
                conn = http.client.HTTPConnection(host, int(port), timeout=10)
                conn.request("GET", "/status")
                long_lane = json.loads(conn.getresponse().read()).get("long_lane", [])
                conn.close()
            except (OSError, http.client.HTTPException, ValueError):
                long_lane = []
            total = memory_mib(server.pid)
            samples.append((time.monotonic() - begin, total - sum(_rss_kib(p) for p in long_lane) / 1024, total))
            time.sleep(min(1.0, max(0.1, seconds / 60)))
        for _ in procs:
            got_results, got_errors = outbox.get(timeout=300)
            results += got_results
            errors += got_errors
        for p in procs:
            p.join(30)
        for t in threads:
            t.join()
        elapsed = time.monotonic() - begin
        try:
            host, port = url.split("//")[1].split(":")
            conn = http.client.HTTPConnection(host, int(port), timeout=30)
            conn.request("GET", "/status")
            status = json.loads(conn.getresponse().read())
            conn.close()
        except (OSError, http.client.HTTPException, ValueError):
            status = {}
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()

    def pct(values: list[float], q: float) -> float:
        values = sorted(values)
        return values[min(len(values) - 1, int(q * (len(values) - 1)))] * 1000 if values else 0.0

    cheap = [t for k, t in results if k == "query"]
    coded = [t for k, t in results if k == "code"]
    warm = [m for t, m, _ in samples if t >= min(seconds * 0.2, 5)] or [m for _, m, _ in samples]
    peak = max((whole for _, _, whole in samples), default=0.0)
    # Flat means no growth of the floor: heavy queries in flight make peaks (their workers are
    # killed at the time limit), a leak raises the lowest memory of the last quarter over the first's
    quarter = max(1, len(warm) // 4)
    floor_first, floor_last = min(warm[:quarter], default=0.0), min(warm[-quarter:], default=0.0)
    report = {
        "clients": clients, "heavy_clients": heavy, "code_workers": code_workers, "seconds": round(elapsed, 1),
        "requests": len(results) + len(errors), "queries": len(cheap), "codes": len(coded),
        "throughput_per_s": round(len(results) / elapsed, 1) if elapsed else 0.0,
        "codes_per_s": round(len(coded) / elapsed, 1) if elapsed else 0.0,
        "query_p50_ms": round(pct(cheap, 0.5), 1), "query_p99_ms": round(pct(cheap, 0.99), 1),
        "code_p50_ms": round(pct(coded, 0.5), 1), "code_p99_ms": round(pct(coded, 0.99), 1),
        "errors": len(errors), "heavy_requests": len(heavy_statuses),
        "heavy_statuses": {str(k): heavy_statuses.count(k) for k in sorted(set(heavy_statuses))},
        "memory_first_mib": round(warm[0], 1) if warm else 0.0,
        "memory_max_mib": round(max(warm), 1) if warm else 0.0, "memory_last_mib": round(warm[-1], 1) if warm else 0.0,
        "memory_peak_with_long_lane_mib": round(peak, 1),
    }
    report["memory_floor_first_mib"], report["memory_floor_last_mib"] = round(floor_first, 1), round(floor_last, 1)
    report["memory_flat"] = bool(warm) and floor_last <= floor_first * 1.25
    report["worker_restarts"] = status.get("restarts")
    report["p99_met"] = report["query_p99_ms"] <= P99_TARGET_MS
    rows = [("clients (+ heavy) / coding workers", f"{clients} (+ {heavy}) / {code_workers}"),
            ("duration", f"{report['seconds']} s"),
            ("requests (queries / POST /code)", f"{report['requests']} ({report['queries']} / {report['codes']})"),
            ("throughput (POST /code)", f"{report['throughput_per_s']} requests/s ({report['codes_per_s']}/s)"),
            ("cheap queries p50 / p99", f"{report['query_p50_ms']} / {report['query_p99_ms']} ms "
                                        f"(target p99 <= {P99_TARGET_MS:g}: {'met' if report['p99_met'] else 'NOT met'})"),
            ("POST /code p50 / p99", f"{report['code_p50_ms']} / {report['code_p99_ms']} ms"),
            ("errors (ordinary clients)", report["errors"]),
            ("heavy queries sent (statuses)", f"{report['heavy_requests']} "
                                              f"({', '.join(f'{k}: {v}' for k, v in report['heavy_statuses'].items())})"),
            ("worker processes ended and replaced", report["worker_restarts"]),
            ("memory without the long lane, first / largest / last", f"{report['memory_first_mib']} / "
                                                                     f"{report['memory_max_mib']} / {report['memory_last_mib']} MiB"),
            ("memory with the long lane, largest", f"{report['memory_peak_with_long_lane_mib']} MiB"),
            ("memory floor, first / last quarter", f"{report['memory_floor_first_mib']} / {report['memory_floor_last_mib']} MiB"),
            ("memory flat (floor grew < 25 %)", "yes" if report["memory_flat"] else "NO")]
    width = max(len(r[0]) for r in rows)
    print("\n".join(f"{name.ljust(width)}  {value}" for name, value in rows), file=stream, flush=True)
    for error in errors[:10]:
        print(f"ERROR {error}", file=stream)
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="load test of chemoden serve (loopback only)")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--heavy", type=int, default=2, help="clients sending heavy queries without pause (default 2)")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--code-workers", default="1", help="coding workers; a list (1,2) runs once for each")
    parser.add_argument("--json", metavar="FILE", help="also write the numbers to FILE")
    args = parser.parse_args(argv)
    reports = []
    for n, code_workers in enumerate(int(c) for c in args.code_workers.split(",")):
        if n:
            print()
        reports.append(run(min(args.clients, 200), min(args.seconds, 600.0), args.workers, heavy=args.heavy,
                           code_workers=code_workers))
    if args.json:
        Path(args.json).write_text(json.dumps(reports, indent=2) + "\n")
    return 0 if all(r["errors"] == 0 and r["memory_flat"] and r["p99_met"] for r in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
