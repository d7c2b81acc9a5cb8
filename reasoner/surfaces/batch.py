"""Batch coding: JSON Lines (or a folder of session files) in, JSON Lines out, in input order.

Nothing is lost: every input record yields exactly one output record. A record that cannot be
coded yields an error record {"record", "session", "source", "error": {"field", "message"}, "errors":
[{"field", "message"}, ...]} ("error" the first of "errors": every input error of the session) and
the batch goes on. Records are coded in worker processes (owlrl and rdflib hold the GIL), each loading the
ontology once; results are written as soon as the records before them are done, so memory stays
bounded by the number of records in flight.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import TextIO

from ..coding.entry import DEFAULT_CHUNK, Coder, Outcome
from ..core.errors import EXIT_CONFLICTS, EXIT_INPUT, EXIT_OK, InputError
from ..intake.files import Record, count_records, read_records


@dataclass
class Summary:
    total: int = 0
    coded: int = 0
    with_conflicts: int = 0
    with_errors: int = 0
    failed: int = 0
    skipped: int = 0  # already in OUTPUT when resuming
    seconds: float = 0.0
    first_failures: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if self.failed:
            return EXIT_INPUT
        return EXIT_CONFLICTS if self.with_errors else EXIT_OK

    def text(self) -> str:
        rate = self.coded_now / self.seconds if self.seconds else 0.0
        parts = [f"{self.total} records", f"{self.coded} coded ({self.with_conflicts} with conflicts, "
                 f"{self.with_errors} with errors)", f"{self.failed} failed"]
        if self.skipped:
            parts.append(f"{self.skipped} already done (resumed)")
        return f"batch: {', '.join(parts)}; {rate:.1f} records/s"

    @property
    def coded_now(self) -> int:
        return self.coded + self.failed - self.skipped


# ---------------------------------------------------------------------------
# Workers
# ---------------------------------------------------------------------------

_STATE: dict = {}


def _init_worker(ontology_dir: str | None, profile: str | None, engine: str, chunk_size: int = DEFAULT_CHUNK) -> None:
    if _STATE.get("key") == (ontology_dir, profile, engine):
        return  # forked from a parent that has it all loaded already
    _STATE.update(coder=Coder(ontology_dir, engine=engine, profile=profile, chunk_size=chunk_size).prepare(),
                  key=(ontology_dir, profile, engine))


def _session_id(record: Record) -> str | None:
    try:
        doc = json.loads(record.text) if record.text is not None else None
    except ValueError:
        return None
    return str(doc["id"]) if isinstance(doc, dict) and isinstance(doc.get("id"), (str, int)) else None


# What a worker returns for each record: its output line and what the summary counts of it,
# ("failed", what to show) or ("coded", has findings, has error findings), so the parent
# need not parse the line again.
Output = tuple[str, tuple]


def _output(outcome: Outcome) -> Output:
    if outcome.error is not None:
        record, error = outcome.record, outcome.error
        line = json.dumps({"record": record.number, "session": _session_id(record), "source": record.source,
                           **error.as_json()}, ensure_ascii=False)
        return line, ("failed", _failure(record.number, error.as_dict(), len(error.errors)))
    result = outcome.results[0]
    return result.to_json(), ("coded", bool(result.conflicts), result.has_errors)


def _failure(number: int, first: dict, count: int) -> str:
    """A failed record as the summary lists it: its first error, and how many more it has."""
    more = f" (and {count - 1} more)" if count > 1 else ""
    return f"record {number}: {first['field'] or ''} {first['message']}{more}"


def _dask_chunk(records: list[Record], ontology_dir: str | None, profile: str | None, engine: str) -> list[Output]:
    """A chunk on a Dask worker: the worker loads the ontology (and its cached closure) once."""
    _init_worker(ontology_dir, profile, engine)  # a no-op after the first chunk
    return _code_chunk(records)


def _code_chunk(records: list[Record]) -> list[Output]:
    """Outputs for a chunk, in order (coding/entry.py: read, shapes, coded together, one at a
    time should the chunk fail)."""
    return [_output(o) for o in _STATE["coder"].code(records, one_session="a batch record", classification=False)]


def _chunks(records: Iterator[Record], size: int) -> Iterator[list[Record]]:
    chunk: list[Record] = []
    for record in records:
        chunk.append(record)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# ---------------------------------------------------------------------------
# Progress
# ---------------------------------------------------------------------------

class Progress:
    """A one-line progress bar with rate and ETA on a terminal; silent otherwise."""

    def __init__(self, total: int, stream: TextIO, enabled: bool):
        self.total, self.stream, self.enabled = total, stream, enabled
        self.done = 0
        self.start = time.monotonic()
        self.last = 0.0

    def update(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if self.enabled and (now - self.last > 0.2 or self.done >= self.total):
            self.last = now
            elapsed = max(now - self.start, 1e-9)
            rate = self.done / elapsed
            left = (self.total - self.done) / rate if rate else 0
            width = 30
            filled = int(width * self.done / self.total) if self.total else width
            bar = "#" * filled + "-" * (width - filled)
            self.stream.write(f"\r[{bar}] {self.done}/{self.total} {rate:.1f}/s ETA {int(left) // 60}m{int(left) % 60:02d}s ")
            self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


# ---------------------------------------------------------------------------
# The batch
# ---------------------------------------------------------------------------

def _resume_point(output: Path) -> int:
    """How many complete records OUTPUT holds; a torn last line (an interrupted write) is cut off.
    Read in blocks, so resuming a large batch does not hold its output in memory."""
    if not output.exists():
        return 0
    lines, keep, offset = 0, 0, 0
    with output.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            lines += block.count(b"\n")
            last = block.rfind(b"\n")
            if last >= 0:
                keep = offset + last + 1
            offset += len(block)
    if keep != offset:
        with output.open("r+b") as fh:
            fh.truncate(keep)
    return lines


def _tally(summary: Summary, status: tuple) -> None:
    if status[0] == "failed":
        summary.failed += 1
        if len(summary.first_failures) < 5:
            summary.first_failures.append(status[1])
        return
    summary.coded += 1
    summary.with_conflicts += status[1]
    summary.with_errors += status[2]


def _status(line: str) -> tuple:
    """The summary status of a line already in OUTPUT (when resuming)."""
    doc = json.loads(line)
    if "error" in doc and "lines" not in doc:
        return "failed", _failure(doc["record"], doc["error"], len(doc.get("errors") or [doc["error"]]))
    return "coded", bool(doc["conflicts"]), any(c["severity"] == "error" for c in doc["conflicts"])


def run(input_path: str | Path, output_path: str | Path, *, jobs: int | None = None, resume: bool = False,
        quiet: bool = False, profile: str | None = None, engine: str = "auto", ontology_dir: str | None = None,
        chunk_size: int = 64, progress_stream: TextIO | None = None, dask: str | None = None) -> Summary:
    input_path, output_path = Path(input_path), Path(output_path)
    # the ontology checked, the engine and profile resolved, before any worker starts; forked
    # workers inherit all of it
    _init_worker(ontology_dir, profile, engine, chunk_size)
    if not input_path.exists():
        raise InputError("not found", source=str(input_path))
    stream = progress_stream or sys.stderr
    summary = Summary(total=count_records(input_path))
    done = _resume_point(output_path) if resume else 0
    if done > summary.total:
        raise InputError(f"holds {done} records but the input only {summary.total}: not this batch's output",
                         source=str(output_path))
    summary.skipped = done
    records = read_records(input_path)
    for _ in range(done):
        next(records)
    if not jobs:
        jobs = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    progress = Progress(summary.total, stream, enabled=not quiet and stream.isatty())
    progress.update(done)
    start = time.monotonic()
    with _Output(output_path, append=resume) as out:
        if dask:
            _drain(_dask_results(dask, _chunks(records, chunk_size), jobs, ontology_dir, profile, engine),
                   out, summary, progress)
        elif jobs == 1:
            results = map(_code_chunk, _chunks(records, chunk_size))
            _drain(results, out, summary, progress)
        else:
            ctx = get_context("spawn" if sys.platform == "darwin" else "fork")
            with ctx.Pool(jobs, initializer=_init_worker, initargs=(ontology_dir, profile, engine, chunk_size)) as pool:
                _drain(pool.imap(_code_chunk, _chunks(records, chunk_size)), out, summary, progress)
    progress.close()
    summary.seconds = time.monotonic() - start
    # records already in OUTPUT count as they were written
    if done:
        with output_path.open(encoding="utf-8") as fh:
            for n, line in enumerate(fh):
                if n >= done:
                    break
                _tally(summary, _status(line))
    return summary


def _dask_results(address: str, chunks: Iterator[list[Record]], jobs: int, ontology_dir, profile, engine,
                  task=None, extra: tuple = ()):
    """Chunks coded on a Dask cluster, yielded in input order, with a bounded number in flight.

    address "local" starts a local cluster of `jobs` worker processes; anything else is a
    scheduler address (tcp://host:8786) whose workers have chemoden installed. `task` (default:
    code a chunk into output lines) is called with the chunk, ontology_dir, profile, engine, *extra."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise InputError("Dask is not installed: pip install 'chemoden[dask]'", field="--dask") from None
    cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=None) \
        if address == "local" else None
    try:
        client = Client(cluster if cluster is not None else address, timeout="30s")
    except OSError as exc:
        raise InputError(f"cannot reach the Dask scheduler {address!r}: {exc}", field="--dask") from None
    try:
        limit = max(2, 4 * len(client.scheduler_info().get("workers", {})) or 2)
        pending: deque = deque()
        for chunk in chunks:
            pending.append(client.submit(task or _dask_chunk, chunk, ontology_dir, profile, engine, *extra, pure=False))
            if len(pending) >= limit:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


class _Output:
    """OUTPUT, written a chunk of whole lines at a time with one system call (so that a kill
    leaves whole records, or at worst one torn last line that --resume cuts off) and forced
    to disk every few seconds, so that a crash loses little and corrupts nothing."""

    SYNC_SECONDS = 2.0

    def __init__(self, path: Path, append: bool):
        flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
        try:
            self.fd = os.open(path, flags, 0o644)
        except OSError as exc:
            raise InputError(f"cannot write the output: {exc.strerror}", source=str(path), field="--output") from None
        self.synced = time.monotonic()

    def __enter__(self) -> _Output:
        return self

    def write_lines(self, lines: list[str]) -> None:
        data = "".join(line + "\n" for line in lines).encode("utf-8")
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view):]
        if time.monotonic() - self.synced > self.SYNC_SECONDS:
            os.fsync(self.fd)
            self.synced = time.monotonic()

    def __exit__(self, *exc) -> None:
        try:
            os.fsync(self.fd)
        finally:
            os.close(self.fd)


def _drain(results, out: _Output, summary: Summary, progress: Progress) -> None:
    for chunk in results:
        out.write_lines([line for line, _ in chunk])
        for _, status in chunk:
            _tally(summary, status)
        progress.update(len(chunk))
