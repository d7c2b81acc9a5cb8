"""Where the SPARQL runs: an rdflib graph (the reference) or an Oxigraph store (the fast path).

Both take the same .rq files; derive.py only sees this small interface. The parity test
(tests/test_parity.py) proves the two give the same results.
"""

from __future__ import annotations

from functools import cache

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, XSD
from rdflib.plugins.sparql import prepareQuery
from rdflib.term import Node


@cache
def _prepared(text: str):
    return prepareQuery(text)


class RdflibBackend:
    def __init__(self, graph: Graph):
        self.graph = graph

    def construct(self, query) -> list[tuple]:
        result = self.graph.query(query.prepared).graph
        return list(result) if result is not None else []

    def add(self, triples) -> None:
        for triple in triples:
            self.graph.add(triple)

    def update(self, query) -> None:
        self.graph.update(query.prepared)

    def select(self, query, terms: bool = False) -> list[dict]:
        prepared = query.prepared if hasattr(query, "prepared") else _prepared(query)
        return [{k: v for k, v in row.asdict().items() if v is not None} for row in self.graph.query(prepared)]

    def classification(self, query, iris) -> list[tuple]:
        """The (x, p, o) rows of derive.CLASSIFICATION whose x is one of `iris`."""
        rows = self.select(query)
        return [(row["x"], row["p"], row["o"]) for row in rows if str(row["x"]) in iris]


# --- Oxigraph ------------------------------------------------------------------

def to_oxigraph(term):
    import pyoxigraph as ox

    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if term.language:
        return ox.Literal(str(term), language=term.language)
    if term.datatype is not None:
        return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
    return ox.Literal(str(term))


# Terms met lately, converted: a chunk's IRIs and literals recur in many of its triples (and
# vocabulary in every chunk). A plain dict, emptied when it grows past the bound, keeps memory flat.
_TERMS: dict = {}
_TERMS_BOUND = 50_000


def to_quads(triples, graph=None) -> list:
    """Oxigraph quads from triples of rdflib terms, Oxigraph terms or both, in `graph` (an
    Oxigraph graph name) or the default graph."""
    import pyoxigraph as ox

    terms = _TERMS
    if len(terms) > _TERMS_BOUND:
        terms.clear()
    quad = ox.Quad
    out = []
    for triple in triples:
        converted = []
        for term in triple:
            value = terms.get(term)
            if value is None:
                if isinstance(term, Node):
                    value = terms[term] = to_oxigraph(term)
                else:  # already an Oxigraph term (a CONSTRUCT's result): nothing to keep
                    value = term
            converted.append(value)
        out.append(quad(*converted) if graph is None else quad(*converted, graph))
    return out


# N-Triples text of rdflib terms, for N-Quads written as text (a load's workers write every
# session's graphs): no Oxigraph term, quad or serialiser per triple. Two terms get the same
# text exactly when rdflib finds them equal (a literal keeps an explicit xsd:string, its
# language tag is lower-cased as rdflib compares it), so sets of lines dedupe as sets of
# triples did; the N-Quads parser reads the text into the terms to_oxigraph makes. IRIs, blank
# node labels and language tags are checked by Oxigraph once each, as to_oxigraph would check
# them: the text is valid, and the store's parser need not check it again (lenient).
_IRI_TEXT: dict = {}
_BLANK_TEXT: dict = {}
_LANGUAGE_TEXT: dict = {}
_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r"})


def _checked(texts: dict, value: str) -> str:
    import pyoxigraph as ox

    if len(texts) > _TERMS_BOUND:
        texts.clear()
    if texts is _IRI_TEXT:
        text = str(ox.NamedNode(value))
    elif texts is _BLANK_TEXT:
        text = str(ox.BlankNode(value))
    else:
        text = ox.Literal("", language=value).language  # lower case, as Oxigraph keeps it
    texts[value] = text
    return text


def nt(term) -> str:
    """The N-Triples text of an rdflib term."""
    if isinstance(term, URIRef):
        value = str(term)  # a plain str: a dict lookup by the URIRef would call its Python __eq__
        return _IRI_TEXT.get(value) or _checked(_IRI_TEXT, value)
    if isinstance(term, BNode):
        value = str(term)
        return _BLANK_TEXT.get(value) or _checked(_BLANK_TEXT, value)
    text = f'"{str(term).translate(_ESCAPES)}"'
    if term.language:
        language = term.language
        return f"{text}@{_LANGUAGE_TEXT.get(language) or _checked(_LANGUAGE_TEXT, language)}"
    if term.datatype is not None:
        value = str(term.datatype)
        return f"{text}^^{_IRI_TEXT.get(value) or _checked(_IRI_TEXT, value)}"
    return text


def nt_line(triple) -> str:
    """A triple as the text of an N-Triples line, without the final ' .'"""
    s, p, o = triple
    return f"{nt(s)} {nt(p)} {nt(o)}"


def from_oxigraph(term):
    import pyoxigraph as ox

    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if term.language:
        return Literal(term.value, lang=term.language)
    datatype = term.datatype.value
    if datatype == str(XSD.string):
        return Literal(term.value)
    return Literal(term.value, datatype=URIRef(datatype))


def _lexical(term) -> str:
    return term.value


_CD = "https://w3id.org/chemoden#"
_RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"


class OxigraphBackend:
    def __init__(self, store):
        self.store = store

    def construct(self, query) -> list[tuple]:
        return [(t.subject, t.predicate, t.object) for t in self.store.query(query.text)]

    def add(self, triples) -> None:
        self.store.extend(to_quads(triples))

    def update(self, query) -> None:
        self.store.update(query.text)

    def select(self, query, terms: bool = False) -> list[dict]:
        """Rows of rdflib terms when `terms`, else of their lexical forms (all derive.py reads:
        making rdflib terms of every value was a good part of a chunk's time)."""
        text = query.text if hasattr(query, "text") else query
        solutions = self.store.query(text)
        names = [v.value for v in solutions.variables]
        convert = from_oxigraph if terms else _lexical
        rows = []
        for solution in solutions:
            row = {}
            for name in names:
                value = solution[name]
                if value is not None:
                    row[name] = convert(value)
            rows.append(row)
        return rows

    def classification(self, query, iris) -> list[tuple]:
        """What derive.CLASSIFICATION finds for `iris` (sessions and their injections: {IRI
        text: ...}), as rdflib terms, by index lookups on each node: half the time of the
        query and of making its rows rdflib terms. The same rows: x is a session (a
        cd:Session) or an injection (the object of cd:hasInjection); its rows are its cd:
        types, its cd:extremity and its cd:onSide."""
        import pyoxigraph as ox

        quads, default = self.store.quads_for_pattern, ox.DefaultGraph()
        rdf_type, session = ox.NamedNode(_RDF_TYPE), ox.NamedNode(_CD + "Session")
        has_injection = ox.NamedNode(_CD + "hasInjection")
        others = [(ox.NamedNode(_CD + name), URIRef(_CD + name)) for name in ("extremity", "onSide")]
        terms: dict = {}  # types and sides recur in every session: each made once
        rows = []
        for iri in iris:
            x = ox.NamedNode(iri)
            if not (any(quads(x, rdf_type, session, default)) or any(quads(None, has_injection, x, default))):
                continue
            subject = URIRef(iri)
            for quad in quads(x, rdf_type, None, default):
                o = quad.object
                if isinstance(o, ox.NamedNode) and o.value.startswith(_CD):
                    rows.append((subject, RDF.type, terms.get(o) or terms.setdefault(o, URIRef(o.value))))
            for p, predicate in others:
                for quad in quads(x, p, None, default):
                    o = quad.object
                    rows.append((subject, predicate, terms.get(o) or terms.setdefault(o, from_oxigraph(o))))
        return rows
