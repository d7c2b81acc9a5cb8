"""The SPARQL 1.1 Protocol's rules in the engines, without a server: the base IRI and the RDF
dataset a query runs over (on Oxigraph and on the rdflib fallback alike). tests/test_serve.py
checks the same over HTTP."""

import pytest
from rdflib import URIRef
from rdflib.namespace import RDF

from reasoner.core.errors import QueryRefused
from reasoner.engines import registry
from reasoner.engines.protocol import LOCAL_BASE, QueryDataset, endpoint_base, query_dataset, resolve_iri
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
