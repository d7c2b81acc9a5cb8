"""`chemoden serve`: a read-only SPARQL 1.1 Protocol endpoint over the dataset, a YASGUI page
and POST /code.

Queries run in worker processes, each opening the dataset read-only (Oxigraph's on-disk copy,
or an N-Quads dump for rdflib), so a query over its time limit is stopped for real: its worker is killed and a
fresh one started, while the other workers go on serving. Coding (POST /code) runs in a worker
of its own under the same limit. The HTTP side is the standard library's threading server: it
checks sizes, negotiates formats and refuses what a closed, read-only endpoint must refuse
before anything reaches a worker.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import queue
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDF, XSD

from ..coding.entry import Coder, check_profile
from ..core.errors import EXIT_INPUT, EXIT_OK, ChemodenError, InputError, QueryError, Refusal
from ..engines.answer import GRAPH_FORMATS, MEDIA_TYPES, RESULT_FORMATS, render
from ..engines.safety import inspect, run
from ..engines.sandbox import forbid_network
from ..engines.store import load_store
from ..intake.files import Record
from ..knowledge.library import library

WEB = resources.files("reasoner") / "web"  # the query page, carried by the package
# Only these files are served from the YASGUI package (never a path from the request).
STATIC = {"yasgui.min.js": "text/javascript", "yasgui.min.css": "text/css"}
# `format` / `output` parameter values (as many clients send them) -> format
FORMAT_NAMES = {"json": "json", "srj": "json", "xml": "xml", "srx": "xml", "csv": "csv", "tsv": "tsv",
                "turtle": "turtle", "ttl": "turtle", "json-ld": "json-ld", "jsonld": "json-ld",
                "nt": "n-triples", "n-triples": "n-triples", "ntriples": "n-triples", "rdf": "rdf-xml",
                "rdf-xml": "rdf-xml", "rdfxml": "rdf-xml"}
FORMAT_NAMES.update({media: name for name, media in MEDIA_TYPES.items()})
# POST /code: the session's format by Content-Type (JSON, JSON-LD or Turtle, as `chemoden code` reads)
SESSION_FORMATS = {"application/json": "json", "application/ld+json": "json", "text/turtle": "turtle",
                   "application/x-turtle": "turtle"}
ACCEPT_ALIASES = {"application/json": "json", "application/xml": "xml", "text/xml": "xml",
                  "application/x-turtle": "turtle", "application/json+ld": "json-ld", "text/plain": None}


@dataclass(frozen=True)
class Limits:
    timeout: float = 30.0  # seconds a query (or a POST /code) may take, waiting for a worker included
    max_rows: int = 100_000  # rows of a SELECT answer, triples of a CONSTRUCT or DESCRIBE answer
    max_request: int = 1_000_000  # bytes of a request body or URL


# ---------------------------------------------------------------------------
# Worker processes
# ---------------------------------------------------------------------------

def _quiet_child() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the server's to handle


def _query_worker(conn, saved: str, kind: str, graph_names: list[str]) -> None:
    """Load the dataset, then answer (text, Accept, format parameter, default graphs, named graphs,
    row limit) requests with (status, format, body). The format is chosen here, where the
    answer's form (SELECT, ASK or a graph) is known for sure."""
    _quiet_child()
    store = load_store(Path(saved), kind)
    forbid_network()  # from here on only users' queries run: no socket but the pipe to the server
    conn.send("ready")
    while True:
        try:
            text, accept, explicit, default_graphs, named_graphs, max_rows = conn.recv()
        except (EOFError, OSError):
            return
        try:
            answer = run(store, text, graph_names, limit=max_rows, default_graphs=default_graphs,
                         named_graphs=named_graphs)
            fmt = negotiate(answer.form, accept, explicit)
            reply = (200, fmt, render(answer, fmt).encode("utf-8"))
        except (QueryError, Refusal) as exc:
            reply = (exc.status, None, exc.message.encode("utf-8"))
        except Exception as exc:  # a bug: say so, keep the worker
            reply = (500, None, f"internal error: {type(exc).__name__}: {exc}".encode())
        conn.send(reply)


def _code_worker(conn, ontology_dir: str, profile: str | None, engine: str) -> None:
    """Load the ontology and the coder once, then code one session per request through the one
    coding entry (coding/entry.py), as `chemoden code --format json` does."""
    _quiet_child()
    coder = Coder(ontology_dir, engine=engine).prepare()
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
            reply = (200, outcome.results[0].to_json())
        except ChemodenError as exc:
            reply = (exc.status, json.dumps({"error": exc.as_dict()}, ensure_ascii=False))
        except Exception as exc:
            reply = (500, json.dumps({"error": {"field": None, "message": f"internal error: {type(exc).__name__}: {exc}"}}))
        conn.send(reply)


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

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.conn.close()


class Pool:
    """Worker processes of one kind. A request takes an idle worker; a worker that overruns the
    time limit (or dies) is killed and replaced in the background."""

    def __init__(self, name: str, target, args: tuple, size: int, start_timeout: float = 120.0):
        self.name = name
        self._ctx = multiprocessing.get_context("spawn")  # no fork of a threaded server
        self._target, self._args = target, args
        self._idle: queue.Queue = queue.Queue()
        self._all: set[Worker] = set()
        self._lock = threading.Lock()
        self._start_timeout = start_timeout
        self.restarts = 0
        self._closed = False
        for _ in range(size):
            self._spawn_async()

    def _spawn_async(self) -> None:
        threading.Thread(target=self._spawn, daemon=True, name=f"{self.name}-spawn").start()

    def _spawn(self) -> None:
        worker = Worker(self._ctx, self._target, self._args)
        with self._lock:
            self._all.add(worker)
        if worker.ready(self._start_timeout) and not self._closed:
            self._idle.put(worker)
        else:
            self._discard(worker)
            if not self._closed:
                print(f"chemoden: a {self.name} worker failed to start", file=sys.stderr)

    def _discard(self, worker: Worker) -> None:
        worker.kill()
        with self._lock:
            self._all.discard(worker)

    def wait_ready(self, timeout: float) -> bool:
        """True once a worker is idle (for start-up)."""
        try:
            worker = self._idle.get(timeout=timeout)
        except queue.Empty:
            return False
        self._idle.put(worker)
        return True

    @property
    def pids(self) -> list[int]:
        with self._lock:
            return sorted(w.process.pid for w in self._all if w.process.pid)

    def call(self, request, timeout: float):
        """The worker's reply, or Refusal(503) when the time limit passes first."""
        deadline = time.monotonic() + timeout
        try:
            worker = self._idle.get(timeout=timeout)
        except queue.Empty:
            raise Refusal(503, f"every {self.name} worker stayed busy for the time limit ({timeout:g} s); "
                               "try again later") from None
        try:
            worker.conn.send(request)
            if worker.conn.poll(max(0.0, deadline - time.monotonic())):
                reply = worker.conn.recv()
                self._idle.put(worker)
                return reply
            message = (f"stopped after the time limit of {timeout:g} s: the {self.name} was cancelled "
                       "(its worker process was ended and replaced)")
        except (EOFError, OSError):
            message = f"the {self.name} worker died; it has been replaced"
        self._discard(worker)  # the query is stopped for real: its process ends
        with self._lock:
            self.restarts += 1
        self._spawn_async()
        raise Refusal(503, message)

    def close(self) -> None:
        self._closed = True
        with self._lock:
            workers = list(self._all)
        for worker in workers:
            self._discard(worker)


# ---------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------

def negotiate(form: str | None, accept: str | None, explicit: str | None) -> str:
    """The answer format: a `format`/`output` parameter first, else the best of Accept."""
    offered = GRAPH_FORMATS if form == "graph" else RESULT_FORMATS
    if explicit:
        name = FORMAT_NAMES.get(explicit.strip().lower())
        if name in offered:
            return name
    if not accept:
        return offered[0]
    choices = []
    for n, part in enumerate(accept.split(",")):
        fields = [f.strip() for f in part.split(";")]
        media, q = fields[0].lower(), 1.0
        for f in fields[1:]:
            if f.startswith("q="):
                try:
                    q = float(f[2:])
                except ValueError:
                    q = 0.0
        if q <= 0 or not media:
            continue
        if media in ("*/*", "application/*", "text/*"):
            kind = media.split("/")[0]
            matches = [o for o in offered if kind == "*" or MEDIA_TYPES[o].startswith(kind + "/")]
        else:
            name = FORMAT_NAMES.get(media) if media in MEDIA_TYPES.values() else ACCEPT_ALIASES.get(media)
            matches = [name] if name in offered else []
        choices += [(-q, n, offered.index(m), m) for m in matches]
    if not choices:
        raise Refusal(406, f"none of the formats accepted ({accept}) can carry this answer; offered: "
                           + ", ".join(MEDIA_TYPES[o] for o in offered))
    return min(choices)[3]


def _update_as_query(params: dict) -> dict:
    """An update operation is refused (403). But SPARQLWrapper, reading a query's comment lines,
    sends some queries as updates ('add' in '# ... add-on codes'): what is a query is run as one."""
    texts = params.get("update", [])
    if len(texts) == 1 and "query" not in params:
        try:
            form = inspect(texts[0]).form
        except QueryError:
            form = None
        if form is not None:
            return {**{k: v for k, v in params.items() if k != "update"}, "query": texts}
    raise Refusal(403, "SPARQL Update is refused: the endpoint is read-only")


class Endpoint:
    """What the request handlers share: the dataset's description, the pools, the limits."""

    def __init__(self, dataset, ontology, *, workers: int = 2, limits: Limits = Limits(),
                 profile: str | None = None, engine: str = "auto"):
        self.limits = limits
        self.graphs = dict(dataset.graphs)
        self.sessions = len(dataset.sessions)
        self.library = library(ontology.directory)
        self._tmp = tempfile.TemporaryDirectory(prefix="chemoden-serve-")
        saved = dataset.store.save(Path(self._tmp.name))
        self.queries = Pool("query", _query_worker, (str(saved), dataset.store.kind, list(self.graphs)), max(1, workers))
        self.coder = Pool("coding", _code_worker, (str(ontology.directory), profile, engine), 1)
        self.assets = find_assets()

    def close(self) -> None:
        self.queries.close()
        self.coder.close()
        self._tmp.cleanup()


def find_assets() -> Path | None:
    """YASGUI's build folder: $CHEMODEN_WEB_ASSETS, else node_modules of the checkout (make setup).
    An installed package does not carry YASGUI (an npm package): the page then says how to get it."""
    candidates = [os.environ.get("CHEMODEN_WEB_ASSETS"),
                  Path(__file__).resolve().parents[2] / "node_modules" / "@zazuko" / "yasgui" / "build"]
    for c in candidates:
        if c and all((Path(c) / name).is_file() for name in STATIC):
            return Path(c)
    return None


class Handler(BaseHTTPRequestHandler):
    server_version = "chemoden"
    endpoint: Endpoint  # set on the subclass made for each server

    # -- plumbing ---------------------------------------------------------------
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        sys.stderr.write(f"{self.address_string()} {format % args}\n")

    def _send(self, status: int, body: bytes, content_type: str, extra: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Vary", "Accept")
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _fail(self, refusal: Refusal) -> None:
        self._send(refusal.status, (refusal.message + "\n").encode("utf-8"), refusal.content_type)

    def _body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if length is None:
            raise Refusal(411, "a request body needs a Content-Length")
        try:
            size = int(length)
        except ValueError:
            raise Refusal(400, f"Content-Length {length!r} is not a number") from None
        if size > self.endpoint.limits.max_request:
            self.close_connection = True
            raise Refusal(413, f"the request body has {size} bytes; the limit is {self.endpoint.limits.max_request}")
        return self.rfile.read(size)

    def _guarded(self, method) -> None:
        try:
            if len(self.path) > self.endpoint.limits.max_request:
                raise Refusal(414, f"the URL has {len(self.path)} characters; the limit is "
                                   f"{self.endpoint.limits.max_request} (send the query by POST)")
            method()
        except Refusal as refusal:
            self._fail(refusal)
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as exc:  # a bug: a 500 with one line, the server goes on
            self._fail(Refusal(500, f"internal error: {type(exc).__name__}: {exc}"))

    def do_GET(self) -> None:  # noqa: N802 - http.server's names
        self._guarded(self._get)

    do_HEAD = do_GET

    def do_POST(self) -> None:  # noqa: N802
        self._guarded(self._post)

    def _not_allowed(self) -> None:
        self._fail(Refusal(405, f"{self.command} is not supported: the endpoint is read-only"))

    do_PUT = do_DELETE = do_PATCH = _not_allowed

    # -- routes -----------------------------------------------------------------
    def _get(self) -> None:
        url = urlsplit(self.path)
        params = parse_qs(url.query, keep_blank_values=True)
        if url.path in ("/", "/index.html"):
            return self._send(200, self._page(), "text/html; charset=utf-8")
        if url.path == "/sparql":
            if "update" in params:
                params = _update_as_query(params)
            if "query" in params:
                return self._query(params)
            if "text/html" in (self.headers.get("Accept") or "") and "format" not in params:
                return self._send(303, b"", "text/plain", {"Location": "/"})
            return self._service_description(params)
        if url.path == "/queries":
            body = json.dumps([q.as_dict() for q in self.endpoint.library.values()], ensure_ascii=False)
            return self._send(200, body.encode("utf-8"), "application/json")
        if url.path == "/status":
            status = {"graphs": len(self.endpoint.graphs), "sessions": self.endpoint.sessions,
                      "query_workers": self.endpoint.queries.pids, "restarts": self.endpoint.queries.restarts,
                      "limits": self.endpoint.limits.__dict__}
            return self._send(200, json.dumps(status).encode("utf-8"), "application/json")
        if url.path == "/favicon.ico":
            return self._send(204, b"", "image/x-icon")
        if url.path.startswith("/static/"):
            name = url.path[len("/static/"):]
            if name in STATIC and self.endpoint.assets is not None:
                return self._send(200, (self.endpoint.assets / name).read_bytes(), STATIC[name],
                                  {"Cache-Control": "max-age=3600"})
        raise Refusal(404, f"nothing at {url.path}; the endpoint is /sparql, the query page /")

    def _post(self) -> None:
        url = urlsplit(self.path)
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if url.path == "/code":
            return self._code(parse_qs(url.query))
        if url.path != "/sparql":
            raise Refusal(404, f"nothing to POST to at {url.path}; queries go to /sparql, sessions to /code")
        body = self._body()
        params = parse_qs(url.query, keep_blank_values=True)
        if content_type == "application/sparql-update":
            try:
                params = _update_as_query({**params, "update": [body.decode("utf-8")]})
            except UnicodeDecodeError:
                raise Refusal(400, "the update is not UTF-8 text") from None
        elif content_type == "application/x-www-form-urlencoded":
            try:
                form = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
            except UnicodeDecodeError:
                raise Refusal(400, "the form is not UTF-8 text") from None
            for key, values in form.items():
                params.setdefault(key, []).extend(values)
            if "update" in params:
                params = _update_as_query(params)
        elif content_type == "application/sparql-query":
            try:
                params["query"] = [body.decode("utf-8")]
            except UnicodeDecodeError:
                raise Refusal(400, "the query is not UTF-8 text") from None
        else:
            raise Refusal(415, f"POST a query as application/sparql-query or application/x-www-form-urlencoded, "
                               f"not {content_type or 'no content type'}")
        if "query" not in params:
            raise Refusal(400, "no query: give the parameter 'query'")
        self._query(params)

    # -- SPARQL -----------------------------------------------------------------
    def _query(self, params: dict) -> None:
        queries = params.get("query", [])
        if len(queries) != 1 or not queries[0].strip():
            raise Refusal(400, "give exactly one non-empty 'query' parameter")
        text = queries[0]
        default_graphs = params.get("default-graph-uri") or None
        named_graphs = params.get("named-graph-uri") or None
        try:
            look = inspect(text, self.endpoint.graphs)
        except QueryError as exc:
            raise Refusal(exc.status, exc.message) from None
        explicit = (params.get("format") or params.get("output") or [None])[0]
        accept = self.headers.get("Accept")
        if look.form is not None:
            negotiate(look.form, accept, explicit)  # a 406 before the query runs
        limits = self.endpoint.limits
        status, fmt, body = self.endpoint.queries.call(
            (text, accept, explicit, default_graphs, named_graphs, limits.max_rows), limits.timeout)
        if status != 200:
            raise Refusal(status, body.decode("utf-8"))
        self._send(200, body, MEDIA_TYPES[fmt] + "; charset=utf-8")

    def _service_description(self, params: dict) -> None:
        sd = Namespace("http://www.w3.org/ns/sparql-service-description#")
        void = Namespace("http://rdfs.org/ns/void#")
        formats = Namespace("http://www.w3.org/ns/formats/")
        g = Graph(bind_namespaces="none")
        g.bind("sd", sd)
        g.bind("void", void)
        g.bind("formats", formats)
        host = self.headers.get("Host") or f"{self.server.server_address[0]}:{self.server.server_address[1]}"
        service = URIRef(f"http://{host}/sparql")
        g.add((service, RDF.type, sd.Service))
        g.add((service, sd.endpoint, service))
        g.add((service, sd.supportedLanguage, sd.SPARQL11Query))
        g.add((service, sd.feature, sd.UnionDefaultGraph))
        for name in ("SPARQL_Results_JSON", "SPARQL_Results_XML", "SPARQL_Results_CSV", "SPARQL_Results_TSV",
                     "Turtle", "JSON-LD", "N-Triples", "RDF_XML"):
            g.add((service, sd.resultFormat, formats[name]))
        dataset, default = BNode(), BNode()
        g.add((service, sd.defaultDataset, dataset))
        g.add((dataset, RDF.type, sd.Dataset))
        g.add((dataset, sd.defaultGraph, default))
        g.add((default, RDF.type, sd.Graph))
        g.add((default, void.triples, Literal(sum(self.endpoint.graphs.values()), datatype=XSD.integer)))
        for name, size in self.endpoint.graphs.items():
            named, graph = BNode(), BNode()
            g.add((dataset, sd.namedGraph, named))
            g.add((named, RDF.type, sd.NamedGraph))
            g.add((named, sd.name, URIRef(name)))
            g.add((named, sd.graph, graph))
            g.add((graph, RDF.type, sd.Graph))
            g.add((graph, void.triples, Literal(size, datatype=XSD.integer)))
        explicit = (params.get("format") or params.get("output") or [None])[0]
        fmt = negotiate("graph", self.headers.get("Accept"), explicit)
        rdflib_format = {"turtle": "turtle", "json-ld": "json-ld", "n-triples": "nt", "rdf-xml": "xml"}[fmt]
        self._send(200, g.serialize(format=rdflib_format).encode("utf-8"), MEDIA_TYPES[fmt] + "; charset=utf-8")

    # -- POST /code -------------------------------------------------------------
    def _code(self, params: dict) -> None:
        body = self._body()
        profile = (params.get("profile") or [None])[0]
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        fmt = SESSION_FORMATS.get(content_type)  # else sniffed from the text, as `chemoden code -` does
        status, text = self.endpoint.coder.call((body, fmt, profile), self.endpoint.limits.timeout)
        self._send(status, text.encode("utf-8"), "application/json")

    # -- the page ---------------------------------------------------------------
    def _page(self) -> bytes:
        html = (WEB / "index.html").read_text(encoding="utf-8")
        data = json.dumps([q.as_dict() for q in self.endpoint.library.values()], ensure_ascii=False)
        missing = "" if self.endpoint.assets else (
            '<p class="missing">The YASGUI files are not installed (in a checkout, run <code>make setup</code>, '
            "which runs <code>npm ci</code>; for an installed package, <code>npm install @zazuko/yasgui</code> "
            "and set <code>CHEMODEN_WEB_ASSETS</code> to its <code>build</code> folder); the form below sends "
            "queries to <code>/sparql</code>.</p>")
        return (html.replace("{{LIBRARY}}", data.replace("</", "<\\/"))
                .replace("{{MISSING}}", missing)
                .replace("{{SESSIONS}}", str(self.endpoint.sessions))).encode("utf-8")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64


def start(dataset, ontology, *, host: str = "127.0.0.1", port: int = 8000, workers: int = 2,
          limits: Limits = Limits(), profile: str | None = None, engine: str = "auto") -> tuple[Server, Endpoint]:
    """Bind the server and start its workers; serve_forever() is the caller's."""
    endpoint = Endpoint(dataset, ontology, workers=workers, limits=limits, profile=profile, engine=engine)
    handler = type("BoundHandler", (Handler,), {"endpoint": endpoint})
    try:
        server = Server((host, port), handler)
    except OSError as exc:
        endpoint.close()
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}", field="--host/--port") from None
    # ready means ready for both kinds of request: a first POST /code must not wait for its worker
    for pool in (endpoint.queries, endpoint.coder):
        if not pool.wait_ready(120):
            server.server_close()
            endpoint.close()
            raise ChemodenError(f"no {pool.name} worker started (see the messages above)")
    return server, endpoint


def serve(dataset, ontology, *, host: str = "127.0.0.1", port: int = 8000, workers: int = 2,
          limits: Limits = Limits(), profile: str | None = None, engine: str = "auto") -> int:
    server, endpoint = start(dataset, ontology, host=host, port=port, workers=workers, limits=limits,
                             profile=profile, engine=engine)
    bound_host, bound_port = server.server_address[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    print(f"chemoden: SPARQL endpoint http://{shown}:{bound_port}/sparql ; query page http://{shown}:{bound_port}/ "
          f"({len(endpoint.graphs)} graphs, {endpoint.sessions} sessions; Ctrl-C stops)", file=sys.stderr, flush=True)
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"chemoden: warning: listening on {host}, reachable from other machines", file=sys.stderr, flush=True)
    def stop(signum, frame):  # `kill` stops the server as Ctrl-C does: workers ended, files removed
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        endpoint.close()
    return EXIT_INPUT if dataset.failures else EXIT_OK
