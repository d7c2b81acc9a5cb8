"""SPARQL over the dataset: the named-query library, the safety check and the answer formats.

Shared by `chemoden query` and `chemoden serve`, so both refuse the same queries and write the
same bytes. The check reads the query's tokens (comments, strings and IRIs set aside), which is
enough to find what a read-only, closed endpoint must refuse: updates, SERVICE, and FROM /
FROM NAMED naming a graph that is not in the dataset.
"""

from __future__ import annotations

import csv
import io
import json
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import XSD

from .dataset import GRAPH_BASE, Answer, ResultTooLarge
from .errors import InputError, OntologyError
from .namespaces import CD, SESSION_BASE
from .ontology import header_lines

# ---------------------------------------------------------------------------
# Errors: each a user's, each with the HTTP status the endpoint answers with
# ---------------------------------------------------------------------------


class QueryError(InputError):
    """A query that cannot be answered as asked; `status` is the endpoint's HTTP status."""

    status = 400

    def __init__(self, message: str, *, status: int | None = None, field: str = "QUERY", source: str | None = None):
        super().__init__(message, field=field, source=source)
        if status is not None:
            self.status = status


class QueryRefused(QueryError):
    """A query the read-only, closed dataset will not run (update, SERVICE, a foreign FROM)."""

    status = 403


# ---------------------------------------------------------------------------
# The library: ontology/queries/NAME.rq with a title, a description and an example
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class LibraryQuery:
    name: str
    title: str
    description: str
    example: str  # the command, then what it prints (table format)
    text: str
    path: Path

    def as_dict(self) -> dict:
        return {"name": self.name, "title": self.title, "description": self.description, "query": self.text}


LIBRARY_HEADER = ("title", "description", "example")


def parse_library_header(text: str) -> dict[str, str]:
    """The header (ontology.header_lines). The example keeps its line breaks (it is a table);
    other values are joined into one line."""
    header = header_lines(text)
    out = {}
    for key, lines in header.items():
        first, rest = lines[0], textwrap.dedent("\n".join(lines[1:])).strip("\n")
        if key == "example":
            out[key] = "\n".join(part for part in (first, rest) if part)
        else:
            out[key] = " ".join(" ".join(part.split()) for part in (first, rest) if part.strip())
    return out


def library(ontology_dir: Path) -> dict[str, LibraryQuery]:
    """The named queries of the ontology folder, by name (file name without .rq), sorted."""
    out = {}
    for path in sorted((Path(ontology_dir) / "queries").glob("*.rq")):
        text = path.read_text(encoding="utf-8")
        header = parse_library_header(text)
        missing = [k for k in LIBRARY_HEADER if not header.get(k)]
        if missing:
            raise OntologyError(f"library query header lacks {', '.join(missing)}", source=str(path))
        out[path.stem] = LibraryQuery(path.stem, header["title"], header["description"], header["example"], text, path)
    return out


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # SPARQL text too long for a file name
        return False


def resolve(argument: str, queries: dict[str, LibraryQuery]) -> str:
    """QUERY as given on the command line: a .rq file, a library query's name, or SPARQL text."""
    path = Path(argument)
    if argument in queries and not argument.endswith(".rq"):
        return queries[argument].text
    if argument.endswith(".rq") or _is_file(path):
        try:
            return path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise QueryError("file not found", source=argument) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise QueryError(f"cannot read: {exc}", source=argument) from None
    if re.fullmatch(r"[\w.-]+", argument):
        raise QueryError(f"{argument!r} is not a library query, a .rq file or SPARQL text "
                         "(`chemoden query --list` shows the library)")
    return argument


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


def inspect(text: str, graph_names=None) -> Inspection:
    """The query's form and dataset clause; raises QueryRefused for what the dataset will not run.
    Without graph_names (the dataset is not built yet) FROM is not checked."""
    tokens = [(m.lastgroup, m.group()) for m in _TOKEN.finditer(text) if m.lastgroup != "comment"]
    words = [(i, value.upper()) for i, (kind, value) in enumerate(tokens) if kind == "word"]
    prefixes: dict[str, str] = {}
    form = None
    n = 0
    while n < len(tokens):  # the prologue: PREFIX and BASE declarations
        kind, value = tokens[n]
        if kind == "word" and value.upper() == "PREFIX" and n + 2 < len(tokens):
            prefixes[tokens[n + 1][1].rstrip(":")] = tokens[n + 2][1][1:-1]
            n += 3
        elif kind == "word" and value.upper() == "BASE":
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
        named_graphs=None) -> Answer:
    """Check and run a query over the store; every failure is a QueryError with its HTTP status."""
    known = {str(g) for g in graph_names}
    look = inspect(text, known)
    for g in list(default_graphs or []) + list(named_graphs or []):
        if g not in known:
            raise QueryRefused(f"{g!r} is not a graph of this dataset", field="default-graph-uri/named-graph-uri")
    try:
        return store.run(text, union=not look.has_dataset_clause, default_graphs=default_graphs,
                         named_graphs=named_graphs, limit=limit)
    except SyntaxError as exc:
        raise QueryError(f"SPARQL syntax error: {' '.join(str(exc).split())}") from None
    except ResultTooLarge as exc:
        raise QueryError(str(exc), status=422) from None
    except ValueError as exc:
        raise QueryError(str(exc)) from None


# ---------------------------------------------------------------------------
# Formats
# ---------------------------------------------------------------------------

MEDIA_TYPES = {
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "turtle": "text/turtle",
    "json-ld": "application/ld+json",
    "n-triples": "application/n-triples",
    "rdf-xml": "application/rdf+xml",
    "table": "text/plain",
}
RESULT_FORMATS = ("json", "xml", "csv", "tsv")  # SELECT and ASK over HTTP
GRAPH_FORMATS = ("turtle", "json-ld", "n-triples", "rdf-xml")  # CONSTRUCT and DESCRIBE over HTTP
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
    "obo": "http://purl.obolibrary.org/obo/",
    "fma": "http://purl.org/sig/ont/fma/",
}


def render(answer: Answer, fmt: str) -> str:
    """The answer in a format: table, json (SPARQL 1.1 results JSON; JSON-LD for a graph),
    xml, csv, tsv, turtle (graphs only), json-ld, n-triples, rdf-xml."""
    if answer.form == "graph":
        if fmt in ("table", "csv", "tsv"):
            triple_rows = Answer("select", ["subject", "predicate", "object"],
                                 [dict(zip(("subject", "predicate", "object"), t)) for t in answer.triples])
            return render(triple_rows, fmt)
        graph = Graph(bind_namespaces="none")
        for prefix, iri in PREFIXES.items():
            graph.bind(prefix, iri)
        for triple in answer.triples:
            graph.add(triple)
        rdflib_format = {"turtle": "turtle", "json": "json-ld", "json-ld": "json-ld", "n-triples": "nt",
                         "rdf-xml": "xml"}.get(fmt)
        if rdflib_format is None:
            raise QueryError(f"{fmt!r} is for SELECT and ASK; a CONSTRUCT or DESCRIBE answer is a graph "
                             "(table, json, csv, tsv, turtle, json-ld, n-triples, rdf-xml)", field="--format", status=406)
        return graph.serialize(format=rdflib_format, **({"auto_compact": True} if rdflib_format == "json-ld" else {}))
    writer = {"json": _json, "xml": _xml, "csv": _csv, "tsv": _tsv, "table": _table}.get(fmt)
    if writer is None:
        raise QueryError(f"{fmt!r} is for CONSTRUCT and DESCRIBE; a {answer.form.upper()} answer is "
                         "written as table, json, xml, csv or tsv", field="--format", status=406)
    return writer(answer)


def _json_term(term) -> dict:
    if isinstance(term, URIRef):
        return {"type": "uri", "value": str(term)}
    if isinstance(term, BNode):
        return {"type": "bnode", "value": str(term)}
    out = {"type": "literal", "value": str(term)}
    if term.language:
        out["xml:lang"] = term.language
    elif term.datatype is not None and term.datatype != XSD.string:
        out["datatype"] = str(term.datatype)
    return out


def _json(answer: Answer) -> str:
    """SPARQL 1.1 Query Results JSON, one binding per line."""
    if answer.form == "ask":
        return json.dumps({"head": {}, "boolean": answer.boolean}) + "\n"
    head = json.dumps({"vars": answer.variables})
    bindings = ",\n".join(json.dumps({k: _json_term(v) for k, v in row.items()}, ensure_ascii=False)
                          for row in answer.rows)
    return f'{{"head": {head},\n "results": {{"bindings": [\n{bindings}\n]}}}}\n'


def _xml(answer: Answer) -> str:
    out = ['<?xml version="1.0"?>', '<sparql xmlns="http://www.w3.org/2005/sparql-results#">']
    if answer.form == "ask":
        out += ["  <head/>", f"  <boolean>{'true' if answer.boolean else 'false'}</boolean>", "</sparql>"]
        return "\n".join(out) + "\n"
    out.append("  <head>" + "".join(f"<variable name={quoteattr(v)}/>" for v in answer.variables) + "</head>")
    out.append("  <results>")
    for row in answer.rows:
        cells = []
        for name, term in row.items():
            if isinstance(term, URIRef):
                value = f"<uri>{escape(str(term))}</uri>"
            elif isinstance(term, BNode):
                value = f"<bnode>{escape(str(term))}</bnode>"
            elif term.language:
                value = f"<literal xml:lang={quoteattr(term.language)}>{escape(str(term))}</literal>"
            elif term.datatype is not None and term.datatype != XSD.string:
                value = f"<literal datatype={quoteattr(str(term.datatype))}>{escape(str(term))}</literal>"
            else:
                value = f"<literal>{escape(str(term))}</literal>"
            cells.append(f"<binding name={quoteattr(name)}>{value}</binding>")
        out.append("    <result>" + "".join(cells) + "</result>")
    out += ["  </results>", "</sparql>"]
    return "\n".join(out) + "\n"


def _csv(answer: Answer) -> str:
    """SPARQL 1.1 CSV: values without types; an ASK answer is one column, boolean."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if answer.form == "ask":
        writer.writerows([["boolean"], ["true" if answer.boolean else "false"]])
        return buffer.getvalue()
    writer.writerow(answer.variables)
    for row in answer.rows:
        writer.writerow([("_:" + str(row[v]) if isinstance(row[v], BNode) else str(row[v])) if v in row else ""
                         for v in answer.variables])
    return buffer.getvalue()


def _tsv_term(term) -> str:
    if isinstance(term, URIRef):
        return f"<{term}>"
    if isinstance(term, BNode):
        return f"_:{term}"
    text = (str(term).replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t")
            .replace("\n", "\\n").replace("\r", "\\r"))
    if term.language:
        return f'"{text}"@{term.language}'
    if term.datatype is not None and term.datatype != XSD.string:
        return f'"{text}"^^<{term.datatype}>'
    return f'"{text}"'


def _tsv(answer: Answer) -> str:
    """SPARQL 1.1 TSV: variables with '?', values in Turtle syntax."""
    if answer.form == "ask":
        return "?boolean\n" + ("true" if answer.boolean else "false") + "\n"
    lines = ["\t".join("?" + v for v in answer.variables)]
    lines += ["\t".join(_tsv_term(row[v]) if v in row else "" for v in answer.variables) for row in answer.rows]
    return "\n".join(lines) + "\n"


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


def _table(answer: Answer) -> str:
    if answer.form == "ask":
        return ("true" if answer.boolean else "false") + "\n"
    rows = [answer.variables] + [[short(row[v]) if v in row else "" for v in answer.variables] for row in answer.rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(answer.variables))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.append(f"({len(answer.rows)} row{'s' if len(answer.rows) != 1 else ''})")
    return "\n".join(lines) + "\n"
