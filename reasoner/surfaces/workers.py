"""The worker processes behind `chemoden serve`: queries and coding never run in the server.

Each worker is a process of its own (spawned, never forked from the threaded server) that loads
the dataset or the coder once and then answers one request at a time over a pipe. The server
waits for a reply only as long as the time limit: a worker that overruns it, dies or cannot be
spoken to is killed and replaced in the background, and its end is written to the log. So a
query that never ends, a crash in a native library or a request that breaks the pipe costs one
worker for a moment, never the server.

In a worker, requests run on a thread with a large stack (a deeply nested query is bounded by
the server's bracket limit, and that many levels fit this stack), under an address-space limit
(an answer that would grow without end fails its allocation and ends the worker, not the
machine), and, for the long-query lane, at a lower CPU priority.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import resource
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ..coding.entry import Coder, check_profile
from ..core.errors import ChemodenError, InternalError, QueryError, Refusal
from ..engines.answer import render
from ..engines.safety import run
from ..engines.sandbox import forbid_network
from ..engines.store import load_store
from ..intake.files import Record
from .negotiation import negotiate

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
POLL_STEP = 0.05  # seconds between looks at a working worker's CPU time
STACK_BYTES = 512 * 1024 * 1024  # a request thread's stack: ~200,000 levels of SPARQL nesting
START_TIMEOUT = 120.0  # seconds a worker may take to load its dataset or ontology


@dataclass(frozen=True)
class WorkerSettings:
    memory_mib: int | None = 2048  # address-space limit of a worker process (None: no limit)
    nice: int = 0  # added to the worker's CPU niceness (coding runs at 5, behind the short lane's cheap queries; the long lane at 10)
    max_bytes: int = 64 * 1024 * 1024  # largest rendered answer a query worker sends back


def _enter(settings: WorkerSettings) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the server's to handle
    if settings.nice:
        os.nice(settings.nice)
    if settings.memory_mib:
        limit = settings.memory_mib * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _on_big_stack(target, *args) -> None:
    # rdflib's SPARQL grammar (the SERVICE check) recurses ~40 frames per level of nesting: room
    # for the nesting the server admits, which this stack holds many times over
    sys.setrecursionlimit(20_000)
    threading.stack_size(STACK_BYTES)
    thread = threading.Thread(target=target, args=args, name="requests")
    thread.start()
    thread.join()


def query_worker(conn, saved: str, kind: str, graph_names: list[str], settings: WorkerSettings) -> None:
    """Load the dataset, then answer requests: (text, accept, explicit format, default graphs,
    named graphs, row limit, base IRI) -> (status, format, body bytes). The format is chosen here,
    where the answer's form (SELECT, ASK or a graph) is known for sure."""
    _enter(settings)
    _on_big_stack(_query_loop, conn, saved, kind, graph_names, settings)


def _query_loop(conn, saved, kind, graph_names, settings: WorkerSettings) -> None:
    store = load_store(Path(saved), kind)
    if graph_names is None:  # a history store: its graphs are asked of it
        graph_names = store.graph_names()
    forbid_network()  # what is left for this process is running users' queries: it needs no network
    conn.send("ready")
    while True:
        try:
            text, accept, explicit, default_graphs, named_graphs, max_rows, base = conn.recv()
        except (EOFError, OSError):
            return
        try:
            answer = run(store, text, graph_names, limit=max_rows, default_graphs=default_graphs,
                         named_graphs=named_graphs, base=base)
            fmt = negotiate(answer.form, accept, explicit)
            body = render(answer, fmt).encode("utf-8")
            if len(body) > settings.max_bytes:
                raise QueryError(f"the answer has {len(body):,} bytes, more than the limit of {settings.max_bytes:,}; "
                                 "narrow the query or add a LIMIT", status=422)
            reply = (200, fmt, body)
        except (QueryError, Refusal) as exc:
            reply = (exc.status, None, exc.message.encode("utf-8"))
        except MemoryError:
            reply = (422, None, b"the query needed more memory than a worker may use; narrow the query")
        except Exception as exc:  # a bug: say so, keep the worker
            reply = (500, None, f"internal error: {type(exc).__name__}: {exc}".encode())
        conn.send(reply)


def code_worker(conn, ontology_dir: str, profile: str | None, engine: str, settings: WorkerSettings) -> None:
    """Load the ontology and the coder once, then code one session per request through the one
    coding entry (coding/entry.py), as `chemoden code --format json` does: a coded session is
    answered with the bytes that command prints for it, its line end included."""
    _enter(settings)
    _on_big_stack(_code_loop, conn, ontology_dir, profile, engine)


def _code_loop(conn, ontology_dir, profile, engine) -> None:
    coder = Coder(ontology_dir, engine=engine).prepare()
    forbid_network()  # coding reads nothing from the network either
    conn.send("ready")
    while True:
        try:
            body, fmt, request_profile = conn.recv()
        except (EOFError, OSError):
            return
        try:
            coder.profile = check_profile(coder.ontology, request_profile or profile)
            outcome = next(coder.code([Record(1, "<request>", body, fmt)], one_session="a request"))
            if outcome.error is not None:
                raise outcome.error
            reply = (200, outcome.results[0].to_json() + "\n")  # the line `chemoden code --format json` prints
        except ChemodenError as exc:
            reply = (exc.status, json.dumps(exc.as_json(), ensure_ascii=False))
        except Exception as exc:  # a bug: say so, keep the worker
            reply = (500, json.dumps(InternalError.of(exc).as_json()))
        conn.send(reply)


# ---------------------------------------------------------------------------
# The server's side
# ---------------------------------------------------------------------------

class Overrun(Exception):
    """The worker did not answer within the time limit (it has been killed and replaced)."""


class Died(Exception):
    """The worker ended or could not be spoken to (it has been replaced)."""


class Worker:
    def __init__(self, ctx, target, args):
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=target, args=(child, *args), daemon=True)
        self.process.start()
        child.close()

    def ready(self, timeout: float) -> bool:
        try:
            return self.conn.poll(timeout) and self.conn.recv() == "ready"
        except (EOFError, OSError):
            return False

    def cpu_seconds(self) -> float | None:
        """CPU time the process has used (Linux's /proc), None where it cannot be read."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        except (OSError, IndexError, ValueError):
            return None

    def exchange(self, request, timeout: float, cpu_budget: float | None = None):
        """('ok', reply) | ('overrun', None) | ('died', why). Runs on a thread of the pool.
        With cpu_budget, the request overruns once it has used that much CPU time (or at the
        timeout): a query slowed by a busy machine is waited for, one that computes is not."""
        try:
            self.conn.send(request)
            deadline = time.monotonic() + max(0.0, timeout)
            start_cpu = self.cpu_seconds() if cpu_budget is not None else None
            if start_cpu is None:  # no budget, or no way to measure CPU time: the wall clock decides
                limit = timeout if cpu_budget is None else min(timeout, cpu_budget)
                if not self.conn.poll(max(0.0, limit)):
                    return "overrun", None
                return "ok", self.conn.recv()
            while not self.conn.poll(min(POLL_STEP, max(0.0, deadline - time.monotonic()))):
                used = self.cpu_seconds()
                if time.monotonic() >= deadline or used is None or used - start_cpu >= cpu_budget:
                    return "overrun", None
            return "ok", self.conn.recv()
        except Exception as exc:  # a broken pipe, an unpicklable message: the worker's state is unknown
            return "died", f"{type(exc).__name__}: {exc}"

    def ending(self) -> str:
        """How the process ended, for the log."""
        code = self.process.exitcode
        if code is None:
            return "still running"
        if code < 0:
            try:
                return f"signal {signal.Signals(-code).name}"
            except ValueError:
                return f"signal {-code}"
        return f"exit code {code}"

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.conn.close()


def log(message: str) -> None:
    print(f"chemoden: {message}", file=sys.stderr, flush=True)


def start_early() -> None:
    """Start the fork server now, so that it imports the package while the server loads its dataset."""
    if _context().get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


def _context():
    """How workers start: never a fork of the threaded server. A fork server that has imported the
    package once forks each worker from itself (milliseconds, where a fresh interpreter importing
    rdflib, Oxigraph and the package took most of a second per worker, six of them on two cores
    at start-up); where there is none (not Linux), a fresh interpreter per worker."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload([__name__, "reasoner.cli"])  # the command a worker re-reads as its main
        return ctx
    return multiprocessing.get_context("spawn")


class Pool:
    """Worker processes of one kind, called from the server's event loop. A request waits a
    short while for an idle worker (then a 503 with Retry-After); a worker that overruns, dies or
    breaks is killed, logged and replaced in the background."""

    def __init__(self, name: str, target, args: tuple, size: int, *, spares: int = 0, retry_after: int = 1,
                 started: threading.Event | None = None):
        self.name = name
        self.size = max(1, size)
        self.spares = max(0, spares)  # started, ready workers that take a killed one's place at once
        self._spare: list[Worker] = []
        self._active = 0  # workers serving requests (idle or busy)
        self._ctx = _context()
        self._target, self._args = target, args
        self._all: set[Worker] = set()
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=self.size + 1, thread_name_prefix=f"{name}-call")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._idle: asyncio.Queue | None = None
        self._closed = False
        self.retry_after = retry_after
        self.restarts = 0
        self.deaths = 0
        # set once the server's every pool has started: until then a request waits for a worker as
        # long as one may take to start, not the short wait of a busy server (the first requests
        # meet workers still starting on a machine busy starting the others)
        self.started = started if started is not None else threading.Event()

    # -- life ---------------------------------------------------------------
    def start(self) -> None:
        """Start the workers; called on the server's event loop."""
        self._loop = asyncio.get_running_loop()
        self._idle = asyncio.Queue()
        for _ in range(self.size):
            self._spawn_async()

    def start_spares(self) -> None:
        """Start the spares; called once the serving workers have started, so as not to slow them."""
        for _ in range(self.spares):
            self._spawn_async()

    def _spawn_async(self) -> None:
        threading.Thread(target=self._spawn, daemon=True, name=f"{self.name}-spawn").start()

    def _spawn(self) -> None:
        worker = Worker(self._ctx, self._target, self._args)
        with self._lock:
            self._all.add(worker)
        if worker.ready(START_TIMEOUT) and not self._closed:
            with self._lock:
                serving = self._active < self.size
                if serving:
                    self._active += 1
                else:
                    self._spare.append(worker)
            if serving:
                self._loop.call_soon_threadsafe(self._idle.put_nowait, worker)
            return
        self._discard(worker)
        if not self._closed:
            log(f"a {self.name} worker failed to start ({worker.ending()})")

    def _discard(self, worker: Worker) -> None:
        worker.kill()
        with self._lock:
            self._all.discard(worker)

    def _replace(self, worker: Worker, why: str) -> None:
        self._discard(worker)
        log(f"{self.name} worker {worker.process.pid} {why} ({worker.ending()}); a new one is starting")
        with self._lock:
            self.restarts += 1
            self._active -= 1
            spare = self._spare.pop() if self._spare else None
            if spare is not None:
                self._active += 1
        if spare is not None:
            self._idle.put_nowait(spare)  # on the event loop: _replace is only called from call()
        if not self._closed:
            self._spawn_async()

    async def ready(self, timeout: float, minimum: int | None = None) -> bool:
        """True once `minimum` workers are idle (None: every worker and spare has started)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                spares = len(self._spare)
            if minimum is not None and self._idle.qsize() >= minimum:
                return True
            if self._idle.qsize() >= self.size and spares >= self.spares:
                return True
            await asyncio.sleep(0.05)
        return False

    @property
    def pids(self) -> list[int]:
        with self._lock:
            return sorted(w.process.pid for w in self._all if w.process.pid)

    @property
    def idle(self) -> int:
        return self._idle.qsize() if self._idle is not None else 0

    @property
    def ready_spares(self) -> int:
        with self._lock:
            return len(self._spare)

    def close(self) -> None:
        self._closed = True
        with self._lock:
            workers = list(self._all)
        for worker in workers:
            self._discard(worker)
        self._executor.shutdown(wait=False, cancel_futures=True)

    # -- calls --------------------------------------------------------------
    async def call(self, request, *, timeout: float, wait: float, cpu_budget: float | None = None):
        """The worker's reply. Refusal(503) with Retry-After when no worker frees up within `wait`;
        Overrun when the reply does not come within `timeout` (or the request used `cpu_budget`
        seconds of CPU); Died when the worker ended."""
        # while the server is starting, a request waits for a worker as long as a start may take,
        # and that wait is not counted in its time limit (the worker is not busy, only not there yet)
        wait = START_TIMEOUT if not self.started.is_set() else max(0.0, min(wait, timeout))
        try:
            worker = await asyncio.wait_for(self._idle.get(), timeout=wait)
        except TimeoutError:
            raise Refusal(503, f"every {self.name} worker is busy; try again in {self.retry_after} s") from None
        try:
            outcome, reply = await self._loop.run_in_executor(self._executor, worker.exchange, request, timeout,
                                                              cpu_budget)
        except BaseException:  # cancelled while the worker works: its state is unknown
            self._replace(worker, "was abandoned by a cancelled request")
            raise
        if outcome == "ok":
            self._idle.put_nowait(worker)
            return reply
        if outcome == "overrun":
            why = (f"was stopped after the time left to its request ({timeout:.1f} s)" if cpu_budget is None
                   else f"was stopped after {cpu_budget:g} s of CPU time (its request had {timeout:.1f} s)")
            self._replace(worker, why)
            raise Overrun()
        with self._lock:
            self.deaths += 1
        self._replace(worker, f"ended while answering ({reply})")
        raise Died(worker.ending())
