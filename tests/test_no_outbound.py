"""No query makes Chemoden open a connection: each spelling of SERVICE (and text that only looks
like one) through the check (`inspect`, `run`), `chemoden query` and the endpoint, with a TCP
listener on 127.0.0.1 that the queries point at and that must see nothing. Then the second wall
itself (engines/sandbox.py): after it, no socket but AF_UNIX, and Oxigraph's SERVICE fails
without a request; in `chemoden query` and in the endpoint's query workers."""

import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from reasoner.core.errors import QueryError, QueryRefused
from reasoner.engines import registry, sandbox
from reasoner.engines.safety import inspect, run
from reasoner.engines.store import OxigraphStore, RdflibStore

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.xdist_group("serve")  # shares the endpoint of tests/test_serve.py
U = "http://127.0.0.1:PORT/"  # the listener; PORT is replaced by its port
HAS_OXIGRAPH = registry.has_oxigraph()

# (id, text, what becomes of it): "service" refused as SERVICE (403); "harmless" answered (200),
# SERVICE in it being only text; "unreadable" a syntax error (400) for rdflib's grammar, though
# Oxigraph would run it; "escape" refused (403) as an escape that spells another escape
QUERIES = [
    ("lt-before-service", f"PREFIX : <{U}> SELECT * WHERE {{ FILTER(1<2)SERVICE:internal-admin#>\n{{ ?s ?p ?o }} }}", "service"),
    ("lt-before-service-in-optional",
     f"PREFIX : <{U}> SELECT * WHERE {{ OPTIONAL {{ FILTER(1<2)SERVICE:internal-admin#>\n{{ ?s ?p ?o }} }} }}", "service"),
    ("le-before-service", f"PREFIX : <{U}> SELECT * WHERE {{ FILTER(1<=2)SERVICE:internal-admin#>\n{{ ?s ?p ?o }} }}", "service"),
    ("ne-before-service", f"PREFIX : <{U}> SELECT * WHERE {{ FILTER(1!=2)SERVICE:internal-admin{{ ?s ?p ?o }} }}", "service"),
    ("comments-between-tokens", f"SELECT * WHERE {{ SERVICE#a\n<{U}>#b\n{{ ?s ?p ?o }} }}", "service"),
    # Oxigraph ends a comment at a lone carriage return, rdflib's grammar at the next line feed
    ("comment-ended-by-a-lone-cr", f"SELECT * WHERE {{ BIND(1 AS ?x) # note\rSERVICE <{U}> {{ ?a ?b ?c }}\n}}", "service"),
    ("prefixed-name", f"PREFIX x: <{U}> SELECT * WHERE {{ SERVICE x:sparql {{ ?s ?p ?o }} }}", "service"),
    ("full-iri", f"SELECT * WHERE {{ SERVICE <{U}sparql> {{ ?s ?p ?o }} }}", "service"),
    ("variable-from-values", f"SELECT * WHERE {{ VALUES ?where {{ <{U}> }} SERVICE ?where {{ ?s ?p ?o }} }}", "service"),
    ("silent", f"SELECT * WHERE {{ SERVICE SILENT <{U}> {{ ?s ?p ?o }} }}", "service"),
    ("lower-case", f"select * where {{ service <{U}> {{ ?s ?p ?o }} }}", "service"),
    ("mixed-case-no-spaces", f"SeLeCt * WhErE {{ sErViCe<{U}>{{?s ?p ?o}} }}", "service"),
    ("escaped-keyword", f"SELECT * WHERE {{ \\u0053ERVICE <{U}> {{ ?s ?p ?o }} }}", "service"),
    ("escaped-keyword-long-form", f"SELECT * WHERE {{ \\U00000053ERV\\u0049CE <{U}> {{ ?s ?p ?o }} }}", "service"),
    ("escaped-iri", "SELECT * WHERE { SERVICE <\\u0068ttp://127.0.0.1:PORT/> { ?s ?p ?o } }", "service"),
    ("in-a-subquery", f"SELECT * WHERE {{ {{ SELECT * WHERE {{ SERVICE <{U}> {{ ?s ?p ?o }} }} }} }}", "service"),
    ("in-exists", f"SELECT * WHERE {{ BIND(1 AS ?x) FILTER EXISTS {{ SERVICE <{U}> {{ ?s ?p ?o }} }} }}", "service"),
    ("in-not-exists-in-bind", f"ASK {{ BIND(NOT EXISTS {{ SERVICE <{U}> {{ ?s ?p ?o }} }} AS ?b) }}", "service"),
    ("in-minus", f"SELECT * WHERE {{ BIND(1 AS ?x) MINUS {{ SERVICE <{U}> {{ ?x ?p ?o }} }} }}", "service"),
    ("in-union", f"SELECT * WHERE {{ {{ BIND(1 AS ?x) }} UNION {{ SERVICE <{U}> {{ ?s ?p ?o }} }} }}", "service"),
    ("in-graph", f"SELECT * WHERE {{ GRAPH ?g {{ SERVICE <{U}> {{ ?s ?p ?o }} }} }}", "service"),
    ("in-construct", f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ SERVICE <{U}> {{ ?s ?p ?o }} }}", "service"),
    ("in-describe", f"DESCRIBE ?s WHERE {{ SERVICE <{U}> {{ ?s ?p ?o }} }}", "service"),
    # Oxigraph reads \u0022 in a string as a quote inside it, rdflib as the string's end: what
    # runs is the text as the check read it, where the SERVICE is inside a long string
    ("escaped-quote-hides-nothing", f'SELECT * WHERE {{ BIND("\\u0022" AS ?x) SERVICE <{U}> {{ ?s ?p ?o }} }} #""" AS ?x) }}',
     "harmless"),
    ("in-a-string", f'SELECT * WHERE {{ BIND("SERVICE <{U}> {{ ?s ?p ?o }}" AS ?x) }}', "harmless"),
    ("in-a-long-string", f"SELECT * WHERE {{ BIND('''\nSERVICE <{U}> {{ ?s ?p ?o }}\n''' AS ?x) }}", "harmless"),
    ("in-a-comment", f"SELECT * WHERE {{ # SERVICE <{U}> {{ ?s ?p ?o }}\n BIND(1 AS ?x) }}", "harmless"),
    ("in-an-iri-and-names", f"PREFIX : <{U}> SELECT ?service WHERE {{ BIND(<{U}SERVICE> AS ?service) BIND(:SERVICE AS ?x) }}",
     "harmless"),
    ("lateral-unreadable-by-the-grammar", f"SELECT * WHERE {{ BIND(1 AS ?one) LATERAL {{ SERVICE <{U}> {{ ?s ?p ?o }} }} }}",
     "unreadable"),
    ("escaped-escape", f"SELECT * WHERE {{ BIND(1 AS ?x) }} # \\u005Cu000A SERVICE <{U}> {{ ?s ?p ?o }}", "escape"),
]
IDS = [q[0] for q in QUERIES]
STATUS = {"service": 403, "harmless": 200, "unreadable": 400, "escape": 403}


class Listener:
    """A TCP server on 127.0.0.1 that records every connection made to it."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connections: list[bytes] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(1)
                try:
                    self.connections.append(conn.recv(200) or b"(nothing sent)")
                except OSError:
                    self.connections.append(b"(connected)")

    def text(self, template: str) -> str:
        return template.replace("PORT", str(self.port))

    def assert_untouched(self, before: int) -> None:
        time.sleep(0.05)  # a connection made just now is recorded by the accepting thread
        assert self.connections[before:] == [], "a query made a connection"


@pytest.fixture(scope="module")
def listener():
    server = Listener()
    yield server
    server.sock.close()


def http(url, data=None, headers=None):
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _expect_refusal(exc_info, kind):
    exc = exc_info.value
    assert exc.status == STATUS[kind]
    if kind == "service":
        assert isinstance(exc, QueryRefused) and "SERVICE (a federated query) is refused" in exc.message
    elif kind == "escape":
        assert isinstance(exc, QueryRefused) and "escape" in exc.message
    else:
        assert not isinstance(exc, QueryRefused) and exc.message.startswith("SPARQL syntax error")


# --- the check and run() ---------------------------------------------------------------------

@pytest.mark.skipif(not HAS_OXIGRAPH, reason="pyoxigraph is not installed")
def test_the_listener_sees_what_oxigraph_sends_unchecked(listener):
    """The trap works: the attack's text given to Oxigraph unchecked reaches the listener."""
    import pyoxigraph

    before = len(listener.connections)
    with pytest.raises(OSError):
        list(pyoxigraph.Store().query(listener.text(QUERIES[0][1])))
    time.sleep(0.05)
    assert len(listener.connections) > before and b"/internal-admin" in listener.connections[-1]


@pytest.mark.parametrize("kind_of_store", ["oxigraph", "rdflib"])
@pytest.mark.parametrize("name, template, kind", QUERIES, ids=IDS)
def test_the_check_and_run(name, template, kind, kind_of_store, listener):
    if kind_of_store == "oxigraph" and not HAS_OXIGRAPH:
        pytest.skip("pyoxigraph is not installed")
    text = listener.text(template)
    store = OxigraphStore() if kind_of_store == "oxigraph" else RdflibStore()
    before = len(listener.connections)
    if kind == "harmless":
        inspect(text, {})
        answer = run(store, text, {})  # this process has no network wall: only the check stands
        assert answer.form in ("select", "ask")
    else:
        for check in (lambda: inspect(text), lambda: run(store, text, {})):
            with pytest.raises(QueryError) as exc_info:
                check()
            _expect_refusal(exc_info, kind)
    listener.assert_untouched(before)


GRAPHS = {"https://w3id.org/chemoden/graph/ontology", "https://w3id.org/chemoden/graph/ontology/inferred"}


@pytest.mark.parametrize("text, form, default, named", [
    ("SELECT * WHERE { ?s ?p ?o }", "select", (), ()),
    ("ask {}", "ask", (), ()),
    ("CONSTRUCT WHERE { ?s ?p ?o }", "graph", (), ()),
    ("DESCRIBE <urn:x>", "graph", (), ()),
    ("PREFIX g: <https://w3id.org/chemoden/graph/> SELECT * FROM g:ontology FROM NAMED g:ontology\\/inferred "
     "WHERE { ?s ?p ?o }", "select", ("https://w3id.org/chemoden/graph/ontology",),
     ("https://w3id.org/chemoden/graph/ontology/inferred",)),
    ("BASE <https://w3id.org/chemoden/graph/> SELECT * FROM <ontology> WHERE { ?s ?p ?o }", "select",
     ("https://w3id.org/chemoden/graph/ontology",), ()),
    ("# FROM <file:///etc/passwd>\nSELECT * WHERE { ?s ?p 'FROM <file:///etc/passwd>' }", "select", (), ()),
])
def test_form_and_dataset_clause_come_from_the_parse(text, form, default, named):
    look = inspect(text, GRAPHS)
    assert (look.form, look.from_graphs, look.from_named) == (form, default, named)


@pytest.mark.parametrize("text, error, words", [
    ("INSERT DATA { <urn:a> <urn:b> <urn:c> }", QueryRefused, "SPARQL Update is refused"),
    ("# a comment first\nLOAD <file:///etc/passwd>", QueryRefused, "SPARQL Update is refused"),
    ("SELECT * FROM <file:///etc/passwd> WHERE { ?s ?p ?o }", QueryRefused, "not a graph of this dataset"),
    ("SELECT * FROM x:g WHERE { ?s ?p ?o }", QueryError, "the prefix 'x:' is not declared"),
    ("SELECT * WHERE { ?s ?p '\\uD800' }", QueryError, "is not a Unicode character"),
    ("SELECT * WHERE { ?s ?p '\\U00FFFFFF' }", QueryError, "Invalid unicode code point"),
    # rdflib's parser recurses for each triple pattern of a block: beyond its depth, a 400, never a crash
    ("SELECT * WHERE { " + " ".join(f"?s <urn:p> ?o{i} ." for i in range(300)) + " }", QueryError, "nests deeper"),
])
def test_what_may_not_run_is_named(text, error, words):
    with pytest.raises(error) as exc_info:
        inspect(text, GRAPHS)
    assert type(exc_info.value) is error and words in exc_info.value.message


# --- chemoden query ----------------------------------------------------------------------------

# `chemoden query` runs the same check as above (engines/safety.py) and then the wall: one query
# of each way the check decides, each a process of its own (the whole family runs in-process above)
CLI = {"lt-before-service", "escaped-keyword", "comment-ended-by-a-lone-cr", "in-a-subquery",
       "escaped-quote-hides-nothing", "in-a-string", "lateral-unreadable-by-the-grammar", "escaped-escape"}


@pytest.mark.parametrize("name, template, kind", [q for q in QUERIES if q[0] in CLI], ids=sorted(CLI, key=IDS.index))
def test_chemoden_query(name, template, kind, listener):
    # refused before any session is coded; a harmless one runs over the ontology alone (faster)
    sessions = ["--session", "examples"] if kind != "harmless" else []
    before = len(listener.connections)
    proc = subprocess.run([sys.executable, "-m", "reasoner", "query", listener.text(template), *sessions],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert "Traceback" not in proc.stderr
    if kind == "harmless":
        assert proc.returncode == 0, proc.stderr
    else:
        assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1, proc.stderr
        assert proc.stderr.startswith("chemoden: QUERY: ")
        assert ("SERVICE (a federated query) is refused" in proc.stderr) == (kind == "service")
    listener.assert_untouched(before)


# --- the endpoint ------------------------------------------------------------------------------

@pytest.mark.parametrize("name, template, kind", QUERIES, ids=IDS)
def test_endpoint_get(name, template, kind, listener, endpoint):
    before = len(listener.connections)
    url = f"{endpoint}/sparql?" + urllib.parse.urlencode({"query": listener.text(template)})
    status, body = http(url, headers={"Accept": "application/sparql-results+json"})
    assert status == STATUS[kind], body
    if kind == "service":
        assert b"SERVICE (a federated query) is refused" in body
    listener.assert_untouched(before)


@pytest.mark.parametrize("name", ["lt-before-service", "lt-before-service-in-optional", "escaped-keyword",
                                  "comment-ended-by-a-lone-cr", "escaped-quote-hides-nothing", "in-a-string"])
@pytest.mark.parametrize("how", ["form", "sparql-query"])
def test_endpoint_post(name, how, listener, endpoint):
    _, template, kind = next(q for q in QUERIES if q[0] == name)
    text = listener.text(template)
    before = len(listener.connections)
    if how == "form":
        data, media = urllib.parse.urlencode({"query": text}).encode(), "application/x-www-form-urlencoded"
    else:
        data, media = text.encode("utf-8"), "application/sparql-query"
    status, body = http(f"{endpoint}/sparql", data, {"Content-Type": media, "Accept": "application/sparql-results+json"})
    assert status == STATUS[kind], body
    listener.assert_untouched(before)


# --- the network wall itself -------------------------------------------------------------------

WALL_PROBE = textwrap.dedent("""
    import json, socket, sys
    from reasoner.engines import sandbox
    port = int(sys.argv[1])
    out = {"up": sandbox.forbid_network(), "why": sandbox.unavailable()}
    if out["up"]:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
            out["tcp"] = "connected"
        except OSError as exc:
            out["tcp"] = exc.errno
        try:
            a, b = socket.socketpair()  # AF_UNIX, as multiprocessing's pipes are
            a.sendall(b"x")
            out["unix"] = b.recv(1).decode()
        except OSError as exc:
            out["unix"] = str(exc)
        try:
            import pyoxigraph
        except ImportError:
            out["oxigraph"] = "not installed"
        else:
            try:
                list(pyoxigraph.Store().query(f"SELECT * WHERE {{ SERVICE <http://127.0.0.1:{port}/> {{ ?s ?p ?o }} }}"))
                out["oxigraph"] = "answered"
            except Exception as exc:
                out["oxigraph"] = f"{type(exc).__name__}: {exc}"
    print(json.dumps(out))
""")


def _wall_unavailable() -> str | None:
    return sandbox.unavailable()


@pytest.mark.skipif(_wall_unavailable() is not None, reason=f"no network wall here: {_wall_unavailable()}")
def test_the_wall_refuses_every_socket_but_af_unix(listener):
    before = len(listener.connections)
    proc = subprocess.run([sys.executable, "-c", WALL_PROBE, str(listener.port)], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    if not out["up"]:
        pytest.skip(f"the seccomp filter could not be installed here: {out['why']}")
    assert out["tcp"] in (13, 1)  # EACCES (EPERM from an older kernel's answer)
    assert out["unix"] == "x"
    if out["oxigraph"] != "not installed":
        assert out["oxigraph"].startswith("PermissionError") and "denied" in out["oxigraph"]
    listener.assert_untouched(before)


@pytest.mark.skipif(_wall_unavailable() is not None, reason=f"no network wall here: {_wall_unavailable()}")
def test_chemoden_query_runs_behind_the_wall(listener):
    """The command puts the wall up before the user's query runs (and after, nothing gets out)."""
    script = textwrap.dedent("""
        import socket, sys
        from reasoner import cli
        status = cli.main(["query", "ASK {}"])
        try:
            socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5).close()
            print(status, "connected")
        except PermissionError:
            print(status, "refused")
    """)
    before = len(listener.connections)
    proc = subprocess.run([sys.executable, "-c", script, str(listener.port)], capture_output=True, text=True,
                          timeout=300, cwd=ROOT)
    assert proc.stdout.split()[-2:] == ["0", "refused"], proc.stdout + proc.stderr
    listener.assert_untouched(before)


def _filters(pid) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Seccomp_filters:"):
            return int(line.split()[1])
    pytest.skip("this kernel does not report seccomp filters in /proc")


@pytest.mark.skipif(_wall_unavailable() is not None, reason=f"no network wall here: {_wall_unavailable()}")
def test_the_endpoints_query_workers_are_behind_the_wall(endpoint):
    status, body = http(f"{endpoint}/status")
    pids = json.loads(body)["query_workers"]
    assert status == 200 and pids
    own = _filters(os.getpid())
    assert all(_filters(pid) > own for pid in pids)  # one filter more than they inherited
