"""A SPARQL answer in rdflib terms, and its formats: SPARQL 1.1 results (JSON, XML, CSV, TSV), RDF
for graph answers, and the plain table people read. `chemoden query`, `chemoden serve` and the
notebooks show the same bytes."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from html import escape as html_escape
from xml.sax.saxutils import escape, quoteattr

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import XSD

from ..core.errors import QueryError
from ..core.vocab import PREFIXES, short


@dataclass
class Answer:
    """A query's answer in rdflib terms: rows (SELECT), a boolean (ASK) or triples (CONSTRUCT, DESCRIBE)."""

    form: str  # select | ask | graph
    variables: list[str] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)
    boolean: bool | None = None
    triples: list[tuple] = field(default_factory=list)

    @classmethod
    def of(cls, records: list[dict], variables: list[str] | None = None) -> Answer:
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
        printer.text(render(self, "table").rstrip("\n"))

    def _repr_html_(self) -> str:
        """The answer as an HTML table, as notebooks show it (terms shortened as in `--format table`)."""
        if self.form == "ask":
            return f"<p><code>{'true' if self.boolean else 'false'}</code></p>"
        names = self.variables if self.form == "select" else ["subject", "predicate", "object"]
        rows = self.rows if self.form == "select" else [dict(zip(names, t)) for t in self.triples]
        head = "".join(f"<th>{html_escape(n)}</th>" for n in names)
        body = "".join("<tr>" + "".join(f"<td>{html_escape(short(row[n])) if n in row else ''}</td>" for n in names)
                       + "</tr>" for row in rows)
        return (f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
                f"<p>{len(rows)} row{'s' if len(rows) != 1 else ''}</p>")



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
# What render() writes for each form of answer (table, csv and tsv of a graph: one row a triple)
FORMATS_BY_FORM = {"select": ("table",) + RESULT_FORMATS, "ask": ("table",) + RESULT_FORMATS,
                   "graph": ("table", "json", "csv", "tsv") + GRAPH_FORMATS}
# Characters XML 1.0 cannot carry at all, not even as character references
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# A raw CR would reach the reader as LF (XML's end-of-line handling): written as a reference it stays CR
XML_ENTITIES = {"\r": "&#13;"}


def render(answer: Answer, fmt: str, offered=None) -> str:
    """The answer in a format: table, json (SPARQL 1.1 results JSON; JSON-LD for a graph),
    xml, csv, tsv, turtle (graphs only), json-ld, n-triples, rdf-xml. A format the answer cannot
    take is a QueryError listing those of `offered` (default: all) that it can."""
    if answer.form == "graph":
        if fmt in ("table", "csv", "tsv"):
            triple_rows = Answer("select", ["subject", "predicate", "object"],
                                 [dict(zip(("subject", "predicate", "object"), t)) for t in answer.triples])
            return render(triple_rows, fmt, offered)
        graph = Graph(bind_namespaces="none")
        for prefix, iri in PREFIXES.items():
            graph.bind(prefix, iri)
        for triple in answer.triples:
            graph.add(triple)
        rdflib_format = {"turtle": "turtle", "json": "json-ld", "json-ld": "json-ld", "n-triples": "nt",
                         "rdf-xml": "xml"}.get(fmt)
        if rdflib_format is None:
            raise format_error(answer.form, fmt, offered)
        if rdflib_format == "xml":
            _check_rdf_xml(answer.triples)
        return graph.serialize(format=rdflib_format, **({"auto_compact": True} if rdflib_format == "json-ld" else {}))
    writer = {"json": _json, "xml": _xml, "csv": _csv, "tsv": _tsv, "table": _table}.get(fmt)
    if writer is None:
        raise format_error(answer.form, fmt, offered)
    return writer(answer)


def format_error(form: str, fmt: str, offered=None) -> QueryError:
    """A format the answer cannot be written in, and the ones it can, among those the caller
    offers (`chemoden query` has no xml, for one): only what exists for this answer's form."""
    names = {"select": "a SELECT answer", "ask": "an ASK answer", "graph": "a CONSTRUCT or DESCRIBE answer"}
    fits = [f for f in FORMATS_BY_FORM[form] if offered is None or f in offered]
    other = next((name for name, formats in (("CONSTRUCT/DESCRIBE answers", FORMATS_BY_FORM["graph"]),
                                             ("SELECT/ASK answers", FORMATS_BY_FORM["select"]))
                  if fmt in formats), None)
    what = f"{fmt} is for {other}" if other else f"{fmt!r} is not a format"
    listed = ", ".join(fits[:-1]) + " or " + fits[-1] if len(fits) > 1 else "".join(fits)
    return QueryError(f"{what}; {names[form]} can be written as {listed}", field="--format", status=406)


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


def _check_rdf_xml(triples: list[tuple]) -> None:
    """Refuse (406) a graph RDF/XML cannot write: a predicate with no namespace and local name
    to split it into (rdflib would fail with a 500), or a character XML 1.0 cannot carry."""
    names = Graph(bind_namespaces="none").namespace_manager  # a throwaway: the check binds prefixes
    for predicate in dict.fromkeys(t[1] for t in triples):
        try:
            names.compute_qname_strict(predicate)
        except ValueError:
            raise QueryError(f"RDF/XML cannot write the predicate <{predicate}>: it does not split into a namespace "
                             "and an XML local name; ask for Turtle (text/turtle) or N-Triples (application/n-triples)",
                             field="--format", status=406) from None
    for triple in triples:
        for term in triple:
            for text in (str(term), getattr(term, "language", None) or "", str(getattr(term, "datatype", None) or "")):
                bad = NOT_XML.search(text)
                if bad:
                    raise QueryError(f"the triple <{triple[0]}> <{triple[1]}> holds {_excerpt(text)}, with U+{ord(bad.group()):04X}, "
                                     "which XML 1.0 cannot carry; ask for Turtle (text/turtle) or N-Triples "
                                     "(application/n-triples)", field="--format", status=406)


def _excerpt(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:40] + "...")


def _xml_checked(text: str, variable: str) -> str:
    """text, once known to hold only characters XML 1.0 can carry (else a 406 naming the variable)."""
    bad = NOT_XML.search(text)
    if bad:
        raise QueryError(f"the value of ?{variable}, {_excerpt(text)}, holds U+{ord(bad.group()):04X}, which XML 1.0 "
                         "cannot carry; ask for JSON (application/sparql-results+json)", field="--format", status=406)
    return text


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
            text = escape(_xml_checked(str(term), name), XML_ENTITIES)
            if isinstance(term, URIRef):
                value = f"<uri>{text}</uri>"
            elif isinstance(term, BNode):
                value = f"<bnode>{text}</bnode>"
            elif term.language:
                value = f"<literal xml:lang={quoteattr(_xml_checked(term.language, name))}>{text}</literal>"
            elif term.datatype is not None and term.datatype != XSD.string:
                value = f"<literal datatype={quoteattr(_xml_checked(str(term.datatype), name))}>{text}</literal>"
            else:
                value = f"<literal>{text}</literal>"
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



def _table(answer: Answer) -> str:
    if answer.form == "ask":
        return ("true" if answer.boolean else "false") + "\n"
    rows = [answer.variables] + [[short(row[v]) if v in row else "" for v in answer.variables] for row in answer.rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(answer.variables))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.append(f"({len(answer.rows)} row{'s' if len(answer.rows) != 1 else ''})")
    return "\n".join(lines) + "\n"
