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

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator
from urllib.parse import quote

from rdflib import Literal, URIRef

from . import inference, pipeline
from .errors import ChemodenError, InputError

GRAPH_BASE = "https://w3id.org/chemoden/graph/"
ONTOLOGY_GRAPH = URIRef(GRAPH_BASE + "ontology")
ONTOLOGY_INFERRED = URIRef(GRAPH_BASE + "ontology/inferred")
SESSION_SUFFIXES = (".json", ".jsonld", ".ttl")
JSON_LINES_SUFFIXES = (".jsonl", ".ndjson")


def session_graph(identifier: str, part: str) -> URIRef:
    """The name of a session's graph; part is asserted, inferred or result."""
    return URIRef(f"{GRAPH_BASE}session/{quote(identifier, safe='')}/{part}")


class ResultTooLarge(Exception):
    """The answer has more rows (or triples) than the limit allows."""

    def __init__(self, limit: int):
        super().__init__(f"the answer has more than {limit} rows or triples (the result-size limit); "
                         "narrow the query or add a LIMIT")
        self.limit = limit


@dataclass
class Answer:
    """A query's answer in rdflib terms: rows (SELECT), a boolean (ASK) or triples (CONSTRUCT, DESCRIBE)."""

    form: str  # select | ask | graph
    variables: list[str] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)
    boolean: bool | None = None
    triples: list[tuple] = field(default_factory=list)

    @classmethod
    def of(cls, records: list[dict], variables: list[str] | None = None) -> "Answer":
        """A table of one's own rows (Python values; lists are joined with commas) as an answer,
        so a notebook shows it, or `query.render` writes it, like a query's."""
        variables = variables or list(dict.fromkeys(k for r in records for k in r))

        def term(value):
            if isinstance(value, (URIRef, Literal)):
                return value
            return Literal(", ".join(map(str, value)) if isinstance(value, (list, tuple)) else value)

        return cls("select", variables, [{k: term(v) for k, v in r.items() if v is not None} for r in records])

    def records(self) -> list[dict]:
        """The rows with Python values (numbers as numbers, IRIs and text as strings), for plots
        and code; a graph answer gives subject, predicate and object rows."""
        rows = self.rows if self.form == "select" else [
            dict(zip(("subject", "predicate", "object"), t)) for t in self.triples]
        return [{k: v.toPython() if isinstance(v, Literal) else str(v) for k, v in row.items()} for row in rows]

    def column(self, name: str) -> list:
        """One variable's values, row by row (None where it is unbound)."""
        return [row.get(name) for row in self.records()]

    def _repr_pretty_(self, printer, cycle) -> None:
        """The text a notebook or IPython shows: the `--format table` rendering."""
        from .query import render

        printer.text(render(self, "table").rstrip("\n"))

    def _repr_html_(self) -> str:
        """The answer as an HTML table, as notebooks show it (terms shortened as in `--format table`)."""
        from html import escape

        from .query import short

        if self.form == "ask":
            return f"<p><code>{'true' if self.boolean else 'false'}</code></p>"
        names = self.variables if self.form == "select" else ["subject", "predicate", "object"]
        rows = self.rows if self.form == "select" else [dict(zip(names, t)) for t in self.triples]
        head = "".join(f"<th>{escape(n)}</th>" for n in names)
        body = "".join("<tr>" + "".join(f"<td>{escape(short(row[n])) if n in row else ''}</td>" for n in names)
                       + "</tr>" for row in rows)
        return (f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
                f"<p>{len(rows)} row{'s' if len(rows) != 1 else ''}</p>")


def _capped(items: Iterable, limit: int | None) -> list:
    out = []
    for item in items:
        if limit is not None and len(out) >= limit:
            raise ResultTooLarge(limit)
        out.append(item)
    return out


class OxigraphStore:
    kind = "oxigraph"

    def __init__(self, store=None):
        import pyoxigraph as ox

        self._store = store if store is not None else ox.Store()

    def add(self, graph: URIRef, triples: Iterable[tuple]) -> None:
        import pyoxigraph as ox

        from .backend import to_quads

        self._store.extend(to_quads(triples, ox.NamedNode(str(graph))))

    def dump(self, path: Path) -> None:
        import pyoxigraph as ox

        self._store.dump(str(path), format=ox.RdfFormat.N_QUADS)

    def save(self, directory: Path) -> Path:
        """An on-disk copy that worker processes open read-only: one copy for all of them, opened
        at once however large (a worker killed on a timeout is replaced in no time)."""
        import pyoxigraph as ox

        dump, path = directory / "dataset.nq", directory / "oxigraph"
        self.dump(dump)
        disk = ox.Store(str(path))
        disk.bulk_load(path=str(dump), format=ox.RdfFormat.N_QUADS)
        disk.flush()
        del disk  # closed: the workers open it read-only
        dump.unlink()
        return path

    @classmethod
    def load(cls, path: Path) -> "OxigraphStore":
        import pyoxigraph as ox

        if Path(path).is_dir():
            return cls(ox.Store.read_only(str(path)))
        store = ox.Store()
        store.bulk_load(path=str(path), format=ox.RdfFormat.N_QUADS)
        return cls(store)

    def run(self, text: str, *, union: bool = True, default_graphs=None, named_graphs=None,
            limit: int | None = None) -> Answer:
        """Run a query; the default graph is the union of all graphs unless the query (FROM) or the
        protocol (default_graphs) names its own. Raises SyntaxError for a malformed query."""
        import pyoxigraph as ox

        from .backend import from_oxigraph

        options = {}
        if default_graphs:
            options["default_graph"] = [ox.NamedNode(g) for g in default_graphs]
        elif union:
            options["use_default_graph_as_union"] = True
        if named_graphs:
            options["named_graphs"] = [ox.NamedNode(g) for g in named_graphs]
        answer = self._store.query(text, **options)
        if isinstance(answer, ox.QueryBoolean):
            return Answer("ask", boolean=bool(answer))
        if isinstance(answer, ox.QuerySolutions):
            names = [v.value for v in answer.variables]
            rows = _capped(({n: from_oxigraph(sol[n]) for n in names if sol[n] is not None} for sol in answer), limit)
            return Answer("select", variables=names, rows=rows)
        triples = _capped(((from_oxigraph(t.subject), from_oxigraph(t.predicate), from_oxigraph(t.object))
                           for t in answer), limit)
        return Answer("graph", triples=triples)


class RdflibStore:
    """The fallback when pyoxigraph is not installed: an rdflib Dataset, slower but the same answers."""

    kind = "rdflib"

    def __init__(self, dataset=None):
        from rdflib import Dataset

        self._dataset = dataset if dataset is not None else Dataset(default_union=True)

    def add(self, graph: URIRef, triples: Iterable[tuple]) -> None:
        g = self._dataset.graph(graph)
        for triple in triples:
            g.add(triple)

    def dump(self, path: Path) -> None:
        self._dataset.serialize(str(path), format="nquads", encoding="utf-8")

    def save(self, directory: Path) -> Path:
        """A copy on disk (N-Quads) for worker processes to load."""
        path = directory / "dataset.nq"
        self.dump(path)
        return path

    @classmethod
    def load(cls, path: Path) -> "RdflibStore":
        from rdflib import Dataset

        dataset = Dataset(default_union=True)
        dataset.parse(str(path), format="nquads")
        return cls(dataset)

    def run(self, text: str, *, union: bool = True, default_graphs=None, named_graphs=None,
            limit: int | None = None) -> Answer:
        import rdflib.plugins.sparql as rdflib_sparql

        if default_graphs or named_graphs:
            raise ValueError("default-graph-uri and named-graph-uri need pyoxigraph (pip install 'chemoden[fast]')")
        rdflib_sparql.SPARQL_LOAD_GRAPHS = False  # FROM never fetches anything
        try:
            with warnings.catch_warnings():  # rdflib's engine calls its own deprecated Dataset methods
                warnings.simplefilter("ignore", DeprecationWarning)
                result = self._dataset.query(text)
                rows = list(result) if result.type == "SELECT" else None
        except Exception as exc:  # rdflib's parser raises pyparsing errors: one kind for the callers
            if type(exc).__name__ in ("ParseException", "ParseSyntaxException"):
                raise SyntaxError(str(exc)) from None
            raise
        if result.type == "ASK":
            return Answer("ask", boolean=bool(result.askAnswer))
        if result.type == "SELECT":
            names = [str(v) for v in result.vars]
            rows = _capped(({n: row[n] for n in names if row[n] is not None} for row in rows), limit)
            return Answer("select", variables=names, rows=rows)
        return Answer("graph", triples=_capped(iter(result.graph), limit))


def new_store(kind: str = "auto"):
    """An empty store: Oxigraph when installed (or asked for), else rdflib."""
    from . import fastpath

    if kind == "oxigraph" or (kind == "auto" and fastpath.available()):
        return OxigraphStore()
    return RdflibStore()


def load_store(path: Path, kind: str):
    return OxigraphStore.load(path) if kind == "oxigraph" else RdflibStore.load(path)


@dataclass
class Dataset:
    """The store with what is in it: graph names with their sizes, the sessions and what failed."""

    store: object
    graphs: dict[str, int] = field(default_factory=dict)
    sessions: dict[str, str] = field(default_factory=dict)  # identifier -> source
    failures: list[ChemodenError] = field(default_factory=list)
    directory: Path | None = None  # the ontology folder, whose queries/ is the library

    def add(self, name: URIRef, triples: list[tuple]) -> None:
        self.store.add(name, triples)
        self.graphs[str(name)] = len(triples)

    def query(self, query: str, *, limit: int | None = None) -> Answer:
        """Run QUERY as `chemoden query` does: a library query's name, a .rq file or SPARQL text;
        the same refusals, raised as QueryError."""
        from . import query as q

        queries = q.library(self.directory) if self.directory is not None else {}
        return q.run(self.store, q.resolve(query, queries), self.graphs, limit=limit)


# ---------------------------------------------------------------------------
# Building
# ---------------------------------------------------------------------------

def session_files(path: Path) -> list[Path]:
    """A folder stands for the session files under it, in name order."""
    return [f for f in sorted(path.rglob("*")) if f.is_file() and f.suffix.lower() in SESSION_SUFFIXES]


def _read_sessions(sources: Iterable[str | Path], ontology, profile: str | None,
                   failures: list[ChemodenError]) -> Iterator:
    """Every session in the sources (files, folders, JSON Lines), read and validated; a source
    or record that cannot be read is recorded in `failures` and the others go on."""
    from .batch import read_records
    from .session import read_bytes, read_path

    for source in sources:
        path = Path(source)
        if not path.exists():
            failures.append(InputError("file not found", source=str(path), field="--session"))
            continue
        if path.suffix.lower() in JSON_LINES_SUFFIXES:
            for record in read_records(path):
                try:
                    if record.text.startswith("\0"):
                        raise InputError(record.text[1:], source=record.source)
                    yield from read_bytes(record.text, ontology, source=record.source, fmt=record.fmt, profile=profile)
                except ChemodenError as exc:
                    failures.append(exc)
            continue
        for file in session_files(path) if path.is_dir() else [path]:
            try:
                yield from read_path(file, ontology, profile)
            except ChemodenError as exc:
                failures.append(exc)


def _coded(sessions: Iterable, ontology, engine: str, chunk_size: int) -> Iterator:
    """Results in input order; the fast path codes a chunk of sessions together."""
    fast = pipeline.resolve_engine(engine) == "fast"
    chunk: list = []

    def flush():
        if fast:
            try:
                return pipeline.fast_coder(ontology).code(chunk)
            except Exception:  # one odd session must not sink its chunk: code each alone
                pass
        return [pipeline.code(s, ontology, engine) for s in chunk]

    for session in sessions:
        chunk.append(session)
        if len(chunk) >= chunk_size:
            yield from flush()
            chunk = []
    if chunk:
        yield from flush()


def closure_engine(engine: str) -> str:
    """The OWL-RL engine whose ontology closure goes into the inferred graph."""
    return inference.pick("auto" if pipeline.resolve_engine(engine) == "fast" else engine)


def build(ontology, sources: Iterable[str | Path] = (), *, profile: str | None = None, engine: str = "auto",
          store: str = "auto", chunk_size: int = 32) -> Dataset:
    """The dataset of the ontology and the sessions in `sources`, coded first.

    A session that cannot be read is left out and its error kept in Dataset.failures; a session
    whose identifier is already loaded is refused the same way (its graphs would merge)."""
    dataset = Dataset(new_store(store), directory=ontology.directory)
    asserted = set(ontology.graph)
    # computed here from the asserted graph (not read from the disk cache) so that its blank
    # nodes are the asserted graph's own and the difference holds only what OWL-RL added
    closure = set(ontology.closure(closure_engine(engine)))
    dataset.add(ONTOLOGY_GRAPH, list(asserted))
    dataset.add(ONTOLOGY_INFERRED, [t for t in closure if t not in asserted])
    known = asserted | closure

    def unique(sessions):
        for session in sessions:
            if session.identifier in dataset.sessions:
                dataset.failures.append(InputError(
                    f"session id {session.identifier!r} is already loaded from {dataset.sessions[session.identifier]}",
                    source=session.source, field="id"))
                continue
            dataset.sessions[session.identifier] = session.source
            yield session

    sessions = unique(_read_sessions(sources, ontology, profile, dataset.failures))
    for result in _coded(sessions, ontology, engine, chunk_size):
        add_result(dataset, result, known)
    return dataset


def add_result(dataset: Dataset, result, known: set) -> None:
    """A coded session's three graphs; none repeats a triple of the ontology's graphs or of the others."""
    session = result.session
    own = set(session.graph)
    inferred = {t for t in result.classification if t not in own and t not in known}
    result_triples = [t for t in result.to_graph() if t not in own and t not in inferred and t not in known]
    dataset.add(session_graph(session.identifier, "asserted"), list(own))
    dataset.add(session_graph(session.identifier, "inferred"), list(inferred))
    dataset.add(session_graph(session.identifier, "result"), result_triples)
