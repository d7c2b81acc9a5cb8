"""The SPARQL 1.1 Protocol's rules that do not depend on an HTTP server: the request's one query,
the RDF dataset a query runs over, the base IRI relative IRIs resolve against, and the requests a
read-only query endpoint does not serve. `chemoden serve` calls these, whatever serves its HTTP.

The dataset (SPARQL 1.1 Protocol §2.1.4, Query §13): `default-graph-uri` and `named-graph-uri`,
when either is given, define it and override FROM / FROM NAMED in the query; else FROM / FROM
NAMED do. Either way the default graph is the merge of the graphs named for it (empty when only
named graphs are given) and the named graphs are exactly those named (none when only default
graphs are given). With neither, the endpoint's own dataset: the default graph is the union of
all graphs and every graph is a named graph (sd:UnionDefaultGraph).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urljoin

from rdflib import BNode, Literal, Namespace
from rdflib.namespace import OWL, RDF, XSD

from ..core.errors import QueryError
from ..core.vocab import GRAPH_BASE, PREFIXES

# What relative IRIs in a query resolve against outside the server (`chemoden query`, the Python
# API): the graph names' base, so <ontology> names https://w3id.org/chemoden/graph/ontology.
LOCAL_BASE = GRAPH_BASE

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
# A Host header as RFC 9110 allows it (name or IPv4, or [IPv6], and a port); anything else is
# not used to make the base IRI
_HOST = re.compile(r"(?:[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")


def resolve_iri(iri: str, base: str | None) -> str:
    """IRI resolved against base (RFC 3986 §5.2); an absolute IRI, or no base, leaves it as it is."""
    if base is None or _SCHEME.match(iri):
        return iri
    return urljoin(base, iri)


def endpoint_base(host: str | None, bound: tuple) -> str:
    """The endpoint's IRI, http://HOST/sparql, the base of the queries it runs: HOST is the
    request's Host header, or the address the server is bound to when there is no usable one."""
    if host is None or not _HOST.fullmatch(host):
        address, port = bound[0], bound[1]
        host = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
    return f"http://{host}/sparql"


@dataclass(frozen=True)
class QueryDataset:
    """The graphs one query runs over. None is the endpoint's own dataset: the union of all graphs
    as the default graph, every graph as a named graph."""

    default: tuple[str, ...] | None = None
    named: tuple[str, ...] | None = None


def query_dataset(from_graphs: Iterable[str] = (), from_named: Iterable[str] = (),
                  default_graphs: Iterable[str] | None = None,
                  named_graphs: Iterable[str] | None = None) -> QueryDataset:
    """The dataset of a query with FROM from_graphs, FROM NAMED from_named, and the protocol's
    default-graph-uri and named-graph-uri (which override the query's own when either is given)."""
    default_graphs, named_graphs = list(default_graphs or ()), list(named_graphs or ())
    if default_graphs or named_graphs:
        return QueryDataset(_unique(default_graphs), _unique(named_graphs))
    from_graphs, from_named = list(from_graphs), list(from_named)
    if from_graphs or from_named:
        return QueryDataset(_unique(from_graphs), _unique(from_named))
    return QueryDataset()


def _unique(graphs: Iterable[str]) -> tuple[str, ...]:
    # a graph named twice is merged once: an RDF merge is a set, and Oxigraph would count it twice
    return tuple(dict.fromkeys(graphs))


def one_query(url_params: Mapping[str, list[str]], body_params: Mapping[str, list[str]] | None = None) -> str:
    """The request's one query, from the URL's parameters and the body's (a form's parameters, or
    {"query": [body]} for a query POSTed as application/sparql-query). None, or more than one
    (also one in the URL and one in the body), is a QueryError (400)."""
    found = [(where, text) for where, params in (("the URL", url_params), ("the body", body_params or {}))
             for text in params.get("query", [])]
    if not found:
        raise QueryError("no query: give the parameter 'query', or POST the query as application/sparql-query",
                         field="query")
    if len(found) > 1:
        places = " and ".join(dict.fromkeys(where for where, _ in found))
        raise QueryError(f"the request carries {len(found)} queries (in {places}); give exactly one", field="query")
    text = found[0][1]
    if not text.strip():
        raise QueryError("the query is empty", field="query")
    return text


def refuse_graph_store(params: Mapping[str, list[str]]) -> None:
    """A Graph Store Protocol request (?graph=IRI, ?default) is a QueryError (400): the endpoint
    answers queries only, so a graph is read with a query."""
    for name in ("graph", "default"):
        if name in params:
            value = (params[name] or [""])[0]
            pattern = f"GRAPH <{value}> {{ ?s ?p ?o }}" if name == "graph" else "?s ?p ?o"
            raise QueryError(f"{name}={value!r} asks for the Graph Store Protocol, which this endpoint does not offer; "
                             f"read the graph with a query: CONSTRUCT {{ ?s ?p ?o }} WHERE {{ {pattern} }}", field=name)


def describe_prefixes(graph, service) -> None:
    """Add to a service description the prefixes its queries may use without declaring them.

    Written as SHACL prefix declarations (W3C SHACL §5.2.1: sh:prefixes naming an owl:Ontology
    whose sh:declare each give an sh:prefix and an sh:namespace), the vocabulary SPARQL endpoints
    use to publish the prefixes their example queries rely on (UniProt's and the SIB's among
    them), so tools that read those can read these. vann:preferredNamespacePrefix would say what a
    vocabulary likes to be called, not what this endpoint reads; the service description
    vocabulary itself has no term for it."""
    sh = Namespace("http://www.w3.org/ns/shacl#")
    graph.bind("sh", sh)
    graph.bind("owl", OWL)
    declared = BNode("prefixes")
    graph.add((service, sh.prefixes, declared))
    graph.add((declared, RDF.type, OWL.Ontology))
    for n, (prefix, iri) in enumerate(PREFIXES.items()):
        declaration = BNode(f"prefix{n}")
        graph.add((declared, sh.declare, declaration))
        graph.add((declaration, sh.prefix, Literal(prefix)))
        graph.add((declaration, sh.namespace, Literal(iri, datatype=XSD.anyURI)))
