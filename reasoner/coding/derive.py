"""Run the rule, conflict, audit and note queries over classified sessions.

Rules (ontology/rules/*.rq) run in file-name order: CONSTRUCT rules add billing lines (and
intermediate tallies), update rules adjust them (modifiers by policy profile), later rules read
earlier lines (guidance units). Conflict, audit and note queries are SELECTs returning ?s,
?message, and ?codes (space-separated) and ?corrected where they apply. Every query works for
one session or for many at once, so the same code serves `code` and the batch fast path.
"""

from __future__ import annotations

from rdflib import Literal, URIRef
from rdflib.namespace import RDF

from ..core.vocab import CD
from ..intake.model import Session, describe
from .result import Finding, Line, Result

_SEP = "\u241e"  # joins strings inside one GROUP_CONCAT; never in a message

LINES = f"""
PREFIX cd: <https://w3id.org/chemoden#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?s ?line ?code ?n ?label ?kind ?units ?rule ?ndc
       (GROUP_CONCAT(DISTINCT COALESCE(STR(?m), ""); SEPARATOR=" ") AS ?mods)
       (GROUP_CONCAT(DISTINCT COALESCE(STR(?inj), ""); SEPARATOR=" ") AS ?because)
       (GROUP_CONCAT(DISTINCT COALESCE(?ex, ""); SEPARATOR="{_SEP}") AS ?explanations)
       (GROUP_CONCAT(DISTINCT COALESCE(?mr, ""); SEPARATOR="{_SEP}") AS ?reasons)
WHERE {{
  ?line cd:lineOf ?s ; cd:code ?code ; cd:units ?units .
  ?code cd:notation ?n .
  OPTIONAL {{ ?code rdfs:label ?label }}
  OPTIONAL {{ ?code a ?kind FILTER (?kind IN (cd:PrimaryCode, cd:AddOnCode, cd:SupplyCode)) }}
  OPTIONAL {{ ?line cd:rule ?rule }}
  OPTIONAL {{ ?line cd:ndc ?ndc }}
  OPTIONAL {{ ?line cd:modifier ?m }}
  OPTIONAL {{ ?line cd:because ?inj }}
  OPTIONAL {{ ?line cd:explanation ?ex }}
  OPTIONAL {{ ?line cd:modifierReason ?mr }}
}} GROUP BY ?s ?line ?code ?n ?label ?kind ?units ?rule ?ndc
"""

# What OWL-RL said about each session and injection, for the RDF rendering.
CLASSIFICATION = """
PREFIX cd: <https://w3id.org/chemoden#>
SELECT ?x ?p ?o WHERE {
  { ?x a cd:Session } UNION { ?s cd:hasInjection ?x }
  { ?x a ?o . BIND (<http://www.w3.org/1999/02/22-rdf-syntax-ns#type> AS ?p)
    FILTER (isIRI(?o) && STRSTARTS(STR(?o), "https://w3id.org/chemoden#")) }
  UNION { ?x cd:extremity ?o . BIND (cd:extremity AS ?p) }
  UNION { ?x cd:onSide ?o . BIND (cd:onSide AS ?p) }
}"""

# Claim order: procedures, then add-ons, then drugs and supplies.
_ORDER = {str(CD.PrimaryCode): 0, str(CD.AddOnCode): 1, str(CD.SupplyCode): 2}


def run_rules(backend, ontology) -> None:
    """Apply every rule in place; each new billing line is stamped with its rule's id."""
    stamped: set = set()
    for rule in ontology.queries["rule"]:
        if rule.form == "update":
            backend.update(rule)
            continue
        triples = backend.construct(rule)
        lines = {s for s, p, o in triples if _is(p, RDF.type) and _is(o, CD.BillingLine)}
        backend.add(triples)
        new = [line for line in lines if str(line) not in stamped]
        stamped.update(str(line) for line in lines)
        backend.add([(_iri(line), CD.rule, Literal(rule.id)) for line in new])


def _is(term, iri) -> bool:
    return str(getattr(term, "value", term)) == str(iri)


def _iri(term) -> URIRef:
    return URIRef(getattr(term, "value", term)) if not isinstance(term, URIRef) else term


def _lines(backend, ontology, sessions: dict[str, Session]) -> dict[str, list[Line]]:
    out: dict[str, list[Line]] = {key: [] for key in sessions}
    for row in backend.select(LINES):
        session = sessions.get(str(row["s"]))
        if session is None:
            continue
        because_iris = set(str(row.get("because", "")).split())
        because = [i for i in session.injections if str(i.iri) in because_iris]
        reasons = sorted(r for r in str(row.get("explanations", "")).split(_SEP) if r)
        rule_id = str(row.get("rule", ""))
        if not reasons:  # a rule without its own explanation: fall back to its header
            try:
                reasons = [ontology.query(rule_id).rationale]
            except KeyError:
                reasons = []
        reasons += sorted(r for r in str(row.get("reasons", "")).split(_SEP) if r)
        explanation = " ".join(reasons)
        if because:
            explanation += " Supported by: " + "; ".join(describe(i) for i in because) + "."
        modifiers = sorted((ontology.names.notation(URIRef(m)), URIRef(m)) for m in str(row.get("mods", "")).split())
        out[str(row["s"])].append(Line(
            iri=URIRef(row["line"]),
            code=str(row["n"]),
            code_iri=URIRef(row["code"]),
            label=str(row.get("label", "")),
            order=_ORDER.get(str(row.get("kind")), 0),
            units=int(float(str(row["units"]))),
            modifiers=tuple(n for n, _ in modifiers),
            modifier_iris=tuple(m for _, m in modifiers),
            rule=rule_id,
            because=tuple(i.identifier for i in because),
            because_iris=tuple(i.iri for i in because),
            explanation=explanation.strip(),
            ndc=str(row["ndc"]) if "ndc" in row else None,
        ))
    for lines in out.values():
        lines.sort(key=lambda ln: (ln.order, ln.code, ln.modifiers))
    return out


def _findings(backend, queries, lines: dict[str, list[Line]], ontology) -> dict[str, list[Finding]]:
    """Findings per session; a row's ?corrected names the line the documentation supports."""
    by_iri = {str(ln.iri): ln for session_lines in lines.values() for ln in session_lines}
    found: dict[str, dict[tuple, list[Line]]] = {key: {} for key in lines}
    for query in queries:
        for row in backend.select(query):
            per_session = found.get(str(row.get("s")))
            if per_session is None:
                continue
            key = (query.id, query.severity or "note", str(row.get("message", query.rationale)),
                   tuple(sorted(set(str(row.get("codes", "")).split()))))
            corrected = per_session.setdefault(key, [])
            line = by_iri.get(str(row.get("corrected")))
            if line is not None and line not in corrected:
                corrected.append(line)
    kinds = {q.id: q.kind for q in queries}
    supersedes = {q.id: q.supersedes for q in queries}
    out = {}
    for key, per_session in found.items():
        findings = [Finding(rule=k[0], severity=k[1], message=k[2], codes=k[3], kind=kinds[k[0]],
                            code_iris=tuple(ontology.names.codes[c] for c in k[3] if c in ontology.names.codes),
                            corrected=tuple(sorted(c, key=lambda ln: (ln.order, ln.code, ln.modifiers))))
                    for k, c in sorted(per_session.items())]
        out[key] = _drop_superseded(findings, supersedes)
    return out


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


def derive(backend, sessions: list[Session], ontology, classification: bool = True) -> list[Result]:
    """Billing lines, conflicts and notes for classified sessions (the backend is changed in place).
    Without `classification` the results leave out what OWL-RL said about each injection,
    which only the RDF rendering shows (the batch writes JSON)."""
    run_rules(backend, ontology)
    by_key = {str(s.iri): s for s in sessions}
    lines = _lines(backend, ontology, by_key)
    conflicts = _findings(backend, ontology.queries["conflict"], lines, ontology)
    # Audit rules compare a claim with the documentation: without a claim they have nothing to read.
    claims = any(s.claim for s in sessions)
    audits = _findings(backend, ontology.queries["audit"] if claims else [], lines, ontology)
    notes = _findings(backend, ontology.queries["note"], lines, ontology)
    classified: dict[str, list[tuple]] = {key: [] for key in by_key}
    if classification:
        owner = {str(i.iri): str(s.iri) for s in sessions for i in s.injections}
        owner.update({key: key for key in by_key})
        for x, p, o in backend.classification(CLASSIFICATION, owner):
            classified[owner[str(x)]].append((x, p, o))
    return [Result(session=s, lines=lines[str(s.iri)], conflicts=conflicts[str(s.iri)] + audits[str(s.iri)],
                   notes=notes[str(s.iri)], classification=classified[str(s.iri)], audited=bool(s.claim))
            for s in sessions]
