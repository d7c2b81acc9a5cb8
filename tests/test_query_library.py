"""The named-query library: every query runs over the examples and gives the answer an
independent computation gives (rdflib triple look-ups on the ontology, the coded Results), and
its header's example output is what the command prints."""

import shlex
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from rdflib import Literal
from rdflib.namespace import RDF, RDFS, SKOS

from reasoner import code_file
from reasoner.coding import history
from reasoner.core.vocab import CD
from reasoner.engines.answer import render
from reasoner.engines.safety import run
from reasoner.knowledge.library import library
from reasoner.surfaces.dataset import ONTOLOGY_GRAPH, ONTOLOGY_INFERRED, build, session_graph

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
UBERON = "http://purl.obolibrary.org/obo/UBERON_"
FMA = "http://purl.org/sig/ont/fma/fma"
pytestmark = pytest.mark.xdist_group("query")


@pytest.fixture(scope="module")
def queries(ontology):
    return library(ontology.directory)


@pytest.fixture(scope="module")
def examples(ontology):
    """The dataset of every example session, and the same sessions coded by `chemoden code`'s path."""
    dataset = build(ontology, [EXAMPLES])
    results = [r for p in sorted(EXAMPLES.rglob("*")) if p.suffix in (".json", ".ttl") for r in code_file(p, ontology)]
    # the dataset also holds the findings across visits of the sessions loaded together (the
    # history examples): the rules' own tests check them (test_history.py); here they join the
    # results, which the library's answers are computed from
    found = history.findings(lambda text, patient: [{k: str(v) for k, v in row.items()} for row in rows(dataset, text)],
                             ontology)
    for r in results:
        extra = found.get(str(r.session.iri), [])
        r.conflicts.extend(f for f in extra if f.severity != "note")
        r.notes.extend(f for f in extra if f.severity == "note")
    return dataset, results


def rows(dataset, text) -> list[dict]:
    return run(dataset.store, text, dataset.graphs).rows


def values(row: dict, *names) -> tuple:
    return tuple(str(row[n]) if n in row else None for n in names)


# --- what each query must answer, computed without SPARQL -----------------------------------

def notation(g, node) -> str:
    return str(g.value(node, CD.notation))


def label(g, node) -> str | None:
    value = g.value(node, RDFS.label)
    return None if value is None else str(value)


def targets(g):
    return {t for cls in (CD.Muscle, CD.Gland) for t in g.subjects(RDF.type, cls)}


def procedure_codes(g):
    return {c for cls in (CD.PrimaryCode, CD.AddOnCode) for c in g.subjects(RDF.type, cls)}


def expect_addon_primaries(g, results):
    return {(notation(g, a), notation(g, p), "add-on" if (p, RDF.type, CD.AddOnCode) in g else "primary")
            for a, p in g.subject_objects(CD.addOnTo) if (a, RDF.type, CD.AddOnCode) in g}, \
        ("addon", "reportedWith", "kind")


def expect_code_exclusions(g, results):
    return {tuple(sorted((notation(g, a), notation(g, b)))) for a, b in g.subject_objects(CD.excludes)}, \
        ("code", "excluded")


def expect_codes_per_region(g, results):
    out = set()
    for c in procedure_codes(g):
        kind = "primary" if (c, RDF.type, CD.PrimaryCode) in g else "add-on"
        for region in g.objects(c, CD.codeRegion):
            out.add((label(g, region), notation(g, c), kind))
        for role in g.objects(c, CD.extremityRole):
            out.add(("extremity: " + label(g, role), notation(g, c), kind))
    return out, ("region", "code", "kind")


def counted(g, c) -> str:
    """What a code counts instead of sides, from the data that decides its units."""
    if g.value(c, CD.extremityRole) is not None:
        return "per extremity: " + label(g, g.value(c, CD.extremityRole))
    if g.value(c, CD.minMuscles) is not None:
        return "by the number of muscles"
    if g.value(c, CD.unitsSetBy) is not None:
        return "in units set by the profile's " + label(g, g.value(c, CD.unitsSetBy))
    return "per side" if g.value(c, CD.bilateralHandling) == CD.Modifier50Allowed else "once per session"


def expect_bilateral_handling(g, results):
    return {(notation(g, c), label(g, g.value(c, CD.bilateralHandling)), counted(g, c),
             label(g, g.value(c, CD.guidanceHandling)) if g.value(c, CD.guidanceHandling) else None)
            for c in procedure_codes(g) if g.value(c, CD.bilateralHandling)}, ("code", "bilateral", "counted", "guidance")


def test_bilateral_handling_says_only_what_is_true_of_each_code(queries, examples):
    """The bilateral label of a code is true of every code that carries it: 'counted by muscles
    or extremities' once labelled the guidance add-ons and the unlisted code too."""
    answer = rows(examples[0], queries["bilateral-handling"].text)
    for row in answer:
        if "muscles" in str(row["bilateral"]) or "extremit" in str(row["bilateral"]):
            assert str(row["counted"]).startswith(("per extremity", "by the number of muscles")), row
    counted_by = {str(r["code"]): str(r["counted"]) for r in answer}
    assert counted_by["95874"].startswith("in units set by the profile")
    assert counted_by["64999"] == "once per session"


def expect_muscles_per_region(g, results):
    by_region = defaultdict(list)
    for t in targets(g):
        by_region[label(g, g.value(t, CD.billingRegion))].append(label(g, t))
    return {(region, str(len(names)), min(names), max(names)) for region, names in by_region.items()}, \
        ("region", "targets", "first", "last")


def expect_muscle_synonyms(g, results):
    return {(label(g, t), str(name), kind) for t in targets(g)
            for prop, kind in ((SKOS.altLabel, "synonym"), (SKOS.hiddenLabel, "misspelling"))
            for name in g.objects(t, prop)}, ("target", "name", "kind")


def expect_muscle_crossrefs(g, results):
    out = set()
    for t in targets(g):
        refs = [str(r) for r in g.objects(t, SKOS.exactMatch)]
        uberon = [r for r in refs if r.startswith(UBERON)]
        fma = [r for r in refs if r.startswith(FMA)]
        for u in uberon:
            out.add((label(g, t), "UBERON:" + u[len(UBERON):], "FMA:" + fma[0][len(FMA):] if fma else None))
    return out, ("target", "uberon", "fma")


def expect_muscles_without_crossref(g, results):
    return {(label(g, t), label(g, g.value(t, CD.billingRegion)), str((t, CD.noUberonClass, Literal(True)) in g).lower())
            for t in targets(g) if not any(str(r).startswith(UBERON) for r in g.objects(t, SKOS.exactMatch))}, \
        ("target", "region", "checked")


def expect_profiles(g, results):
    return {(str(g.value(p, CD.name)), str((p, CD.isDefault, Literal(True)) in g).lower(),
             label(g, g.value(p, CD.guidanceUnits)), label(g, g.value(p, CD.bilateralReporting)))
            for p in g.subjects(RDF.type, CD.PolicyProfile)}, ("profile", "default", "guidanceUnits", "bilateralReporting")


def expect_code_frequencies(g, results):
    sessions, units, modified = defaultdict(set), Counter(), Counter()
    for r in results:
        for ln in r.lines:
            sessions[ln.code].add(r.session.identifier)
            units[ln.code] += ln.units
            modified[ln.code] += bool(ln.modifiers)
    return {(c, str(len(s)), str(units[c]), str(modified[c])) for c, s in sessions.items()}, \
        ("code", "sessions", "totalUnits", "withModifier")


def expect_conflicts_by_rule(g, results):
    found = defaultdict(set)
    for r in results:
        for c in r.conflicts:
            found[(c.rule, c.severity)].add(r.session.identifier)
    return {(rule, severity, str(len(ids)), " ".join(sorted(ids))) for (rule, severity), ids in found.items()}, \
        ("rule", "severity", "sessions", "ids")


def expect_session_conflicts(g, results):
    return {(r.session.identifier, c.rule, c.severity, " ".join(sorted(c.codes)), c.message)
            for r in results for c in r.conflicts}, ("session", "rule", "severity", "codes", "message")


def expect_sessions_by_extremity_count(g, results):
    groups = defaultdict(set)
    for r in results:
        limbs = {o for s, p, o in r.classification if p == CD.extremity}
        groups[len(limbs)].add(r.session.identifier)
    return {(str(n), str(len(ids)), " ".join(sorted(ids))) for n, ids in groups.items()}, ("extremities", "sessions", "ids")


def expect_muscles_behind_codes(g, results):
    sessions = defaultdict(set)
    for r in results:
        for ln in r.lines:
            if (ln.code_iri, RDF.type, CD.PrimaryCode) in g:
                for iri in ln.because_iris:
                    sessions[(ln.code, r.session.injection(iri).target_label)].add(r.session.identifier)
    return {(code, target, str(len(ids))) for (code, target), ids in sessions.items()}, ("code", "target", "sessions")


def expect_session_lines(g, results):
    return {(r.session.identifier, ln.code, str(ln.units), " ".join(sorted(ln.modifiers)), ln.rule)
            for r in results for ln in r.lines}, ("session", "code", "units", "modifiers", "rule")


def expect_code_list(g, results):
    out = set()
    for c in procedure_codes(g):
        region = g.value(c, CD.codeRegion)
        role = g.value(c, CD.extremityRole)
        where = label(g, region) if region else "extremity: " + label(g, role) if role else "no single region"
        out.add((notation(g, c), "primary" if (c, RDF.type, CD.PrimaryCode) in g else "add-on", where, label(g, c)))
    return out, ("code", "kind", "region", "label")


def expect_code_links(g, results):
    out = {(notation(g, a), "add-on to", notation(g, p)) for a, p in g.subject_objects(CD.addOnTo)
           if (a, RDF.type, CD.AddOnCode) in g}
    for a, b in g.subject_objects(CD.excludes):
        low, high = sorted((notation(g, a), notation(g, b)))
        out.add((low, "excludes", high))
    out |= {(notation(g, c), "includes guidance", notation(g, gc)) for c in g.subjects(CD.guidanceHandling, CD.GuidanceIncluded)
            for gc in g.objects(None, CD.guidanceCode)}
    return out, ("code", "relation", "other")


def expect_crossref_coverage(g, results):
    counts = Counter()
    for t in targets(g):
        refs = [str(r) for r in g.objects(t, SKOS.exactMatch)]
        uberon, fma = any(r.startswith(UBERON) for r in refs), any(r.startswith("http://purl.org/sig/ont/fma/") for r in refs)
        coverage = ("UBERON and FMA" if fma else "UBERON only") if uberon else \
            "no UBERON class" if (t, CD.noUberonClass, Literal(True)) in g else "not checked"
        counts[(label(g, g.value(t, CD.billingRegion)), coverage)] += 1
    return {(region, coverage, str(n)) for (region, coverage), n in counts.items()}, ("region", "coverage", "targets")


def expect_drug_units_by_product(g, results):
    sessions, given, wasted = defaultdict(set), Counter(), Counter()
    for r in results:
        product = next((o for s, p, o in r.session.triples if p == CD.product), None)
        for ln in r.lines:
            if product is not None and (product, CD.supplyCode, ln.code_iri) in g:
                key = (label(g, product), ln.code)
                sessions[key].add(r.session.identifier)
                (wasted if "JW" in ln.modifiers else given)[key] += ln.units
    return {(p, c, str(len(ids)), str(given[(p, c)]), str(wasted[(p, c)])) for (p, c), ids in sessions.items()}, \
        ("product", "code", "sessions", "administered", "discarded")


def _dated(results):
    return [r for r in results if r.session.date is not None]


def _days(a, b) -> int:
    return (a - b).days


def _history_findings(r, rule):
    return [c for c in r.conflicts if c.rule == rule and c.kind == "history"]


def _profile_number(g, r, prop) -> int:
    return int(g.value(r.session.profile, prop))


def _agent(r):
    """(product IRI, units administered) of a session, or None."""
    triples = r.session.triples
    product = next((o for s, p, o in triples if p == CD.product), None)
    units = next((o for s, p, o in triples if p == CD.unitsAdministered), None)
    return None if product is None or units is None else (product, units.toPython())


def expect_codes_by_month(g, results):
    sessions, units = defaultdict(set), Counter()
    for r in _dated(results):
        for ln in r.lines:
            key = (r.session.date.isoformat()[:7], ln.code)
            sessions[key].add(r.session.identifier)
            units[key] += ln.units
    return {(m, c, str(len(ids)), str(units[(m, c)])) for (m, c), ids in sessions.items()}, \
        ("month", "code", "sessions", "totalUnits")


def expect_patient_timeline(g, results):
    out = set()
    dated = [r for r in _dated(results) if r.session.patient is not None]
    for r in dated:
        s = r.session
        gaps = [_days(s.date, o.session.date) for o in dated
                if o is not r and o.session.patient == s.patient and o.session.date <= s.date]
        codes = " ".join(sorted({ln.code for ln in r.lines if (ln.code_iri, RDF.type, CD.PrimaryCode) in g})) or None
        agent = _agent(r)
        findings = " ".join(sorted({c.rule for c in r.conflicts if c.kind == "history"})) or None
        out.add((s.patient, s.date.isoformat(), s.identifier, str(min(gaps)) if gaps else None, codes,
                 label(g, agent[0]) if agent else None, str(agent[1]) if agent else None, findings))
    return out, ("patient", "date", "session", "daysSincePrevious", "codes", "product", "units", "findings")


def expect_interval_violations(g, results):
    return {(r.session.patient, r.session.date.isoformat(), r.session.identifier, " ".join(c.codes), c.message)
            for r in results for c in _history_findings(r, "treatment-interval")}, \
        ("patient", "date", "session", "code", "message")


def expect_dose_by_patient_window(g, results):
    out = set()
    dated = [r for r in _dated(results) if r.session.patient is not None and _agent(r) is not None]
    for r in dated:
        product, _ = _agent(r)
        window = _profile_number(g, r, CD.doseWindowDays)
        total = sum(_agent(o)[1] for o in dated if o.session.patient == r.session.patient and _agent(o)[0] == product
                    and 0 <= _days(r.session.date, o.session.date) < window)
        limit = g.value(product, CD.labelDoseLimit)
        out.add((r.session.patient, r.session.date.isoformat(), r.session.identifier, label(g, product), str(total),
                 str(window), str(g.value(limit, CD.maxUnits)) if limit else None,
                 str(g.value(limit, CD.limitPeriodDays)) if limit else None))
    return out, ("patient", "date", "session", "product", "unitsInWindow", "windowDays", "labelMaximum", "labelPeriodDays")


def expect_sessions_without_covered_diagnosis(g, results):
    return {(r.session.identifier, r.session.date.isoformat() if r.session.date else None, " ".join(r.session.diagnoses),
             " ".join(c.codes), c.message)
            for r in results for c in r.conflicts if c.rule == "diagnosis-not-covered"}, \
        ("session", "date", "diagnoses", "code", "message")


EXPECT = {
    "codes-by-month": expect_codes_by_month,
    "patient-timeline": expect_patient_timeline,
    "interval-violations": expect_interval_violations,
    "dose-by-patient-window": expect_dose_by_patient_window,
    "sessions-without-covered-diagnosis": expect_sessions_without_covered_diagnosis,
    "code-list": expect_code_list,
    "code-links": expect_code_links,
    "crossref-coverage": expect_crossref_coverage,
    "drug-units-by-product": expect_drug_units_by_product,
    "addon-primaries": expect_addon_primaries,
    "code-exclusions": expect_code_exclusions,
    "codes-per-region": expect_codes_per_region,
    "bilateral-handling": expect_bilateral_handling,
    "muscles-per-region": expect_muscles_per_region,
    "muscle-synonyms": expect_muscle_synonyms,
    "muscle-crossrefs": expect_muscle_crossrefs,
    "muscles-without-crossref": expect_muscles_without_crossref,
    "profiles": expect_profiles,
    "code-frequencies": expect_code_frequencies,
    "conflicts-by-rule": expect_conflicts_by_rule,
    "session-conflicts": expect_session_conflicts,
    "sessions-by-extremity-count": expect_sessions_by_extremity_count,
    "muscles-behind-codes": expect_muscles_behind_codes,
    "session-lines": expect_session_lines,
}
# Space-separated lists whose order SPARQL leaves open
UNORDERED = {"ids", "codes", "modifiers", "findings"}


def normalised(row: tuple, names: tuple) -> tuple:
    """Lists sorted; an empty list may come back unbound (engines differ on an empty GROUP_CONCAT)."""
    return tuple(" ".join(sorted((v or "").split())) if n in UNORDERED else v for v, n in zip(row, names))


def library_names():
    return sorted(p.stem for p in (ROOT / "ontology" / "queries").glob("*.rq"))


def test_library_covers_what_informaticists_ask(queries):
    assert len(queries) >= 12
    kinds = Counter("session" if "--session" in q.example else "ontology" for q in queries.values())
    assert kinds["ontology"] >= 6 and kinds["session"] >= 6, kinds
    for q in queries.values():
        assert q.title and q.description and q.example.startswith(f"chemoden query {q.name}"), q.name


def test_needs_sessions_is_declared_exactly_by_the_queries_empty_without_sessions(queries, ontology):
    """`# needs: sessions` (chemoden query's hint to add --session) is checked against the data:
    a query declares it when, and only when, it has nothing to answer over the ontology alone."""
    bare = build(ontology, [])
    for name, q in queries.items():
        answer = run(bare.store, q.text, bare.graphs)
        empty = not (answer.rows or answer.triples or answer.boolean)
        assert ("sessions" in q.needs) == empty, f"{name}: needs {sorted(q.needs)}, answer empty: {empty}"
        if "sessions" in q.needs:
            assert "--session" in q.example, name


@pytest.mark.parametrize("name", [n for n in library_names() if n in EXPECT])
def test_select_query_answers_match_an_independent_computation(name, queries, examples, ontology):
    dataset, results = examples
    expected, columns = EXPECT[name](ontology.graph, results)
    answer = rows(dataset, queries[name].text)
    got = [normalised(values(r, *columns), columns) for r in answer]
    assert len(got) == len(set(got)), f"{name}: a row repeats"
    assert set(got) == {normalised(e, columns) for e in expected}
    assert expected, f"{name}: the examples give an empty answer, which proves nothing"


def test_every_library_query_has_a_check():
    others = {"any-error-conflict", "billing-lines-graph", "graphs"}  # checked below
    assert set(library_names()) == set(EXPECT) | others


def test_ask_any_error_conflict(queries, examples, ontology):
    dataset, results = examples
    assert any(r.has_errors for r in results)
    assert run(dataset.store, queries["any-error-conflict"].text, dataset.graphs).boolean is True
    clean = build(ontology, [EXAMPLES / "seed-63m-torticollis.json"])
    assert run(clean.store, queries["any-error-conflict"].text, clean.graphs).boolean is False


def test_construct_billing_lines_graph(queries, examples):
    dataset, results = examples
    answer = run(dataset.store, queries["billing-lines-graph"].text, dataset.graphs)
    assert answer.form == "graph"
    got = {(s, o) for s, p, o in answer.triples if p == CD.units}
    assert got == {(ln.iri, Literal(ln.units)) for r in results for ln in r.lines}
    assert {(s, o) for s, p, o in answer.triples if p == CD.code} == {(ln.iri, ln.code_iri) for r in results for ln in r.lines}
    assert not any(p == CD.explanation for _, p, _ in answer.triples)


def test_graphs_are_named_as_documented_and_share_no_triple(queries, examples, ontology):
    dataset, results = examples
    got = {str(r["graph"]): int(r["triples"]) for r in rows(dataset, queries["graphs"].text)}
    assert got[str(ONTOLOGY_GRAPH)] == len(ontology.graph)
    assert got[str(ONTOLOGY_INFERRED)] > 0
    for r in results:
        for part in ("asserted", "inferred", "result"):
            assert str(session_graph(r.session.identifier, part)) in got
        lines = rows(dataset, f"SELECT ?l WHERE {{ GRAPH <{session_graph(r.session.identifier, 'result')}> "
                              "{ ?l a <https://w3id.org/chemoden#BillingLine> } }")
        assert {row["l"] for row in lines} == {ln.iri for ln in r.lines}
    assert set(got) == set(dataset.graphs) and got == dataset.graphs
    # disjoint graphs: the union default graph counts nothing twice
    shared = rows(dataset, "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?a { ?s ?p ?o } GRAPH ?b { ?s ?p ?o } "
                           "FILTER (STR(?a) < STR(?b)) }")
    assert int(shared[0]["n"]) == 0
    # the inferences are there: OWL-RL's classes in the inferred graphs, not in the asserted
    inferred = rows(dataset, "SELECT ?i WHERE { GRAPH ?g { ?i a <https://w3id.org/chemoden#NeckInjection> } "
                             "FILTER STRENDS(STR(?g), '/inferred') }")
    asserted = rows(dataset, "SELECT ?i WHERE { GRAPH ?g { ?i a <https://w3id.org/chemoden#NeckInjection> } "
                             "FILTER STRENDS(STR(?g), '/asserted') }")
    assert inferred and not asserted


# --- the examples in the headers -------------------------------------------------------------

_DATASETS: dict = {}


def words(line: str) -> list[str]:
    return sorted(line.split())


@pytest.mark.parametrize("name", library_names())
def test_header_example_is_what_the_command_prints(name, queries, ontology):
    q = queries[name]
    command, *shown = q.example.splitlines()
    argv = shlex.split(command)[2:]
    sessions = tuple(str(ROOT / argv[i + 1]) for i, a in enumerate(argv) if a == "--session")
    fmt = argv[argv.index("--format") + 1] if "--format" in argv else "table"
    if sessions not in _DATASETS:
        _DATASETS[sessions] = build(ontology, sessions)
    dataset = _DATASETS[sessions]
    printed = render(run(dataset.store, q.text, dataset.graphs), fmt).splitlines()
    assert shown, f"{name}: the example shows no output"
    printed_words = [words(line) for line in printed]
    after = 0  # the example's lines come in the order printed: a block pasted twice is caught
    for line in shown:
        if line.strip() in ("", "..."):
            continue
        assert words(line) in printed_words, (f"{q.path.name}: the header's example line {line!r} is not in what "
                                              f"`{command}` prints now; refresh the example")
        assert words(line) in printed_words[after:], (f"{q.path.name}: the header's example line {line!r} comes "
                                                      f"out of the order `{command}` prints; refresh the example")
        after = printed_words.index(words(line), after) + 1


@pytest.fixture(scope="module")
def rdflib_examples(ontology):
    return build(ontology, [EXAMPLES], store="rdflib")


@pytest.mark.parity  # building the examples' dataset on rdflib takes 17 s a test worker
@pytest.mark.parametrize("name", library_names())
def test_rdflib_store_gives_the_same_answers(name, queries, examples, rdflib_examples):
    """Without pyoxigraph the dataset lives in rdflib: same graphs, same answers."""
    oxigraph = run(examples[0].store, queries[name].text, examples[0].graphs)
    fallback = run(rdflib_examples.store, queries[name].text, rdflib_examples.graphs)
    assert rdflib_examples.graphs == examples[0].graphs
    if oxigraph.form == "select":
        def key(answer):
            return sorted(normalised(tuple(str(r[v]) if v in r else None for v in answer.variables),
                                     tuple(answer.variables)) for r in answer.rows)
        assert key(fallback) == key(oxigraph)
    elif oxigraph.form == "ask":
        assert fallback.boolean == oxigraph.boolean
    else:
        assert set(fallback.triples) == set(oxigraph.triples)
