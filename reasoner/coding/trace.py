"""Coding one session step by step, for people who want to see the reasoning (the notebooks).

`trace` runs the reference flow in the open: the OWL-RL closure of ontology plus session, then
derive.py over it with a backend that records what each query did: the triples each rule added
or removed, the rows each conflict, audit and note query returned. The result is the one
derive.py builds, so a trace never tells a different story from `chemoden code` (a test checks
it on every example).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rdflib import Graph, URIRef
from rdflib.namespace import OWL, RDF

from ..core.vocab import PREFIXES, short
from ..engines import registry
from ..engines.backend import OxigraphBackend, RdflibBackend, from_oxigraph, to_quads
from ..intake.model import Session
from ..knowledge.ontology import Ontology, QueryFile
from .derive import derive
from .reference import classify
from .result import Result


@dataclass
class Step:
    """One query file as it ran: a rule's changes to the graph, or a SELECT's rows."""

    query: QueryFile
    added: list[tuple] = field(default_factory=list)
    removed: list[tuple] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.query.id

    @property
    def kind(self) -> str:
        return self.query.kind

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed or self.rows)

    def turtle(self) -> str:
        """What the step added, as Turtle (removed triples are in `removed`)."""
        return _turtle(self.added)


@dataclass
class Trace:
    session: Session
    asserted: Graph  # the session as read and resolved
    inferred: Graph  # what OWL-RL added about the session's own nodes
    steps: list[Step]  # every query that ran, in order
    result: Result
    engine: str  # the OWL-RL engine of the classification

    def step(self, query_id: str) -> Step:
        return next(s for s in self.steps if s.id == query_id)

    def injection_types(self) -> list[dict]:
        """Per injection: its muscle and the cd: classes it has before OWL-RL (asserted) and after."""
        out = []
        for inj in self.session.injections:
            before = sorted(_short(o) for o in self.asserted.objects(inj.iri, RDF.type))
            new = sorted(_short(o) for o in self.inferred.objects(inj.iri, RDF.type) if _vocabulary(o))
            out.append({"injection": inj.identifier, "muscle": inj.target_label, "sides": " ".join(inj.sides),
                        "before": before, "added": new})
        return out


def trace(session: Session, ontology: Ontology, engine: str = "auto") -> Trace:
    """Code `session` step by step (see the module's docstring). `engine` is the OWL-RL engine of
    the classification ("auto": reasonable when installed, else owlrl); the queries run on
    Oxigraph when installed, else on rdflib, as the two paths do."""
    engine = registry.closure_engine("auto" if engine == "fast" else engine)
    closed = classify(session, ontology, engine)
    nodes = {s for s in session.graph.subjects()} | {session.iri}
    asserted, inferred = _graph(session.graph), _graph()
    for s, p, o in closed:
        if (s in nodes or o in nodes) and (s, p, o) not in session.graph and not (p == OWL.sameAs and s == o):
            inferred.add((s, p, o))
    recorder = _Recorder(*_backend(closed))
    result = derive(recorder, [session], ontology)[0]
    recorder.finish()
    return Trace(session=session, asserted=asserted, inferred=inferred, steps=recorder.steps,
                 result=result, engine=engine)


def _backend(graph: Graph):
    """The backend over `graph`: Oxigraph when installed (the fast path's SPARQL engine), else rdflib
    (the reference's); with a snapshot of its triples and a way back to rdflib terms."""
    if registry.has_oxigraph():
        import pyoxigraph as ox

        store = ox.Store()
        store.extend(to_quads(graph))

        def triples(quads):
            return [tuple(from_oxigraph(t) for t in (q.subject, q.predicate, q.object)) for q in quads]

        return OxigraphBackend(store), lambda: set(store), triples
    return RdflibBackend(graph), lambda: set(graph), list


class _Recorder:
    """Stands in for a backend: passes every call on and notes what each query file did.
    A rule's step is open from its CONSTRUCT or update until the next query, so the rule-id
    stamps derive.py adds after a CONSTRUCT count as that rule's output."""

    def __init__(self, backend, snapshot, triples):
        self.backend, self.snapshot, self.triples = backend, snapshot, triples
        self.steps: list[Step] = []
        self._open: Step | None = None
        self._before: set | None = None

    def _start(self, query: QueryFile) -> None:
        self.finish()
        self._open, self._before = Step(query), self.snapshot()

    def finish(self) -> None:
        if self._open is None:
            return
        after = self.snapshot()
        self._open.added = _sorted(self.triples(after - self._before))
        self._open.removed = _sorted(self.triples(self._before - after))
        self.steps.append(self._open)
        self._open = self._before = None

    def construct(self, query):
        self._start(query)
        return self.backend.construct(query)

    def update(self, query) -> None:
        self._start(query)
        self.backend.update(query)

    def add(self, triples) -> None:
        self.backend.add(triples)

    def classification(self, query, iris) -> list[tuple]:
        self.finish()
        return self.backend.classification(query, iris)

    def select(self, query, terms: bool = False) -> list[dict]:
        self.finish()
        rows = self.backend.select(query, terms)
        if isinstance(query, QueryFile):
            self.steps.append(Step(query, rows=[{k: str(v) for k, v in row.items()} for row in rows]))
        return rows


def _sorted(triples) -> list[tuple]:
    return sorted(triples, key=lambda t: tuple(str(x) for x in t))


def _vocabulary(term) -> bool:
    return isinstance(term, URIRef) and _short(term).startswith("cd:")


def _short(term) -> str:
    return short(term)


def _graph(triples=()) -> Graph:
    """A graph with the project's prefixes bound, so its Turtle reads cd:Injection, not ns1:Injection."""
    g = Graph(bind_namespaces="none")
    for prefix, iri in PREFIXES.items():
        g.bind(prefix, iri)
    for t in triples:
        g.add(t)
    return g


def _turtle(triples) -> str:
    return _graph(triples).serialize(format="turtle")
