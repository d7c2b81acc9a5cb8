"""Where SPARQL over a dataset runs: Oxigraph when installed, else an rdflib Dataset.

Both answer through `run`, which normalises every answer to rdflib terms (an `Answer`) and
stops at the result-size limit, so the callers never see which store they have.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from pathlib import Path

import rdflib.plugins.sparql as rdflib_sparql
from rdflib import Dataset as RdflibDataset
from rdflib import URIRef

from ..core.errors import QueryError, ResultTooLarge
from . import registry
from .answer import Answer
from .backend import from_oxigraph, to_quads


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
    def load(cls, path: Path) -> OxigraphStore:
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
        self._dataset = dataset if dataset is not None else RdflibDataset(default_union=True)

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
    def load(cls, path: Path) -> RdflibStore:
        dataset = RdflibDataset(default_union=True)
        dataset.parse(str(path), format="nquads")
        return cls(dataset)

    def run(self, text: str, *, union: bool = True, default_graphs=None, named_graphs=None,
            limit: int | None = None) -> Answer:
        if default_graphs or named_graphs:
            raise QueryError("default-graph-uri and named-graph-uri need pyoxigraph (pip install 'chemoden[fast]')",
                             field="default-graph-uri/named-graph-uri")
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
    if kind == "oxigraph" or (kind == "auto" and registry.has_oxigraph()):
        return OxigraphStore()
    return RdflibStore()


def load_store(path: Path, kind: str):
    return OxigraphStore.load(path) if kind == "oxigraph" else RdflibStore.load(path)


