"""`chemoden serve`: a read-only SPARQL 1.1 Protocol endpoint over the dataset, a YASGUI page
and POST /code, on Starlette and uvicorn.

The HTTP side (uvicorn's h11 parser: strict Content-Length, header size limit; a cap on
connections; timeouts for slow and stalled clients) checks who calls, sizes, nesting and
formats, and refuses what a closed, read-only endpoint must refuse before anything reaches a
worker. Queries and coding run in worker processes (workers.py): a query first gets a worker of
the short lane for a short budget; one that overruns it is stopped there, remembered, and run
again in the long lane (by default one worker, at a lower CPU priority) for the rest of the time
limit, so heavy queries cannot take every worker.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import os
import resource
import secrets
import socket
import tempfile
import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from urllib.parse import parse_qs

import h11
import uvicorn
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDF, XSD
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from uvicorn.protocols.http.h11_impl import H11Protocol

from ..core.errors import EXIT_INPUT, EXIT_OK, ChemodenError, InputError, QueryError, Refusal
from ..core.nesting import brackets, depth
from ..core.vocab import PREFIXES
from ..engines.answer import MEDIA_TYPES
from ..engines.protocol import describe_prefixes, endpoint_base, one_query, refuse_graph_store
from ..engines.sandbox import unavailable
from ..engines.store import GraphNames
from ..knowledge import vocabulary
from ..knowledge.library import library
from .negotiation import negotiate
from .workers import Died, Overrun, Pool, WorkerSettings, code_worker, log, query_worker

WEB = resources.files("reasoner") / "web"  # the query page, carried by the package
# Only these files are served from the YASGUI package (never a path from the request).
STATIC = {"yasgui.min.js": "text/javascript", "yasgui.min.css": "text/css"}
# POST /code: the session's format by Content-Type (JSON, JSON-LD or Turtle, as `chemoden code` reads)
SESSION_FORMATS = {"application/json": "json", "application/ld+json": "json", "text/turtle": "turtle",
                   "application/x-turtle": "turtle", "text/plain": "text"}  # text/plain: a procedure note
LOOPBACK = ("127.0.0.1", "::1", "localhost")


@dataclass(frozen=True)
class Limits:
    timeout: float = 30.0  # seconds a query (or a POST /code) may take, waiting for a worker included
    max_rows: int = 100_000  # rows of a SELECT answer, triples of a CONSTRUCT or DESCRIBE answer
    max_request: int = 1_000_000  # bytes of a request body or URL
    max_response: int = 64 * 1024 * 1024  # bytes of a rendered answer
    max_depth: int = 64  # nesting of brackets in a query, or of arrays and objects in a session
    max_brackets: int = 20_000  # brackets in a query, in any context (the hard bound on nesting)
    short_budget: float = 1.0  # CPU seconds a query may use in the short lane before the long lane takes it
    queue_wait: float = 5.0  # seconds a request waits for a free worker before a 503 with Retry-After
    header_timeout: float = 10.0  # seconds a client may take to send a request's headers
    body_timeout: float = 10.0  # seconds a client may take to send a request's body
    keep_alive: float = 5.0  # seconds an idle connection is kept open
    max_connections: int = 500  # open connections; past it, new requests get a 503
    max_header: int = 16 * 1024  # bytes of a request line and headers
    worker_memory: int = 2048  # MiB of address space per worker process


@dataclass
class Access:
    """Who may call: Host names served, and origins whose POSTs are run (besides the page's own)."""

    hosts: set[str] = field(default_factory=set)
    origins: set[str] = field(default_factory=set)


# ---------------------------------------------------------------------------
# HTTP/1.1 with a deadline for the headers
# ---------------------------------------------------------------------------

class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, closing a connection whose request headers do not arrive within
    `header_timeout` (uvicorn's keep-alive timer is reset by every byte, so a client trickling
    headers would hold the connection for ever)."""

    header_timeout = 10.0

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._headers_due = self.loop.call_later(self.header_timeout, self._headers_late)

    def _headers_late(self) -> None:
        if not self.transport.is_closing():
            self.transport.close()

    def handle_events(self) -> None:
        super().handle_events()
        if self._headers_due is not None and self.conn.their_state in (h11.SEND_BODY, h11.DONE, h11.MUST_CLOSE):
            self._headers_due.cancel()
            self._headers_due = None

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._headers_due is None and not self.transport.is_closing():  # the next request's headers
            self._headers_due = self.loop.call_later(self.header_timeout, self._headers_late)

    def connection_lost(self, exc) -> None:
        if self._headers_due is not None:
            self._headers_due.cancel()
        super().connection_lost(exc)


# ---------------------------------------------------------------------------
# What the routes share
# ---------------------------------------------------------------------------

def _update_as_query(params: dict) -> dict:
    """An update operation is refused (403). But SPARQLWrapper, reading a query's comment lines,
    sends some queries as updates ('add' in '# ... add-on codes'): one text is sent on as a query,
    and the worker's grammar check refuses it (403) if it is an update."""
    texts = params.get("update", [])
    if len(texts) == 1 and "query" not in params:
        return {**{k: v for k, v in params.items() if k != "update"}, "query": texts}
    raise Refusal(403, "SPARQL Update is refused: the endpoint is read-only")


def check_nesting(text: str, limits: Limits) -> None:
    """Refuse a query nested deeper than the parsers may go, before any parser sees it."""
    levels = depth(text)
    if levels > limits.max_depth:
        raise Refusal(400, f"the query nests brackets {levels} deep; the limit is {limits.max_depth}")
    count = brackets(text)
    if count > limits.max_brackets:
        raise Refusal(400, f"the query has {count} brackets; the limit is {limits.max_brackets}")


class Endpoint:
    """The dataset's description, the worker pools, the limits and the access lists."""

    def __init__(self, dataset, ontology, *, workers: int = 2, long_workers: int = 1, code_workers: int = 1,
                 limits: Limits = Limits(), access: Access | None = None, profile: str | None = None,
                 engine: str = "auto"):
        self.limits = limits
        self.access = access or Access()
        self.graphs = dict(sorted(dataset.graphs.items()))
        self.sessions = len(dataset.sessions) + dataset.stored_sessions
        self.library = library(ontology.directory)
        self.ontology_graph = ontology.graph  # the asserted ontology, which /vocabulary describes
        self._tmp = tempfile.TemporaryDirectory(prefix="chemoden-serve-")
        saved = str(dataset.store.save(Path(self._tmp.name)))
        # a history store's graphs are asked of the store by each worker (None), not listed here
        kind, names = dataset.store.kind, (None if isinstance(dataset.graphs, GraphNames) else list(self.graphs))
        memory = limits.worker_memory or None
        retry = max(1, round(limits.queue_wait))
        self.started = threading.Event()  # every pool has started (see start)
        self.short = Pool("query", query_worker, (saved, kind, names, WorkerSettings(memory, 0, limits.max_response)),
                          workers, spares=workers, retry_after=retry, started=self.started)
        self.long = Pool("long-query", query_worker, (saved, kind, names, WorkerSettings(memory, 10, limits.max_response)),
                         long_workers, retry_after=retry, started=self.started)
        self.coder = Pool("coding", code_worker, (str(ontology.directory), profile, engine, WorkerSettings(memory, 5)),
                          code_workers, retry_after=retry, started=self.started)
        self.pools = (self.short, self.long, self.coder)
        self.heavy: OrderedDict[str, None] = OrderedDict()  # queries that overran the short budget
        # queries known to be cheap: the library's, and those that finished within the budget
        self.cheap: OrderedDict[str, None] = OrderedDict((_fingerprint(q.text), None) for q in self.library.values())
        # queries never seen may hold all but one short-lane worker (with one worker, that one)
        self._unknown = asyncio.Semaphore(max(1, workers - 1))
        self.wall_reason = unavailable()  # why the workers' network wall cannot go up (None: it does)
        self.assets = find_assets()

    async def start(self) -> None:
        """Start every pool; ready once the query workers can answer. The coding worker and the
        short lane's spares go on starting meanwhile, and until they all have, a request waits for
        a worker as long as a start may take instead of being refused as busy."""
        for pool in self.pools:
            pool.start()
        for pool in (self.short, self.long):
            if not await pool.ready(300, minimum=pool.size):
                raise ChemodenError(f"no {pool.name} worker started (see the messages above)")
        self.short.start_spares()
        self._starting = asyncio.create_task(self._all_started())

    async def _all_started(self) -> None:
        for pool in self.pools:
            if not await pool.ready(300):
                log(f"warning: not every {pool.name} worker started (see the messages above)")
        self.started.set()

    def close(self) -> None:
        for pool in self.pools:
            pool.close()
        self._tmp.cleanup()

    async def query(self, request: tuple, text: str) -> tuple:
        """(status, format, body) from a worker. A query known to be cheap (a library query, or one
        that finished within the short budget before) runs in the short lane; one never seen runs
        there too, but never on every short-lane worker at once (one is always left for the cheap);
        one known to be heavy goes to the long lane, as does one that overruns the short budget."""
        limits = self.limits
        key = _fingerprint(text)
        loop = asyncio.get_running_loop()
        start = loop.time()
        if key not in self.heavy:
            known = key in self.cheap
            try:
                if known:
                    reply = await self._short(request)
                else:
                    try:
                        await asyncio.wait_for(self._unknown.acquire(), timeout=limits.queue_wait)
                    except TimeoutError:
                        raise Refusal(503, f"every query worker is busy; try again in {self.short.retry_after} s") from None
                    try:
                        reply = await self._short(request)
                    finally:
                        self._unknown.release()
                _remember(self.cheap, key)
                return reply
            except Overrun:
                self.cheap.pop(key, None)
                _remember(self.heavy, key)
                if loop.time() - start >= limits.timeout:
                    raise self._stopped() from None
            except Died as died:
                raise self._died("query", died) from None
        else:
            self.heavy.move_to_end(key)
        remaining = limits.timeout - (loop.time() - start)
        try:
            return await self.long.call(request, timeout=remaining, wait=min(limits.queue_wait, remaining))
        except Overrun:
            raise self._stopped() from None
        except Died as died:
            raise self._died("query", died) from None

    async def _short(self, request: tuple):
        # the short lane's budget is CPU time: a cheap query slowed by a busy machine stays (and
        # is not remembered as heavy); one that computes moves on
        limits = self.limits
        return await self.short.call(request, timeout=limits.timeout, wait=limits.queue_wait,
                                     cpu_budget=limits.short_budget)

    def _stopped(self) -> Refusal:
        return Refusal(503, f"stopped after the time limit of {self.limits.timeout:g} s: the query was cancelled "
                            "(its worker process was ended and replaced)")

    def _died(self, what: str, died: Died) -> Refusal:
        return Refusal(503, f"the {what} worker ended ({died}): the request may need more memory than a worker "
                            f"may use ({self.limits.worker_memory} MiB); it has been replaced")

    async def code(self, body: bytes, fmt: str | None, profile: str | None) -> tuple[int, str]:
        try:
            return await self.coder.call((body, fmt, profile), timeout=self.limits.timeout, wait=self.limits.queue_wait)
        except Overrun:
            raise Refusal(503, f"stopped after the time limit of {self.limits.timeout:g} s: the coding was cancelled "
                               "(its worker process was ended and replaced)") from None
        except Died as died:
            raise self._died("coding", died) from None


def _fingerprint(text: str) -> str:
    return hashlib.sha256(" ".join(text.split()).encode()).hexdigest()


def _remember(keys: OrderedDict, key: str, most: int = 4096) -> None:
    keys[key] = None
    keys.move_to_end(key)
    while len(keys) > most:
        keys.popitem(last=False)


def find_assets() -> Path | None:
    """YASGUI's build folder: $CHEMODEN_WEB_ASSETS, else node_modules of the checkout (make setup).
    An installed package does not carry YASGUI (an npm package): the page then says how to get it."""
    candidates = [os.environ.get("CHEMODEN_WEB_ASSETS"),
                  Path(__file__).resolve().parents[2] / "node_modules" / "@zazuko" / "yasgui" / "build"]
    for c in candidates:
        if c and all((Path(c) / name).is_file() for name in STATIC):
            return Path(c)
    return None


# ---------------------------------------------------------------------------
# Routes
# ---------------------------------------------------------------------------

def _text(status: int, message: str, headers: dict | None = None) -> Response:
    return Response((message + "\n").encode("utf-8"), status, headers=headers, media_type="text/plain; charset=utf-8")


def _refused(refusal: Refusal) -> Response:
    headers = {}
    if refusal.status == 503 and "busy" in refusal.message:
        headers["Retry-After"] = refusal.message.rsplit("in ", 1)[-1].split()[0]
    if refusal.status in (408, 413):
        headers["Connection"] = "close"
    if refusal.content_type.startswith("application/json"):
        return Response(refusal.message.encode("utf-8"), refusal.status, headers=headers, media_type=refusal.content_type)
    return _text(refusal.status, refusal.message, headers)


async def read_body(request: Request, limits: Limits) -> bytes:
    """The request body within the size limit and the body deadline (a client that stalls or
    sends less than its Content-Length is answered 408 and the connection closed)."""
    declared = request.headers.get("content-length")
    if declared is not None and int(declared) > limits.max_request:  # h11 has checked it is one number
        raise Refusal(413, f"the request body has {declared} bytes; the limit is {limits.max_request}")
    chunks, size = [], 0
    try:
        async with asyncio.timeout(limits.body_timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limits.max_request:
                    raise Refusal(413, f"the request body has more than {limits.max_request} bytes; "
                                       f"the limit is {limits.max_request}")
                chunks.append(chunk)
    except TimeoutError:
        raise Refusal(408, f"the request body did not arrive within {limits.body_timeout:g} s") from None
    except ClientDisconnect:
        raise Refusal(400, "the client closed the connection before the body arrived") from None
    return b"".join(chunks)


def _decode(body: bytes, what: str) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Refusal(400, f"the {what} is not UTF-8 text (byte {exc.start})") from None


def _params(query_string: str) -> dict:
    try:
        return parse_qs(query_string, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        raise Refusal(400, "the URL's parameters are not UTF-8 text") from None


class App:
    def __init__(self, endpoint: Endpoint):
        self.endpoint = endpoint
        self._vocabulary: bytes | None = None

    # -- /sparql ----------------------------------------------------------------
    async def sparql(self, request: Request) -> Response:
        params = _params(request.url.query)
        if request.method in ("GET", "HEAD"):
            if "update" in params:
                params = _update_as_query(params)
            if "query" in params:
                return await self._query(request, params)
            refuse_graph_store(params)
            if "text/html" in (request.headers.get("accept") or "") and "format" not in params:
                return Response(b"", 303, headers={"Location": "/"})
            return self._service_description(request, params)
        body = await read_body(request, self.endpoint.limits)
        content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
        body_params = None
        if content_type == "application/sparql-update":
            params = _update_as_query({**params, "update": [_decode(body, "update")]})
        elif content_type == "application/x-www-form-urlencoded":
            form = _params(_decode(body, "form"))
            # the body's query is kept apart, so that one in the URL too is refused naming both places
            body_params = {"query": form.pop("query")} if "query" in form else None
            for key, values in form.items():
                params.setdefault(key, []).extend(values)
            if "update" in params:
                params = _update_as_query({**params, **(body_params or {})})
        elif content_type == "application/sparql-query":
            body_params = {"query": [_decode(body, "query")]}
        else:
            raise Refusal(415, "POST a query as application/sparql-query or application/x-www-form-urlencoded, "
                               f"not {content_type or 'no content type'}")
        return await self._query(request, params, body_params)

    async def _query(self, request: Request, params: dict, body_params: dict | None = None) -> Response:
        text = one_query(params, body_params)
        limits = self.endpoint.limits
        check_nesting(text, limits)
        base = endpoint_base(request.headers.get("host"), request.scope["server"] or ("127.0.0.1", 0))
        # The grammar check (SERVICE, updates, FROM) runs in the worker, under the time limit: a
        # long text costs the server's own process nothing
        explicit = (params.get("format") or params.get("output") or [None])[0]
        accept = request.headers.get("accept")
        default_graphs = params.get("default-graph-uri") or None
        named_graphs = params.get("named-graph-uri") or None
        status, fmt, body = await self.endpoint.query(
            (text, accept, explicit, default_graphs, named_graphs, limits.max_rows, base), text)
        if status != 200:
            raise Refusal(status, body.decode("utf-8"))
        return Response(body, 200, media_type=MEDIA_TYPES[fmt] + "; charset=utf-8", headers={"Vary": "Accept"})

    def _service_description(self, request: Request, params: dict) -> Response:
        sd = Namespace("http://www.w3.org/ns/sparql-service-description#")
        void = Namespace("http://rdfs.org/ns/void#")
        formats = Namespace("http://www.w3.org/ns/formats/")
        g = Graph(bind_namespaces="none")
        g.bind("sd", sd)
        g.bind("void", void)
        g.bind("formats", formats)
        service = URIRef(endpoint_base(request.headers.get("host"), request.scope["server"] or ("127.0.0.1", 0)))
        g.add((service, RDF.type, sd.Service))
        g.add((service, sd.endpoint, service))
        g.add((service, sd.supportedLanguage, sd.SPARQL11Query))
        g.add((service, sd.feature, sd.UnionDefaultGraph))
        describe_prefixes(g, service)  # the prefixes a query may use without a PREFIX line
        for name in ("SPARQL_Results_JSON", "SPARQL_Results_XML", "SPARQL_Results_CSV", "SPARQL_Results_TSV",
                     "Turtle", "JSON-LD", "N-Triples", "RDF_XML"):
            g.add((service, sd.resultFormat, formats[name]))
        dataset, default = BNode("dataset"), BNode("default")
        g.add((service, sd.defaultDataset, dataset))
        g.add((dataset, RDF.type, sd.Dataset))
        g.add((dataset, sd.defaultGraph, default))
        g.add((default, RDF.type, sd.Graph))
        g.add((default, void.triples, Literal(sum(self.endpoint.graphs.values()), datatype=XSD.integer)))
        for n, (name, size) in enumerate(self.endpoint.graphs.items()):  # sorted by name: a stable order
            named, graph = BNode(f"named{n:05d}"), BNode(f"graph{n:05d}")
            g.add((dataset, sd.namedGraph, named))
            g.add((named, RDF.type, sd.NamedGraph))
            g.add((named, sd.name, URIRef(name)))
            g.add((named, sd.graph, graph))
            g.add((graph, RDF.type, sd.Graph))
            g.add((graph, void.triples, Literal(size, datatype=XSD.integer)))
        explicit = (params.get("format") or params.get("output") or [None])[0]
        fmt = negotiate("graph", request.headers.get("accept"), explicit)
        rdflib_format = {"turtle": "turtle", "json-ld": "json-ld", "n-triples": "nt", "rdf-xml": "xml"}[fmt]
        return Response(g.serialize(format=rdflib_format).encode("utf-8"), 200,
                        media_type=MEDIA_TYPES[fmt] + "; charset=utf-8", headers={"Vary": "Accept"})

    # -- /code --------------------------------------------------------------------
    async def code(self, request: Request) -> Response:
        body = await read_body(request, self.endpoint.limits)
        profile = (_params(request.url.query).get("profile") or [None])[0]
        content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
        fmt = SESSION_FORMATS.get(content_type)  # else sniffed from the text, as `chemoden code -` does
        status, text = await self.endpoint.code(body, fmt, profile)
        return Response(text.encode("utf-8"), status, media_type="application/json")

    # -- the rest -------------------------------------------------------------------
    async def page(self, request: Request) -> Response:
        nonce = secrets.token_urlsafe(16)
        html = (WEB / "index.html").read_text(encoding="utf-8")
        data = json.dumps([q.as_dict() for q in self.endpoint.library.values()], ensure_ascii=False)
        missing = "" if self.endpoint.assets else (
            '<p class="missing">The YASGUI files are not installed (in a checkout, run <code>make setup</code>, '
            "which runs <code>npm ci</code>; for an installed package, <code>npm install @zazuko/yasgui</code> "
            "and set <code>CHEMODEN_WEB_ASSETS</code> to its <code>build</code> folder); the form below sends "
            "queries to <code>/sparql</code>.</p>")
        html = (html.replace("{{LIBRARY}}", data.replace("</", "<\\/"))
                .replace("{{PREFIXES}}", json.dumps(PREFIXES).replace("</", "<\\/"))
                .replace("{{MISSING}}", missing)
                .replace("{{SESSIONS}}", str(self.endpoint.sessions))
                .replace("<script", f'<script nonce="{nonce}"'))
        # the page runs its own scripts only, talks to this server only, and is never framed
        csp = (f"default-src 'none'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; "
               "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; form-action 'self'; "
               "base-uri 'none'; frame-ancestors 'none'")
        return Response(html.encode("utf-8"), 200, media_type="text/html; charset=utf-8",
                        headers={"Content-Security-Policy": csp, "X-Frame-Options": "DENY",
                                 "Referrer-Policy": "no-referrer"})

    async def vocabulary(self, request: Request) -> Response:
        if self._vocabulary is None:  # built once, on first asking, off the event loop (a few tenths of a second)
            reference = await asyncio.to_thread(vocabulary.build, self.endpoint.ontology_graph)
            self._vocabulary = vocabulary.page(reference).encode("utf-8")
        # a static page: no script at all, its one inline style by hash, never framed
        style = base64.b64encode(hashlib.sha256(vocabulary.STYLE.encode("utf-8")).digest()).decode("ascii")
        csp = (f"default-src 'none'; style-src 'sha256-{style}'; base-uri 'none'; form-action 'none'; "
               "frame-ancestors 'none'")
        return Response(self._vocabulary, 200, media_type="text/html; charset=utf-8",
                        headers={"Content-Security-Policy": csp, "X-Frame-Options": "DENY",
                                 "Referrer-Policy": "no-referrer"})

    async def queries(self, request: Request) -> Response:
        body = json.dumps([q.as_dict() for q in self.endpoint.library.values()], ensure_ascii=False)
        return Response(body.encode("utf-8"), 200, media_type="application/json")

    async def status(self, request: Request) -> Response:
        e = self.endpoint
        status = {"graphs": len(e.graphs), "sessions": e.sessions,
                  "query_workers": e.short.pids + e.long.pids, "short_lane": e.short.pids, "long_lane": e.long.pids,
                  "idle": {p.name: p.idle for p in e.pools}, "ready_spares": e.short.ready_spares,
                  "coding_workers": e.coder.pids, "restarts": sum(p.restarts for p in e.pools),
                  "worker_deaths": sum(p.deaths for p in e.pools), "heavy_queries_remembered": len(e.heavy), "cheap_queries_remembered": len(e.cheap),
                  "network_wall": e.wall_reason is None, "network_wall_reason": e.wall_reason,
                  "limits": asdict(e.limits), "allowed_hosts": sorted(e.access.hosts),
                  "allowed_origins": sorted(e.access.origins)}
        return Response(json.dumps(status).encode("utf-8"), 200, media_type="application/json")

    async def static(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name in STATIC and self.endpoint.assets is not None:
            return Response((self.endpoint.assets / name).read_bytes(), 200, media_type=STATIC[name],
                            headers={"Cache-Control": "max-age=3600"})
        raise Refusal(404, f"nothing at /static/{name}")

    async def favicon(self, request: Request) -> Response:
        return Response(b"", 204, media_type="image/x-icon")


# ---------------------------------------------------------------------------
# The gate every request passes first
# ---------------------------------------------------------------------------

def _host_name(value: str) -> str | None:
    """The host of a Host header without its port, lower-cased; None when malformed."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        host, rest = value[1:end], value[end + 1:]
    else:
        host, _, port = value.partition(":")
        rest = ":" + port if _ else ""
    if rest and not (rest.startswith(":") and rest[1:].isdigit() and len(rest) <= 6):
        return None
    if not host or any(c in host for c in " /\\@?#%\t"):
        return None
    return host


class Gate:
    """ASGI middleware: Host allow-list (against DNS rebinding), Origin allow-list for requests
    that change or compute (POST), size of the URL, one clear 4xx for every refusal, security
    headers on every answer, and no traceback ever."""

    def __init__(self, app, endpoint: Endpoint):
        self.app = app
        self.endpoint = endpoint

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_guarded(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                for key, value in ((b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
                                   (b"cross-origin-resource-policy", b"same-origin")):
                    if key not in names:
                        headers.append((key, value))
                message = {**message, "headers": headers}
            await send(message)

        started = False

        async def send_tracked(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send_guarded(message)

        try:
            self._admit(scope)
            await self.app(scope, receive, send_tracked)
        except Refusal as refusal:
            if not started:
                await _refused(refusal)(scope, receive, send_guarded)
        except QueryError as exc:  # the engines' protocol checks (engines/protocol.py)
            if not started:
                await _refused(Refusal(exc.status, exc.message))(scope, receive, send_guarded)
        except Exception as exc:  # a bug: one line in the log and to the client, the server goes on
            log(f"internal error on {scope['method']} {scope['path']}: {type(exc).__name__}: {exc}")
            if not started:
                await _text(500, f"internal error: {type(exc).__name__}: {exc}")(scope, receive, send_guarded)

    def _admit(self, scope) -> None:
        headers = {}
        for key, value in scope["headers"]:
            headers.setdefault(key.decode("latin-1"), value.decode("latin-1"))
        host = headers.get("host")
        if host is None:
            raise Refusal(400, "the request has no Host header")
        name = _host_name(host)
        if name is None:
            raise Refusal(400, f"the Host header {host!r} is malformed")
        if name not in self.endpoint.access.hosts:
            raise Refusal(403, f"this server does not answer for host {name!r} (start it with --allow-host {name} "
                               "to serve that name)")
        length = len(scope.get("raw_path", b"")) + len(scope.get("query_string", b""))
        if length > self.endpoint.limits.max_request:
            raise Refusal(414, f"the URL has {length} characters; the limit is {self.endpoint.limits.max_request} "
                               "(send the query by POST)")
        origin = headers.get("origin")
        if scope["method"] not in ("GET", "HEAD", "OPTIONS") and origin is not None:
            own = f"{scope.get('scheme', 'http')}://{host.strip().lower()}"
            if origin.lower() != own and origin not in self.endpoint.access.origins:
                raise Refusal(403, f"requests from the web page at {origin!r} are refused (start the server with "
                                   f"--allow-origin {origin} to accept them)")


def build_app(endpoint: Endpoint):
    routes = App(endpoint)

    async def not_found(request: Request, exc) -> Response:
        return _text(404, f"nothing at {request.url.path}; the endpoint is /sparql, the query page /, sessions go to /code")

    async def not_allowed(request: Request, exc) -> Response:
        allowed = {"/code": "POST"}.get(request.url.path, "GET, HEAD, POST" if request.url.path == "/sparql" else "GET, HEAD")
        return _text(405, f"{request.method} is not supported at {request.url.path} (allowed: {allowed}); "
                          "the endpoint is read-only", {"Allow": allowed})

    async def refused(request: Request, exc: Refusal) -> Response:
        return _refused(exc)

    async def query_error(request: Request, exc: QueryError) -> Response:
        return _refused(Refusal(exc.status, exc.message))

    @contextlib.asynccontextmanager
    async def lifespan(app):
        await endpoint.start()
        yield

    app = Starlette(
        routes=[Route("/", routes.page, methods=["GET", "HEAD"]),
                Route("/index.html", routes.page, methods=["GET", "HEAD"]),
                Route("/sparql", routes.sparql, methods=["GET", "HEAD", "POST"]),
                Route("/code", routes.code, methods=["POST"]),
                Route("/queries", routes.queries, methods=["GET", "HEAD"]),
                Route("/vocabulary", routes.vocabulary, methods=["GET", "HEAD"]),
                Route("/status", routes.status, methods=["GET", "HEAD"]),
                Route("/favicon.ico", routes.favicon, methods=["GET", "HEAD"]),
                Route("/static/{name:path}", routes.static, methods=["GET", "HEAD"])],
        exception_handlers={404: not_found, 405: not_allowed, Refusal: refused, QueryError: query_error},
        lifespan=lifespan)
    return Gate(app, endpoint)


# ---------------------------------------------------------------------------
# Start-up
# ---------------------------------------------------------------------------

def _open_files(wanted: int) -> None:
    """Raise this process's open-file limit towards `wanted` (the usual soft limit of 1,024 is
    less than the connection cap): as far as the hard limit allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def listen(host: str, port: int) -> socket.socket:
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # IPPROTO_TCP said outright: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on
        # sockets that say so, and with it on every answer waited 40 ms for a delayed ACK
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        sock.listen(1024)
    except OSError as exc:
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}", field="--host/--port") from None
    sock.set_inheritable(True)
    return sock


def default_access(host: str, port: int, hosts=(), origins=()) -> Access:
    """The bound address and localhost (when bound to a loopback address), plus what was allowed."""
    names = {host.lower().strip("[]")}
    if host in LOOPBACK or host.startswith("127."):
        names |= set(LOOPBACK)
    names |= {h.lower().strip("[]") for h in hosts}
    return Access(hosts=names, origins=set(origins))


def serve(dataset, ontology, *, host: str = "127.0.0.1", port: int = 8000, workers: int = 2, long_workers: int = 1,
          code_workers: int = 1, limits: Limits = Limits(), allow_hosts=(), allow_origins=(),
          profile: str | None = None, engine: str = "auto") -> int:
    sock = listen(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    access = default_access(host, bound_port, allow_hosts, allow_origins)
    endpoint = Endpoint(dataset, ontology, workers=workers, long_workers=long_workers, code_workers=code_workers,
                        limits=limits, access=access, profile=profile, engine=engine)
    _open_files(limits.max_connections + 256)
    GuardedH11Protocol.header_timeout = limits.header_timeout
    config = uvicorn.Config(build_app(endpoint), http=GuardedH11Protocol, lifespan="on", log_level="warning",
                            access_log=False, server_header=False, limit_concurrency=limits.max_connections,
                            timeout_keep_alive=limits.keep_alive, h11_max_incomplete_event_size=limits.max_header,
                            timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host

    async def run() -> None:
        ready = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not ready.done():
            await asyncio.sleep(0.05)
        if server.started:
            log(f"SPARQL endpoint http://{shown}:{bound_port}/sparql ; query page http://{shown}:{bound_port}/ "
                f"({len(endpoint.graphs)} graphs, {endpoint.sessions} sessions; Ctrl-C stops)")
            reason = endpoint.wall_reason
            log("outbound network blocked in the worker processes (seccomp)" if reason is None else
                f"warning: outbound network not blocked in the workers ({reason}); SERVICE is still refused "
                "by the SPARQL grammar check")
            if host not in LOOPBACK:
                log(f"warning: listening on {host}, reachable from other machines; answering for hosts "
                    f"{', '.join(sorted(access.hosts))}")
        await ready

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass
    finally:
        endpoint.close()
        sock.close()
    if not server.started:
        raise ChemodenError("the server did not start (see the messages above)")
    return EXIT_INPUT if dataset.failures else EXIT_OK

