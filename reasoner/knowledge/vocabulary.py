"""The vocabulary reference: every class, property and main individual of the ontology with its
label, comment, domain and range, super- and sub-terms and an example SPARQL query, built from the
ontology's Turtle into one model and written as Markdown (docs/vocabulary.md, `make vocabulary`)
or as the HTML page `chemoden serve` shows at /vocabulary.

Why not pyLODE (the usual OWL documentation generator): its newest release on PyPI for Python 3.11
fails on import (it reads a pyproject.toml its wheel does not carry), and the release before it
documents classes and properties only (no regions, codes, modifiers, products or profiles, which
are individuals), writes HTML only (no Markdown copy for the repository), and does not give the
same bytes twice for the same ontology, so a test could not tell a stale copy from a fresh one.

Everything is sorted and nothing depends on the time or the machine: the same ontology gives the
same bytes. The hand-written example queries are data (skos:example in chemoden.ttl); every other
class and property gets a short generated one.
"""

from __future__ import annotations

import argparse
import html
import re
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS, XSD

from ..core.vocab import CD, PREFIXES
from .ontology import load

# Individuals are grouped by their class's top-most super-class; these groups, which a query
# writer looks for first, come first in this order, the others by class label.
MAIN_GROUPS = (CD.BillingRegion, CD.Code, CD.Modifier, CD.Product, CD.PolicyProfile, CD.PolicyChoice)
# Individuals too many to describe one by one: listed compactly (by region, by product).
TARGET, AMBIGUOUS, PACKAGE = CD.InjectionTarget, CD.AmbiguousName, CD.NdcPackage
PROPERTY_KINDS = ((OWL.ObjectProperty, "Object properties", "object property"),
                  (OWL.DatatypeProperty, "Datatype properties", "datatype property"),
                  (OWL.AnnotationProperty, "Annotation properties", "annotation property"))
CHARACTERISTICS = {OWL.SymmetricProperty: "symmetric", OWL.TransitiveProperty: "transitive",
                   OWL.FunctionalProperty: "functional", OWL.InverseFunctionalProperty: "inverse functional"}
# How a term's own statements are shown (the rest by their property's prefixed name)
FACT_NAMES = {RDF.type: "type", RDFS.subClassOf: "sub-class of", OWL.equivalentClass: "equivalent to",
              RDFS.subPropertyOf: "sub-property of", OWL.inverseOf: "inverse of", RDFS.domain: "domain",
              RDFS.range: "range", SKOS.scopeNote: "use in Chemoden", DCTERMS.source: "source"}
SHOWN_APART = {RDFS.label, RDFS.comment, SKOS.example}
STYLE = """
body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 68em; padding: 0 1em 3em; line-height: 1.45; }
header { border-bottom: 2px solid #1f3b4d; margin-bottom: 1em; }
h1 { color: #1f3b4d; } h2 { border-bottom: 1px solid #ccc; margin-top: 2em; }
h3 { margin: 1.6em 0 .3em; } h3 .label { font-weight: normal; color: #555; }
code, pre { font-family: ui-monospace, monospace; font-size: .92em; }
pre { background: #f5f7f9; padding: .6em .8em; overflow-x: auto; }
table { border-collapse: collapse; margin: .4em 0; }
td, th { border: 1px solid #ddd; padding: .2em .6em; text-align: left; vertical-align: top; }
td:first-child { white-space: nowrap; color: #444; }
nav ul { columns: 2; } nav li.nested { margin-left: 1.2em; }
"""


@dataclass(frozen=True)
class Value:
    text: str
    anchor: str | None = None  # a documented term: link to it
    term: bool = True  # a term or an expression (shown as code), else a literal's text


@dataclass(frozen=True)
class Fact:
    name: str
    values: tuple[Value, ...]
    anchor: str | None = None  # the property the fact states, when it is documented


@dataclass(frozen=True)
class Term:
    name: str  # the prefixed name
    anchor: str
    label: str
    comment: str
    facts: tuple[Fact, ...]
    examples: tuple[str, ...]  # SPARQL, PREFIX lines included
    generated: bool = False  # the example is the generated one (no hand-written example)


@dataclass(frozen=True)
class Listing:
    """Many individuals in one paragraph: a heading, then their names."""

    title: str
    anchor: str | None
    items: tuple[str, ...]


@dataclass(frozen=True)
class Section:
    title: str
    anchor: str
    intro: str
    level: int = 2
    terms: tuple[Term, ...] = ()
    listings: tuple[Listing, ...] = ()
    query: str | None = None


@dataclass(frozen=True)
class Reference:
    title: str
    intro: tuple[str, ...]
    prefixes: tuple[tuple[str, str], ...]
    sections: tuple[Section, ...]


# ---------------------------------------------------------------------------
# Reading the ontology
# ---------------------------------------------------------------------------

class _Names:
    """Prefixed names: the project's prefixes, and any other the ontology binds and uses."""

    def __init__(self, graph: Graph):
        used = {str(t) for triple in graph for t in triple if isinstance(t, URIRef)}
        extra = {p: str(ns) for p, ns in graph.namespaces()
                 if p not in PREFIXES and str(ns) not in PREFIXES.values() and any(u.startswith(str(ns)) for u in used)}
        self.prefixes = dict(sorted({**PREFIXES, **extra}.items()))
        self._by_length = sorted(self.prefixes.items(), key=lambda kv: -len(kv[1]))

    def __call__(self, iri) -> str:
        value = str(iri)
        for prefix, ns in self._by_length:
            if value.startswith(ns) and re.fullmatch(r"[\w.-]*", value[len(ns):]):
                return f"{prefix}:{value[len(ns):]}"
        return f"<{value}>"

    def with_prefixes(self, query: str) -> str:
        """The query with PREFIX lines for the prefixes it uses and does not declare."""
        declared = set(re.findall(r"(?im)^\s*PREFIX\s+([\w-]*):", query))
        lines = [f"PREFIX {p}: <{ns}>" for p, ns in self.prefixes.items()
                 if p not in declared and re.search(rf"(?<![\w:-]){re.escape(p)}:", query)]
        body = query.strip().splitlines()
        comments = 0
        while comments < len(body) and body[comments].lstrip().startswith("#"):
            comments += 1
        return "\n".join(body[:comments] + lines + body[comments:])


def anchor(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")


def _text(literal) -> str:
    return " ".join(str(literal).split())


class _Reader:
    def __init__(self, graph: Graph):
        self.g = graph
        self.name = _Names(graph)
        self.classes = sorted({s for s in graph.subjects(RDF.type, OWL.Class) if isinstance(s, URIRef)}, key=self.name)
        self.properties = {kind: sorted({s for s in graph.subjects(RDF.type, kind) if isinstance(s, URIRef)}, key=self.name)
                           for kind, _, _ in PROPERTY_KINDS}
        self.supers: dict[URIRef, set] = defaultdict(set)
        for sub, sup in graph.subject_objects(RDFS.subClassOf):
            if isinstance(sub, URIRef) and isinstance(sup, URIRef):
                self.supers[sub].add(sup)
        self.anchors: dict[URIRef, str] = {}
        self.individuals: set = set()  # those documented one by one

    def ancestors(self, cls) -> set:
        seen, todo = {cls}, [cls]
        while todo:
            for sup in self.supers.get(todo.pop(), ()):
                if sup not in seen:
                    seen.add(sup)
                    todo.append(sup)
        return seen

    def label(self, term) -> str:
        return _text(self.g.value(term, RDFS.label) or "")

    def literal(self, value: Literal) -> str:
        if value.datatype in (XSD.integer, XSD.decimal, XSD.boolean, XSD.double) or value.language:
            return str(value)
        return '"' + _text(value).replace('"', '\\"') + '"'

    def expression(self, node) -> str:
        """A class expression or a blank node in words (Manchester syntax for restrictions)."""
        g = self.g
        if isinstance(node, URIRef):
            return self.name(node)
        if isinstance(node, Literal):
            return self.literal(node)
        prop = g.value(node, OWL.onProperty)
        if prop is not None:
            for predicate, word in ((OWL.hasValue, "value"), (OWL.someValuesFrom, "some"), (OWL.allValuesFrom, "only")):
                filler = g.value(node, predicate)
                if filler is not None:
                    return f"{self.name(prop)} {word} {self._operand(filler)}"
        for predicate, word in ((OWL.intersectionOf, " and "), (OWL.unionOf, " or ")):
            members = g.value(node, predicate)
            if members is not None:
                return word.join(self._operand(m) for m in g.items(members))
        pairs = sorted((self.name(p), self.expression(o)) for p, o in g.predicate_objects(node) if p != RDF.type)
        grouped: dict[str, list[str]] = defaultdict(list)
        for p, o in pairs:
            grouped[p].append(o)
        return "[ " + " ; ".join(f"{p} {', '.join(os)}" for p, os in grouped.items()) + " ]"

    def _operand(self, node) -> str:
        text = self.expression(node)
        return f"({text})" if isinstance(node, BNode) and " " in text and not text.startswith("[") else text

    def value(self, node) -> Value:
        if isinstance(node, Literal):
            return Value(_text(node), term=False)
        if isinstance(node, URIRef):
            return Value(self.name(node), self.anchors.get(node))
        return Value(self.expression(node))

    def facts(self, term, skip=()) -> list[Fact]:
        """The term's own statements, one fact per property, in a fixed order."""
        by_property: dict = defaultdict(list)
        for p, o in self.g.predicate_objects(term):
            if p not in SHOWN_APART and p not in skip:
                by_property[p].append(o)
        first, last = list(FACT_NAMES)[:-2], list(FACT_NAMES)[-2:]  # the notes and the source go last

        def rank(p):
            return (0, first.index(p)) if p in first else (2, last.index(p)) if p in last else (1, 0)

        facts = []
        for p in sorted(by_property, key=lambda p: (rank(p), self.name(p))):
            values = sorted((self.value(o) for o in by_property[p]), key=lambda v: (v.text.lower(), v.text))
            name = FACT_NAMES.get(p) or self.name(p)
            facts.append(Fact(name, tuple(values), None if p in FACT_NAMES else self.anchors.get(p)))
        return facts

    def incoming(self, term) -> list[Fact]:
        """What documented individuals state about this one (cd:addOnTo on an add-on code shows on
        its primaries); a symmetric property's statements show as the property itself."""
        by_property: dict = defaultdict(set)
        for s, p in self.g.subject_predicates(term):
            if p != RDF.type and s in self.individuals:
                by_property[p].add(s)
        facts = []
        for p in sorted(by_property, key=self.name):
            symmetric = (p, RDF.type, OWL.SymmetricProperty) in self.g
            name = self.name(p) if symmetric else f"is {self.name(p)} of"
            values = tuple(self.value(s) for s in sorted(by_property[p], key=self.name))
            facts.append(Fact(name, values, self.anchors.get(p)))
        return facts

    def reverse(self, name: str, predicate, term) -> list[Fact]:
        """Terms that point at this one (its sub-classes, the properties it is the domain of, ...)."""
        subjects = sorted({s for s in self.g.subjects(predicate, term) if isinstance(s, URIRef)}, key=self.name)
        return [Fact(name, tuple(self.value(s) for s in subjects))] if subjects else []

    def examples(self, term, generated: str) -> tuple[tuple[str, ...], bool]:
        written = sorted(str(e) for e in self.g.objects(term, SKOS.example))
        if written:
            return tuple(self.name.with_prefixes(e) for e in written), False
        return (self.name.with_prefixes(generated),), True


# ---------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------

def build(graph: Graph) -> Reference:
    """The reference for an asserted ontology graph (every .ttl file of the ontology folder)."""
    r = _Reader(graph)
    g = r.g
    documented_properties = [p for kind, _, _ in PROPERTY_KINDS for p in r.properties[kind]]
    individuals = sorted({s for s, o in g.subject_objects(RDF.type)
                          if isinstance(s, URIRef) and o in set(r.classes) and str(s).startswith(str(CD))}, key=r.name)
    compact = {TARGET: [], AMBIGUOUS: [], PACKAGE: []}
    groups: dict[URIRef, list] = defaultdict(list)
    for ind in individuals:
        types = sorted((t for t in g.objects(ind, RDF.type) if t in set(r.classes)), key=r.name)
        lineage = set().union(*(r.ancestors(t) for t in types))
        home = next((c for c in compact if c in lineage), None)
        if home is not None:
            compact[home].append(ind)
            continue
        roots = sorted((c for c in lineage if c in set(r.classes) and not r.supers.get(c)), key=r.name)
        groups[roots[0] if roots else types[0]].append(ind)
    group_order = [c for c in MAIN_GROUPS if c in groups] + sorted(
        (c for c in groups if c not in MAIN_GROUPS), key=lambda c: (r.label(c) or r.name(c)).lower())

    for term in r.classes + documented_properties:
        r.anchors[term] = anchor(r.name(term))
    for cls in group_order:
        for ind in groups[cls]:
            r.anchors[ind] = anchor(r.name(ind))
            r.individuals.add(ind)

    sections = [Section("Classes", "classes", "Every class the ontology declares. A class with "
                        "\"equivalent to\" is defined: OWL-RL puts a target, injection or session in it from "
                        "its properties (the dataset's inferred graphs hold those types).",
                        terms=tuple(_class_term(r, c) for c in r.classes))]
    for kind, title, what in PROPERTY_KINDS:
        terms = tuple(_property_term(r, p, what) for p in r.properties[kind])
        if terms:
            intro = {OWL.AnnotationProperty: "Properties that describe terms rather than sessions, most from other "
                                             "vocabularies: \"use in Chemoden\" says how the ontology uses each "
                                             "(the cross-reference and naming conventions)."}.get(kind, "")
            sections.append(Section(title, anchor(title.lower()), intro, terms=tuple(terms)))

    sections.append(Section("Individuals", "individuals", "The fixed individuals the rules and sessions refer to, "
                            "grouped by class: billing regions, codes, modifiers, products, policy profiles and "
                            "their choices first. Targets and NDC packages, being many, are listed after them."))
    for cls in group_order:
        members = sorted(groups[cls], key=lambda i: (g.value(i, CD.notation) is None, str(g.value(i, CD.notation) or ""),
                                                    r.name(i)))
        title = f"{(r.label(cls) or r.name(cls))[:1].upper()}{(r.label(cls) or r.name(cls))[1:]} ({r.name(cls)})"
        sections.append(Section(title, "individuals-" + anchor(r.name(cls)), _group_intro(r, cls, members), level=3,
                                terms=tuple(_individual_term(r, i) for i in members)))
    sections.extend(_compact_sections(r, compact))

    header = next(iter(sorted(g.subjects(RDF.type, OWL.Ontology))), None)
    title = _text(g.value(header, DCTERMS.title) or "Vocabulary") if header is not None else "Vocabulary"
    intro = []
    if header is not None:
        version = g.value(header, OWL.versionInfo)
        intro.append(f"Ontology {header} (release {version})." if version else f"Ontology {header}.")
        for p in (DCTERMS.description, RDFS.comment):
            if g.value(header, p) is not None:
                intro.append(_text(g.value(header, p)))
    return Reference(title, tuple(intro), tuple(r.name.prefixes.items()), tuple(sections))


def _class_term(r: _Reader, cls) -> Term:
    facts = r.facts(cls, skip={RDF.type})
    facts += r.reverse("super-class of", RDFS.subClassOf, cls)
    facts += r.reverse("domain of", RDFS.domain, cls)
    facts += r.reverse("range of", RDFS.range, cls)
    count = sum(1 for _ in r.g.subjects(RDF.type, cls))
    if count:
        facts.append(Fact("asserted instances", (Value(str(count), term=False),)))
    examples, generated = r.examples(cls, f"SELECT ?x WHERE {{ ?x a {r.name(cls)} }} LIMIT 10")
    return Term(r.name(cls), r.anchors[cls], r.label(cls), _text(r.g.value(cls, RDFS.comment) or ""),
                tuple(facts), examples, generated)


def _property_term(r: _Reader, prop, what: str) -> Term:
    types = set(r.g.objects(prop, RDF.type))
    kind = ", ".join([what] + sorted(word for t, word in CHARACTERISTICS.items() if t in types))
    facts = [Fact("kind", (Value(kind, term=False),))] + r.facts(prop, skip={RDF.type})
    facts += r.reverse("super-property of", RDFS.subPropertyOf, prop)
    facts += r.reverse("inverse of", OWL.inverseOf, prop)
    examples, generated = r.examples(prop, f"SELECT ?x ?y WHERE {{ ?x {r.name(prop)} ?y }} LIMIT 10")
    return Term(r.name(prop), r.anchors[prop], r.label(prop), _text(r.g.value(prop, RDFS.comment) or ""),
                tuple(facts), examples, generated)


def _individual_term(r: _Reader, ind) -> Term:
    return Term(r.name(ind), r.anchors[ind], r.label(ind), _text(r.g.value(ind, RDFS.comment) or ""),
                tuple(_merge(r.facts(ind), r.incoming(ind))),
                tuple(r.name.with_prefixes(str(e)) for e in sorted(r.g.objects(ind, SKOS.example))))


def _merge(facts: list[Fact], more: list[Fact]) -> list[Fact]:
    """Facts with the same name as one (a symmetric property stated on either side)."""
    out: dict[str, Fact] = {f.name: f for f in facts}
    for f in more:
        if f.name in out:
            values = sorted(set(out[f.name].values) | set(f.values), key=lambda v: (v.text.lower(), v.text))
            out[f.name] = Fact(f.name, tuple(values), out[f.name].anchor)
        else:
            out[f.name] = f
    return list(out.values())


def _group_intro(r: _Reader, cls, members) -> str:
    kinds = sorted({t for m in members for t in r.g.objects(m, RDF.type)} - {cls}, key=r.name)
    text = f"{len(members)} individual(s) of {r.name(cls)}"
    if kinds:
        text += " and its sub-classes (" + ", ".join(r.name(k) for k in kinds) + ")"
    return text + "."


def _compact_sections(r: _Reader, compact: dict) -> list[Section]:
    g = r.g
    sections = []
    targets = compact[TARGET]
    if targets:
        by_region: dict = defaultdict(list)
        for t in targets:
            for region in g.objects(t, CD.billingRegion) or ():
                by_region[region].append(t)
        listings = tuple(
            Listing(f"{r.label(region) or r.name(region)} ({r.name(region)}): {len(members)}", r.anchors.get(region),
                    tuple(sorted(r.label(m) or r.name(m) for m in members)))
            for region, members in sorted(by_region.items(), key=lambda kv: (r.label(kv[0]) or r.name(kv[0])).lower()))
        kinds = sorted({t for m in targets for t in g.objects(m, RDF.type)}, key=r.name)
        sections.append(Section(
            "Targets (muscles and glands) by billing region", "targets",
            f"{len(targets)} targets ({', '.join(r.name(k) for k in kinds)}), each an individual named cd: plus its "
            "label in lowerCamelCase, with its label (rdfs:label), synonyms (skos:altLabel), misspellings "
            "(skos:hiddenLabel), one billing region (cd:billingRegion) and its UBERON and FMA classes "
            "(skos:exactMatch) or cd:noUberonClass true. Their labels by region follow; the library queries "
            "`muscles-per-region`, `muscle-synonyms` and `muscle-crossrefs` give the rest, and so does this query:",
            listings=listings,
            query=r.name.with_prefixes("SELECT ?region ?target ?label WHERE {\n  ?target cd:billingRegion ?region ; "
                                       "rdfs:label ?label .\n} ORDER BY ?region ?label")))
    ambiguous = compact[AMBIGUOUS]
    if ambiguous:
        listings = tuple(Listing(f"\"{r.label(a)}\"", None, tuple(sorted(r.label(c) or r.name(c)
                                                                        for c in g.objects(a, CD.candidate))))
                         for a in sorted(ambiguous, key=lambda a: (r.label(a).lower(), r.label(a))))
        sections.append(Section("Ambiguous names", "ambiguous-names",
                                f"{len(ambiguous)} names too vague to code (cd:AmbiguousName): a session using one is "
                                "refused, listing the candidate targets (cd:candidate) to choose from.",
                                listings=listings))
    packages = compact[PACKAGE]
    if packages:
        by_product: dict = defaultdict(list)
        for p in packages:
            kinds = sorted(r.label(t) for t in g.objects(p, RDF.type) if t != PACKAGE)
            text = f"{g.value(p, CD.packageNdc)} ({r.label(p)}{'; ' + ', '.join(kinds) if kinds else ''})"
            for product in g.objects(p, CD.packageOf):
                by_product[product].append(text)
        listings = tuple(Listing(f"{r.label(prod) or r.name(prod)} ({r.name(prod)})", r.anchors.get(prod), tuple(sorted(items)))
                         for prod, items in sorted(by_product.items(), key=lambda kv: r.name(kv[0])))
        sections.append(Section("NDC packages by product", "ndc-packages",
                                f"{len(packages)} package NDCs (cd:NdcPackage, in ndc-packages.ttl), each in the "
                                "11-digit form (cd:packageNdc) with its label and, for a package no claim may bill, "
                                "its kind.", listings=listings))
    return sections


# ---------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------

def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def _md_value(v: Value) -> str:
    if not v.term:
        return _md_cell(v.text)
    code = "`" + _md_cell(v.text) + "`"
    return f"[{code}](#{v.anchor})" if v.anchor else code


def _md_fact(f: Fact) -> str:
    return f"[{_md_cell(f.name)}](#{f.anchor})" if f.anchor else _md_cell(f.name)


def markdown(ref: Reference, source: str = "make vocabulary") -> str:
    out = ["# Vocabulary reference", "", f"**{ref.title}**", "",
           f"Generated from the ontology's Turtle files by `{source}`; do not edit by hand "
           "(`tests/test_vocabulary.py` fails when it is out of date). `chemoden serve` shows the same at "
           "`/vocabulary`.", ""]
    out += [*(f"{p}\n" for p in ref.intro)]
    out += ["Example queries run with `chemoden query --session examples/ '...'` or on the query page of "
            "`chemoden serve`; hand-written ones come from `skos:example` in `ontology/chemoden.ttl`, the "
            "others are generated. Prefixes:", "", "| prefix | namespace |", "|---|---|"]
    out += [f"| `{p}:` | `{ns}` |" for p, ns in ref.prefixes]
    out += ["", "Contents:", ""]
    for s in ref.sections:
        indent = "  " * (s.level - 2)
        count = f" ({len(s.terms)})" if s.terms else ""
        out.append(f"{indent}- [{s.title}](#{s.anchor}){count}")
    for s in ref.sections:
        out += ["", f'<a id="{s.anchor}"></a>', "", f"{'#' * s.level} {s.title}", ""]
        if s.intro:
            out += [s.intro, ""]
        if s.query:
            out += ["```sparql", s.query, "```", ""]
        for listing in s.listings:
            head = f"[{listing.title}](#{listing.anchor})" if listing.anchor else listing.title
            out += [f"- **{head}**: " + ", ".join(listing.items)]
        for t in s.terms:
            out += _md_term(t, s.level + 1)
    return "\n".join(out).rstrip("\n") + "\n"


def _md_term(t: Term, level: int) -> list[str]:
    out = ["", f'<a id="{t.anchor}"></a>', "", f"{'#' * level} {t.name}" + (f": {t.label}" if t.label else ""), ""]
    if t.comment:
        out += [t.comment, ""]
    if t.facts:
        out += ["| | |", "|---|---|"]
        out += [f"| {_md_fact(f)} | {', '.join(_md_value(v) for v in f.values)} |" for f in t.facts]
        out.append("")
    for example in t.examples:
        out += ["Example" + (" (generated)" if t.generated else "") + ":", "", "```sparql", example, "```", ""]
    return out


# ---------------------------------------------------------------------------
# HTML (a static page: no script)
# ---------------------------------------------------------------------------

def _h(text: str) -> str:
    """Escaped text, with `code spans` of the ontology's comments shown as code."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text, quote=False))


def _html_value(v: Value) -> str:
    if not v.term:
        return _h(v.text)
    code = f"<code>{html.escape(v.text)}</code>"
    return f'<a href="#{v.anchor}">{code}</a>' if v.anchor else code


def _html_fact(f: Fact) -> str:
    return f'<a href="#{f.anchor}">{html.escape(f.name)}</a>' if f.anchor else html.escape(f.name)


def page(ref: Reference) -> str:
    out = ["<!doctype html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           "<title>Vocabulary reference</title>", f"<style>{STYLE}</style>", "</head>", "<body>",
           "<header>", "<h1>Vocabulary reference</h1>", f"<p><strong>{html.escape(ref.title)}</strong></p>"]
    out += [f"<p>{_h(p)}</p>" for p in ref.intro]
    out += ['<p>Example queries run on the <a href="./">query page</a> (or with <code>chemoden query</code>); '
            "hand-written ones come from <code>skos:example</code> in <code>ontology/chemoden.ttl</code>, the others "
            "are generated. The same reference is <code>docs/vocabulary.md</code> in the repository.</p>",
            "<table><tr><th>prefix</th><th>namespace</th></tr>"]
    out += [f"<tr><td><code>{p}:</code></td><td><code>{html.escape(ns)}</code></td></tr>" for p, ns in ref.prefixes]
    out += ["</table>", "</header>", "<nav><h2>Contents</h2><ul>"]
    for s in ref.sections:
        count = f" ({len(s.terms)})" if s.terms else ""
        nested = ' class="nested"' if s.level > 2 else ""  # a class, not a style attribute: the page's CSP allows none
        out.append(f'<li{nested}><a href="#{s.anchor}">{html.escape(s.title)}</a>{count}</li>')
    out.append("</ul></nav>")
    for s in ref.sections:
        out.append(f'<section id="{s.anchor}"><h{s.level}>{html.escape(s.title)}</h{s.level}>')
        if s.intro:
            out.append(f"<p>{_h(s.intro)}</p>")
        if s.query:
            out.append(f"<pre><code>{html.escape(s.query)}</code></pre>")
        if s.listings:
            out.append("<ul>")
            for listing in s.listings:
                head = html.escape(listing.title)
                head = f'<a href="#{listing.anchor}">{head}</a>' if listing.anchor else head
                out.append(f"<li><strong>{head}</strong>: {html.escape(', '.join(listing.items))}</li>")
            out.append("</ul>")
        for t in s.terms:
            out += _html_term(t, s.level + 1)
        out.append("</section>")
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"


def _html_term(t: Term, level: int) -> list[str]:
    label = f' <span class="label">{html.escape(t.label)}</span>' if t.label else ""
    out = [f'<div id="{t.anchor}"><h{level}><code>{html.escape(t.name)}</code>{label}</h{level}>']
    if t.comment:
        out.append(f"<p>{_h(t.comment)}</p>")
    if t.facts:
        out.append("<table>")
        out += [f"<tr><td>{_html_fact(f)}</td><td>{', '.join(_html_value(v) for v in f.values)}</td></tr>"
                for f in t.facts]
        out.append("</table>")
    for example in t.examples:
        out.append(f"<p>Example{' (generated)' if t.generated else ''}:</p><pre><code>{html.escape(example)}</code></pre>")
    out.append("</div>")
    return out


# ---------------------------------------------------------------------------
# `make vocabulary`
# ---------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reasoner.knowledge.vocabulary",
                                     description="Write the vocabulary reference of an ontology folder.")
    parser.add_argument("output", nargs="?", help="file to write: .md for Markdown, .html for the page "
                                                  "(default: Markdown on standard output)")
    parser.add_argument("--ontology", help="ontology folder (default: the shipped one)")
    args = parser.parse_args(argv)
    ref = build(load(args.ontology).graph)
    text = page(ref) if args.output and args.output.endswith(".html") else markdown(ref)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
