"""The SPARQL 1.1 Protocol's rules in the engines, without a server: the base IRI, the RDF dataset
a query runs over (on Oxigraph and on the rdflib fallback alike), the request's one query, the
Graph Store Protocol refused, and result formats that stay well-formed. tests/test_serve.py and
tests/test_protocol_w3c.py check the same over HTTP."""

import csv
import io
import xml.dom.minidom

import pytest
from rdflib import BNode, Literal, URIRef
from rdflib.namespace import RDF
from rdflib.query import Result

from reasoner.core.errors import QueryError, QueryRefused
from reasoner.engines import registry
from reasoner.engines.answer import Answer, render
from reasoner.engines.protocol import (
    LOCAL_BASE,
    QueryDataset,
    endpoint_base,
    one_query,
    query_dataset,
    refuse_graph_store,
    resolve_iri,
)
from reasoner.engines.safety import run
from reasoner.engines.store import OxigraphStore, RdflibStore

GRAPHS = [f"http://example.org/graph/{n}" for n in (1, 2, 3)]
TYPE = URIRef("http://example.org/Thing")
# Every triple pattern in the default graph and in a named graph, so one answer shows both
BOTH = "SELECT ?s ?g WHERE { { ?s a ?t } UNION { GRAPH ?g { ?s a ?t } } }"
STORES = [RdflibStore] + ([OxigraphStore] if registry.has_oxigraph() else [])


@pytest.fixture(params=STORES, ids=lambda cls: cls.kind)
def store(request):
    """Three graphs, graph n holding <http://example.org/thing/n> a ex:Thing."""
    store = request.param()
    for n, graph in enumerate(GRAPHS, 1):
        store.add(URIRef(graph), [(URIRef(f"http://example.org/thing/{n}"), RDF.type, TYPE)])
    return store


def seen(store, text=BOTH, **options) -> set:
    """(thing number, graph number or None) for each row: what the default graph and the named graphs hold."""
    answer = run(store, text, GRAPHS, **options)
    return {(int(row["s"][-1]), int(row["g"][-1]) if "g" in row else None) for row in answer.rows}


# -- the dataset -------------------------------------------------------------

def test_without_a_dataset_the_default_graph_is_the_union_and_every_graph_is_named(store):
    assert seen(store) == {(1, None), (2, None), (3, None), (1, 1), (2, 2), (3, 3)}


def test_default_graph_uri_alone_leaves_no_named_graph(store):
    assert seen(store, default_graphs=GRAPHS[:2]) == {(1, None), (2, None)}


def test_named_graph_uri_alone_leaves_the_default_graph_empty(store):
    assert seen(store, named_graphs=GRAPHS[1:]) == {(2, 2), (3, 3)}


def test_both_protocol_parameters(store):
    assert seen(store, default_graphs=GRAPHS[2:], named_graphs=GRAPHS[:2]) == {(3, None), (1, 1), (2, 2)}


def test_the_protocol_dataset_overrides_from_and_from_named(store):
    text = BOTH.replace("WHERE", f"FROM <{GRAPHS[0]}> FROM NAMED <{GRAPHS[0]}> WHERE")
    assert seen(store, text, named_graphs=GRAPHS[1:2]) == {(2, 2)}
    assert seen(store, text, default_graphs=GRAPHS[2:]) == {(3, None)}


def test_from_alone_leaves_no_named_graph_and_from_named_alone_an_empty_default_graph(store):
    assert seen(store, BOTH.replace("WHERE", f"FROM <{GRAPHS[0]}> WHERE")) == {(1, None)}
    assert seen(store, BOTH.replace("WHERE", f"FROM NAMED <{GRAPHS[1]}> WHERE")) == {(2, 2)}


def test_a_graph_named_twice_is_merged_once(store):
    answer = run(store, "SELECT ?s WHERE { ?s a ?t }", GRAPHS, default_graphs=[GRAPHS[0], GRAPHS[0]])
    assert len(answer.rows) == 1


def test_a_protocol_graph_outside_the_dataset_is_refused_naming_the_parameter(store):
    with pytest.raises(QueryRefused) as err:
        run(store, "ASK {}", GRAPHS, named_graphs=["http://elsewhere.example/g"])
    assert err.value.field == "named-graph-uri" and "http://elsewhere.example/g" in err.value.message


@pytest.mark.parametrize("given, expected", [
    ({}, QueryDataset()),
    ({"from_graphs": ["a"]}, QueryDataset(("a",), ())),
    ({"from_named": ["a"]}, QueryDataset((), ("a",))),
    ({"from_graphs": ["a"], "named_graphs": ["b"]}, QueryDataset((), ("b",))),
    ({"from_named": ["a"], "default_graphs": ["b", "b"]}, QueryDataset(("b",), ())),
])
def test_query_dataset(given, expected):
    assert query_dataset(**given) == expected


# -- the base IRI --------------------------------------------------------------

def test_relative_iris_resolve_against_the_base(store):
    text = "CONSTRUCT { <s> <p> 1 } WHERE {}"
    (s, p, o), = run(store, text, GRAPHS, base="http://127.0.0.1:8000/sparql").triples
    assert (str(s), str(p), o.toPython()) == ("http://127.0.0.1:8000/s", "http://127.0.0.1:8000/p", 1)
    (s, _, _), = run(store, text, GRAPHS).triples  # chemoden query and the API: the graph names' base
    assert str(s) == LOCAL_BASE + "s"
    (s, _, _), = run(store, "BASE <http://example.org/b/> " + text, GRAPHS, base="http://x/").triples
    assert str(s) == "http://example.org/b/s"  # the query's BASE first


def test_from_with_a_relative_iri_resolves_too(store):
    assert seen(store, BOTH.replace("WHERE", "FROM <2> WHERE"), base="http://example.org/graph/") == {(2, None)}
    text = "BASE <http://example.org/graph/> PREFIX g: <> " + BOTH.replace("WHERE", "FROM g:3 WHERE")
    assert seen(store, text, base="http://x/") == {(3, None)}
    with pytest.raises(QueryRefused, match="http://x/1"):  # resolved, then checked: nothing is fetched
        run(store, BOTH.replace("WHERE", "FROM <1> WHERE"), GRAPHS, base="http://x/")


def test_resolve_iri_and_the_endpoint_base():
    assert resolve_iri("s", "http://h/sparql") == "http://h/s"
    assert resolve_iri("urn:x", "http://h/sparql") == "urn:x"
    assert resolve_iri("s", None) == "s"
    assert endpoint_base("example.org:8000", ("127.0.0.1", 1)) == "http://example.org:8000/sparql"
    assert endpoint_base("a b>", ("127.0.0.1", 8000)) == "http://127.0.0.1:8000/sparql"  # not a host: not used
    assert endpoint_base(None, ("::1", 8000, 0, 0)) == "http://[::1]:8000/sparql"


# -- one query a request ---------------------------------------------------------

def test_one_query():
    assert one_query({"query": ["ASK {}"]}) == "ASK {}"
    assert one_query({"default-graph-uri": ["g"]}, {"query": ["ASK {}"]}) == "ASK {}"


@pytest.mark.parametrize("url, body, message", [
    ({"query": ["ASK {}"]}, {"query": ["SELECT * {}"]}, "2 queries (in the URL and the body)"),
    ({"query": ["ASK {}", "SELECT * {}"]}, None, "2 queries (in the URL)"),
    ({}, {"query": ["ASK {}", "ASK {}"]}, "2 queries (in the body)"),
    ({}, None, "no query"),
    ({"query": [" "]}, None, "empty"),
])
def test_not_exactly_one_query_is_a_400(url, body, message):
    with pytest.raises(QueryError) as err:
        one_query(url, body)
    assert err.value.status == 400 and message in err.value.message and err.value.field == "query"


def test_the_graph_store_protocol_is_refused():
    refuse_graph_store({"query": ["ASK {}"], "format": ["json"]})
    for params, field in (({"graph": ["http://example.org/g"]}, "graph"), ({"default": [""]}, "default")):
        with pytest.raises(QueryError) as err:
            refuse_graph_store(params)
        assert err.value.status == 400 and err.value.field == field and "Graph Store Protocol" in err.value.message


# -- results that stay well-formed ---------------------------------------------------

def table(**row) -> Answer:
    return Answer("select", list(row), [row])


def test_xml_results_keep_a_carriage_return():
    text = render(table(v=Literal("a\r\nb\rc & <d>"), w=Literal("x\ry", lang="en")), "xml")
    literals = xml.dom.minidom.parseString(text.encode("utf-8")).getElementsByTagName("literal")
    assert [n.firstChild.data for n in literals] == ["a\r\nb\rc & <d>", "x\ry"]


@pytest.mark.parametrize("value", ["a\x01b", "\x00", "\x0b", "\x1f", "a\ufffe", "\uffff", "\ud800"])
def test_xml_results_refuse_what_xml_cannot_carry(value):
    with pytest.raises(QueryError) as err:
        render(table(ok=Literal("fine"), label=Literal(value)), "xml")
    assert err.value.status == 406 and "?label" in err.value.message and "JSON" in err.value.message
    assert render(table(label=Literal(value)), "json")  # JSON carries it


def test_xml_results_accept_tab_newline_and_other_characters():
    value = "\t\n\x7f\x85\ue000\U0001f600"
    text = render(table(v=Literal(value)), "xml")
    assert xml.dom.minidom.parseString(text.encode("utf-8")).getElementsByTagName("literal")[0].firstChild.data == value


def test_csv_quotes_a_carriage_return_and_tsv_escapes_it():
    answer = table(v=Literal("a\rb"), w=Literal("c\nd"), x=URIRef("http://example.org/x"))
    text = render(answer, "csv")
    assert text == 'v,w,x\r\n"a\rb","c\nd",http://example.org/x\r\n'
    assert list(csv.reader(io.StringIO(text, newline=""))) == [["v", "w", "x"], ["a\rb", "c\nd", "http://example.org/x"]]
    text = render(answer, "tsv")
    assert text == '?v\t?w\t?x\n"a\\rb"\t"c\\nd"\t<http://example.org/x>\n'
    row, = Result.parse(io.StringIO(text), format="tsv")
    assert (str(row.v), str(row.w)) == ("a\rb", "c\nd")


@pytest.mark.parametrize("predicate", ["http://example.org/1", "http://example.org/p/", "http://example.org/p#"])
def test_rdf_xml_refuses_a_predicate_it_cannot_write(predicate):
    answer = Answer("graph", triples=[(URIRef("http://example.org/s"), URIRef(predicate), Literal("o"))])
    with pytest.raises(QueryError) as err:
        render(answer, "rdf-xml")
    assert err.value.status == 406 and predicate in err.value.message and "Turtle" in err.value.message
    assert render(answer, "turtle") and render(answer, "n-triples")


def test_rdf_xml_refuses_a_character_xml_cannot_carry_and_keeps_a_carriage_return():
    s, p = URIRef("http://example.org/s"), URIRef("http://example.org/p")
    with pytest.raises(QueryError) as err:
        render(Answer("graph", triples=[(s, p, Literal("a\x02"))]), "rdf-xml")
    assert err.value.status == 406 and "U+0002" in err.value.message
    text = render(Answer("graph", triples=[(s, p, Literal("a\rb")), (s, p, BNode())]), "rdf-xml")
    assert "a&#13;b" in text
