"""The fast path: the cached ontology closure, OWL-RL over each chunk's own facts, SPARQL on Oxigraph.

The reference path (coding/reference.py, engine "owlrl") closes ontology plus session with owlrl
and queries with rdflib; this path must give the same results (tests/test_parity.py), only
faster: the ontology is closed once (and kept on disk), a chunk of sessions is reasoned over
against that closure and queried together, and Oxigraph runs the very same .rq files.
"""

from __future__ import annotations

from collections import defaultdict
from functools import cached_property

from rdflib import BNode, Graph, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS

from ..engines import inference, registry, rl
from ..engines.backend import OxigraphBackend, to_quads
from ..intake.model import Session
from ..knowledge import cache
from .derive import derive
from .result import Result

_SCHEMA_TYPES = {OWL.Class, RDFS.Class, OWL.Restriction, RDF.Property, OWL.ObjectProperty, OWL.DatatypeProperty,
                 OWL.SymmetricProperty, OWL.TransitiveProperty, OWL.FunctionalProperty,
                 OWL.InverseFunctionalProperty, OWL.AnnotationProperty, RDFS.Datatype, RDF.List, OWL.Ontology}
_ANNOTATIONS = {RDFS.label, RDFS.comment, SKOS.altLabel, SKOS.hiddenLabel, SKOS.exactMatch, SKOS.notation,
                DCTERMS.source, DCTERMS.description, DCTERMS.title, DCTERMS.license, DCTERMS.modified}


class FastCoder:
    """Codes sessions in chunks; build one per process and reuse it."""

    def __init__(self, ontology, engine: str = "auto"):
        registry.require("fast")
        self.ontology = ontology
        # The ontology's closure: reasonable when installed (parity-tested), else owlrl.
        closure_engine = registry.closure_engine("auto" if engine in ("auto", "fast", "rl") else engine)
        self.closure = cache.closure(ontology, closure_engine)
        # The chunk step: the OWL 2 RL rules compiled against the closure (rl.py) when they cover
        # every construct the ontology uses, else the closure's engine.
        self.engine = closure_engine
        self._fallback = closure_engine
        if engine in ("auto", "fast", "rl") and not rl.unsupported(self.closure):
            self.engine = "rl"
            self._rules = rl.Rules(self.closure)
        self._closure_triples = list(self.closure)
        self._closure_quads = to_quads(self._closure_triples)
        ontology.names  # noqa: B018 - build the name index now, not inside the first chunk

    @cached_property
    def _slices(self) -> tuple[list, dict, set]:
        """For `reasonable` (not needed by rl): what it needs besides a chunk's facts, the schema
        (classes, properties, restrictions, lists; annotations left out) and the facts about
        each individual a session names (its muscle, side, approach...), all already closed;
        and the closure as a set, to leave it out of what the reasoner returns."""
        schema_subjects = {s for s, p, o in self._closure_triples if p == RDF.type and o in _SCHEMA_TYPES}
        schema = [t for t in self._closure_triples
                  if (t[0] in schema_subjects or isinstance(t[0], BNode)) and t[1] not in _ANNOTATIONS]
        facts: dict = defaultdict(list)
        for t in self._closure_triples:
            if t[0] not in schema_subjects and not isinstance(t[0], BNode) and t[1] not in _ANNOTATIONS:
                facts[t[0]].append(t)
        return schema, facts, set(self._closure_triples)

    def _reason(self, facts: list[tuple]) -> list[tuple]:
        """The chunk's facts and what OWL-RL concludes from them over the cached closure (the
        closure's own triples left out): all the chunk adds to the store."""
        if self.engine == "rl":
            try:
                return facts + self._rules.entail(facts)
            except rl.Unsupported:  # sessions never state schema; if one did, the general engine copes
                engine = self._fallback
        else:
            engine = self.engine
        schema, known_facts, closure_set = self._slices
        if engine == "reasonable":
            named = {o for _, _, o in facts if isinstance(o, URIRef)}
            known = [t for iri in named for t in known_facts.get(iri, ())]
            new = inference.reasonable_closure([schema, known, facts])
        else:
            graph = Graph()
            graph += self.closure
            for triple in facts:
                graph.add(triple)
            new = inference.closure(graph, engine)
        return [t for t in new if t not in closure_set]

    def code(self, sessions: list[Session], classification: bool = True) -> list[Result]:
        import pyoxigraph as ox

        if not sessions:
            return []
        facts = [t for session in sessions for t in session.triples]
        store = ox.Store()
        store.extend(self._closure_quads)
        store.extend(to_quads(self._reason(facts)))
        return derive(OxigraphBackend(store), sessions, self.ontology, classification)


_CODERS: dict = {}


def coder(ontology) -> FastCoder:
    """The process's fast coder for this ontology (built once)."""
    key = id(ontology)
    if key not in _CODERS:
        _CODERS[key] = FastCoder(ontology)
    return _CODERS[key]
