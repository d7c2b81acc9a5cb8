"""The queryable dataset: the ontology, its OWL-RL inferences and coded sessions as named graphs.

Graph names (documented in the README):

    https://w3id.org/chemoden/graph/ontology                  the ontology as asserted
    https://w3id.org/chemoden/graph/ontology/inferred         what OWL-RL adds to it
    https://w3id.org/chemoden/graph/session/{id}/asserted     a session as read and resolved
    https://w3id.org/chemoden/graph/session/{id}/inferred     its OWL-RL classification
    https://w3id.org/chemoden/graph/session/{id}/result       its billing lines, conflicts, notes

The graphs share no triple, so the default graph (the union of all of them) counts nothing
twice. The store is Oxigraph when installed, else an rdflib Dataset; both answer through
`Store.run`, which normalises every answer to rdflib terms and stops at the result-size limit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from rdflib import URIRef

from ..coding import history
from ..coding.entry import Coder
from ..core.errors import ChemodenError, InputError
from ..core.vocab import GRAPH_BASE
from ..engines import registry
from ..engines.answer import Answer
from ..engines.safety import run
from ..engines.store import new_store
from ..intake.files import sources as records_of
from ..knowledge.library import library, resolve

ONTOLOGY_GRAPH = URIRef(GRAPH_BASE + "ontology")
ONTOLOGY_INFERRED = URIRef(GRAPH_BASE + "ontology/inferred")


def session_graph(identifier: str, part: str) -> URIRef:
    """The name of a session's graph; part is asserted, inferred or result."""
    return URIRef(f"{GRAPH_BASE}session/{quote(identifier, safe='')}/{part}")


@dataclass
class Dataset:
    """The store with what is in it: graph names with their sizes, the sessions and what failed."""

    store: object
    graphs: dict[str, int] = field(default_factory=dict)
    sessions: dict[str, str] = field(default_factory=dict)  # identifier -> source
    failures: list[ChemodenError] = field(default_factory=list)
    directory: Path | None = None  # the ontology folder, whose queries/ is the library
    stored_sessions: int = 0  # the sessions of a history store (listed nowhere: there may be a million)

    def add(self, name: URIRef, triples: list[tuple]) -> None:
        self.store.add(name, triples)
        self.graphs[str(name)] = len(triples)

    def query(self, query: str, *, limit: int | None = None) -> Answer:
        """Run QUERY as `chemoden query` does: a library query's name, a .rq file or SPARQL text;
        the same refusals, raised as QueryError."""
        queries = library(self.directory) if self.directory is not None else {}
        return run(self.store, resolve(query, queries), self.graphs, limit=limit)


# ---------------------------------------------------------------------------
# Building
# ---------------------------------------------------------------------------

def _records(paths: Iterable[str | Path], failures: list[ChemodenError]):
    """The records of the --session arguments; one that names nothing is a failure."""
    for source in paths:
        path = Path(source)
        if not path.exists():
            failures.append(InputError("file not found", source=str(path), field="--session"))
            continue
        yield from records_of([str(path)])


def build(ontology, sources: Iterable[str | Path] = (), *, profile: str | None = None, engine: str = "auto",
          store: str = "auto", chunk_size: int = 32) -> Dataset:
    """The dataset of the ontology and the sessions in `sources`, coded first.

    A session that cannot be read is left out and its error kept in Dataset.failures; a session
    whose identifier is already loaded is refused the same way (its graphs would merge)."""
    coder = Coder(ontology, engine=engine, profile=profile, chunk_size=chunk_size)
    dataset = Dataset(new_store(store), directory=ontology.directory)
    asserted, inferred, known = ontology_graphs(ontology, engine)
    dataset.add(ONTOLOGY_GRAPH, asserted)
    dataset.add(ONTOLOGY_INFERRED, inferred)
    iris: dict[str, str] = {}  # session IRI -> identifier

    for outcome in coder.code(_records(sources, dataset.failures)):
        if outcome.error is not None:
            dataset.failures.append(outcome.error)
        for result in outcome.results:
            session = result.session
            if session.identifier in dataset.sessions:
                dataset.failures.append(InputError(
                    f"session id {session.identifier!r} is already loaded from {dataset.sessions[session.identifier]}",
                    source=session.source, field="id"))
                continue
            dataset.sessions[session.identifier] = session.source
            add_result(dataset, result, known)
            iris[str(session.iri)] = session.identifier
    add_history(dataset, ontology, iris)
    return dataset


def add_history(dataset: Dataset, ontology, iris: dict[str, str]) -> None:
    """The rules across visits over the sessions loaded together (they are a history too): their
    findings join each session's result graph, as a store's would."""
    if not iris:
        return

    def select(text: str, patient: str | None) -> list[dict]:
        return [{k: str(v) for k, v in row.items()} for row in run(dataset.store, text, dataset.graphs).rows]

    for s, items in history.findings(select, ontology).items():
        if s in iris:
            name = session_graph(iris[s], "result")
            triples = history.finding_triples(s, items)
            dataset.store.add(name, triples)
            dataset.graphs[str(name)] += len(triples)


def ontology_graphs(ontology, engine: str = "auto") -> tuple[list, list, set]:
    """The ontology as asserted, what OWL-RL adds to it, and both as one set (what a session's
    graphs leave out). The closure is computed here from the asserted graph (not read from the
    disk cache) so that its blank nodes are the asserted graph's own and the difference holds
    only what OWL-RL added."""
    key = (id(ontology), registry.closure_engine(engine))
    if key not in _ONTOLOGY_GRAPHS:
        asserted = set(ontology.graph)
        closure = set(ontology.closure(key[1]))
        _ONTOLOGY_GRAPHS[key] = (list(asserted), [t for t in closure if t not in asserted], asserted | closure)
    return _ONTOLOGY_GRAPHS[key]


_ONTOLOGY_GRAPHS: dict = {}


def result_graphs(result, known: set, text=None) -> dict[str, list]:
    """A coded session's three graphs (asserted, inferred, result); none repeats a triple of the
    ontology's graphs (`known`) or of the others. With `text` (engines/backend.py: nt_line),
    each graph is its triples' N-Triples lines and `known` the ontology's: what a load writes."""
    session = result.session
    line = text or _itself
    own = set(map(line, session.triples))  # what session.graph holds, without building the rdflib graph
    own.update(map(line, getattr(session, "provenance", ())))  # a note's annotations: kept, not reasoned over
    inferred = {t for t in map(line, result.classification) if t not in own and t not in known}
    # the result's own triples, in the order made, each once (no rdflib graph built: a load's
    # workers make these for every session)
    result_triples = [t for t in dict.fromkeys(map(line, result.result_triples()))
                      if t not in own and t not in inferred and t not in known]
    return {"asserted": list(own), "inferred": list(inferred), "result": result_triples}


def _itself(triple):
    return triple


def add_result(dataset: Dataset, result, known: set) -> None:
    """A coded session's three graphs in the dataset."""
    for part, triples in result_graphs(result, known).items():
        dataset.add(session_graph(result.session.identifier, part), triples)
