"""Batch coding: JSON Lines (or a folder of session files) in, JSON Lines out, in input order.

Nothing is lost: every input record yields exactly one output record. A record that cannot be
coded yields an error record {"record", "session", "error": {"field", "message"}} and the batch
goes on. Records are coded in worker processes (owlrl and rdflib hold the GIL), each loading the
ontology once; results are written as soon as the records before them are done, so memory stays
bounded by the number of records in flight.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Iterator, TextIO

from .errors import EXIT_CONFLICTS, EXIT_INPUT, EXIT_OK, ChemodenError, InputError

SESSION_SUFFIXES = (".json", ".jsonld", ".ttl")


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
# Input records
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Record:
    number: int  # 1-based line number (JSON Lines) or position (folder)
    source: str
    text: str
    fmt: str | None


def count_records(path: Path) -> int:
    if path.is_dir():
        return sum(1 for _ in _folder_files(path))
    with path.open("rb") as fh:
        return sum(1 for line in fh if line.strip())


def _folder_files(path: Path) -> Iterator[Path]:
    # a file that cannot be read (a broken or looping link) is still a record: its error record
    return (f for f in sorted(path.rglob("*"))
            if (f.is_file() or f.is_symlink()) and f.suffix.lower() in SESSION_SUFFIXES)


def read_records(path: Path) -> Iterator[Record]:
    """One record per non-blank line of a JSON Lines file, or per session file in a folder."""
    if path.is_dir():
        for n, f in enumerate(_folder_files(path), start=1):
            try:
                text = f.read_bytes().decode("utf-8-sig")
            except OSError as exc:
                text = f"\0cannot read: {exc.strerror}"
            except UnicodeDecodeError as exc:
                text = f"\0not UTF-8 text (byte {exc.start})"
            yield Record(n, str(f), text, {".ttl": "turtle"}.get(f.suffix.lower(), "json"))
        return
    with path.open("rb") as fh:
        for n, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                text = f"\0not UTF-8 text (byte {exc.start})"
            yield Record(n, f"{path}:{n}", text, "json")


# ---------------------------------------------------------------------------
# Workers
# ---------------------------------------------------------------------------

_STATE: dict = {}


def _init_worker(ontology_dir: str | None, profile: str | None, engine: str) -> None:
    from . import pipeline, validate
    from .ontology import load

    if _STATE.get("key") == (ontology_dir, profile, engine):
        return  # forked from a parent that has it all loaded already
    _STATE.update(ontology=load(ontology_dir), profile=profile, engine=engine, key=(ontology_dir, profile, engine))
    _STATE["ontology"].names  # noqa: B018 - build the name index once per worker
    if pipeline.resolve_engine(engine) == "fast":
        pipeline.fast_coder(_STATE["ontology"])  # the closure, its Oxigraph quads, the rule updates
    validate.validator(_STATE["ontology"])  # the session shapes, compiled


def _session_id(text: str) -> str | None:
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    return str(doc["id"]) if isinstance(doc, dict) and isinstance(doc.get("id"), (str, int)) else None


# What a worker returns for each record: its output line and what the summary counts of it,
# ("failed", what to show) or ("coded", has findings, has error findings), so the parent
# need not parse the line again.
Output = tuple[str, tuple]


def _error_output(record: Record, field: str | None, message: str) -> Output:
    line = json.dumps({"record": record.number, "session": _session_id(record.text), "source": record.source,
                       "error": {"field": field, "message": message}}, ensure_ascii=False)
    return line, ("failed", f"record {record.number}: {field or ''} {message}")


def _coded(result) -> Output:
    return result.to_json(), ("coded", bool(result.conflicts), result.has_errors)


def _read(record: Record):
    """The record's one session, or its error output."""
    from .session import read_bytes

    try:
        if record.text.startswith("\0"):
            raise InputError(record.text[1:], source=record.source)
        sessions = read_bytes(record.text, _STATE["ontology"], source=record.source, fmt=record.fmt,
                              profile=_STATE["profile"])
        if len(sessions) != 1:
            raise InputError(f"holds {len(sessions)} sessions; a batch record is one session", source=record.source)
        return sessions[0]
    except ChemodenError as exc:
        return _error_output(record, exc.field, exc.message)
    except Exception as exc:  # a bug must not lose the record either
        return _error_output(record, None, f"internal error: {type(exc).__name__}: {exc}")


def _code_one(record: Record, session) -> Output:
    from .pipeline import code

    try:
        return _coded(code(session, _STATE["ontology"], _STATE["engine"]))
    except Exception as exc:
        return _error_output(record, None, f"internal error: {type(exc).__name__}: {exc}")


def _dask_chunk(records: list[Record], ontology_dir: str | None, profile: str | None, engine: str) -> list[Output]:
    """A chunk on a Dask worker: the worker loads the ontology (and its cached closure) once."""
    _init_worker(ontology_dir, profile, engine)  # a no-op after the first chunk
    return _code_chunk(records)


def _code_chunk(records: list[Record]) -> list[Output]:
    """Outputs for a chunk, in order. On the fast path the chunk's sessions are reasoned
    and queried together; should that fail, each is coded alone so one record cannot sink
    the others."""
    from . import pipeline

    read = _shape_checked([(r, _read(r)) for r in records])
    sessions = [s for _, s in read if not isinstance(s, tuple)]
    coded: dict[int, Output] = {}
    if pipeline.resolve_engine(_STATE["engine"]) == "fast" and sessions:
        try:
            results = pipeline.fast_coder(_STATE["ontology"]).code(sessions, classification=False)
            coded = {id(s): _coded(r) for s, r in zip(sessions, results)}
        except Exception:
            coded = {}
    out = []
    for record, item in read:
        if isinstance(item, tuple):
            out.append(item)
        else:
            out.append(coded.get(id(item)) or _code_one(record, item))
    return out


def _shape_checked(read: list) -> list:
    """A session whose input breaks ontology/shapes/session.ttl becomes its error line, as in
    `chemoden code`; the whole chunk is checked in one call (reasoner/validate.py)."""
    from .validate import check_sessions

    at = [n for n, (_, item) in enumerate(read) if not isinstance(item, tuple)]
    for n, error in zip(at, check_sessions([read[n][1] for n in at], _STATE["ontology"])):
        if error is not None:
            read[n] = (read[n][0], _error_output(read[n][0], error.field, error.message))
    return read


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
        return "failed", f"record {doc['record']}: {doc['error']['field'] or ''} {doc['error']['message']}"
    return "coded", bool(doc["conflicts"]), any(c["severity"] == "error" for c in doc["conflicts"])


def run(input_path: str | Path, output_path: str | Path, *, jobs: int | None = None, resume: bool = False,
        quiet: bool = False, profile: str | None = None, engine: str = "auto", ontology_dir: str | None = None,
        chunk_size: int = 64, progress_stream: TextIO | None = None, dask: str | None = None) -> Summary:
    input_path, output_path = Path(input_path), Path(output_path)
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
            _init_worker(ontology_dir, profile, engine)
            results = map(_code_chunk, _chunks(records, chunk_size))
            _drain(results, out, summary, progress)
        else:
            ctx = get_context("spawn" if sys.platform == "darwin" else "fork")
            if ctx.get_start_method() == "fork":
                _init_worker(ontology_dir, profile, engine)  # once, here: forked workers share it
            with ctx.Pool(jobs, initializer=_init_worker, initargs=(ontology_dir, profile, engine)) as pool:
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


def _dask_results(address: str, chunks: Iterator[list[Record]], jobs: int, ontology_dir, profile, engine):
    """Chunks coded on a Dask cluster, yielded in input order, with a bounded number in flight.

    address "local" starts a local cluster of `jobs` worker processes; anything else is a
    scheduler address (tcp://host:8786) whose workers have chemoden installed."""
    from collections import deque

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
            pending.append(client.submit(_dask_chunk, chunk, ontology_dir, profile, engine, pure=False))
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

    def __enter__(self) -> "_Output":
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
