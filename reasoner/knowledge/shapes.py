"""Check session input against ontology/shapes/session.ttl, a whole chunk of sessions per call.

pySHACL takes about 30 ms for one session and 0.6 s for a chunk of 32 (its SPARQL and
bookkeeping dominate), and even one SPARQL query over a chunk on Oxigraph costs more than
the coding budget. So the shapes are compiled once, per process, into plain Python tests,
and each session's input graph (a few dozen triples) is read once into a dictionary and
checked against them: a fraction of a millisecond per session. The shapes stay the one
definition: `chemoden check` and tests/test_validate.py run them through pySHACL too, and the
test proves both find the same violations on every malformed session in its table.

Only the SHACL the shapes use is compiled (listed in the header of session.ttl); anything else
is refused with an OntologyError naming the shape, so a shape never silently checks nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, RDFS, XSD, Namespace

from ..core.errors import InputError, InputErrors, OntologyError
from ..core.vocab import CD

SH = Namespace("http://www.w3.org/ns/shacl#")
CDSH = Namespace("https://w3id.org/chemoden/shapes#")
SHAPES_FILE = Path("shapes") / "session.ttl"

_NODE_KINDS: dict = {
    SH.IRI: lambda v: isinstance(v, URIRef),
    SH.Literal: lambda v: isinstance(v, Literal),
    SH.BlankNode: lambda v: isinstance(v, BNode),
    SH.BlankNodeOrIRI: lambda v: not isinstance(v, Literal),
    SH.IRIOrLiteral: lambda v: not isinstance(v, BNode),
    SH.BlankNodeOrLiteral: lambda v: not isinstance(v, URIRef),
}
_RANGES = {
    SH.minInclusive: lambda a, b: a >= b, SH.minExclusive: lambda a, b: a > b,
    SH.maxInclusive: lambda a, b: a <= b, SH.maxExclusive: lambda a, b: a < b,
}
_ABOUT = {SH.message, SH.name, SH.description, RDFS.comment, RDFS.label, RDF.type}
_VALUE = {SH.datatype, SH.nodeKind, SH["class"], SH["in"], SH.pattern, SH.flags, SH["or"]} | set(_RANGES)
_PROPERTY = _ABOUT | _VALUE | {SH.path, SH.minCount, SH.maxCount, CDSH.uniqueKey}
_NODE = _ABOUT | {SH.targetClass, SH.targetSubjectsOf, SH.targetObjectsOf, SH.property, SH.closed,
                  SH.ignoredProperties}


def _number(value):
    """The number a literal stands for, or None (a string, a boolean, an ill-typed literal)."""
    if not isinstance(value, Literal) or value.ill_typed:
        return None
    python = value.toPython()
    if isinstance(python, bool) or not isinstance(python, (int, float, Decimal)):
        return None
    return python


def _compare(test, value, bound) -> bool:
    a, b = _number(value), _number(bound)
    if a is None or b is None:
        return False  # SHACL: a value that cannot be compared does not conform
    if isinstance(a, Decimal) != isinstance(b, Decimal):
        a, b = Decimal(str(a)), Decimal(str(b))
    return test(a, b)


@dataclass
class PropertyCheck:
    shape: URIRef | BNode
    path: URIRef
    message: str
    min_count: int | None = None
    max_count: int | None = None
    test: Callable | None = None  # True when a value conforms
    unique_key: URIRef | None = None  # cdsh:uniqueKey: no two value nodes share a value of it


@dataclass
class NodeCheck:
    shape: URIRef | BNode
    targets: list  # (kind, IRI): class | subjectsOf | objectsOf
    properties: list[PropertyCheck] = field(default_factory=list)
    closed: frozenset | None = None

    def __post_init__(self):
        self.index()

    def index(self) -> None:
        """Property checks by path, and those that must see a value: a focus node's own
        properties then drive the work, not the number of shapes."""
        self.by_path: dict = {}
        for prop in self.properties:
            self.by_path.setdefault(prop.path, []).append(prop)
        self.required = [p for p in self.properties if p.min_count]


@dataclass(frozen=True)
class Violation:
    """A session that breaks a shape: where (as the user wrote it), what, and the value."""

    session: int  # index into the sessions validated together
    field: str
    message: str
    shape: object = None  # the shape broken, the input node, the path and the value
    focus: object = None
    path: object = None
    value: object = None

    def error(self, source: str) -> InputError:
        return InputError(self.message, source=source, field=self.field)


class ShapeCompiler:
    """Turns a shapes graph into NodeCheck objects over a vocabulary of class members."""

    def __init__(self, shapes: Graph, members: dict, source: str = "shapes"):
        self.shapes = shapes
        self.members = members  # class IRI -> set of the ontology's individuals in it
        self.source = source

    def _refuse(self, shape, what: str):
        name = shape.n3(self.shapes.namespace_manager) if isinstance(shape, URIRef) else "(a blank node shape)"
        raise OntologyError(f"shape {name}: {what} is not supported by reasoner/knowledge/shapes.py", source=self.source)

    def _only(self, shape, allowed: set) -> None:
        extra = set(self.shapes.predicates(shape, None)) - allowed
        if extra:
            self._refuse(shape, ", ".join(sorted(e.n3(self.shapes.namespace_manager) for e in extra)))

    def _list(self, node) -> list:
        return list(Collection(self.shapes, node))

    def value_test(self, shape) -> Callable | None:
        """One function: True when a value meets every value constraint of `shape`."""
        g = self.shapes
        tests: list[Callable] = []
        for dtype in g.objects(shape, SH.datatype):
            def datatype(v, d=dtype):
                return isinstance(v, Literal) and (v.datatype or (XSD.string if not v.language else RDF.langString)) == d \
                    and v.ill_typed is not True
            tests.append(datatype)
        for kind in g.objects(shape, SH.nodeKind):
            if kind not in _NODE_KINDS:
                self._refuse(shape, f"sh:nodeKind {kind}")
            tests.append(_NODE_KINDS[kind])
        for cls in g.objects(shape, SH["class"]):
            tests.append(lambda v, m=frozenset(self.members.get(cls, ())): v in m)  # noqa: B008 - bound now
        for values in g.objects(shape, SH["in"]):
            tests.append(lambda v, m=frozenset(self._list(values)): v in m)  # noqa: B008 - bound now
        for key, test in _RANGES.items():
            for bound in g.objects(shape, key):
                tests.append(lambda v, t=test, b=bound: _compare(t, v, b))
        for pattern in g.objects(shape, SH.pattern):
            flags = str(g.value(shape, SH.flags) or "")
            regex = re.compile(str(pattern), re.I if "i" in flags else 0)
            tests.append(lambda v, r=regex: not isinstance(v, BNode) and r.search(str(v)) is not None)
        for alternatives in g.objects(shape, SH["or"]):
            options = []
            for member in self._list(alternatives):
                self._only(member, _ABOUT | _VALUE)
                options.append(self.value_test(member) or (lambda v: True))
            tests.append(lambda v, o=tuple(options): any(t(v) for t in o))
        if not tests:
            return None
        if len(tests) == 1:
            return tests[0]
        return lambda v, t=tuple(tests): all(f(v) for f in t)

    def property_check(self, prop) -> PropertyCheck:
        g = self.shapes
        self._only(prop, _PROPERTY)
        path = g.value(prop, SH.path)
        if not isinstance(path, URIRef):
            self._refuse(prop, "a sh:path that is not one IRI")
        min_count, max_count = g.value(prop, SH.minCount), g.value(prop, SH.maxCount)
        return PropertyCheck(
            shape=prop, path=path, message=str(g.value(prop, SH.message) or f"breaks shape {prop}"),
            min_count=int(min_count) if min_count is not None else None,
            max_count=int(max_count) if max_count is not None else None,
            test=self.value_test(prop), unique_key=g.value(prop, CDSH.uniqueKey))

    def compile(self) -> list[NodeCheck]:
        g = self.shapes
        checks = []
        for shape in sorted(set(g.subjects(RDF.type, SH.NodeShape)), key=str):
            self._only(shape, _NODE)
            targets = [(kind, iri) for kind, prop in (("class", SH.targetClass), ("subjectsOf", SH.targetSubjectsOf),
                                                      ("objectsOf", SH.targetObjectsOf))
                       for iri in g.objects(shape, prop)]
            check = NodeCheck(shape, sorted(targets))
            check.properties = [self.property_check(p) for p in sorted(g.objects(shape, SH.property), key=str)]
            check.index()
            if g.value(shape, SH.closed) == Literal(True):
                allowed = {p.path for p in check.properties}
                for ignored in g.objects(shape, SH.ignoredProperties):
                    allowed.update(self._list(ignored))
                check.closed = frozenset(allowed)
            checks.append(check)
        return checks


class SessionValidator:
    """The session shapes of one ontology, compiled once; validate() takes a chunk of sessions."""

    def __init__(self, ontology, shapes_path: str | Path | None = None):
        path = Path(shapes_path) if shapes_path else Path(ontology.directory) / SHAPES_FILE
        self.shapes = Graph()
        try:
            self.shapes.parse(path, format="turtle")
        except FileNotFoundError:
            raise OntologyError("session shapes not found", source=str(path)) from None
        except Exception as exc:
            raise OntologyError(f"cannot parse Turtle: {' '.join(str(exc).split())}", source=str(path)) from None
        self.members = members(ontology.graph, set(self.shapes.objects(None, SH["class"])))
        self.checks = ShapeCompiler(self.shapes, self.members, str(path)).compile()
        self.context = ontology.context
        self.messages = {s: str(m) for s, m in self.shapes.subject_objects(SH.message)}
        validator = self.shapes.value(CDSH.UniqueKeyConstraintComponent, SH.propertyValidator)
        self.unique_message = str(self.shapes.value(validator, SH.message) or "duplicated value")

    # -- running the checks -------------------------------------------------------------
    def graph_violations(self, graph: Graph) -> list[tuple]:
        """(kind, shape, focus, path, value) for each violation in one input graph, in a stable
        order; kind is count, value, unique or closed. One pass over the graph builds the
        indexes; the checks then only look things up (violations are rare: sort those alone)."""
        index: dict = {}
        by_property: dict = {}
        for s, p, o in graph:
            index.setdefault(s, {}).setdefault(p, []).append(o)
            by_property.setdefault(p, []).append((s, o))
        found = []
        for check in self.checks:
            focus_nodes = set()
            for kind, iri in check.targets:
                pairs = by_property.get(RDF.type if kind == "class" else iri, ())
                if kind == "class":
                    focus_nodes.update(s for s, o in pairs if o == iri)
                elif kind == "subjectsOf":
                    focus_nodes.update(s for s, _ in pairs)
                else:
                    focus_nodes.update(o for _, o in pairs)
            for focus in focus_nodes:
                props = index.get(focus, {})
                for path, values in props.items():
                    checks = check.by_path.get(path)
                    if checks is None:
                        if check.closed is not None and path not in check.closed:
                            found.extend(("closed", check.shape, focus, path, v) for v in set(values))
                        continue
                    for prop in checks:
                        if len(values) > 1 or (prop.min_count or 0) > 1 or prop.max_count == 0:
                            count = len(set(values))
                            if prop.min_count is not None and count < prop.min_count or \
                                    prop.max_count is not None and count > prop.max_count:
                                found.append(("count", prop.shape, focus, path, None))
                        if prop.test is not None:
                            found.extend(("value", prop.shape, focus, path, v)
                                         for v in (values if len(values) == 1 else set(values)) if not prop.test(v))
                        if prop.unique_key is not None and len(values) > 1:
                            keys: dict = {}
                            for node in set(values):
                                for key in index.get(node, {}).get(prop.unique_key, ()):
                                    keys.setdefault(str(key), set()).add(node)
                            found.extend(("unique", prop.shape, node, prop.unique_key, node)
                                         for nodes in keys.values() if len(nodes) > 1 for node in nodes)
                for prop in check.required:
                    if prop.path not in props:
                        found.append(("count", prop.shape, focus, prop.path, None))
        if len(found) > 1:
            rank = {check.shape: n for n, check in enumerate(self.checks)}
            for n, check in enumerate(self.checks):
                for m, prop in enumerate(check.properties):
                    rank[prop.shape] = (n, m)
            found.sort(key=lambda r: (_order(index, r[2]), str(rank.get(r[1])), str(r[3]), str(r[4])))
        return found

    def validate(self, sessions) -> list[list[Violation]]:
        """Every shape violation of each session (an empty list for a session that conforms).
        A session built in code rather than read has no input graph, and nothing to check."""
        result = []
        for n, session in enumerate(sessions):
            graph = session.input_graph
            rows = self.graph_violations(graph) if graph is not None else []
            result.append([self._violation(n, session, *row) for row in rows])
        return result

    def errors(self, sessions) -> list[InputError | None]:
        """Each session's violations as the InputError to report (InputErrors when they name
        several fields; a field once, by its first violation), or None."""
        return [InputErrors.of([v.error(s.source) for v in found]) for s, found in zip(sessions, self.validate(sessions))]

    # -- naming the field as the user wrote it -------------------------------------------
    def _violation(self, n: int, session, kind, shape, focus, path, value) -> Violation:
        graph, root, plain = session.input_graph, session.input_root, session.plain
        if kind == "closed":
            message = "unknown field: not part of a session's description"
        elif kind == "unique":
            message = self.unique_message
        else:
            message = self.messages.get(shape) or f"breaks shape {shape}"
        if kind == "unique":  # the value is the node; show the key it shares
            message += f", found {self.show(graph.value(value, path))}"
        elif kind == "count":
            values = sorted(graph.objects(focus, path), key=str)
            message += f", found {len(values)}" + (": " + ", ".join(self.show(v) for v in values) if values else "")
        else:
            message += f", found {self.show(value)}"
        return Violation(n, self.field(graph, root, plain, focus, path), message, shape, focus, path, value)

    def key(self, path, plain: bool) -> str:
        """A property as the user wrote it: the JSON key for plain JSON, else a cd: name."""
        text = str(path)
        if plain:
            # the context's own terms, then those of the contexts scoped to one key (an injection's units)
            scoped = [d["@context"] for d in self.context.values() if isinstance(d, dict) and isinstance(d.get("@context"), dict)]
            for context in [self.context, *scoped]:
                for term, definition in context.items():
                    iri = definition.get("@id") if isinstance(definition, dict) else definition
                    if isinstance(iri, str) and iri.startswith("cd:") and str(CD) + iri[3:] == text:
                        return term
            if text.startswith(str(CD)):  # an unknown JSON key, read through the context's @vocab
                return text[len(str(CD)):]
        return "cd:" + text[len(str(CD)):] if text.startswith(str(CD)) else f"<{text}>"

    @staticmethod
    def show(value) -> str:
        """A value as the user would recognise it: 50, "left", cd:Office, <iri>."""
        if isinstance(value, Literal):
            number = _number(value)
            if number is not None:
                return str(value)
            return json.dumps(str(value), ensure_ascii=False)
        if isinstance(value, URIRef):
            return "cd:" + str(value)[len(str(CD)):] if str(value).startswith(str(CD)) else f"<{value}>"
        return "a node"

    def field(self, graph: Graph, root, plain: bool, focus, path) -> str:
        where = self.node_name(graph, root, plain, focus)
        key = self.key(path, plain) if path is not None else ""
        if plain:
            return ".".join(p for p in (where, key) if p)
        return " ".join(p for p in (where, key) if p)

    @staticmethod
    def node_name(graph: Graph, root, plain: bool, focus) -> str:
        """The JSON path of a node (injections[2], agent, billed[0]), or how Turtle names it."""
        if focus == root:
            return "" if plain else "session"
        for prop, name, label in ((CD.hasInjection, "injections", "injection"), (CD.billed, "billed", "claim line"),
                                  (CD.agent, "agent", "agent")):
            if (root, prop, focus) not in graph:
                continue
            if prop == CD.agent:
                return "agent"
            position = graph.value(focus, CD.position)
            if plain and position is not None:
                return f"{name}[{position}]"
            if isinstance(focus, URIRef):
                return f"{label} <{focus}>"
            ident = graph.value(focus, CD.identifier)
            return f"{label} {json.dumps(str(ident))}" if ident is not None else label
        return f"<{focus}>" if isinstance(focus, URIRef) else "a node of the session"


def _order(index: dict, node):
    """Input order: nodes without a position (the session, the agent) first, then injections
    and claim lines by position."""
    position = _number(next(iter(index.get(node, {}).get(CD.position, ())), None))
    return (position if isinstance(position, int) else -1, str(node))


def members(graph: Graph, classes: set) -> dict:
    """The ontology's individuals of each class (rdf:type, then rdfs:subClassOf upwards)."""
    out: dict = {}
    for cls in classes:
        subclasses = set(graph.transitive_subjects(RDFS.subClassOf, cls))
        out[cls] = {x for sub in subclasses for x in graph.subjects(RDF.type, sub)}
    return out


_VALIDATORS: dict = {}


def validator(ontology) -> SessionValidator:
    """The ontology's session validator, compiled once per process."""
    key = id(ontology)
    if key not in _VALIDATORS:
        _VALIDATORS[key] = SessionValidator(ontology)
    return _VALIDATORS[key]


def check_sessions(sessions, ontology) -> list[InputError | None]:
    """Per session, the InputError(s) its input breaks, or None; call it once per batch chunk.
    Each error names the field as the user wrote it (injections[2].side, agent.units_discarded)."""
    if not sessions:
        return []
    return validator(ontology).errors(sessions)
