"""Where SPARQL over a dataset runs: Oxigraph when installed, else an rdflib Dataset.

Both answer through `run`, which normalises every answer to rdflib terms (an `Answer`) and
stops at the result-size limit, so the callers never see which store they have. `run` is given
the query's dataset already worked out (engines/protocol.py `query_dataset`): the stores never
read a query's FROM / FROM NAMED themselves, so both apply the same rules.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from pathlib import Path

import rdflib.plugins.sparql as rdflib_sparql
from rdflib import Dataset as RdflibDataset
from rdflib import URIRef
from rdflib.plugins.sparql.parserutils import CompValue

from ..core.errors import ResultTooLarge
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


class GraphNames:
    """The graph names of a large store on disk, asked of the store when needed (a history store
    holds four graphs per session: listing them all up front would cost what a query does)."""

    def __init__(self, store):
        self._store = store

    def __contains__(self, name) -> bool:
        import pyoxigraph as ox

        try:
            return self._store.contains_named_graph(ox.NamedNode(str(name)))
        except ValueError:  # not an IRI: not a graph of the store
            return False

    def __iter__(self):
        return (g.value for g in self._store.named_graphs())

    def items(self):
        return ()  # sizes are not counted up front

    def values(self):
        return ()

    def __len__(self) -> int:
        return sum(1 for _ in self._store.named_graphs())


class OxigraphStore:
    kind = "oxigraph"

    def __init__(self, store=None, path: Path | None = None):
        import pyoxigraph as ox

        self._store = store if store is not None else ox.Store()
        self.path = path  # an on-disk store that worker processes may open read-only as it is

    def graph_names(self) -> GraphNames:
        return GraphNames(self._store)

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

        if self.path is not None:  # a history store's snapshot: nothing writes it, open it where it is
            return Path(self.path)
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

    def run(self, text: str, *, default_graphs=None, named_graphs=None, base: str | None = None,
            limit: int | None = None, prefixes: dict[str, str] | None = None) -> Answer:
        """Run a query over a dataset: the default graph is the merge of default_graphs (None: the
        union of all graphs), the named graphs are named_graphs (None: every graph); an empty list
        is no graph. Relative IRIs resolve against base; prefixes are predeclared (the query's own
        PREFIX wins). Raises SyntaxError for a malformed query, ValueError for a bad base or an
        evaluation error."""
        import pyoxigraph as ox

        # Given explicitly, both lists replace the query's FROM and FROM NAMED (Oxigraph replaces
        # each one only when it is given); use_default_graph_as_union would override FROM as well.
        options: dict = {"base_iri": base} if base else {}
        if prefixes:
            options["prefixes"] = dict(prefixes)
        if default_graphs is None:
            options["use_default_graph_as_union"] = True
        else:
            options["default_graph"] = [ox.NamedNode(g) for g in default_graphs]
        if named_graphs is not None:
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

    def run(self, text: str, *, default_graphs=None, named_graphs=None, base: str | None = None,
            limit: int | None = None, prefixes: dict[str, str] | None = None) -> Answer:
        """As OxigraphStore.run (the same dataset rules and prefixes), on rdflib's engine."""
        rdflib_sparql.SPARQL_LOAD_GRAPHS = False  # FROM never fetches anything
        try:
            with warnings.catch_warnings():  # rdflib's engine calls its own deprecated Dataset methods
                warnings.simplefilter("ignore", DeprecationWarning)
                query = rdflib_sparql.prepareQuery(text, base=base, initNs=prefixes or {})
                result = self._view(query, default_graphs, named_graphs).query(query)
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

    def _view(self, query, default_graphs, named_graphs):
        """What to run the parsed query on. rdflib builds a query's dataset from its FROM / FROM
        NAMED clauses (copying the graphs out of the store): the clauses are replaced by the
        dataset given, or removed for the whole store (the union default graph, every graph)."""
        if default_graphs is None and named_graphs is None:
            query.algebra["datasetClause"] = None
            return self._dataset
        every = [str(g.identifier) for g in self._dataset.contexts() if g != self._dataset.default_context]
        clauses = ([CompValue("DatasetClause", default=URIRef(g)) for g in every if default_graphs is None]
                   + [CompValue("DatasetClause", default=URIRef(g)) for g in default_graphs or ()]
                   + [CompValue("DatasetClause", named=URIRef(g)) for g in every if named_graphs is None]
                   + [CompValue("DatasetClause", named=URIRef(g)) for g in named_graphs or ()])
        query.algebra["datasetClause"] = clauses
        # no clause at all would read as no dataset clause, that is the whole store
        return self._dataset if clauses else RdflibDataset()


def new_store(kind: str = "auto"):
    """An empty store: Oxigraph when installed (or asked for), else rdflib."""
    if kind == "oxigraph" or (kind == "auto" and registry.has_oxigraph()):
        return OxigraphStore()
    return RdflibStore()


def load_store(path: Path, kind: str):
    return OxigraphStore.load(path) if kind == "oxigraph" else RdflibStore.load(path)


