"""The W3C SPARQL 1.1 Protocol tests (tests/protocol/manifest.ttl, from w3c/rdf-tests; see
tests/protocol/README.md) against `chemoden serve`, one test per W3C test id, each request sent
as the manifest writes it (method, path, headers, body bytes) over a raw HTTP connection.

What changes on the way:

- The manifest's paths start with /sparql/, to be replaced with the endpoint's: /sparql.
- The tests name data graphs (http://kasei.us/2009/09/sparql/data/dataN.rdf), each holding one
  triple, <dataN.rdf> a foaf:Document (tests/protocol/dataN.nt). The endpoint serves the example
  sessions and cannot load them, so each is mapped onto a session's asserted graph, whose session
  is typed cd:Session there and nowhere else (test_the_mapping_mirrors_the_test_data checks
  this): the graph name where a graph is meant (default-graph-uri, named-graph-uri, FROM, FROM
  NAMED), the session where the data's resource is meant (in a triple pattern). data0.rdf, named
  but never read, is mapped onto the ontology graph.
- The endpoint is read-only (README, "Over HTTP"): an update is refused with 403, so the update_*
  tests, which expect their update to succeed and then query what it wrote, check that the update
  is refused with 403 instead. The bad_update_* tests expect a 4xx and get one.
"""

import http.client
import io
import json
import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from xml.dom.minidom import parseString

import pytest
from rdflib import Graph, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import FOAF, RDF
from rdflib.query import Result

TESTS = Path(__file__).parent / "protocol"
MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
HT = Namespace("http://www.w3.org/2011/http#")
CNT = Namespace("http://www.w3.org/2011/content#")
CD = Namespace("https://w3id.org/chemoden#")
KASEI = "http://kasei.us/2009/09/sparql/data/"
GRAPH = "https://w3id.org/chemoden/graph/"
SESSION = "https://w3id.org/chemoden/session/"
# data file -> (the graph standing for it, the resource standing for the one it types)
MAPPING = {
    "data0.rdf": (GRAPH + "ontology", None),
    "data1.rdf": (GRAPH + "session/seed-45f-both-arms/asserted", SESSION + "seed-45f-both-arms"),
    "data2.rdf": (GRAPH + "session/seed-53m-neck-and-trunk/asserted", SESSION + "seed-53m-neck-and-trunk"),
    "data3.rdf": (GRAPH + "session/seed-63m-torticollis/asserted", SESSION + "seed-63m-torticollis"),
}
GRAPH_PARAMETERS = {"default-graph-uri", "named-graph-uri", "using-graph-uri", "using-named-graph-uri"}
RESULTS = {"boolean": {"application/sparql-results+json", "application/sparql-results+xml"},
           "tabular": {"application/sparql-results+json", "application/sparql-results+xml", "text/csv",
                       "text/tab-separated-values"},
           "RDF": {"text/turtle", "application/n-triples", "application/rdf+xml", "application/ld+json"}}
pytestmark = pytest.mark.xdist_group("serve")


@dataclass
class Request:
    method: str
    path: str
    headers: dict
    body: bytes | None
    statuses: set  # the classes expected: "2", "3", "4"
    boolean: bool | None
    form: str | None  # boolean, tabular or RDF

    @property
    def is_update(self) -> bool:
        kind = self.headers.get("content-type", "").split(";")[0].strip()
        return kind == "application/sparql-update" or (kind == "application/x-www-form-urlencoded"
                                                       and (self.body or b"").startswith(b"update="))


def manifest() -> dict[str, tuple[str, list[Request]]]:
    """test id -> (name, requests), in the manifest's order."""
    g = Graph().parse(TESTS / "manifest.ttl", format="turtle")
    tests = {}
    for test in Collection(g, g.value(g.value(None, RDF.type, MF.Manifest), MF.entries)):
        requests = []
        for r in Collection(g, g.value(g.value(test, MF.action), HT.requests)):
            headers = {}
            if g.value(r, HT.headers) is not None:
                headers = {str(g.value(h, HT.fieldName)).lower(): str(g.value(h, HT.fieldValue))
                           for h in Collection(g, g.value(r, HT.headers))}
            body = g.value(r, HT.body)
            data = None
            if body is not None:
                data = str(g.value(body, CNT.chars)).encode(str(g.value(body, CNT.characterEncoding) or "UTF-8"))
            response = g.value(r, HT.resp)
            boolean = g.value(response, MF.expectedBoolean)
            form = g.value(response, MF.expectedFormat)
            requests.append(Request(
                str(g.value(r, HT.methodName)), str(g.value(r, HT.absolutePath)), headers, data,
                {str(s).rsplit("StatusCode", 1)[1][0] for s in g.objects(response, MF.expectedStatus)},
                None if boolean is None else boolean.toPython(), None if form is None else str(form)))
        tests[str(test).rsplit("#", 1)[1]] = (str(g.value(test, MF.name)), requests)
    return tests


TESTS_BY_ID = manifest()


def in_dataset(text: str) -> str:
    """SPARQL text with the test data's IRIs mapped: graph names after FROM (NAMED), resources elsewhere."""
    text = re.sub(rf"(FROM\s+(?:NAMED\s+)?)<{re.escape(KASEI)}([^>]+)>", lambda m: f"{m[1]}<{MAPPING[m[2]][0]}>",
                  text, flags=re.IGNORECASE)
    return re.sub(rf"<{re.escape(KASEI)}([^>]+)>", lambda m: f"<{MAPPING[m[1]][1]}>", text)


def parameters_in_dataset(encoded: str) -> str:
    """URL-encoded parameters with the test data mapped; left byte for byte when they name none."""
    if KASEI not in urllib.parse.unquote_plus(encoded):
        return encoded
    pairs = [(k, MAPPING[v.removeprefix(KASEI)][0] if k in GRAPH_PARAMETERS else in_dataset(v) if k in ("query", "update") else v)
             for k, v in urllib.parse.parse_qsl(encoded, keep_blank_values=True)]
    return urllib.parse.urlencode(pairs, quote_via=urllib.parse.quote)


def as_sent(request: Request) -> tuple[str, bytes | None]:
    """The request's path and body for this endpoint."""
    path, _, query = request.path.partition("?")
    assert path.startswith("/sparql")
    path = "/sparql" + ("?" + parameters_in_dataset(query) if query else "")
    body = request.body
    kind = request.headers.get("content-type", "").split(";")[0].strip()
    if body is not None and kind == "application/x-www-form-urlencoded":
        body = parameters_in_dataset(body.decode("utf-8")).encode("utf-8")
    elif body is not None and kind == "application/sparql-query" and KASEI.encode() in body:
        body = in_dataset(body.decode("utf-8")).encode("utf-8")
    return path, body


def send(endpoint: str, method: str, path: str, headers: dict, body: bytes | None):
    """(status, media type, body) of a request sent as given: no header added but Host,
    Content-Length and Accept-Encoding (urllib would add a form Content-Type to a POST)."""
    url = urllib.parse.urlsplit(endpoint)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        media = (response.getheader("Content-Type") or "").split(";")[0].strip()
        return response.status, media, response.read()
    finally:
        connection.close()


def boolean_of(media: str, body: bytes) -> bool:
    if media == "application/sparql-results+json":
        return json.loads(body)["boolean"]
    return parseString(body).getElementsByTagName("boolean")[0].firstChild.data == "true"


@pytest.mark.parametrize("test_id", list(TESTS_BY_ID))
def test_w3c_protocol(endpoint, test_id):
    name, requests = TESTS_BY_ID[test_id]
    for request in requests:
        path, body = as_sent(request)
        status, media, answer = send(endpoint, request.method, path, request.headers, body)
        if request.is_update and request.statuses != {"4"}:
            # read-only: refused, so what the next requests would check was never written
            assert status == 403 and b"read-only" in answer, f"{name}: {status} {answer[:300]!r}"
            return
        assert str(status)[0] in request.statuses, f"{name}: {status} {answer[:300]!r}"
        if request.form is not None:
            assert media in RESULTS[request.form], f"{name}: {media}"
            if request.form == "tabular":
                Result.parse(io.StringIO(answer.decode("utf-8")), format={"application/sparql-results+json": "json",
                                                                  "application/sparql-results+xml": "xml",
                                                                  "text/csv": "csv"}.get(media, "tsv"))
            elif request.form == "RDF":
                Graph().parse(data=answer, format=media)
        if request.boolean is not None:
            assert boolean_of(media, answer) is request.boolean, f"{name}: {answer[:300]!r}"


def test_every_w3c_test_is_run():
    assert len(TESTS_BY_ID) == 34 and all(requests for _, requests in TESTS_BY_ID.values())


def test_the_mapping_mirrors_the_test_data(endpoint):
    """As dataN.nt holds <dataN.rdf> a foaf:Document, dataN's graph holds <session> a cd:Session,
    and no other graph types that session."""
    for n in (1, 2, 3):
        data = Graph().parse(TESTS / f"data{n}.nt", format="nt")
        assert set(data) == {(URIRef(f"{KASEI}data{n}.rdf"), RDF.type, FOAF.Document)}
        graph, resource = MAPPING[f"data{n}.rdf"]
        text = f"SELECT ?g ?t WHERE {{ GRAPH ?g {{ <{resource}> a ?t }} }}"
        status, media, body = send(endpoint, "GET", "/sparql?" + urllib.parse.urlencode({"query": text}),
                                   {"Accept": "application/sparql-results+json"}, None)
        rows = {(b["g"]["value"], b["t"]["value"]) for b in json.loads(body)["results"]["bindings"]}
        assert status == 200 and {g for g, t in rows if t == str(CD.Session)} == {graph}
        assert {g for g, _ in rows} <= {graph, graph.replace("/asserted", "/inferred")}  # its own graphs only
