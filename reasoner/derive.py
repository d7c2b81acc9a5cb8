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


def _findings(graph: Graph, queries, lines: list[Line]) -> list[Finding]:
    """Run conflict, audit or note queries; a row's ?corrected names the line the documentation supports."""
    by_iri = {ln.iri: ln for ln in lines}
    found: dict[tuple, list[Line]] = {}
    for query in queries:
        for row in graph.query(query.prepared):
            values = row.asdict()
            key = (query.id, query.severity or "note", str(values.get("message", query.rationale)),
                   tuple(sorted(set(str(values.get("codes", "")).split()))))
            corrected = found.setdefault(key, [])
            line = by_iri.get(values.get("corrected"))
            if line is not None and line not in corrected:
                corrected.append(line)
    kinds = {q.id: q.kind for q in queries}
    findings = [Finding(rule=k[0], severity=k[1], message=k[2], codes=k[3], kind=kinds[k[0]],
                        corrected=tuple(sorted(c, key=lambda ln: (ln.order, ln.code, ln.modifiers))))
                for k, c in found.items()]
    return _drop_superseded(findings, {q.id: q.supersedes for q in queries})


def _drop_superseded(findings: list[Finding], supersedes: dict[str, frozenset]) -> list[Finding]:
    """A specific finding (say laryngoscopy-route) replaces the generic ones (unsupported-line)
    that its rule header names, when they concern one of the same codes."""
    keep = []
    for f in findings:
        replaced = any(f.rule in supersedes.get(g.rule, ()) and set(f.codes) & set(g.codes)
                       for g in findings if g is not f)
        if not replaced:
            keep.append(f)
    return keep


# Claim order: procedures, then add-ons, then drugs and supplies.
_ORDER = {CD.PrimaryCode: 0, CD.AddOnCode: 1, CD.SupplyCode: 2}


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
            order=_ORDER.get(next((k for k in graph.objects(code, RDF.type) if k in _ORDER), None), 0),
            ndc=str(graph.value(line, CD.ndc)) if graph.value(line, CD.ndc) is not None else None,
            units=int(graph.value(line, CD.units) or 1),
            modifiers=tuple(sorted(str(graph.value(m, CD.notation) or m) for m in graph.objects(line, CD.modifier))),
            rule=rule_id,
            because=tuple(i.identifier for i in because),
            explanation=explanation.strip(),
        ))
    lines.sort(key=lambda ln: (ln.order, ln.code, ln.modifiers))
    return lines


def derive(graph: Graph, session: Session, ontology) -> Result:
    """Billing lines, conflicts and notes for one classified session graph (modified in place)."""
    run_rules(graph, ontology)
    lines = _lines(graph, session, ontology)
    return Result(
        session=session,
        lines=lines,
        conflicts=_findings(graph, ontology.queries["conflict"], lines)
        + _findings(graph, ontology.queries["audit"], lines),
        notes=_findings(graph, ontology.queries["note"], lines),
        graph=graph,
        audited=(session.iri, CD.billed, None) in graph,
    )
