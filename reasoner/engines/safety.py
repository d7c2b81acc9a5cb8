"""What a query may do over the closed, read-only dataset, and running it there.

Shared by `chemoden query`, `chemoden serve` and the Python API, so all refuse the same queries.
The check reads the query's tokens (comments, strings and IRIs set aside), which is enough to
find what a read-only, closed endpoint must refuse: updates, SERVICE, and FROM / FROM NAMED
naming a graph that is not in the dataset.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..core.errors import QueryError, QueryRefused
from .answer import Answer
from .protocol import LOCAL_BASE, query_dataset, resolve_iri

# ---------------------------------------------------------------------------
# What a query is and whether it may run
# ---------------------------------------------------------------------------

_TOKEN = re.compile(r'''
    (?P<comment>\#[^\r\n]*)
  | (?P<string>"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^'\\]|\\.|'(?!''))*\'\'\'
              |"(?:[^"\\\r\n]|\\.)*"|'(?:[^'\\\r\n]|\\.)*')
  | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
  | (?P<var>[?$]\w+)
  | (?P<word>[^\W\d][\w.\-]*(?::(?:[\w.\-%:]|\\.)*)?|:(?:[\w.\-%:]|\\.)*)
  | (?P<other>\S)
''', re.X)
QUERY_FORMS = {"SELECT": "select", "ASK": "ask", "CONSTRUCT": "graph", "DESCRIBE": "graph"}
UPDATE_WORDS = {"INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY", "WITH"}


@dataclass(frozen=True)
class Inspection:
    form: str | None  # select | ask | graph; None when the text is no query the check recognises
    from_graphs: tuple[str, ...] = ()
    from_named: tuple[str, ...] = ()

    @property
    def has_dataset_clause(self) -> bool:
        return bool(self.from_graphs or self.from_named)


def inspect(text: str, graph_names=None, base: str | None = None) -> Inspection:
    """The query's form and dataset clause; raises QueryRefused for what the dataset will not run.
    Without graph_names (the dataset is not built yet) FROM is not checked. FROM's relative IRIs
    resolve against the query's BASE, else base, as the engine resolves them."""
    tokens = [(m.lastgroup, m.group()) for m in _TOKEN.finditer(text) if m.lastgroup != "comment"]
    words = [(i, value.upper()) for i, (kind, value) in enumerate(tokens) if kind == "word"]
    prefixes: dict[str, str] = {}
    form = None
    n = 0
    while n < len(tokens):  # the prologue: PREFIX and BASE declarations
        kind, value = tokens[n]
        if kind == "word" and value.upper() == "PREFIX" and n + 2 < len(tokens):
            prefixes[tokens[n + 1][1].rstrip(":")] = resolve_iri(tokens[n + 2][1][1:-1], base)
            n += 3
        elif kind == "word" and value.upper() == "BASE":
            if n + 1 < len(tokens) and tokens[n + 1][0] == "iri":
                base = resolve_iri(tokens[n + 1][1][1:-1], base)
            n += 2
        else:
            break
    if n < len(tokens) and tokens[n][0] == "word":
        first = tokens[n][1].upper()
        if first in UPDATE_WORDS:
            raise QueryRefused("SPARQL Update is refused: the dataset is read-only")
        form = QUERY_FORMS.get(first)
    if any(word == "SERVICE" for _, word in words):
        raise QueryRefused("SERVICE (a federated query) is refused: the dataset calls nothing outside")
    known = {str(g) for g in graph_names or ()}
    default, named = [], []
    for i, word in words:
        if word != "FROM":
            continue
        j = i + 1
        target = default
        if j < len(tokens) and tokens[j][0] == "word" and tokens[j][1].upper() == "NAMED":
            target, j = named, j + 1
        iri = _iri(tokens[j] if j < len(tokens) else ("other", ""), prefixes)
        iri = iri if iri is None else resolve_iri(iri, base)
        if graph_names is not None and iri not in known:
            raise QueryRefused(f"FROM names {iri or 'nothing'!r}, which is not a graph of this dataset "
                               "(nothing is ever fetched; GRAPH ?g {} lists the graphs)")
        target.append(iri)
    return Inspection(form, tuple(default), tuple(named))


def _iri(token: tuple[str, str], prefixes: dict[str, str]) -> str | None:
    kind, value = token
    if kind == "iri":
        return value[1:-1]
    if kind == "word" and ":" in value:
        prefix, local = value.split(":", 1)
        if prefix in prefixes:
            return prefixes[prefix] + local
    return None


def run(store, text: str, graph_names, *, limit: int | None = None, default_graphs=None,
        named_graphs=None, base: str | None = LOCAL_BASE) -> Answer:
    """Check and run a query over the store; every failure is a QueryError with its HTTP status.
    default_graphs and named_graphs are the protocol's default-graph-uri and named-graph-uri; base
    is what relative IRIs resolve against (the endpoint's IRI on the server, LOCAL_BASE elsewhere)."""
    known = {str(g) for g in graph_names}
    look = inspect(text, known, base)
    for field, graphs in (("default-graph-uri", default_graphs), ("named-graph-uri", named_graphs)):
        for g in graphs or ():
            if g not in known:
                raise QueryRefused(f"{g!r} is not a graph of this dataset (nothing is ever fetched; "
                                   "GET /sparql lists the graphs)", field=field)
    dataset = query_dataset(look.from_graphs, look.from_named, default_graphs, named_graphs)
    try:
        return store.run(text, default_graphs=dataset.default, named_graphs=dataset.named, base=base, limit=limit)
    except SyntaxError as exc:
        raise QueryError(f"SPARQL syntax error: {' '.join(str(exc).split())}") from None
    except ValueError as exc:  # Oxigraph's evaluation errors
        raise QueryError(str(exc)) from None
