"""The vocabulary reference (reasoner/knowledge/vocabulary.py): docs/vocabulary.md is what the
ontology generates today, the output does not depend on the order triples were read in, every
class and property is there with its example query, the hand-written examples run and answer, and
every link of the Markdown and the HTML page lands on an anchor."""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SKOS
from rdflib.plugins.sparql import prepareQuery

from reasoner import build_dataset
from reasoner.core.vocab import CD
from reasoner.knowledge import vocabulary
from reasoner.knowledge.ontology import load

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "vocabulary.md"


@pytest.fixture(scope="module")
def ontology():
    return load(ROOT / "ontology")


@pytest.fixture(scope="module")
def reference(ontology):
    return vocabulary.build(ontology.graph)


def terms(reference):
    return {t.name: t for s in reference.sections for t in s.terms}


def test_docs_vocabulary_md_is_up_to_date(reference):
    assert DOC.read_text(encoding="utf-8") == vocabulary.markdown(reference), (
        "docs/vocabulary.md is out of date with the ontology: run `make vocabulary` and commit it")


def test_the_same_ontology_gives_the_same_bytes_whatever_the_reading_order(ontology, reference):
    shuffled = Graph()
    for path in reversed(ontology.turtle_files):
        shuffled.parse(path, format="turtle")
    again = vocabulary.build(shuffled)
    assert vocabulary.markdown(again) == vocabulary.markdown(reference)
    assert vocabulary.page(again) == vocabulary.page(reference)


def test_every_class_and_property_is_documented_with_an_example(ontology, reference):
    g = ontology.graph
    documented = terms(reference)
    declared = {s for kind in (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty)
                for s in g.subjects(RDF.type, kind) if isinstance(s, URIRef)}
    for term in declared:
        name = vocabulary._Names(g)(term)
        assert name in documented, name
        entry = documented[name]
        assert entry.examples, name
        label = g.value(term, RDFS.label)
        assert entry.label == (" ".join(str(label).split()) if label else ""), name
        facts = {f.name: {v.text for v in f.values} for f in entry.facts}
        for predicate, fact in ((RDFS.domain, "domain"), (RDFS.range, "range"), (RDFS.subClassOf, "sub-class of"),
                                (RDFS.subPropertyOf, "sub-property of")):
            for value in g.objects(term, predicate):
                if isinstance(value, URIRef):
                    assert vocabulary._Names(g)(value) in facts[fact], (name, fact)


def test_the_terms_the_maintainer_guide_described_only_in_prose(reference):
    documented = terms(reference)
    billing_region = documented["cd:billingRegion"]
    assert {f.name: [v.text for v in f.values] for f in billing_region.facts}["range"] == ["cd:BillingRegion"]
    assert not billing_region.generated and "cd:billingRegion" in billing_region.examples[0]
    add_on = {f.name: [v.text for v in f.values] for f in documented["cd:addOnTo"].facts}
    assert add_on["domain"] == ["cd:AddOnCode"] and add_on["range"] == ["cd:Code"]
    assert not documented["cd:AddOnCode"].generated
    # the regions, codes, modifiers, products and profiles are grouped, each individual described
    groups = {s.anchor: s for s in reference.sections if s.level == 3}
    for cls in (CD.BillingRegion, CD.Code, CD.Modifier, CD.Product, CD.PolicyProfile):
        group = groups["individuals-cd-" + str(cls).split("#")[1]]
        assert group.terms and all(t.label for t in group.terms)
    regions = {t.name for t in groups["individuals-cd-BillingRegion"].terms}
    assert "cd:Neck" in regions and "cd:Trunk" in regions
    # the cross-reference conventions: the annotation properties say how the ontology uses them
    exact = {f.name: f for f in documented["skos:exactMatch"].facts}
    assert "UBERON" in exact["use in Chemoden"].values[0].text
    # the many targets are listed compactly by region, with a query that lists them
    targets = next(s for s in reference.sections if s.anchor == "targets")
    assert targets.query and any("cd:Neck" in listing.title for listing in targets.listings)


def test_generated_examples_parse_and_hand_written_ones_answer(ontology, reference):
    dataset = build_dataset(ontology, [ROOT / "examples"])
    hand_written = 0
    for term in terms(reference).values():
        for example in term.examples:
            prepareQuery(example)
            if not term.generated:
                hand_written += 1
                answer = dataset.query(example)
                assert answer.rows, f"the example of {term.name} answers nothing over examples/:\n{example}"
    written = sum(1 for _ in ontology.graph.subject_objects(SKOS.example))
    assert hand_written == written >= 15


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.hrefs, self.tags = set(), set(), set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if attrs.get("href", "").startswith("#"):
            self.hrefs.add(attrs["href"][1:])


def test_every_link_lands_on_an_anchor(reference):
    page = vocabulary.page(reference)
    links = _Links()
    links.feed(page)
    assert links.hrefs and links.hrefs <= links.ids, sorted(links.hrefs - links.ids)[:5]
    assert "script" not in links.tags  # a static page: the server's policy lets no script run
    text = vocabulary.markdown(reference)
    anchors = set(re.findall(r'<a id="([^"]+)"></a>', text))
    targets = set(re.findall(r"\]\(#([^)]+)\)", text))
    assert targets and targets <= anchors, sorted(targets - anchors)[:5]


def test_make_vocabulary_regenerates_the_markdown(tmp_path, ontology):
    out = tmp_path / "vocabulary.md"
    assert vocabulary.main([str(out), "--ontology", str(ontology.directory)]) == 0
    assert out.read_text(encoding="utf-8") == DOC.read_text(encoding="utf-8")
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^vocabulary:.*\n\t.*-m reasoner\.knowledge\.vocabulary docs/vocabulary\.md", makefile, re.M)
