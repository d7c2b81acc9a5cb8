"""`chemoden check`: the shipped ontology is clean, and each shape, quality check and step
catches a small broken copy of it (built in a temporary folder) with a message saying what to fix.

A mutation is (file, text to find, text to put instead); the find text must occur in the file,
so a mutation that no longer applies fails loudly instead of testing nothing.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from reasoner.cli import main
from reasoner.knowledge import check

ONTOLOGY = Path(__file__).resolve().parent.parent / "ontology"
APPEND = None  # as the text to find: append the new text to the file instead


def broken_copy(tmp_path: Path, mutations) -> Path:
    folder = tmp_path / "ontology"
    shutil.copytree(ONTOLOGY, folder)
    for name, old, new in mutations:
        path = folder / name
        text = path.read_text(encoding="utf-8")
        if old is APPEND:
            text += "\n" + new + "\n"
        else:
            assert old in text, f"mutation no longer applies: {old!r} not in {name}"
            text = text.replace(old, new, 1)
        path.write_text(text, encoding="utf-8")
    return folder


def problems_of(folder: Path, step: str) -> list[str]:
    return [str(p) for p in check.run(folder, steps=(step,))]


# (id, step, mutations, fragments that one reported problem must contain)
CASES = [
    # --- shapes: targets ---------------------------------------------------------------
    ("target-without-region", "shapes",
     [("muscles.ttl", "    cd:billingRegion cd:Neck ;\n    skos:exactMatch obo:UBERON_0001562", "    skos:exactMatch obo:UBERON_0001562")],
     ["muscles.ttl:", "cd:digastric", "exactly one billing region", "cdsh:target-region"]),
    ("target-with-two-regions", "shapes", [("muscles.ttl", APPEND, "cd:digastric cd:billingRegion cd:Larynx .")],
     ["cd:digastric", "exactly one billing region"]),
    ("target-without-label", "shapes", [("muscles.ttl", '    rdfs:label "digastric" ;\n', "")],
     ["cd:digastric", "exactly one label"]),
    ("target-label-in-capitals", "shapes", [("muscles.ttl", 'rdfs:label "digastric"', 'rdfs:label "Digastric"')],
     ["cd:digastric", "lower case", "'Digastric'"]),
    ("name-shared-after-normalising", "shapes",
     [("muscles.ttl", 'skos:altLabel "digastricus" ;', 'skos:altLabel "digastricus", "Levator-Scapulae" ;')],
     ["a name may belong to one target", "'levator scapulae' belongs to cd:digastric, cd:levatorScapulae"]),
    ("uberon-xref-in-the-wrong-form", "shapes", [("muscles.ttl", "obo:UBERON_0001562", "obo:UBERON_1562")],
     ["cd:digastric", "wrong form", "obo:UBERON_ and seven digits"]),
    ("fma-xref-in-the-wrong-form", "shapes", [("muscles.ttl", "fma:fma46291", "fma:FMA_46291")],
     ["cd:digastric", "wrong form"]),
    ("target-without-uberon-or-mark", "shapes", [("muscles.ttl", "    skos:exactMatch obo:UBERON_0001562, fma:fma46291 ;\n", "")],
     ["cd:digastric", "either a UBERON cross-reference", "cdsh:TargetShape"]),
    ("target-with-uberon-and-mark", "shapes", [("muscles.ttl", APPEND, "cd:digastric cd:noUberonClass true .")],
     ["cd:digastric", "not both"]),
    ("ambiguous-name-without-candidates", "shapes", [("muscles.ttl", "    cd:candidate cd:pronatorTeres ;\n", "")],
     ["cd:ambiguousPT", "cd:candidate"]),
    # --- shapes: codes and profiles ---------------------------------------------------------
    ("code-of-no-kind", "shapes", [("codes.ttl", "cd:cpt64616 a cd:PrimaryCode ;", "cd:cpt64616")],
     ["codes.ttl:", "cd:cpt64616", "exactly one kind of code"]),
    ("code-without-region", "shapes", [("codes.ttl", "    cd:codeRegion cd:Neck ; cd:maxUnitsPerSession 1 ;", "    cd:maxUnitsPerSession 1 ;")],
     ["cd:cpt64616", "must say what it bills"]),
    ("code-without-units-per-session", "shapes", [("codes.ttl", "    cd:codeRegion cd:Neck ; cd:maxUnitsPerSession 1 ;", "    cd:codeRegion cd:Neck ;")],
     ["cd:cpt64616", "units per session"]),
    ("code-without-bilateral-handling", "shapes",
     [("codes.ttl", "    cd:bilateralHandling cd:Modifier50Allowed ; cd:guidanceHandling cd:GuidanceSeparate ;\n"
                    "    dcterms:source \"seed article; docs/sources.md#neck-64616; docs/sources.md#bilateral-reporting\" .",
       "    cd:guidanceHandling cd:GuidanceSeparate ;\n    dcterms:source \"seed article; docs/sources.md#neck-64616; docs/sources.md#bilateral-reporting\" .")],
     ["cd:cpt64616", "bilateral handling"]),
    ("add-on-without-primaries", "shapes", [("codes.ttl", "    cd:addOnTo cd:cpt64644 ;\n", "")],
     ["cd:cpt64645", "must name the primary codes"]),
    ("profile-without-a-switch", "shapes", [("profiles.ttl", "    cd:bilateralReporting cd:BilateralRtLt ;\n", "")],
     ["profiles.ttl:", "cd:rtLtProfile", "policy switch cd:bilateralReporting"]),
    ("profile-with-a-switch-twice", "shapes", [("profiles.ttl", APPEND, "cd:rtLtProfile cd:guidanceUnits cd:GuidancePerCodeUnit .")],
     ["cd:rtLtProfile", "policy switch cd:guidanceUnits exactly once"]),
    ("profile-without-a-coverage-profile", "shapes", [("profiles.ttl", "    cd:coverageProfile cd:medicareBotulinumCoverage ;\n", "")],
     ["profiles.ttl:", "cd:standardProfile", "exactly one coverage profile (cd:coverageProfile)"]),
    ("profile-interval-not-a-number", "shapes",
     [("profiles.ttl", "cd:minTreatmentIntervalDays 84 ;", 'cd:minTreatmentIntervalDays "12 weeks" ;')],
     ["cd:standardProfile", "cd:minTreatmentIntervalDays", "one whole number"]),
    # --- shapes: coverage profiles and label dose limits ----------------------------------------
    ("coverage-rule-without-codes", "shapes", [("coverage.ttl", "    cd:supportsCode cd:cpt64616 ;\n", "")],
     ["coverage.ttl:", "cd:cov-cervical-dystonia", "must name the codes the indication supports"]),
    ("coverage-rule-supports-an-unknown-code", "shapes",
     [("coverage.ttl", "cd:supportsCode cd:cpt64616 ;", "cd:supportsCode cd:cpt64661 ;")],
     ["cd:cov-cervical-dystonia", "each a code of codes.ttl", "cd:cpt64661"]),
    ("coverage-rule-without-diagnoses", "shapes", [("coverage.ttl", '    cd:acceptsIcd10cm "G24.3" ;\n', "")],
     ["cd:cov-cervical-dystonia", "must accept at least one diagnosis"]),
    ("coverage-rule-in-no-profile", "shapes", [("coverage.ttl", "        cd:cov-cervical-dystonia,\n", "")],
     ["cd:cov-cervical-dystonia", "must belong to a coverage profile"]),
    ("dose-limit-without-period", "shapes", [("products.ttl", "cd:limitPeriodDays 90 ; ", "")],
     ["products.ttl:", "cd:onabotulinumtoxinA", "each label dose limit", "cd:limitPeriodDays"]),
    # --- shapes: query files -------------------------------------------------------------
    ("rule-without-rationale", "shapes", [("rules/10-neck-64616.rq", "# rationale:", "# why:")],
     ["rules/10-neck-64616.rq:1", "'# rationale:'"]),
    ("conflict-with-unknown-severity", "shapes", [("conflicts/excluded-code-pair.rq", "# severity: error", "# severity: fatal")],
     ["conflicts/excluded-code-pair.rq:2", "error or warning"]),
    ("note-without-source", "shapes", [("notes/syringes-not-billed.rq", "# source:", "# from:")],
     ["notes/syringes-not-billed.rq:1", "'# source:'"]),
    ("two-files-with-one-id", "shapes", [("conflicts/excluded-code-pair.rq", "# id: excluded-code-pair", "# id: neck-64616")],
     ["ids must be unique", "'neck-64616' belongs to", "conflicts/excluded-code-pair.rq", "rules/10-neck-64616.rq"]),
    ("supersedes-an-unknown-id", "shapes",
     [("audit/not-trunk-muscle.rq", "# supersedes: unsupported-line", "# supersedes: no-such-check unsupported-line")],
     ["audit/not-trunk-muscle.rq", "no-such-check", "no query file's id"]),
    ("session-shape-the-compiler-cannot-run", "shapes",
     [("shapes/session.ttl", "    sh:targetClass cd:Session ;", "    sh:targetClass cd:Session ;\n    sh:targetNode cd:Left ;")],
     ["shapes/session.ttl", "sh:targetNode", "not supported"]),
    ("version-stamps-disagree", "shapes", [("chemoden.ttl", 'owl:versionInfo "2026-12-01"', 'owl:versionInfo "2026-12-02"')],
     ["chemoden.ttl:", "<https://w3id.org/chemoden>", "must carry the same date"]),
    # --- quality checks -------------------------------------------------------------------
    ("region-contradicts-uberon", "qc",
     [("muscles.ttl", "    cd:billingRegion cd:UpperExtremity ;\n    skos:exactMatch obo:UBERON_0001521",
       "    cd:billingRegion cd:LowerExtremity ;\n    skos:exactMatch obo:UBERON_0001521")],
     ["muscles.ttl:", "cd:flexorCarpiRadialis", "is billed as 'lower extremity'", "UBERON:0001521 is a forelimb muscle",
      "qc region-contradicts-uberon"]),
    ("code-no-rule-derives", "qc", [("codes.ttl", "    cd:notDerivedBecause ", "    rdfs:comment ")],
     ["cd:cpt76942", "no rule in rules/ can put code 76942"]),
    ("rule-reads-a-class-nothing-infers", "qc", [("rules/10-neck-64616.rq", "?inj a cd:NeckInjection .", "?inj a cd:NeckInjections .")],
     ["rules/10-neck-64616.rq:1", "reads the class cd:NeckInjections, which nothing asserts or infers"]),
    ("orphan-synonym", "qc", [("muscles.ttl", APPEND, 'cd:bicepsBrachi skos:altLabel "biceps of the arm" .')],
     ["cd:bicepsBrachi", "has the synonym 'biceps of the arm' but no label or no type"]),
    ("uberon-class-not-used", "qc", [("muscles.ttl", "    skos:exactMatch obo:UBERON_0001562, fma:fma46291 ;", "    cd:noUberonClass true ;")],
     ["cd:digastric", "UBERON has UBERON:0001562"]),
    ("fma-xref-not-the-uberon-one", "qc", [("muscles.ttl", "fma:fma46291", "fma:fma46292")],
     ["cd:digastric", "gives FMA:46291"]),
    ("invented-uberon-id", "qc", [("muscles.ttl", "obo:UBERON_0001562, fma:fma46291", "obo:UBERON_0036999, fma:fma46291")],
     ["muscles.ttl:51: cd:digastric", "names UBERON:0036999", "qc/uberon-muscles.tsv", "qc unknown-xref"]),
    ("invented-fma-id", "qc", [("muscles.ttl", "obo:UBERON_0001562, fma:fma46291", "obo:UBERON_0001562, fma:fma9946291")],
     ["muscles.ttl:51: cd:digastric", "names FMA:9946291", "the FMA xref of no UBERON class", "qc unknown-xref"]),
    ("invented-uberon-group-member", "qc", [("qc/uberon-groups.ttl", "obo:UBERON_0011907,", "obo:UBERON_0011997,")],
     ["qc/uberon-groups.ttl:70: cdq:HindlimbMuscle", "names UBERON:0011997", "qc unknown-xref"]),
    ("trunk-list-names-no-trunk-target", "qc",
     [("muscles.ttl", "cd:listedTarget cd:rectusAbdominis ;", "cd:listedTarget cd:rectusAbdominus ;")],
     ["muscles.ttl:", "cd:Trunk: lists cd:rectusAbdominus as CPT's 'rectus abdominis'", "qc closed-region"]),
    ("two-default-profiles", "qc", [("profiles.ttl", APPEND, "cd:rtLtProfile cd:isDefault true .")],
     ["cd:PolicyProfile", "2 of its individuals are marked cd:isDefault true"]),
    ("undeclared-property", "qc", [("muscles.ttl", "    cd:midline true ;\n    cd:migraineProtocol true ;\n    skos:exactMatch obo:UBERON_0008588",
                                    "    cd:midlin true ;\n    cd:migraineProtocol true ;\n    skos:exactMatch obo:UBERON_0008588")],
     ["cd:procerus", "uses the property cd:midlin, which chemoden.ttl does not declare"]),
    ("release-without-changelog-section", "qc",
     [("chemoden.ttl", "owl:versionIRI <https://w3id.org/chemoden/2026-12-01> ;\n    owl:versionInfo \"2026-12-01\"",
       "owl:versionIRI <https://w3id.org/chemoden/2099-01-01> ;\n    owl:versionInfo \"2099-01-01\""),
      ("chemoden.ttl", 'dcterms:modified "2026-12-01"', 'dcterms:modified "2099-01-01"')],
     ["CHANGELOG.md:1", "no section '## 2099-01-01'"]),
    ("ndc-package-not-a-product-ndc", "qc", [("products.ttl", '"72960011201", "72960011202"', '"72960011201"')],
     ["ndc-packages.ttl:", "cd:ndc72960011202", "is not a cd:knownNdc of cd:daxibotulinumtoxinA"]),
    ("ndc-package-malformed", "shapes", [("ndc-packages.ttl", 'cd:packageNdc "15054053006"', 'cd:packageNdc "1505405306"')],
     ["cd:ndc15054053006", "11 digits"]),
    ("vial-sizes-the-search-may-miss", "qc", [("products.ttl", "cd:vialSize 300, 500 ;", "cd:vialSize 700, 1000 ;")],
     ["cd:abobotulinumtoxinA", "no count of up to six 1000-unit vials"]),
    # --- files that do not parse ------------------------------------------------------------
    ("rule-with-a-syntax-error", "sparql", [("rules/10-neck-64616.rq", "  ?inj a cd:NeckInjection .", "  ?inj a cd:NeckInjection . }")],
     ["rules/10-neck-64616.rq:", "SPARQL syntax error"]),
    ("not-exists-over-a-join", "sparql",
     [("notes/guidance-not-reportable.rq", "MINUS { ?l cd:lineOf ?s", "FILTER NOT EXISTS { ?l cd:lineOf ?s")],
     ["notes/guidance-not-reportable.rq:9", "EXISTS over a join", "MINUS"]),
    ("turtle-with-a-syntax-error", "turtle", [("codes.ttl", 'cd:notation "64616" ;', 'cd:notation "64616" , ;')],
     ["codes.ttl:57", "cannot parse Turtle (objectList expected", 'cd:notation "64616" , ;']),
]


def test_the_shipped_ontology_passes_chemoden_check(capsys):
    assert main(["check", str(ONTOLOGY)]) == 0, capsys.readouterr().out
    assert "no problems" in capsys.readouterr().out


@pytest.mark.parametrize("name,step,mutations,fragments", CASES, ids=[c[0] for c in CASES])
def test_a_broken_copy_is_caught(name, step, mutations, fragments, tmp_path):
    found = problems_of(broken_copy(tmp_path, mutations), step)
    assert any(all(f in p for f in fragments) for p in found), "\n".join(found) or "no problem reported"


def test_each_mutation_is_needed(tmp_path):
    """The unbroken copy reports nothing for these steps: the problems above come from the mutations."""
    folder = broken_copy(tmp_path, [])
    assert problems_of(folder, "shapes") + problems_of(folder, "qc") + problems_of(folder, "sparql") == []


def small_copy(tmp_path: Path, extra: str) -> Path:
    """The vocabulary, the consistency axioms and one small file: enough for OWL-RL, quick to close."""
    folder = tmp_path / "small"
    (folder / "qc").mkdir(parents=True)
    shutil.copy(ONTOLOGY / "chemoden.ttl", folder)
    shutil.copy(ONTOLOGY / "qc" / "axioms.ttl", folder / "qc")
    (folder / "targets.ttl").write_text("@prefix cd: <https://w3id.org/chemoden#> .\n" + extra, encoding="utf-8")
    return folder


@pytest.mark.parametrize("extra,fragments", [
    ("cd:digastric a cd:Muscle, cd:Gland .", ["cd:digastric", "inconsistent", "cd:Gland", "cd:Muscle"]),
    ("cd:digastric a cd:Muscle ; cd:billingRegion cd:Neck, cd:Larynx .", ["cd:digastric", "inconsistent", "cd:NeckMuscle"]),
    ('cd:cpt1 a cd:PrimaryCode ; cd:maxUnitsPerSession "one"^^<http://www.w3.org/2001/XMLSchema#integer> .',
     ["targets.ttl:2: cd:cpt1", "inconsistent", "'one' does not match its datatype"]),
], ids=["muscle-and-gland", "two-regions", "ill-typed-literal"])
def test_owl_rl_finds_an_inconsistency(extra, fragments, tmp_path):
    found = problems_of(small_copy(tmp_path, extra), "owl-rl")
    assert any(all(f in p for f in fragments) for p in found), found


def test_the_small_copy_is_consistent(tmp_path):
    assert problems_of(small_copy(tmp_path, "cd:digastric a cd:Muscle ; cd:billingRegion cd:Neck ."), "owl-rl") == []


def test_the_command_exits_1_on_problems_and_2_on_unreadable_input(tmp_path, capsys):
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "chemoden.ttl").write_text("@prefix cd: <https://w3id.org/chemoden#> .\ncd:a cd:b cd:c , .\n")
    assert main(["check", str(folder)]) == 1
    out, err = capsys.readouterr()
    assert "chemoden.ttl:2: cannot parse Turtle" in out and "1 problem" in err
    assert main(["check", str(tmp_path / "nowhere")]) == 2
    assert "not found" in capsys.readouterr().err
    proc = subprocess.run([sys.executable, "-m", "reasoner", "check", str(folder / "chemoden.ttl")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "is not a folder" in proc.stderr and "Traceback" not in proc.stderr


# --- the order and the shape of the output -------------------------------------------------

def test_problems_come_sorted_by_file_and_line(tmp_path):
    mutations = [("profiles.ttl", "    cd:bilateralReporting cd:BilateralRtLt ;\n", ""),
                 ("muscles.ttl", 'rdfs:label "digastric"', 'rdfs:label "Digastric"'),
                 ("codes.ttl", "cd:cpt64616 a cd:PrimaryCode ;", "cd:cpt64616"),
                 ("muscles.ttl", 'rdfs:label "procerus"', 'rdfs:label "Procerus"'),
                 ("chemoden.ttl", 'owl:versionInfo "2026-12-01"', 'owl:versionInfo "2026-12-02"')]
    found = check.run(broken_copy(tmp_path, mutations), steps=("shapes",))
    places = [(Path(p.file).name, p.line) for p in found]
    assert len(places) >= 5 and places == sorted(places), places
    assert [name for name, _ in places][:1] == ["chemoden.ttl"] and places[-1][0] == "profiles.ttl"


def test_many_problems_of_one_check_print_as_the_first_and_a_count():
    def problem(check_name, file, line):
        return check.Problem(check_name, "what to fix", file, line, "cd:x")
    problems = ([problem("shape cdsh:TargetShape", "muscles.ttl", n) for n in (90, 41, 300, 77, 120)]
                + [problem("qc orphan-synonym", "muscles.ttl", 50), problem("qc orphan-synonym", "codes.ttl", 9)]
                + [problem("prefix", "muscles.ttl", 30)])
    shown = check.lines(problems)
    assert shown == ["muscles.ttl:30: cd:x: what to fix [prefix]",
                     "codes.ttl:9: cd:x: what to fix [qc orphan-synonym]",
                     "muscles.ttl:41: cd:x: what to fix [shape cdsh:TargetShape]",
                     "  ... and 4 more [shape cdsh:TargetShape] in muscles.ttl (chemoden check --all lists every one)",
                     "muscles.ttl:50: cd:x: what to fix [qc orphan-synonym]"]
    every = check.lines(problems, everything=True)
    assert len(every) == len(problems) and every[0].startswith("muscles.ttl:30:")
    assert [line.split(":")[1] for line in every[2:7]] == ["41", "50", "77", "90", "120"]


def test_a_misbound_prefix_comes_first_and_its_consequences_collapse(tmp_path, capsys):
    """A dropped '#' in the skos: IRI loses every cross-reference of muscles.ttl: the @prefix line
    is the first problem, and the hundreds of targets that lost theirs print as one and a count."""
    folder = broken_copy(tmp_path, [("muscles.ttl", "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .",
                                     "@prefix skos: <http://www.w3.org/2004/02/skos/core> .")])
    line = (folder / "muscles.ttl").read_text(encoding="utf-8").splitlines().index(
        "@prefix skos: <http://www.w3.org/2004/02/skos/core> .") + 1
    assert main(["check", str(folder)]) == 1
    out, err = capsys.readouterr()
    shown = out.splitlines()
    assert shown[0].startswith(f"{folder / 'muscles.ttl'}:{line}: the prefix skos: is bound to "
                               "<http://www.w3.org/2004/02/skos/core>, not to its standard IRI "
                               "<http://www.w3.org/2004/02/skos/core#>"), out
    assert shown[0].endswith("[prefix]")
    assert len(shown) < 10, out
    assert any("more [shape cdsh:TargetShape]" in s and "--all" in s for s in shown), out
    assert int(err.split()[2]) > 100  # "chemoden check: N problem(s) in ..."


def test_a_misbound_prefix_in_a_query_file_is_reported_at_its_line(tmp_path):
    folder = broken_copy(tmp_path, [("rules/10-neck-64616.rq", "PREFIX cd: <https://w3id.org/chemoden#>",
                                     "PREFIX cd: <https://w3id.org/chemoden/>")])
    found = problems_of(folder, "sparql")
    assert found and "rules/10-neck-64616.rq:" in found[0] and "the prefix cd: is bound to" in found[0], found


def test_the_command_lists_every_problem_with_all(tmp_path, capsys):
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "chemoden.ttl").write_text("@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema> .\n"
                                         "@prefix owl: <http://www.w3.org/2002/07/owl> .\n"
                                         "@prefix xsd: <http://www.w3.org/2001/XMLSchema> .\n"
                                         "@prefix cd: <https://w3id.org/chemoden> .\ncd:a cd:b cd:c , .\n")
    assert main(["check", str(folder), "--all"]) == 1
    shown = capsys.readouterr().out.splitlines()
    assert [s.split(": ", 1)[0].rsplit(":", 1)[1] for s in shown] == ["1", "2", "3", "4", "5"], shown
    assert all("[prefix]" in s for s in shown[:4]) and "cannot parse Turtle" in shown[4]


SERRATUS = """cd:serratusPosteriorInferior a cd:Muscle ;
    rdfs:label "serratus posterior inferior" ;
    cd:billingRegion cd:Trunk ;
    skos:exactMatch obo:UBERON_0001127, fma:fma13402 ."""


def test_a_muscle_off_cpt_s_trunk_list_placed_in_the_trunk_is_caught_at_its_region_line(tmp_path):
    """Serratus posterior inferior is a back muscle CPT does not list: in cd:Trunk it would bill
    64646. The problem points at its cd:billingRegion line and is a billing invariant."""
    folder = broken_copy(tmp_path, [("muscles.ttl", APPEND, SERRATUS)])
    text = (folder / "muscles.ttl").read_text(encoding="utf-8").splitlines()
    line = max(n for n, t in enumerate(text, start=1) if t == "    cd:billingRegion cd:Trunk ;")
    expected = (f"{folder / 'muscles.ttl'}:{line}: cd:serratusPosteriorInferior: is billed in the region 'trunk', "
                "whose muscles are CPT's closed list, but no item of that list (cd:cptListItem) names it")
    assert any(p.startswith(expected) and p.endswith("[qc closed-region]") for p in problems_of(folder, "qc")), expected
    assert any(str(p).startswith(expected) for p in check.invariants(folder))
