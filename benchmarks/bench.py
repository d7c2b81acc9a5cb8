"""Chemoden benchmark: reference path vs fast path, batch throughput, memory, parity.

    make bench                      # the full run (10,000-session batches, 1,000-session parity)
    python benchmarks/bench.py --batch 1000 --parity 200   # a quicker look

Prints one table and writes the same numbers to benchmarks/results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from generate import generate  # noqa: E402

from reasoner import code, load_ontology, read_document  # noqa: E402
from reasoner.coding.fast import coder as fast_coder
from reasoner.coding.reference import reference_many  # noqa: E402

TARGETS = {"batch_sessions_per_s": 500, "p50_ms": 20, "peak_mib": 1024, "single_call_s": 1.5}


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def reference_latency(ontology, docs, n):
    times = []
    for doc in docs[:n]:
        session = read_document(doc, ontology)
        start = time.perf_counter()
        code(session, ontology, engine="owlrl")
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def fast_latency(ontology, docs):
    coder = fast_coder(ontology)
    coder.code([read_document(docs[0], ontology)])  # warm: closure loaded, queries parsed
    times = []
    for doc in docs:
        start = time.perf_counter()
        coder.code([read_document(doc, ontology)])
        times.append(time.perf_counter() - start)
    return percentile(times, 0.5), percentile(times, 0.95)


def batch_run(path: Path, jobs: int) -> tuple[float, float, int]:
    out = path.with_suffix(f".out{jobs}")
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "reasoner", "batch", str(path), "-o", str(out),
                           "--jobs", str(jobs), "--quiet"], cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    lines = out.read_text().count("\n")
    if proc.returncode not in (0, 1):
        print(proc.stderr, file=sys.stderr)
    return seconds, peak_kib / 1024, lines


def single_call(path: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "reasoner", "code", str(path)], cwd=ROOT, capture_output=True)
    return time.perf_counter() - start


def parity(ontology, docs, chunk=40) -> tuple[int, int]:
    mismatches = 0
    coder = fast_coder(ontology)
    for start in range(0, len(docs), chunk):
        sessions = [read_document(d, ontology) for d in docs[start:start + chunk]]
        reference = reference_many(sessions, ontology)
        fast = coder.code(sessions)
        mismatches += sum(a.as_dict() != b.as_dict() for a, b in zip(reference, fast))
    return len(docs), mismatches


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=10000, help="sessions in each batch run")
    parser.add_argument("--parity", type=int, default=1000, help="generated sessions checked against the reference")
    parser.add_argument("--latency", type=int, default=200, help="sessions timed one by one on the fast path")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "results.json"))
    args = parser.parse_args(argv)

    ontology = load_ontology()
    docs = list(generate(max(args.batch, args.parity, args.latency), args.seed, ontology))
    rows = {}
    rows["reference_s_per_session"] = reference_latency(ontology, docs, 5)
    p50, p95 = fast_latency(ontology, docs[:args.latency])
    rows["fast_p50_ms"], rows["fast_p95_ms"] = p50 * 1000, p95 * 1000
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "batch.jsonl"
        path.write_text("".join(json.dumps(d) + "\n" for d in docs[:args.batch]))
        one = Path(tmp) / "one.json"
        one.write_text(json.dumps(docs[0]))
        rows["single_call_s"] = statistics.median(single_call(one) for _ in range(3))
        for jobs in (1, 2):
            seconds, peak, lines = batch_run(path, jobs)
            rows[f"batch_jobs{jobs}_s"] = seconds
            rows[f"batch_jobs{jobs}_per_s"] = args.batch / seconds
            rows[f"batch_jobs{jobs}_peak_mib"] = peak
            rows[f"batch_jobs{jobs}_records_out"] = lines
    rows["ratio_to_reference"] = rows["reference_s_per_session"] * rows["batch_jobs2_per_s"]
    checked, mismatches = parity(ontology, docs[:args.parity])
    rows["parity_checked"], rows["parity_mismatches"] = checked, mismatches
    rows["machine"] = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    rows["batch_size"] = args.batch

    table = [
        ("reference path, per session (median of 5)", f"{rows['reference_s_per_session'] * 1000:.0f} ms", ""),
        ("fast path, per session in process p50 / p95", f"{rows['fast_p50_ms']:.0f} / {rows['fast_p95_ms']:.0f} ms",
         f"p50 <= {TARGETS['p50_ms']} ms"),
        ("one `chemoden code` call, wall", f"{rows['single_call_s']:.2f} s", f"< {TARGETS['single_call_s']} s"),
        (f"batch of {args.batch}, --jobs 1", f"{rows['batch_jobs1_s']:.1f} s, {rows['batch_jobs1_per_s']:.0f}/s", ""),
        (f"batch of {args.batch}, --jobs 2", f"{rows['batch_jobs2_s']:.1f} s, {rows['batch_jobs2_per_s']:.0f}/s",
         f">= {TARGETS['batch_sessions_per_s']}/s"),
        ("speed-up over the reference (jobs 2)", f"{rows['ratio_to_reference']:.0f}x", ""),
        ("peak memory of a batch process", f"{max(rows['batch_jobs1_peak_mib'], rows['batch_jobs2_peak_mib']):.0f} MiB",
         f"< {TARGETS['peak_mib']} MiB"),
        ("records out / in", f"{rows['batch_jobs2_records_out']} / {args.batch}", "equal"),
        ("parity with the reference", f"{checked - mismatches} / {checked} equal", "all"),
    ]
    width = max(len(r[0]) for r in table)
    print(f"Chemoden benchmark ({rows['machine']})")
    print(f"{'measure'.ljust(width)}  {'result':<22} target")
    for name, value, target in table:
        print(f"{name.ljust(width)}  {value:<22} {target}")
    Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0 if mismatches == 0 and rows["batch_jobs2_records_out"] == args.batch else 1


if __name__ == "__main__":
    sys.exit(main())
