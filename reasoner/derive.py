"""Run the rule, conflict and note queries over a classified session graph.

Rules (ontology/rules/*.rq) run in file-name order: CONSTRUCT rules add billing
lines (and intermediate tallies) to the graph, update rules adjust them (modifiers
by policy profile), later rules read earlier lines (guidance units). Conflict and
note queries are SELECTs returning ?message (and ?codes, space-separated).
"""

from __future__ import annotations

from rdflib import Graph, Literal
from rdflib.namespace import RDF, RDFS

from .namespaces import CD
from .result import Finding, Line, Result
from .session import Session, describe


def run_rules(graph: Graph, ontology) -> None:
    """Apply every rule to `graph` in place."""
    for rule in ontology.queries["rule"]:
        if rule.form == "update":
            graph.update(rule.prepared)
            continue
        produced = graph.query(rule.prepared).graph
        if produced is None:
            continue
        new_lines = set(produced.subjects(RDF.type, CD.BillingLine))
        graph += produced
        for line in new_lines:
            if graph.value(line, CD.rule) is None:
                graph.add((line, CD.rule, Literal(rule.id)))


def _findings(graph: Graph, queries) -> list[Finding]:
    found: list[Finding] = []
    for query in queries:
        for row in graph.query(query.prepared):
            values = row.asdict()
            finding = Finding(
                rule=query.id,
                severity=query.severity or "note",
                message=str(values.get("message", query.rationale)),
                codes=tuple(sorted(set(str(values.get("codes", "")).split()))),
            )
            if finding not in found:
                found.append(finding)
    return found


def _lines(graph: Graph, session: Session, ontology) -> list[Line]:
    lines = []
    for line in graph.subjects(CD.lineOf, session.iri):
        code = graph.value(line, CD.code)
        rule_id = str(graph.value(line, CD.rule) or "")
        because = sorted(
            (session.injection(i) for i in graph.objects(line, CD.because) if session.injection(i)),
            key=lambda inj: session.injections.index(inj),
        )
        reasons = sorted(str(o) for o in graph.objects(line, CD.explanation))
        if not reasons:  # a rule without its own explanation: fall back to its header
            try:
                reasons = [ontology.query(rule_id).rationale]
            except KeyError:
                reasons = []
        reasons += sorted(str(o) for o in graph.objects(line, CD.modifierReason))
        explanation = " ".join(reasons)
        if because:
            explanation += " Supported by: " + "; ".join(describe(i) for i in because) + "."
        lines.append(Line(
            iri=line,
            code=str(graph.value(code, CD.notation) or code),
            code_iri=code,
            label=str(graph.value(code, RDFS.label) or ""),
            add_on=(code, RDF.type, CD.AddOnCode) in graph,
            units=int(graph.value(line, CD.units) or 1),
            modifiers=tuple(sorted(str(graph.value(m, CD.notation) or m) for m in graph.objects(line, CD.modifier))),
            rule=rule_id,
            because=tuple(i.identifier for i in because),
            explanation=explanation.strip(),
        ))
    lines.sort(key=lambda ln: (ln.add_on, ln.code, ln.modifiers))
    return lines


def derive(graph: Graph, session: Session, ontology) -> Result:
    """Billing lines, conflicts and notes for one classified session graph (modified in place)."""
    run_rules(graph, ontology)
    return Result(
        session=session,
        lines=_lines(graph, session, ontology),
        conflicts=_findings(graph, ontology.queries["conflict"]),
        notes=_findings(graph, ontology.queries["note"]),
        graph=graph,
    )
