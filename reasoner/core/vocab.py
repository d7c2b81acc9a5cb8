"""The IRIs the orchestration code needs (vocabulary terms, never codes or muscles), the
project's prefixes, and the one way terms are shortened for people."""

from __future__ import annotations

import re

from rdflib import BNode, Namespace, URIRef
from rdflib.namespace import XSD


class _Vocabulary(Namespace):
    """A namespace that makes each of its terms once: rdflib's makes a new URIRef (and checks
    it) on every `CD.x`, which was a tenth of the time spent reading a session. The term is
    kept as an attribute of the namespace, so the next `CD.x` is a plain attribute read."""

    def __getattr__(self, name: str) -> URIRef:
        if name.startswith("__"):
            raise AttributeError(name)
        term = self.term(name)
        object.__setattr__(self, name, term)
        return term


CD = _Vocabulary("https://w3id.org/chemoden#")
OA = _Vocabulary("http://www.w3.org/ns/oa#")  # W3C Web Annotation: where in a note a fact was read
SESSION_BASE = "https://w3id.org/chemoden/session/"
GRAPH_BASE = "https://w3id.org/chemoden/graph/"

PREFIXES = {
    "cd": str(CD),
    "session": SESSION_BASE,
    "graph": GRAPH_BASE,
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": str(XSD),
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "dcterms": "http://purl.org/dc/terms/",
    "oa": "http://www.w3.org/ns/oa#",
    "obo": "http://purl.obolibrary.org/obo/",
    "fma": "http://purl.org/sig/ont/fma/",
}


def short(term) -> str:
    """A term for people: prefixed names for the project's namespaces, literals as their text."""
    if isinstance(term, URIRef):
        value = str(term)
        for prefix, iri in PREFIXES.items():
            if value.startswith(iri) and re.fullmatch(r"[\w.%/-]*", value[len(iri):]):
                return f"{prefix}:{value[len(iri):]}"
        return f"<{value}>"
    if isinstance(term, BNode):
        return f"_:{term}"
    return " ".join(str(term).split()) if "\n" in str(term) or "\t" in str(term) else str(term)  # one line a row
