"""`chemoden check [PATH]`: everything a maintainer can break in an ontology folder, checked.

Steps, each reporting every problem it finds (not only the first, as loading does):
- turtle: every .ttl file parses;
- sparql: every .rq file parses (rdflib, and Oxigraph when installed) and is a query of a known form,
  and no rule, conflict, audit or note query tests EXISTS over a join (quadratic in a batch chunk);
- shapes: the ontology and the description of its query files (reasoner/knowledge/queryfiles.py)
  against shapes/*.ttl with pySHACL; shapes/session.ttl must compile for reasoner/knowledge/shapes.py;
- qc: every qc/*-violation.rq returns no rows (ODK-style quality checks), and every ICD-10-CM code a
  coverage rule accepts is a billable code of the code set (`_icd10cm`: Python, since SPARQL cannot
  ask the code set);
- owl-rl: the ontology plus qc/axioms.ttl is consistent under OWL-RL (owlrl reports the clash).
Before them, every file's prefixes: a well-known prefix (skos:, rdfs:, cd:, ...) bound to another
IRI is reported at its @prefix (or PREFIX) line, first, since it breaks every term using it.

A problem names its file and line, or its subject (with the line that defines it). `run` returns
them in order (prefixes first, then by file and line); `lines` collapses many problems of one
check into the first and a count, as `chemoden check` prints them unless given --all.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from types import SimpleNamespace

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SH, SKOS

from ..core.errors import InputError, OntologyError
from ..core.vocab import CD, PREFIXES
from ..engines import registry
from ..engines.backend import OxigraphBackend, to_quads
from . import icd10cm, queryfiles
from .names import _strip_trailing, normalise
from .ontology import QUERY_FOLDERS
from .shapes import SessionValidator

CDQ = queryfiles.CDQ
OBO = Namespace("http://purl.obolibrary.org/obo/")
FMA = Namespace("http://purl.org/sig/ont/fma/")
STEPS = ("turtle", "sparql", "shapes", "qc", "owl-rl")
SESSION_SHAPES = "session.ttl"
_PREFIXES = {str(CD): "cd:", str(CDQ): "cdq:", str(OBO): "obo:", str(FMA): "fma:",
             "https://w3id.org/chemoden/shapes#": "cdsh:"}
# The IRI each well-known prefix stands for; a file binding one of these names to another IRI
# (a dropped '#', a typo) silently changes every term written with it.
STANDARD_PREFIXES = {**PREFIXES, "cdq": str(CDQ), "cdsh": "https://w3id.org/chemoden/shapes#", "sh": str(SH),
                     "oboInOwl": "http://www.geneontology.org/formats/oboInOwl#", "sct": "http://snomed.info/id/",
                     "dc": "http://purl.org/dc/elements/1.1/"}
_PREFIX_LINE = re.compile(r"^\s*(?:@prefix|PREFIX)\s+([A-Za-z][\w.-]*)?:\s*<([^>]*)>", re.IGNORECASE)
COLLAPSE_AFTER = 3  # more problems of one check than this print as the first one and a count
_FILE_LEVEL = ("prefix", "turtle")  # one per file at most and each worth reading: never collapsed


@dataclass(frozen=True)
class Problem:
    check: str  # the step and the check within it: "shape cdsh:target-region", "qc orphan-synonym"
    message: str
    file: str | None = None
    line: int | None = None
    subject: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.file and self.line else (self.file or "")
        parts = [p for p in (where, self.subject) if p]
        return ": ".join(parts + [f"{self.message} [{self.check}]"])


_SLOW_EXISTS = ("EXISTS over a join: Oxigraph evaluates it against the whole store once per row, so a "
                "batch chunk costs the square of its size; write MINUS { ... } (shared variables bound "
                "before it), OPTIONAL { ... } FILTER (!BOUND(?v)), or join a SELECT DISTINCT subquery "
                "(ontology/README.md)")


def curie(term) -> str:
    text = str(term)
    for namespace, prefix in _PREFIXES.items():
        if text.startswith(namespace):
            return prefix + text[len(namespace):]
    return f"<{text}>" if isinstance(term, URIRef) else text


class Folder:
    """An ontology folder read leniently: each file on its own, problems collected."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.problems: list[Problem] = []
        self.ontology = Graph()
        self.turtle_files = sorted(directory.glob("*.ttl"))
        self.texts: dict[Path, str] = {}
        for path in self.turtle_files:
            graph = self.parse(path)
            if graph is not None:
                self.ontology += graph
        self.shapes_files = sorted((directory / "shapes").glob("*.ttl"))
        self.qc_files = sorted((directory / "qc").glob("*.ttl"))
        self.extra = {path: self.parse(path) for path in self.shapes_files + self.qc_files}
        self.queries = queryfiles.read(directory)
        for path, text in [*self.texts.items(), *((q.path, q.text) for q in self.queries)]:
            self.problems.extend(prefix_problems(path, text))
        for query in self.queries:
            for line, message in query.errors:
                self.problems.append(Problem("sparql", message, str(query.path), line))
            if query.kind in QUERY_FOLDERS.values() and not query.errors:  # the queries coding runs
                for line in queryfiles.exists_over_joins(query.text):
                    self.problems.append(Problem("sparql", _SLOW_EXISTS, str(query.path), line))
        self._definitions: dict[str, list[tuple[Path, int]]] | None = None

    def parse(self, path: Path) -> Graph | None:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self.problems.append(Problem("turtle", f"cannot read: {exc}", str(path), 1))
            return None
        self.texts[path] = text
        graph, line, detail = _parse_turtle(text)
        if graph is None:
            self.problems.append(Problem("turtle", f"cannot parse Turtle ({detail}", str(path), line))
        return graph

    @property
    def readable(self) -> bool:
        return not any(p.check == "turtle" for p in self.problems)

    def definition(self, subject) -> tuple[str | None, int | None]:
        """The file and line where a subject's block starts (`cd:biceps a cd:Muscle ;`)."""
        blocks = self._blocks(subject)
        return (str(blocks[0][0]), blocks[0][1]) if blocks else (None, None)

    def _blocks(self, subject) -> list[tuple[Path, int]]:
        """Every block of a subject: the ontology's files first, then shapes/ and qc/."""
        if self._definitions is None:
            self._definitions = {}
            for path in self.turtle_files + self.shapes_files + self.qc_files:
                for n, line in enumerate(self.texts.get(path, "").splitlines(), start=1):
                    match = _BLOCK.match(line)
                    if match:
                        self._definitions.setdefault(match.group(1), []).append((path, n))
        return self._definitions.get(curie(subject)) or self._definitions.get(f"<{subject}>") or []

    def line_of(self, subject, value) -> tuple[str | None, int | None]:
        """The line of the subject's block that names `value` (a cross-reference, a member, a
        quoted literal such as a code), else the first line of any Turtle file naming it, else the
        block's first line."""
        tokens = {'"' + str(value) + '"'} if isinstance(value, Literal) else {curie(value), f"<{value}>"}
        pattern = re.compile("(?:" + "|".join(re.escape(t) for t in tokens) + r")(?![\w-])")
        for path, start in self._blocks(subject):
            text = self.texts.get(path, "").splitlines()
            for n in range(start, len(text) + 1):
                if n > start and _BLOCK.match(text[n - 1]):
                    break
                if pattern.search(text[n - 1].split(" #")[0]):
                    return str(path), n
        for path in self.turtle_files + self.shapes_files + self.qc_files:
            for n, line in enumerate(self.texts.get(path, "").splitlines(), start=1):
                if not line.lstrip().startswith("#") and pattern.search(line):
                    return str(path), n
        return self.definition(subject)

    def locate(self, check: str, message: str, subject, value=None) -> Problem:
        """A problem about an RDF subject: a query file by its path, else the defining line (or,
        given the value at fault, the line of the subject's block that names it)."""
        if isinstance(subject, URIRef) and str(subject).startswith(queryfiles.FILE_BASE):
            query = next((q for q in self.queries if q.iri == subject), None)
            if query is not None:
                return Problem(check, message, str(query.path), 1)
        if subject is None:
            file, line = None, None
        elif isinstance(value, (URIRef, Literal)):
            file, line = self.line_of(subject, value)
        else:
            file, line = self.definition(subject)
        return Problem(check, message, file, line, curie(subject) if subject is not None else None)

    # -- the data the shapes and quality checks see ---------------------------------------
    @cached_property
    def description(self) -> Graph:
        return queryfiles.describe(self.queries)

    def name_keys(self) -> Graph:
        """cdq:nameKey: each name of a target or ambiguous name, normalised like the resolver does."""
        g = Graph()
        owners = set(self.ontology.subjects(CD.billingRegion, None)) | set(self.ontology.subjects(RDF.type, CD.AmbiguousName))
        for owner in owners:
            for prop in (RDFS.label, SKOS.altLabel, SKOS.hiddenLabel):
                for name in self.ontology.objects(owner, prop):
                    g.add((owner, CDQ.nameKey, Literal(normalise(name))))
        return g

    def uberon(self) -> Graph:
        """qc/uberon-muscles.tsv as facts: each UBERON class, its FMA xrefs and the keys of its names."""
        g = Graph()
        path = self.directory / "qc" / "uberon-muscles.tsv"
        if not path.exists():
            return g
        rows = [line.rstrip("\n").split("\t") for line in path.read_text(encoding="utf-8").splitlines()
                if line.strip() and not line.startswith("#")]
        for row in rows[1:]:
            if len(row) < 3 or not row[0].startswith("UBERON:"):
                continue
            cls = OBO["UBERON_" + row[0].split(":", 1)[1]]
            g.add((cls, RDF.type, CDQ.UberonClass))
            g.add((cls, RDFS.label, Literal(row[1])))
            for fma in filter(None, row[2].split("|")):
                g.add((cls, CDQ.fma, FMA["fma" + fma.split(":", 1)[1]]))
            for name in [row[1]] + (row[3].split("|") if len(row) > 3 else []):
                g.add((cls, CDQ.uberonKey, Literal(uberon_key(name))))
        for target in self.ontology.subjects(CD.billingRegion, None):
            for prop in (RDFS.label, SKOS.altLabel):
                for name in self.ontology.objects(target, prop):
                    g.add((target, CDQ.uberonKey, Literal(uberon_key(name))))
        return g


_BLOCK = re.compile(r"^([A-Za-z][\w-]*:[\w.-]*|<[^>]+>)\s")


def prefix_problems(path: Path, text: str) -> list[Problem]:
    """Each well-known prefix the file binds to an IRI other than its standard one."""
    found = []
    for n, line in enumerate(text.splitlines(), start=1):
        match = _PREFIX_LINE.match(line)
        if not match:
            continue
        name, iri = match.group(1) or "", match.group(2)
        standard = STANDARD_PREFIXES.get(name)
        if standard is not None and iri != standard:
            found.append(Problem("prefix", f"the prefix {name}: is bound to <{iri}>, not to its standard IRI "
                                 f"<{standard}>, so every {name}: term in this file names something else",
                                 str(path), n))
    return found


@lru_cache(maxsize=64)
def _parse_turtle(text: str) -> tuple[Graph | None, int, str]:
    """A Turtle text parsed once per process (tests check many copies that differ in one file);
    the graph is only read, never changed. On failure: None, the line and the parser's words."""
    graph = Graph()
    try:
        graph.parse(data=text, format="turtle")
    except Exception as exc:  # rdflib's Turtle parser raises several kinds
        detail = " ".join(str(exc).split())
        match = re.search(r"at line (\d+)", detail)
        line = int(match.group(1)) if match else 1
        reason = re.search(r"Bad syntax \(([^)]*)\)", detail)
        lines = text.splitlines()
        near = lines[line - 1].strip() if 0 < line <= len(lines) else ""
        if reason:
            return None, line, f"{reason.group(1)}): {near[:200]}"
        return None, line, "syntax error): " + re.sub(r"^at line \d+ of <[^>]*>:? ?", "", detail)[:300]
    return graph, 0, ""


def uberon_key(name: str) -> str:
    """A name as the resolver compares it, without a trailing 'muscle' (UBERON labels have it)."""
    return " ".join(_strip_trailing(normalise(name).split()))


# ---------------------------------------------------------------------------
# Steps
# ---------------------------------------------------------------------------

def _shapes(folder: Folder) -> list[Problem]:
    import pyshacl  # a second to import: only where shapes are checked

    problems = []
    shapes = Graph()
    for path in folder.shapes_files:
        graph = folder.extra.get(path)
        if graph is None:
            continue
        if path.name == SESSION_SHAPES:
            problems.extend(_session_shapes(folder, path))
            continue
        shapes += graph
    if not len(shapes):
        return problems
    data = Graph()
    data += folder.ontology
    data += folder.name_keys()
    data += folder.description
    conforms, report, _ = pyshacl.validate(data, shacl_graph=shapes, inference="none")
    if conforms:
        return problems
    for result in report.subjects(RDF.type, SH.ValidationResult):
        if (None, SH.detail, result) in report:  # a nested shape's finding (sh:node): its parent reports it
            continue
        focus = report.value(result, SH.focusNode)
        message = str(report.value(result, SH.resultMessage) or "breaks a shape")
        value = report.value(result, SH.value)
        source = report.value(result, SH.sourceShape)
        path = report.value(result, SH.resultPath)
        owner = source if isinstance(source, URIRef) else shapes.value(None, SH.property, source)
        name = curie(owner) if isinstance(owner, URIRef) else "shape"
        if (value is not None and value != focus and not isinstance(value, BNode) and str(value) not in message
                and not str(value).startswith(queryfiles.FILE_BASE)):
            message += f" (found {curie(value) if isinstance(value, URIRef) else repr(str(value))})"
        if isinstance(focus, Literal) and path is not None and (path, SH.inversePath, None) in report:
            # a value shared by several resources (a name, an id): name them, locate the first
            owners = sorted(data.subjects(report.value(path, SH.inversePath), focus), key=str)
            message = f"{_readable(message)}: {str(focus)!r} belongs to {', '.join(_owner(folder, o) for o in owners)}"
            problems.append(folder.locate(f"shape {name}", message, owners[0] if owners else None))
            continue
        problem = folder.locate(f"shape {name}", _readable(message), focus)
        if isinstance(focus, URIRef) and str(focus).startswith(queryfiles.FILE_BASE):
            query = next((q for q in folder.queries if q.iri == focus), None)
            key = next((k for k, p in queryfiles.HEADER_KEYS.items() if p == path), None)
            if query is not None:
                line = query.line_of(key)
                if key is None and isinstance(value, Literal):  # the header line that holds the value
                    line = next((n for n, text in enumerate(query.text.splitlines(), start=1)
                                 if text.startswith("#") and str(value) in text), line)
                problem = Problem(problem.check, problem.message, problem.file, line)
        problems.append(problem)
    return problems


def _owner(folder: Folder, node) -> str:
    if isinstance(node, URIRef) and str(node).startswith(queryfiles.FILE_BASE):
        query = next((q for q in folder.queries if q.iri == node), None)
        return str(query.path) if query is not None else curie(node)
    return curie(node)


def _readable(message: str) -> str:
    """pySHACL fills {?var} with IRIs: show file IRIs as paths, the others as CURIEs."""
    message = re.sub(r"<?" + re.escape(queryfiles.FILE_BASE) + r"([^\s>]+)>?", r"\1", message)
    for namespace, prefix in _PREFIXES.items():
        message = re.sub(r"<?" + re.escape(namespace) + r"([\w.-]*)>?", prefix + r"\1", message)
    return message


def _session_shapes(folder: Folder, path: Path) -> list[Problem]:
    """The session shapes must compile for reasoner/knowledge/shapes.py (what coding runs)."""
    try:
        context = json.loads((folder.directory / "context.jsonld").read_text(encoding="utf-8"))["@context"]
    except (OSError, ValueError, KeyError) as exc:
        return [Problem("shapes", f"cannot read the JSON-LD context: {exc}", str(folder.directory / "context.jsonld"), 1)]
    stand_in = SimpleNamespace(directory=folder.directory, graph=folder.ontology, context=context)
    try:
        SessionValidator(stand_in, path)
    except OntologyError as exc:
        shape = re.search(r"shape (\S+):", exc.message)
        lines = folder.texts.get(path, "").splitlines()
        line = next((n for n, text in enumerate(lines, start=1) if shape and text.startswith(shape.group(1) + " ")), 1)
        return [Problem("shapes", exc.message, str(path), line)]
    return []


def _qc(folder: Folder, only: set[str] | None = None) -> list[Problem]:
    data = Graph()
    data += folder.ontology
    data += folder.description
    data += folder.uberon()
    for path in folder.qc_files:
        if folder.extra.get(path) is not None:
            data += folder.extra[path]
    store = None
    if registry.has_oxigraph():
        import pyoxigraph as ox

        store = ox.Store()
        store.extend(to_quads(data))
    problems = _changelog(folder) if only is None else []
    for query in folder.queries:
        if query.kind != "qc" or query.errors or not query.relative.endswith("-violation.rq"):
            continue
        name = query.header.get("id") or query.path.stem
        if only is not None and f"qc {name}" not in only:
            continue
        if store is not None:
            rows = OxigraphBackend(store).select(query.text, terms=True)
        else:
            rows = [{k: v for k, v in r.asdict().items() if v is not None} for r in data.query(query.text)]
        for row in rows:
            message = str(row.get("message") or query.header.get("rationale") or "violation")
            problems.append(folder.locate(f"qc {name}", message, row.get("subject"), row.get("value")))
    return problems


ICD10CM_CHECK = "qc icd10cm-code"
_ICD10CM_FORM = re.compile(r"[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?")


def _icd10cm(folder: Folder) -> list[Problem]:
    """Every ICD-10-CM code a coverage rule accepts (cd:acceptsIcd10cm) is written dotted and in
    upper case and is billable (a leaf) in the code set simple-icd-10-cm carries; every category it
    accepts whole (cd:acceptsIcd10cmUnder) is a category or subcategory there. Data-driven: it reads
    the coverage triples of whichever files hold them. SPARQL cannot ask the code set, hence Python."""
    found = [(CD.acceptsIcd10cm, s, o) for s, o in folder.ontology.subject_objects(CD.acceptsIcd10cm)]
    found += [(CD.acceptsIcd10cmUnder, s, o) for s, o in folder.ontology.subject_objects(CD.acceptsIcd10cmUnder)]
    if not found:
        return []
    try:
        codes = icd10cm.code_set()  # the per-user cache of the library's code set (icd10cm.py)
    except ImportError:
        return [Problem(ICD10CM_CHECK, "cannot check the ICD-10-CM codes of the coverage rules: the package "
                        "simple-icd-10-cm is not installed (a dependency of chemoden: pip install "
                        "'simple-icd-10-cm>=1.5,<2')")]
    problems = []
    for prop, rule, value in sorted(found, key=lambda f: (str(f[1]), str(f[0]), str(f[2]))):
        message = _icd10cm_problem(codes, prop == CD.acceptsIcd10cmUnder, value)
        if message:
            problem = folder.locate(ICD10CM_CHECK, message, rule, value if isinstance(value, Literal) else None)
            file, line = _line_of_statement(folder, rule, prop, value)
            problems.append(Problem(problem.check, problem.message, file or problem.file, line or problem.line,
                                    problem.subject))
    return problems


def _line_of_statement(folder: Folder, subject, prop, value) -> tuple[str | None, int | None]:
    """The line of the subject's block where `prop` has the quoted `value`, following a value list
    onto its continuation lines (a code the same block also lists under another property, as a
    code and as a category, is found under the right one)."""
    wanted, token = curie(prop), re.compile(re.escape('"' + str(value) + '"') + r"(?![\w-])")
    for path, start in folder._blocks(subject):
        lines = folder.texts.get(path, "").splitlines()
        current = None
        for n in range(start, len(lines) + 1):
            text = lines[n - 1].split(" #")[0]
            if n > start and _BLOCK.match(text):
                break
            head = text if n > start else text[len(text.split(None, 1)[0]):]  # the block's first line: after its subject
            for match in re.finditer(r"(?:^|;)\s*(?:a\s|([A-Za-z][\w-]*:[\w.-]*)\s)", head):
                current = match.group(1)
            if current == wanted and token.search(text):
                return str(path), n
    return None, None


def _icd10cm_problem(codes, whole_category: bool, value) -> str | None:
    """What is wrong with one accepted code (or category), in words that say how to fix it; None when right."""
    prop = "cd:acceptsIcd10cmUnder" if whole_category else "cd:acceptsIcd10cm"
    code = str(value)
    known = codes.has(codes.billable, code) or codes.has(codes.other, code)
    if not isinstance(value, Literal) or not _ICD10CM_FORM.fullmatch(code):
        fixed = icd10cm.normalise(code)
        if isinstance(value, Literal) and fixed and (codes.has(codes.billable, fixed) or codes.has(codes.other, fixed)):
            return f"{prop} {code!r} is not written as an ICD-10-CM code: write it dotted and in upper case, {fixed!r}"
        return (f"{prop} {code!r} is not written as an ICD-10-CM code: give it as text, dotted and in upper case, "
                "such as 'G24.3'")
    if not known:
        return f"{prop} {code!r} is not an ICD-10-CM code (in the code set of {icd10cm.LIBRARY} {codes.version}, {codes.edition})"
    billable = codes.has(codes.billable, code)
    if whole_category:
        if billable:
            return f"{prop} {code!r} is a billable code, not a category: accept it with cd:acceptsIcd10cm"
        return None
    if not billable:
        under = codes.under(code, limit=1_000_000)
        shown = ", ".join(under[:4]) + (f", ... ({len(under)} in all)" if len(under) > 4 else "")
        return (f"{prop} {code!r} is not billable: it is a category whose billable codes are {shown}; list the ones "
                "the payer document accepts, or, if it accepts the whole category, use cd:acceptsIcd10cmUnder")
    return None



def _changelog(folder: Folder) -> list[Problem]:
    """Each release (owl:versionInfo) has its section in CHANGELOG.md: '## YYYY-MM-DD'."""
    path = folder.directory / "CHANGELOG.md"
    versions = sorted({str(v) for v in folder.ontology.objects(None, OWL.versionInfo)})
    if not versions:
        return []
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return [Problem("qc changelog", f"no CHANGELOG.md: add one with a section '## {versions[-1]}' saying what changed",
                        str(path))]
    return [Problem("qc changelog", f"no section '## {v}' for the release stamped {v} (owl:versionInfo): say what changed",
                    str(path), 1) for v in versions if not re.search(rf"^## {re.escape(v)}\b", text, re.M)]


def _owl_rl(folder: Folder) -> list[Problem]:
    """OWL-RL consistency: owlrl (the reference reasoner) reports each clash it finds."""
    import owlrl  # half a second to import: only where consistency is checked
    from owlrl.Namespaces import ERRNS

    graph = Graph()
    graph += folder.ontology
    axioms = folder.directory / "qc" / "axioms.ttl"
    if folder.extra.get(axioms) is not None:
        graph += folder.extra[axioms]
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(graph)
    problems = []
    for message in sorted(str(m) for m in graph.objects(None, ERRNS.error)):
        subject = None
        for iri in re.findall(r"https://w3id\.org/chemoden#[\w-]+", message):
            subject = subject or URIRef(iri)
        literal = re.search(r"literal '([^']*)' does not match its datatype \(([^)]*)\)", message)
        if subject is None and literal:  # an ill-typed literal: the subject that carries it
            value = Literal(literal.group(1), datatype=URIRef(literal.group(2)))
            subject = next(iter(sorted(folder.ontology.subjects(None, value), key=str)), None)
        problems.append(folder.locate("owl-rl", "inconsistent: " + " ".join(_readable(message).split()), subject))
    return problems


def run(directory: str | Path, steps=STEPS) -> list[Problem]:
    """Every problem of the ontology folder, in order (see `order`). An unreadable folder is an InputError."""
    path = Path(directory)
    if not path.exists():
        raise InputError("not found", source=str(path))
    if not path.is_dir():
        raise InputError("is not a folder: give the ontology folder (the one holding chemoden.ttl)", source=str(path))
    folder = Folder(path)
    if not folder.turtle_files:
        raise InputError("holds no Turtle (.ttl) files: not an ontology folder", source=str(path))
    problems = [p for p in folder.problems if p.check in steps or p.check in _FILE_LEVEL]
    if not folder.readable:
        return order(problems)  # the other steps would report the consequences of a file not read
    if "shapes" in steps:
        problems.extend(_shapes(folder))
    if "qc" in steps:
        problems.extend(_qc(folder))
        problems.extend(_icd10cm(folder))
    if "owl-rl" in steps:
        problems.extend(_owl_rl(folder))
    return order(problems)


def order(problems) -> list[Problem]:
    """Misbound prefixes first (they explain what follows), then by file and line; problems
    without a file last. Each problem once."""
    def key(p: Problem):
        return (p.check != "prefix", p.file is None, p.file or "", p.line or 0, p.check, p.subject or "", p.message)
    return sorted(set(problems), key=key)


def lines(problems, everything: bool = False) -> list[str]:
    """The problems as printed: one line each, except that a check with more than COLLAPSE_AFTER
    problems prints its first one and a line counting the rest (unless `everything`)."""
    problems = order(problems)
    if everything:
        return [str(p) for p in problems]
    groups: dict[str, list[Problem]] = {}
    for p in problems:
        groups.setdefault(p.check, []).append(p)
    out = []
    for p in problems:
        group = groups[p.check]
        if len(group) <= COLLAPSE_AFTER or p.check in _FILE_LEVEL:
            out.append(str(p))
        elif p is group[0]:
            files = list(dict.fromkeys(q.file for q in group if q.file))
            where = f" in {', '.join(files[:3])}{' and others' if len(files) > 3 else ''}" if files else ""
            out.append(str(p))
            out.append(f"  ... and {len(group) - 1} more [{p.check}]{where} (chemoden check --all lists every one)")
    return out


CDSH = Namespace("https://w3id.org/chemoden/shapes#")


def invariant_checks(folder: Folder) -> set[str]:
    """The checks whose problems would bill wrongly, as the ontology folder declares them: shapes
    with cdsh:billingInvariant true, quality checks with the header line `# invariant: billing`."""
    names = set()
    for path in folder.shapes_files:
        graph = folder.extra.get(path)
        if graph is not None:
            names.update(f"shape {curie(s)}" for s in graph.subjects(CDSH.billingInvariant, Literal(True)))
    names.update(f"qc {q.header.get('id') or q.path.stem}" for q in folder.queries
                 if q.kind == "qc" and q.header.get("invariant") == "billing")
    return names


def invariants(directory: str | Path) -> list[Problem]:
    """The problems of the ontology folder that would bill wrongly (the billing invariants), with
    the same words and FILE:LINE as `chemoden check`; an unreadable file counts among them."""
    folder = Folder(Path(directory))
    if not folder.readable:
        return order(p for p in folder.problems if p.check in _FILE_LEVEL)
    names = invariant_checks(folder)
    found = [p for p in _shapes(folder) + _qc(folder, only=names) if p.check in names]
    if found:  # a misbound prefix usually explains them: it comes first
        found += [p for p in folder.problems if p.check == "prefix"]
    return order(found)


def summary(directory: str | Path) -> str:
    folder = Path(directory)
    queries = len(list(folder.rglob("*.rq")))
    qc = len(list((folder / "qc").glob("*-violation.rq")))
    return (f"{len(list(folder.glob('*.ttl')))} Turtle files, {queries} query files, "
            f"{len(list((folder / 'shapes').glob('*.ttl')))} shape files and {qc} quality checks: no problems")
