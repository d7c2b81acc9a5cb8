"""The query files of an ontology folder, described in RDF for `chemoden check`.

Each .rq file becomes a cdq:QueryFile carrying its header (parsed by reasoner/knowledge/ontology.py's
parse_header, the loader's own reading) and what its SPARQL algebra shows: the classes and
properties it reads and writes, the cd: IRIs it names, and for derivation rules which codes
they can put on a billing line. ontology/shapes/queries.ttl and the quality checks in
ontology/qc/ then work on that description like on any other data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

from rdflib import BNode, Graph, Literal, Namespace, URIRef, Variable
from rdflib.namespace import RDF
from rdflib.plugins.sparql import prepareQuery, prepareUpdate
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.term import Node

from ..core.vocab import CD
from ..engines import registry
from .ontology import QUERY_FOLDERS, _query_form, parse_header

CDQ = Namespace("https://w3id.org/chemoden/check#")
FILE_BASE = "https://w3id.org/chemoden/check/file/"
KIND_CLASS = {"rule": CDQ.RuleFile, "conflict": CDQ.ConflictFile, "audit": CDQ.AuditFile, "note": CDQ.NoteFile,
              "history": CDQ.HistoryFile, "qc": CDQ.QcFile, "query": CDQ.OtherQueryFile}
HEADER_KEYS = {"id": CDQ.id, "severity": CDQ.severity, "rationale": CDQ.rationale, "source": CDQ.source}


@dataclass
class QueryText:
    """One .rq file as read, with its syntax problems (line, message), if any."""

    path: Path
    relative: str
    kind: str
    text: str
    header: dict
    form: str | None = None
    algebra: object = None
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def iri(self) -> URIRef:
        return URIRef(FILE_BASE + quote(self.relative))

    def line_of(self, key: str | None) -> int:
        """The line of a header key ('# severity: ...'), else 1."""
        if key:
            for n, line in enumerate(self.text.splitlines(), start=1):
                if re.match(rf"^#\s*{re.escape(key)}\s*:", line):
                    return n
        return 1


def kind_of(relative: str) -> str:
    top = relative.split("/", 1)[0] if "/" in relative else ""
    return QUERY_FOLDERS.get(top) or ("qc" if top == "qc" else "query")


def _line_of_offset(text: str, offset: int) -> int:
    return text.count("\n", 0, max(0, offset)) + 1


@lru_cache(maxsize=4096)
def parse(text: str, form: str | None) -> tuple[object, tuple[tuple[int, str], ...]]:
    """The query's algebra (rdflib) and its syntax problems as (line, message); rdflib's parser is
    slow (tens of ms a query), so a text is parsed once per process. Oxigraph, the stricter of
    the two (see ontology/README.md on scoping), checks it too when it is installed."""
    try:
        algebra = (prepareUpdate if form == "update" else prepareQuery)(text).algebra
    except Exception as exc:  # pyparsing and rdflib raise several kinds
        line = getattr(exc, "lineno", None) or 1
        return None, ((line, f"SPARQL syntax error: {' '.join(str(exc).split())}"),)
    if not registry.has_oxigraph():
        return algebra, ()
    import pyoxigraph

    store = pyoxigraph.Store()
    try:
        store.update(text) if form == "update" else store.query(text)
    except SyntaxError as exc:
        detail = " ".join(str(exc).split())
        match = re.search(r"(\d+):(\d+)", detail)
        return None, ((int(match.group(1)) if match else 1, f"SPARQL syntax error (Oxigraph): {detail}"),)
    except Exception:
        pass  # an evaluation error on an empty store says nothing about the syntax
    return algebra, ()


def read(directory: Path) -> list[QueryText]:
    """Every .rq file under the folder, in path order, parsed as far as it goes."""
    out = []
    for path in sorted(directory.rglob("*.rq")):
        relative = path.relative_to(directory).as_posix()
        if any(part.startswith(".") for part in relative.split("/")):
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            out.append(QueryText(path, relative, kind_of(relative), "", {}, errors=[(1, f"cannot read: {exc}")]))
            continue
        query = QueryText(path, relative, kind_of(relative), text, parse_header(text))
        try:
            query.form = _query_form(text, read_only=query.kind == "query")
        except ValueError as exc:
            query.errors.append((1, str(exc)))
        algebra, errors = parse(text, query.form)
        query.errors.extend(errors)
        query.algebra = None if query.errors else algebra
        out.append(query)
    return out


_EXISTS = re.compile(r"\bEXISTS\s*\{", re.IGNORECASE)
_PREFIX = re.compile(r"^\s*PREFIX\s+[^\n]*", re.IGNORECASE | re.MULTILINE)


def _braced(text: str, start: int) -> str | None:
    """The {...} block opening at `start`, braces balanced (None when it never closes)."""
    depth = 0
    for end in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[end], 0)
        if depth == 0:
            return text[start:end + 1]
    return None


def _joined(node) -> int:
    """How many triple patterns an algebra tree joins (a property path counts as two)."""
    if isinstance(node, CompValue):
        if node.name == "BGP":
            return sum(1 + (not isinstance(p, Node)) for _, p, _ in node["triples"])
        return sum(_joined(v) for v in node.values())
    if isinstance(node, (list, tuple)):
        return sum(_joined(v) for v in node)
    return 0


def exists_over_joins(text: str) -> list[int]:
    """The lines of each EXISTS or NOT EXISTS whose pattern joins several triple patterns.
    Oxigraph evaluates such a pattern against the whole store once per row, so a batch chunk
    costs the square of its size (ontology/README.md shows what to write instead); over one
    triple pattern it is a direct lookup."""
    prefixes = "\n".join(_PREFIX.findall(text))
    lines = []
    for match in _EXISTS.finditer(text):
        block = _braced(text, match.end() - 1)
        try:
            algebra = prepareQuery(f"{prefixes}\nSELECT * WHERE {block}").algebra
        except Exception:  # not a pattern on its own (a syntax error is reported elsewhere)
            continue
        if _joined(algebra) > 1:
            lines.append(_line_of_offset(text, match.start()))
    return lines


# ---------------------------------------------------------------------------
# What a query reads and writes, from its algebra
# ---------------------------------------------------------------------------

def _patterns(node, mandatory: bool = True):
    """(triple, mandatory) for every triple pattern of an algebra tree: a pattern is mandatory
    when every solution must match it (not under OPTIONAL, UNION, MINUS or inside a filter)."""
    if isinstance(node, CompValue):
        if node.name == "BGP":
            for triple in node.triples:
                yield triple, mandatory
            return
        for key, value in node.items():
            if key.startswith("_"):
                continue
            optional = (node.name == "LeftJoin" and key == "p2") or node.name == "Union" \
                or (node.name == "Minus" and key == "p2") or key in ("expr", "A")
            yield from _patterns(value, mandatory and not optional)
    elif isinstance(node, (list, tuple)):
        for item in node:
            yield from _patterns(item, mandatory)


def _templates(query: QueryText) -> list[tuple]:
    """The triples a query writes: its CONSTRUCT template or its INSERT quads."""
    algebra = query.algebra
    if query.form == "construct":
        return list(algebra.template or [])
    if query.form == "update":
        triples = []
        for request in algebra:
            insert = request.get("insert") if isinstance(request, CompValue) else None
            if insert is not None:
                triples.extend(insert.get("triples") or [])
                for quads in (insert.get("quads") or {}).values():
                    triples.extend(quads)
        return triples
    return []


def _where(query: QueryText):
    if query.form == "update":
        return [request.get("where") for request in query.algebra if isinstance(request, CompValue)]
    return query.algebra.p


def describe(queries: list[QueryText], ontology_graph: Graph | None = None) -> Graph:
    """The RDF description of the query files (see ontology/shapes/queries.ttl)."""
    g = Graph()
    g.bind("cdq", CDQ)
    for query in queries:
        node = query.iri
        g.add((node, RDF.type, CDQ.QueryFile))
        g.add((node, RDF.type, KIND_CLASS[query.kind]))
        g.add((node, CDQ.path, Literal(query.relative)))
        if query.form:
            g.add((node, CDQ.form, Literal(query.form)))
        for key, prop in HEADER_KEYS.items():
            if key in query.header:
                g.add((node, prop, Literal(query.header[key])))
        for superseded in query.header.get("supersedes", "").replace(",", " ").split():
            g.add((node, CDQ.supersedes, Literal(superseded)))
        if query.algebra is None:
            continue
        patterns = list(_patterns(_where(query)))
        for (s, p, o), _ in patterns:
            if p == RDF.type and isinstance(o, URIRef):
                g.add((node, CDQ.readsClass, o))
            elif isinstance(p, URIRef):
                g.add((node, CDQ.readsProperty, p))
            for term in (s, p, o):
                if isinstance(term, URIRef) and str(term).startswith(str(CD)):
                    g.add((node, CDQ.mentions, term))
        template = _templates(query)
        for s, p, o in template:
            for term in (s, p, o):
                if isinstance(term, URIRef) and str(term).startswith(str(CD)):
                    g.add((node, CDQ.mentions, term))
            if p == RDF.type and isinstance(o, URIRef):
                g.add((node, CDQ.writesClass, o))
            elif isinstance(p, URIRef):
                g.add((node, CDQ.writesProperty, p))
            if p == CD.code:
                _derivation(g, node, o, patterns)
    return g


def _derivation(g: Graph, node, code, patterns) -> None:
    """How a rule picks the code it writes: a constant, or the conditions the mandatory
    patterns of its WHERE put on the code variable (?code cd:extremityRole cd:FirstExtremity;
    ?approach cd:larynxCode ?code). A code meeting every condition of one derivation is
    derivable; quality check code-not-derived-violation.rq asks which codes none can derive."""
    if isinstance(code, URIRef):
        g.add((node, CDQ.derives, code))
        return
    if not isinstance(code, Variable):
        return
    derivation = BNode()
    g.add((node, CDQ.derivation, derivation))
    for (s, p, o), mandatory in patterns:
        if not mandatory or not isinstance(p, URIRef):
            continue
        # the code as subject: a condition on its own property; as object: on whose value it is
        for link, other, role, at in ((CDQ.condition, o, CDQ.value, s), (CDQ.valueOf, s, CDQ.subject, o)):
            if at == code:
                condition = BNode()
                g.add((derivation, link, condition))
                g.add((condition, CDQ.property, p))
                if not isinstance(other, Variable):
                    g.add((condition, role, other))
                break
