"""What a query may do over the closed, read-only dataset, and running it there.

Shared by `chemoden query`, `chemoden serve` and the Python API, so all refuse the same queries:
updates, SERVICE (a federated query, which would make the engine send HTTP requests), and
FROM / FROM NAMED naming a graph that is not in the dataset.

The decision is made on a parse of the query by rdflib's SPARQL 1.1 grammar (the project's
reference engine), never on a scan of its words: a SERVICE anywhere in the parse tree (in
OPTIONAL, UNION, MINUS, GRAPH, EXISTS, a subquery; SILENT or not; to an IRI, a prefixed name or
a variable) refuses the query, while "SERVICE" in a string or a comment is only text. The form
(select, ask, graph) and the FROM graphs come from the same parse.

Where the two engines could read one text two ways, the text is first made one that both read
alike, and that text is what runs:
- codepoint escapes (\\u0053, \\U00000053) are read before parsing, as SPARQL prescribes and
  rdflib does; Oxigraph reads them only inside strings and IRIs, so an escaped quote could end
  a string for one engine and not for the other. The engine runs the text with the escapes
  read; a text whose escapes spell another escape is refused (it would be read twice by
  rdflib's own engine);
- a lone carriage return ends a comment for Oxigraph but not for rdflib's grammar: every line
  end becomes a line feed, as Python's text files read them;
- a character that is not Unicode (a lone surrogate, \\uD800) is refused.

The project's prefixes (core/vocab.py PREFIXES: cd:, rdfs:, skos:, ...) are predeclared: a query
may use them without a PREFIX line, and its own PREFIX wins. Any other prefix must be declared;
one that is not is refused naming the PREFIX line to add, before either engine reads the text
(rdflib would quietly resolve its own favourites, foaf: or schema:, which Oxigraph rejects).

A text the grammar cannot read is refused: a syntax error (400) naming its line and column and
what could come there in words (engines/syntax.py), even where Oxigraph might accept it (SPARQL
1.2 syntax such as LATERAL, or what goes deeper than rdflib's recursive parser: more than about
80 triple patterns in one block, which { } groups split, or parentheses about 25 deep). Falling
back to running it unchecked would make the grammar check only as good as the weaker of the
two parsers; the network wall (engines/sandbox.py) keeps even a missed SERVICE from reaching
anything in the processes that run queries, but it is not everywhere (the Python API, another
operating system), so the check stands on its own.

rdflib's parser takes tens of milliseconds a query, so readings are cached by text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from pyparsing import ParseBaseException, ParseResults
from rdflib import Graph
from rdflib.plugins.sparql.algebra import translatePrologue
from rdflib.plugins.sparql.parser import expandUnicodeEscapes, expandUnicodeEscapes_re, parseQuery, parseUpdate
from rdflib.plugins.sparql.parserutils import CompValue

from ..core.errors import QueryError, QueryRefused
from ..core.vocab import PREFIXES
from .answer import Answer
from .protocol import LOCAL_BASE, query_dataset
from .store import GraphNames
from .syntax import explain, from_oxigraph

# ---------------------------------------------------------------------------
# What a query is and whether it may run
# ---------------------------------------------------------------------------

QUERY_FORMS = {"SelectQuery": "select", "AskQuery": "ask", "ConstructQuery": "graph", "DescribeQuery": "graph"}
SERVICE_REFUSED = "SERVICE (a federated query) is refused: the dataset calls nothing outside"
UPDATE_REFUSED = "SPARQL Update is refused: the dataset is read-only"
CACHED_UP_TO = 64_000  # characters: longer texts are parsed each time rather than kept (256 at most are)
_LINE_END = re.compile(r"\r\n?")
_LOCAL_ESCAPE = re.compile(r"\\([_~.\-!$&'()*+,;=/?#@%])")  # PN_LOCAL_ESC


@dataclass(frozen=True)
class Inspection:
    form: str | None  # select | ask | graph
    from_graphs: tuple[str, ...] = ()
    from_named: tuple[str, ...] = ()

    @property
    def has_dataset_clause(self) -> bool:
        return bool(self.from_graphs or self.from_named)


@dataclass(frozen=True)
class _Reading:
    """What the grammar made of a text: the text to run and what it is, or why it may not run."""

    text: str = ""
    inspection: Inspection | None = None
    refusal: tuple[type[QueryError], str] | None = None


def inspect(text: str, graph_names=None, base: str | None = None) -> Inspection:
    """The query's form and dataset clause; raises QueryRefused for what the dataset will not run
    and QueryError for what is no SPARQL query. Without graph_names (the dataset is not built
    yet) FROM is not checked. FROM's relative IRIs resolve against the query's BASE, else base,
    as the engine resolves them."""
    reading = _read(text, base)
    if reading.refusal is not None:
        error, message = reading.refusal
        raise error(message)
    look = reading.inspection
    if graph_names is not None:
        known = _names(graph_names)
        for iri in look.from_graphs + look.from_named:
            if iri not in known:
                raise QueryRefused(f"FROM names {iri!r}, which is not a graph of this dataset "
                                   "(nothing is ever fetched; GRAPH ?g {} lists the graphs)")
    return look


def _names(graph_names):
    """The graph names to check FROM and the protocol's graphs against: a store's own lookup for
    a history store (engines/store.py GraphNames), else a set."""
    return graph_names if isinstance(graph_names, GraphNames) else {str(g) for g in graph_names}


def _read(text: str, base: str | None = None) -> _Reading:
    return _read_cached(text, base) if len(text) <= CACHED_UP_TO else _read_text(text, base)


@lru_cache(maxsize=256)
def _read_cached(text: str, base: str | None) -> _Reading:
    return _read_text(text, base)


def _read_text(text: str, base: str | None = None) -> _Reading:
    try:
        plain = expandUnicodeEscapes(text)
    except ValueError as exc:  # \U followed by a number beyond Unicode
        return _Reading(refusal=(QueryError, f"SPARQL syntax error: {exc}"))
    if plain != text and expandUnicodeEscapes_re.search(plain):
        return _Reading(refusal=(QueryRefused, "a codepoint escape that spells another escape (\\u005Cu...) is refused: "
                                               "write the character itself"))
    plain = _LINE_END.sub("\n", plain)
    try:
        plain.encode("utf-8")
    except UnicodeEncodeError as exc:
        return _Reading(refusal=(QueryError, f"SPARQL syntax error: {plain[exc.start]!r} at character {exc.start + 1} "
                                             "is not a Unicode character"))
    try:
        parsed = parseQuery(plain)  # plain holds no escape now: rdflib's own reading of them changes nothing
    except ParseBaseException as exc:
        if _is_update(plain):
            return _Reading(refusal=(QueryRefused, UPDATE_REFUSED))
        return _Reading(refusal=(QueryError, explain(plain, exc)))
    except RecursionError:
        return _Reading(refusal=(QueryError, "the query nests deeper than the SPARQL grammar check reads "
                                             "(split a long block of triple patterns into { } groups, or nest fewer parentheses)"))
    except Exception as exc:  # rdflib's parse actions raise their own kinds on odd terms
        return _Reading(refusal=(QueryError, f"SPARQL syntax error: {type(exc).__name__}: {' '.join(str(exc).split())}"))
    service, used = _walk(parsed)
    if service:
        return _Reading(refusal=(QueryRefused, SERVICE_REFUSED))
    prologue, query = parsed[0], parsed[1]
    declared = {dict.get(d, "prefix") or "" for d in prologue if d.name == "PrefixDecl"}
    for prefix in used:
        if prefix not in declared and prefix not in PREFIXES:
            return _Reading(refusal=(QueryError, undeclared(prefix)))
    default, named = [], []
    try:
        names = translatePrologue(prologue, base, initNs=PREFIXES)
        for clause in dict.get(query, "datasetClause") or ():  # CompValue.get answers a missing key with the key
            if dict.get(clause, "default") is not None:
                default.append(_graph_name(names, dict.get(clause, "default")))
            else:
                named.append(_graph_name(names, dict.get(clause, "named")))
    except Exception as exc:  # an undeclared prefix: rdflib raises a bare Exception
        return _Reading(refusal=(QueryError, f"SPARQL syntax error: {exc}"))
    return _Reading(plain, Inspection(QUERY_FORMS[query.name], tuple(default), tuple(named)))


def _graph_name(names, term) -> str:
    """A FROM clause's IRI, its prefix and BASE applied; rdflib keeps the backslash of an escaped
    local name (g:a\\/b), which Oxigraph reads as g:a/b."""
    if isinstance(term, CompValue) and term.name == "pname":
        term = CompValue("pname", prefix=dict.get(term, "prefix"),
                         localname=_LOCAL_ESCAPE.sub(r"\1", dict.get(term, "localname") or ""))
    return str(names.absolutize(term))


def _is_update(text: str) -> bool:
    try:
        parseUpdate(text)
    except (ParseBaseException, RecursionError):
        return False
    return True


def undeclared(prefix: str) -> str:
    """The message for a prefix neither the query nor the project declares, with the PREFIX line
    to add (its IRI when it is a well-known vocabulary's)."""
    iri = _well_known().get(prefix, "...")
    hint = next((f" (or write {p}:, which is predeclared)" for p in PREFIXES if p.lower() == prefix.lower()), "")
    return (f"the prefix '{prefix}:' is not declared: add PREFIX {prefix}: <{iri}> at the top of the query{hint}")


@lru_cache(maxsize=1)
def _well_known() -> dict[str, str]:
    """rdflib's table of common vocabularies' prefixes (foaf, schema, prov, ...)."""
    return {p: str(iri) for p, iri in Graph(bind_namespaces="rdflib").namespaces()}


def _walk(parsed) -> tuple[bool, set[str]]:
    """Whether a SERVICE is anywhere in the parse tree, and the prefixes its prefixed names use;
    walked without recursion, however deep the tree."""
    prefixes: set[str] = set()
    todo = [parsed]
    while todo:
        node = todo.pop()
        if isinstance(node, CompValue):
            if node.name == "ServiceGraphPattern":
                return True, prefixes
            if node.name == "pname":
                prefixes.add(dict.get(node, "prefix") or "")
            todo.extend(dict.values(node))  # CompValue's own item access resolves variables
        elif isinstance(node, ParseResults):
            todo.extend(node)
            todo.extend(node.values())
        elif isinstance(node, (list, tuple)):
            todo.extend(node)
    return False, prefixes


def run(store, text: str, graph_names, *, limit: int | None = None, default_graphs=None,
        named_graphs=None, base: str | None = LOCAL_BASE) -> Answer:
    """Check and run a query over the store; every failure is a QueryError with its HTTP status.
    default_graphs and named_graphs are the protocol's default-graph-uri and named-graph-uri; base
    is what relative IRIs resolve against (the endpoint's IRI on the server, LOCAL_BASE elsewhere).
    What runs is the text as the check read it (escapes read, line ends made line feeds)."""
    known = _names(graph_names)
    look = inspect(text, known, base)
    for field, graphs in (("default-graph-uri", default_graphs), ("named-graph-uri", named_graphs)):
        for g in graphs or ():
            if g not in known:
                raise QueryRefused(f"{g!r} is not a graph of this dataset (nothing is ever fetched; "
                                   "GET /sparql lists the graphs)", field=field)
    dataset = query_dataset(look.from_graphs, look.from_named, default_graphs, named_graphs)
    try:
        return store.run(_read(text, base).text, default_graphs=dataset.default, named_graphs=dataset.named,
                         base=base, limit=limit, prefixes=PREFIXES)
    except SyntaxError as exc:
        raise QueryError(from_oxigraph(str(exc))) from None
    except ValueError as exc:  # Oxigraph's evaluation errors
        raise QueryError(str(exc)) from None
