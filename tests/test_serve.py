"""`chemoden serve` queried as informaticists' tools do: SPARQLWrapper over the SPARQL 1.1
Protocol on a loopback port, plus the limits, the refusals, the service description and POST /code.
The endpoint (tests/conftest.py) serves the example sessions with a 2 s time limit, 2,000 rows
and 100 kB requests."""

import io
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from xml.dom.minidom import parseString

import pytest
from conftest import ENDPOINT_LOG
from errors_matrix import several_cases
from rdflib import Graph, URIRef
from rdflib.namespace import RDF
from rdflib.query import Result
from SPARQLWrapper import CSV, JSON, JSONLD, POST, POSTDIRECTLY, TSV, TURTLE, XML, SPARQLWrapper

from reasoner import code_file
from reasoner.core.vocab import CD

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SESSIONS = sorted(p for p in EXAMPLES.rglob("*") if p.suffix in (".json", ".ttl"))
pytestmark = pytest.mark.xdist_group("serve")
LINES = """PREFIX cd: <https://w3id.org/chemoden#>
SELECT ?session ?code ?units WHERE {
  ?l cd:lineOf ?s ; cd:code/cd:notation ?code ; cd:units ?units . ?s cd:identifier ?session
}"""
# Runs for ever on any dataset of this size: three independent scans, joined
ENDLESS = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"


@pytest.fixture(scope="module")
def expected():
    return {(r.session.identifier, ln.code, str(ln.units)) for p in SESSIONS for r in code_file(p) for ln in r.lines}


def client(endpoint, text, fmt=JSON, method="GET"):
    sparql = SPARQLWrapper(f"{endpoint}/sparql")
    sparql.setQuery(text)
    sparql.setReturnFormat(fmt)
    sparql.setMethod(method)
    sparql.setTimeout(30)
    return sparql


def http(url, data=None, headers=None, method=None):
    """(status, headers, body) without raising on an error status."""
    request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def sparql_get(endpoint, text, accept):
    return http(f"{endpoint}/sparql?" + urllib.parse.urlencode({"query": text}), headers={"Accept": accept})


def test_binds_loopback_by_default(endpoint):
    assert endpoint.startswith("http://127.0.0.1:")


@pytest.mark.parametrize("fmt, method", [(JSON, "GET"), (XML, "GET"), (CSV, "GET"), (TSV, "GET"), (JSON, POST)])
def test_select_in_every_results_format(endpoint, expected, fmt, method):
    result = client(endpoint, LINES, fmt, method).query()
    media = {JSON: "application/sparql-results+json", XML: "application/sparql-results+xml", CSV: "text/csv",
             TSV: "text/tab-separated-values"}[fmt]
    assert result.response.headers["Content-Type"].split(";")[0] == media
    body = result.convert()
    if fmt == JSON:
        got = {tuple(b[v]["value"] for v in ("session", "code", "units")) for b in body["results"]["bindings"]}
    elif fmt == XML:
        got = set()
        for node in body.getElementsByTagName("result"):
            cells = {b.getAttribute("name"): b.firstChild.firstChild.data for b in node.getElementsByTagName("binding")}
            got.add((cells["session"], cells["code"], cells["units"]))
    else:
        parsed = Result.parse(io.StringIO(body.decode("utf-8")), format=fmt)
        got = {(str(r.session), str(r.code), str(r.units.toPython() if hasattr(r.units, "toPython") else r.units))
               for r in parsed}
    assert got == expected


def test_the_same_answers_as_chemoden_query(endpoint, ontology):
    from reasoner.engines.answer import render
    from reasoner.engines.safety import run
    from reasoner.knowledge.library import library
    from reasoner.surfaces.dataset import build

    dataset = build(ontology, [EXAMPLES])
    for name, q in library(ontology.directory).items():
        if name in ("graphs", "billing-lines-graph"):
            continue  # graph sizes and blank node labels: checked elsewhere
        local = json.loads(render(run(dataset.store, q.text, dataset.graphs), "json"))
        remote = client(endpoint, q.text, JSON, POST).query().convert()
        if "boolean" in local:
            assert remote["boolean"] == local["boolean"], name
        else:
            def rows(doc):  # GROUP_CONCAT's order is the engine's: compare the words of each value
                return sorted(json.dumps({k: {**t, "value": sorted(t["value"].split())} for k, t in b.items()},
                                         sort_keys=True) for b in doc["results"]["bindings"])
            assert remote["head"] == local["head"] and sorted(rows(remote)) == sorted(rows(local)), name


def test_construct_in_turtle_and_json_ld(endpoint, expected):
    text = "PREFIX cd: <https://w3id.org/chemoden#> CONSTRUCT { ?l cd:units ?u ; cd:lineOf ?s } WHERE { ?l cd:units ?u ; cd:lineOf ?s }"
    result = client(endpoint, text, TURTLE).query()
    assert result.response.headers["Content-Type"].startswith("text/turtle")
    g = Graph().parse(data=result.convert(), format="turtle")
    assert len(set(g.subjects(CD.lineOf, None))) == len(expected)
    jsonld = client(endpoint, text, JSONLD).query()
    assert jsonld.response.headers["Content-Type"].startswith("application/ld+json")
    assert set(jsonld.convert()) == set(g)  # SPARQLWrapper parses JSON-LD into a graph


def test_ask(endpoint):
    assert client(endpoint, "ASK { ?s a <https://w3id.org/chemoden#BillingLine> }").query().convert()["boolean"] is True
    assert client(endpoint, "ASK { ?s a <urn:no-such-class> }").query().convert()["boolean"] is False


def test_describe(endpoint):
    status, headers, body = sparql_get(endpoint, "DESCRIBE <https://w3id.org/chemoden#cpt64616>", "text/turtle")
    assert status == 200
    g = Graph().parse(data=body, format="turtle")
    assert (URIRef(CD.cpt64616), RDF.type, CD.PrimaryCode) in g


def test_update_is_refused(endpoint):
    update = "INSERT DATA { <urn:a> <urn:b> <urn:c> }"
    for method in (POST, POSTDIRECTLY):  # update= in a form, and application/sparql-update
        sparql = client(endpoint, update, JSON, POST)
        if method == POSTDIRECTLY:
            sparql.setRequestMethod(POSTDIRECTLY)
        with pytest.raises(urllib.error.HTTPError) as err:
            sparql.query()
        assert err.value.code == 403 and b"read-only" in err.value.read()
    status, _, body = sparql_get(endpoint, update, "application/sparql-results+json")  # as a query: refused too
    assert status == 403
    assert client(endpoint, "ASK { <urn:a> <urn:b> <urn:c> }").query().convert()["boolean"] is False


@pytest.mark.parametrize("text, status, message", [
    ("SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }", 403, b"SERVICE"),
    ("SELECT * WHERE { service<http://127.0.0.1:9/sparql>{ ?s ?p ?o } }", 403, b"SERVICE"),
    ("SELECT * FROM <file:///etc/passwd> WHERE { ?s ?p ?o }", 403, b"not a graph of this dataset"),
    ("SELECT * FROM NAMED <http://127.0.0.1:9/g> WHERE { GRAPH ?g { ?s ?p ?o } }", 403, b"not a graph"),
    ("LOAD <file:///etc/passwd>", 403, b"read-only"),
    ("SELECT * WHERE { ?s ?p }", 400, b"syntax error"),
    ("SELECT * WHERE { ?s ?p ?o }", 422, b"result-size limit"),
])
def test_refusals_have_clear_statuses(endpoint, text, status, message):
    got, _, body = sparql_get(endpoint, text, "application/sparql-results+json")
    assert got == status and message in body, body


def test_service_refusal_through_sparqlwrapper(endpoint):
    with pytest.raises(urllib.error.HTTPError) as err:
        client(endpoint, "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }").query()
    assert err.value.code == 403


def test_an_over_long_query_is_stopped_and_others_are_served_meanwhile(endpoint):
    before = json.loads(http(f"{endpoint}/status")[2])
    outcome = {}

    def long_query():
        start = time.monotonic()
        outcome["status"], _, outcome["body"] = sparql_get(endpoint, ENDLESS, "application/sparql-results+json")
        outcome["seconds"] = time.monotonic() - start

    thread = threading.Thread(target=long_query)
    thread.start()
    time.sleep(0.3)
    quick = client(endpoint, "ASK { ?s a <https://w3id.org/chemoden#Session> }").query().convert()
    served_while_running = thread.is_alive()
    thread.join(30)
    assert quick["boolean"] is True and served_while_running
    assert outcome["status"] == 503 and b"time limit of 3 s" in outcome["body"]
    assert outcome["seconds"] < 6
    # the query's worker process was ended, not left running: it is gone and replaced
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        after = json.loads(http(f"{endpoint}/status")[2])
        if after["restarts"] > before["restarts"] and len(after["query_workers"]) == len(before["query_workers"]):
            break
        time.sleep(0.2)
    gone = set(before["query_workers"]) - set(after["query_workers"])
    assert len(gone) >= 1 and not any(Path(f"/proc/{pid}").exists() for pid in gone)
    # and each end is in the log, with how the process ended
    log = ENDPOINT_LOG["path"].read_text()
    assert all(f"query worker {pid} was stopped after" in log for pid in gone), log
    assert client(endpoint, "ASK { ?s a <https://w3id.org/chemoden#Session> }").query().convert()["boolean"] is True


def test_request_size_limits(endpoint):
    big = "SELECT * WHERE { ?s ?p ?o } #" + "x" * 120_000
    status, _, body = http(f"{endpoint}/sparql", data=big.encode(), headers={"Content-Type": "application/sparql-query"})
    assert status == 413 and b"limit is 100000" in body
    status, _, _ = http(f"{endpoint}/sparql?query=" + urllib.parse.quote(big))
    assert status == 414


def test_content_negotiation(endpoint):
    status, headers, _ = sparql_get(endpoint, "SELECT * WHERE { ?s a <urn:x> }", "image/png")
    assert status == 406
    status, headers, _ = sparql_get(endpoint, "SELECT * WHERE { ?s a <urn:x> }", "text/csv;q=0.5, application/sparql-results+xml")
    assert status == 200 and headers["Content-Type"].startswith("application/sparql-results+xml")
    status, headers, _ = sparql_get(endpoint, "CONSTRUCT WHERE { ?s a <urn:x> }", "*/*")
    assert status == 200 and headers["Content-Type"].startswith("text/turtle")
    status, _, _ = http(f"{endpoint}/sparql", data=b"query=x", headers={"Content-Type": "text/plain"})
    assert status == 415


def test_service_description_lists_the_graphs(endpoint):
    status, headers, body = http(f"{endpoint}/sparql", headers={"Accept": "text/turtle"})
    assert status == 200 and headers["Content-Type"].startswith("text/turtle")
    sd = "http://www.w3.org/ns/sparql-service-description#"
    g = Graph().parse(data=body, format="turtle")
    service = g.value(None, RDF.type, URIRef(sd + "Service"))
    assert str(service) == f"{endpoint}/sparql"
    names = {str(n) for n in g.objects(None, URIRef(sd + "name"))}
    assert "https://w3id.org/chemoden/graph/ontology" in names
    assert len(names) == 2 + 3 * len(SESSIONS)


def test_post_code(endpoint):
    path = EXAMPLES / "seed-76m-three-limbs.json"
    status, headers, body = http(f"{endpoint}/code", data=path.read_bytes(), headers={"Content-Type": "application/json"})
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert json.loads(body) == code_file(path)[0].as_dict()
    status, _, body = http(f"{endpoint}/code?profile=rt-lt", data=(EXAMPLES / "seed-63m-torticollis.json").read_bytes(),
                           headers={"Content-Type": "application/json"})
    assert status == 200 and {tuple(ln["modifiers"]) for ln in json.loads(body)["lines"] if ln["code"] == "64616"} == {("LT",), ("RT",)}
    status, _, body = http(f"{endpoint}/code", data=b'{"injections": [{"muscle": "left bicep femurs"}]}',
                           headers={"Content-Type": "application/json"})
    assert status == 400 and json.loads(body)["error"]["field"] == "injections[0].muscle"
    remote_context = {"@context": "http://127.0.0.1:9/context.jsonld", "injections": []}
    status, _, body = http(f"{endpoint}/code", data=json.dumps(remote_context).encode(), headers={"Content-Type": "application/json"})
    assert status == 400 and "remote" in json.loads(body)["error"]["message"]


@pytest.mark.parametrize("case", several_cases(), ids=lambda c: c.name)
def test_post_code_answers_every_error_of_the_session(endpoint, case):
    status, headers, body = http(f"{endpoint}/code", data=case.path.read_bytes(),
                                 headers={"Content-Type": "application/json"})
    answer = json.loads(body)
    assert status == 400 and headers["Content-Type"] == "application/json"
    assert [e["field"] for e in answer["errors"]] == [field for field, _ in case.errors]
    assert all(fragment in e["message"] for e, (_, fragment) in zip(answer["errors"], case.errors))
    assert answer["error"] == answer["errors"][0]  # as before: the first


def test_library_and_page(endpoint):
    status, _, body = http(f"{endpoint}/queries")
    names = [q["name"] for q in json.loads(body)]
    assert status == 200 and names == sorted(p.stem for p in (ROOT / "ontology" / "queries").glob("*.rq"))
    status, headers, page = http(f"{endpoint}/")
    assert status == 200 and b"static/yasgui.min.js" in page and b'"name": "code-frequencies"' in page
    status, headers, script = http(f"{endpoint}/static/yasgui.min.js")
    assert status == 200 and headers["Content-Type"].startswith("text/javascript") and len(script) > 100_000
    assert http(f"{endpoint}/static/../../pyproject.toml")[0] == 404


def test_relative_iris_resolve_against_the_endpoint(endpoint):
    status, _, body = http(f"{endpoint}/sparql", data=b"CONSTRUCT { <s> <p> 1 } WHERE {}",
                           headers={"Content-Type": "application/sparql-query", "Accept": "application/n-triples"})
    assert status == 200 and body.decode().startswith(f"<{endpoint}/s> <{endpoint}/p> ")


def test_the_protocol_parameters_define_the_whole_dataset(endpoint):
    ontology, inferred = "https://w3id.org/chemoden/graph/ontology", "https://w3id.org/chemoden/graph/ontology/inferred"

    def answer(text, **params):
        query = urllib.parse.urlencode({"query": text, **params}, doseq=True)
        status, _, body = http(f"{endpoint}/sparql?{query}", headers={"Accept": "application/sparql-results+json"})
        assert status == 200, body
        return [{k: v["value"] for k, v in b.items()} for b in json.loads(body)["results"]["bindings"]]

    default = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    named = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"
    # named-graph-uri alone: an empty default graph
    assert answer(default, **{"named-graph-uri": [ontology]}) == [{"n": "0"}]
    assert answer(named, **{"named-graph-uri": [ontology]}) == [{"g": ontology}]
    # default-graph-uri alone: no named graph
    assert int(answer(default, **{"default-graph-uri": [ontology]})[0]["n"]) > 0
    assert answer(named, **{"default-graph-uri": [ontology]}) == []
    # the protocol's dataset overrides FROM NAMED
    assert answer(named.replace("WHERE", f"FROM NAMED <{inferred}> WHERE"), **{"named-graph-uri": [ontology]}) == [{"g": ontology}]


def test_xml_answers_stay_well_formed_or_are_refused(endpoint):
    status, headers, body = sparql_get(endpoint, r'SELECT ("a\rb" AS ?v) {}', "application/sparql-results+xml")
    literal = parseString(body).getElementsByTagName("literal")[0]
    assert status == 200 and literal.firstChild.data == "a\rb"
    status, _, body = sparql_get(endpoint, r'SELECT ("a\u0001b" AS ?label) {}', "application/sparql-results+xml")
    assert status == 406 and b"?label" in body and b"application/sparql-results+json" in body
    status, _, body = sparql_get(endpoint, "CONSTRUCT { <http://example.org/s> <http://example.org/1> 1 } WHERE {}",
                                 "application/rdf+xml")
    assert status == 406 and b"<http://example.org/1>" in body and b"text/turtle" in body


def test_two_queries_in_one_request_are_a_400(endpoint):
    url = f"{endpoint}/sparql?" + urllib.parse.urlencode({"query": "ASK {}"})
    status, _, body = http(url, data=b"SELECT * {}", headers={"Content-Type": "application/sparql-query"})
    assert status == 400 and b"2 queries (in the URL and the body)" in body
    status, _, body = http(url, data=b"query=SELECT%20*%20%7B%7D", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 400 and b"2 queries (in the URL and the body)" in body
    status, _, body = http(f"{endpoint}/sparql", data=b"query=ASK%20%7B%7D&query=ASK%20%7B%7D",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 400 and b"2 queries (in the body)" in body
    status, _, body = http(f"{endpoint}/sparql", data=b"default-graph-uri=x", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 400 and b"no query" in body
    status, _, _ = http(f"{endpoint}/sparql", data=b"ASK {}", headers={"Content-Type": "application/sparql-query"})
    assert status == 200


def test_the_graph_store_protocol_is_not_offered(endpoint):
    graph = urllib.parse.quote("https://w3id.org/chemoden/graph/ontology", safe="")
    status, _, body = http(f"{endpoint}/sparql?graph={graph}", headers={"Accept": "text/turtle"})
    assert status == 400 and b"Graph Store Protocol" in body
    assert http(f"{endpoint}/sparql?default", headers={"Accept": "text/turtle"})[0] == 400


# --- a newcomer's SPARQL over HTTP --------------------------------------------------------------

def test_the_project_prefixes_are_predeclared_and_described(endpoint):
    from reasoner.core.vocab import PREFIXES

    status, _, body = sparql_get(endpoint, "SELECT (COUNT(?m) AS ?n) WHERE { ?m a cd:Muscle ; rdfs:label ?l }",
                                 "text/csv")
    assert status == 200 and int(body.decode().splitlines()[1]) > 100
    # the service description lists them as SHACL prefix declarations
    status, _, body = http(f"{endpoint}/sparql", headers={"Accept": "text/turtle"})
    sh = "http://www.w3.org/ns/shacl#"
    g = Graph().parse(data=body, format="turtle")
    service = g.value(None, RDF.type, URIRef("http://www.w3.org/ns/sparql-service-description#Service"))
    declared = g.value(service, URIRef(sh + "prefixes"))
    pairs = {(str(g.value(d, URIRef(sh + "prefix"))), str(g.value(d, URIRef(sh + "namespace"))))
             for d in g.objects(declared, URIRef(sh + "declare"))}
    assert pairs == set(PREFIXES.items())
    assert (declared, RDF.type, URIRef("http://www.w3.org/2002/07/owl#Ontology")) in g


@pytest.mark.parametrize("text", ["SELECT * WHERE { ?s ?p }", "SELECT ?x WHERE { ?x a foo:Muscle }",
                                  "SELECT ?x WHERE {\n  ?x a cd:Muscle\n  FILTER (?x = ) }"])
def test_query_errors_read_as_on_the_command_line(endpoint, text):
    from reasoner import cli

    status, headers, body = sparql_get(endpoint, text, "application/sparql-results+json")
    assert status == 400 and headers["Content-Type"].startswith("text/plain")
    import contextlib
    import io as text_io

    err = text_io.StringIO()
    with contextlib.redirect_stderr(err):
        assert cli.main(["query", text], wall=False) == 2
    assert err.getvalue() == "chemoden: QUERY: " + body.decode("utf-8")
    assert body.decode("utf-8").count("\n") == 1


def test_a_new_tab_of_the_page_starts_with_the_prefixes(endpoint):
    from reasoner.core.vocab import PREFIXES

    status, _, page = http(f"{endpoint}/")
    data = page.decode("utf-8").split('<script nonce="', 2)[2]  # the library data, then the prefixes
    assert status == 200 and json.loads(data.split(">", 1)[1].split("</script>", 1)[0]) == PREFIXES
    assert b"value: starter" in page


def test_post_code_is_byte_for_byte_what_chemoden_code_prints(endpoint):
    """The same session (a JSON file, a Turtle file, one without an id, a profile) through
    `chemoden code --format json` in a subprocess and through POST /code: the same bytes, the
    line end included. A session without an id is named after its source, which is the request
    here (`<request>`, as errors name it) and standard input for `chemoden code -` (`<stdin>`)."""
    import subprocess
    import sys

    def cli(*args, stdin=None):
        proc = subprocess.run([sys.executable, "-m", "reasoner", "code", "--format", "json", *args], input=stdin,
                              capture_output=True, timeout=120, cwd=ROOT)
        assert proc.returncode in (0, 1), proc.stderr
        return proc.stdout

    json_file, turtle_file = EXAMPLES / "seed-76m-three-limbs.json", next(p for p in SESSIONS if p.suffix == ".ttl")
    printed = cli(str(json_file), str(turtle_file)).splitlines(keepends=True)
    for path, line in zip((json_file, turtle_file), printed):
        media = "text/turtle" if path.suffix == ".ttl" else "application/json"
        status, _, body = http(f"{endpoint}/code", data=path.read_bytes(), headers={"Content-Type": media})
        assert status == 200 and body == line, path.name
    torticollis = (EXAMPLES / "seed-63m-torticollis.json").read_bytes()
    status, _, body = http(f"{endpoint}/code?profile=rt-lt", data=torticollis, headers={"Content-Type": "application/json"})
    assert status == 200 and body == cli("--profile", "rt-lt", str(EXAMPLES / "seed-63m-torticollis.json"))
    no_id = b'{"injections": [{"muscle": "left SCM"}, {"muscle": "right splenius capitis"}]}'
    status, _, body = http(f"{endpoint}/code", data=no_id, headers={"Content-Type": "application/json"})
    printed = cli("-", stdin=no_id)
    assert printed.startswith(b'{"session":"<stdin>",') and body.endswith(b"}\n")
    assert status == 200 and body == printed.replace(b'"<stdin>"', b'"<request>"', 1)


def test_get_code_is_405_naming_post(endpoint):
    status, headers, body = http(f"{endpoint}/code")
    assert status == 405 and headers["Allow"] == "POST" and b"POST" in body
    status, headers, _ = http(f"{endpoint}/sparql", method="PUT", data=b"x")
    assert status == 405 and "POST" in headers["Allow"]


def test_the_service_description_comes_in_a_stable_order(endpoint):
    first = http(f"{endpoint}/sparql", headers={"Accept": "application/n-triples"})[2]
    again = http(f"{endpoint}/sparql", headers={"Accept": "application/n-triples"})[2]
    assert first == again
    turtle = http(f"{endpoint}/sparql", headers={"Accept": "text/turtle"})[2].decode()
    names = [line.split("<", 1)[1].split(">", 1)[0] for line in turtle.splitlines() if "sd:name <" in line]
    assert names == sorted(names) and len(names) > 3
