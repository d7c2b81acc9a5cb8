"""The shipped ontology: muscles, names, codes, profiles and query headers as the issue requires."""

import pytest
from rdflib import Literal
from rdflib.namespace import RDF, RDFS, SKOS

from reasoner.core.vocab import CD
from reasoner.knowledge.names import normalise

MUST_RESOLVE = """sternocleidomastoid, sternomastoid, SCM, sternocladomastoid, splenius capitis, splenius capitus,
splenius cervicis, semispinalis capitis, semispinalis cervicis, longissimus capitis, levator scapulae,
levator scapula, trapezius, scalenus anterior, scalenus medius, scalenus posterior, longus colli,
cervical paraspinal, thyroarytenoid, lateral cricoarytenoid, posterior cricoarytenoid, cricothyroid,
orbicularis oculi, orbicularis oris, zygomaticus major, zygomaticus minor, risorius, mentalis,
depressor anguli oris, procerus, corrugator supercilii, frontalis, occipitalis, platysma, nasalis,
temporalis, masseter, biceps, biceps brachii, brachialis, brachioradialis, triceps, triceps brachii,
pronator teres, pronator quadratus, supinator, flexor carpi radialis, FCR, flexor carpi ulnaris, FCU,
flexor digitorum superficialis, flexor digitorum sublimis, FDS, flexor digitorum profundus, FDP,
flexor pollicis longus, FPL, adductor pollicis, opponens pollicis, first dorsal interosseous,
extensor carpi radialis longus, extensor carpi ulnaris, extensor digitorum, extensor digitorum communis,
deltoid, pectoralis major, latissimus dorsi, teres major, subscapularis, gastrocnemius, soleus,
tibialis posterior, tibialis anterior, flexor hallucis longus, FHL, flexor digitorum longus, FDL,
extensor hallucis longus, extensor digitorum longus, peroneus longus, rectus femoris, vastus lateralis,
vastus medialis, vastus intermedius, biceps femoris, semitendinosus, semimembranosus, adductor longus,
adductor magnus, gracilis, iliopsoas, gluteus maximus, erector spinae, iliocostalis lumborum,
longissimus thoracis, spinalis thoracis, thoracic paraspinal, lumbar paraspinal, rectus abdominis,
rectus abdominus, external oblique, internal oblique, quadratus lumborum, transversus abdominis,
levator ani, puborectalis, external anal sphincter, internal anal sphincter, detrusor, lateral rectus,
medial rectus, parotid gland, submandibular gland"""

REGION_OF = {
    "cervical paraspinal": CD.Neck, "trapezius": CD.Neck, "levator scapulae": CD.Neck,
    "thoracic paraspinal": CD.Trunk, "lumbar paraspinal": CD.Trunk, "erector spinae": CD.Trunk,
    "rectus abdominis": CD.Trunk, "external oblique": CD.Trunk, "internal oblique": CD.Trunk,
    "quadratus lumborum": CD.NoSpecificCode, "transversus abdominis": CD.NoSpecificCode,
    "masseter": CD.NoSpecificCode, "external anal sphincter": CD.NoSpecificCode,
    "puborectalis": CD.PelvicFloor, "internal anal sphincter": CD.InternalAnalSphincter,
    "detrusor": CD.BladderDetrusor, "thyroarytenoid": CD.Larynx, "orbicularis oculi": CD.FacialNerve,
    "biceps": CD.UpperExtremity, "gastrocnemius": CD.LowerExtremity, "lateral rectus": CD.Extraocular,
    "parotid gland": CD.SalivaryGlands,
}

CODES = ("64611 64612 64615 64616 64617 64642 64643 64644 64645 64646 64647 64650 64653 46505 52287 "
         "67345 31570 31571 31573 64999 95873 95874 76942").split()


def targets(g):
    return set(g.subjects(CD.billingRegion, None))


def test_at_least_120_targets_each_with_one_region_and_label(ontology):
    g = ontology.graph
    found = targets(g)
    assert len(found) >= 120
    for t in found:
        assert len(list(g.objects(t, CD.billingRegion))) == 1, t
        assert len(list(g.objects(t, RDFS.label))) == 1, t
        assert (t, RDF.type, CD.Muscle) in g or (t, RDF.type, CD.Gland) in g, t


def test_no_name_is_shared_by_two_targets(ontology):
    g = ontology.graph
    owner = {}
    for prop in (RDFS.label, SKOS.altLabel, SKOS.hiddenLabel):
        for t, name in g.subject_objects(prop):
            if t in targets(g) or (t, RDF.type, CD.AmbiguousName) in g:
                key = normalise(name)
                assert owner.setdefault(key, t) == t, f"{name!r} names {owner[key]} and {t}"


@pytest.mark.parametrize("name", [n.strip() for n in MUST_RESOLVE.split(",")])
def test_required_names_resolve(name, ontology):
    for variant in (name, name.upper(), name.title()):
        resolution = ontology.names.resolve_target(variant)
        assert resolution is not None and resolution.target is not None, variant


@pytest.mark.parametrize("name,region", REGION_OF.items())
def test_region_choices(name, region, ontology):
    assert ontology.names.resolve_target(name).target.region == region


def test_bare_paraspinal_is_ambiguous_with_its_levels(ontology):
    resolution = ontology.names.resolve_target("paraspinal")
    assert resolution.target is None
    assert set(resolution.candidates) == {"cervical paraspinal", "thoracic paraspinal", "lumbar paraspinal"}


def test_cross_references_have_the_right_form(ontology):
    g = ontology.graph
    with_xref = 0
    for t in targets(g):
        matches = [str(m) for m in g.objects(t, SKOS.exactMatch)]
        uberon = [m for m in matches if m.startswith("http://purl.obolibrary.org/obo/UBERON_")]
        assert all(len(m.rsplit("_", 1)[1]) == 7 and m.rsplit("_", 1)[1].isdigit() for m in uberon), t
        assert uberon or (t, CD.noUberonClass, Literal(True)) in g, f"{t}: no UBERON match and not marked as having none"
        with_xref += bool(uberon)
    assert with_xref >= 120


@pytest.mark.parametrize("notation", CODES)
def test_every_code_is_data(notation, ontology):
    g = ontology.graph
    code = next(g.subjects(CD.notation, Literal(notation)))
    assert g.value(code, RDFS.label)
    assert g.value(code, CD.bilateralHandling) is not None
    kinds = set(g.objects(code, RDF.type))
    assert kinds & {CD.PrimaryCode, CD.AddOnCode}
    if CD.AddOnCode in kinds:
        assert list(g.objects(code, CD.addOnTo)), f"add-on {notation} names no primary"


def test_modifiers_are_data(ontology):
    g = ontology.graph
    assert {str(g.value(m, CD.notation)) for m in g.subjects(RDF.type, CD.Modifier)} >= {"50", "RT", "LT", "52", "59", "XS"}


def test_every_profile_sets_every_switch(ontology):
    g = ontology.graph
    switches = [CD.guidanceUnits, CD.bilateralReporting]
    profiles = list(g.subjects(RDF.type, CD.PolicyProfile))
    assert len(profiles) >= 3
    for profile in profiles:
        for switch in switches:
            assert len(list(g.objects(profile, switch))) == 1, (profile, switch)
    assert len([p for p in profiles if (p, CD.isDefault, Literal(True)) in g]) == 1


def test_query_files_have_headers_and_unique_ids(ontology):
    queries = ontology.all_queries
    assert len({q.id for q in queries}) == len(queries)
    for q in queries:
        assert q.rationale and q.source
        if q.kind == "conflict":
            assert q.severity in ("error", "warning")


def test_ontology_header_is_versioned(ontology):
    from rdflib import URIRef
    from rdflib.namespace import OWL

    onto = URIRef("https://w3id.org/chemoden")
    g = ontology.graph
    assert (onto, RDF.type, OWL.Ontology) in g
    assert str(g.value(onto, OWL.versionIRI)).startswith("https://w3id.org/chemoden/20")
    assert g.value(onto, OWL.versionInfo)


def test_every_audit_rule_reads_the_claim(ontology):
    """derive.py skips the audit rules for sessions without a claim; that is only sound while
    each of them reads the billed lines."""
    for q in ontology.queries["audit"]:
        assert "cd:billed" in q.text or "cd:ClaimLine" in q.text, q.id



def test_no_exists_over_a_join(ontology):
    """Oxigraph evaluates an EXISTS or NOT EXISTS whose pattern joins several triple patterns
    against the whole store once per row: a batch chunk's time then grows with its square
    (such queries took ten times longer at 128 sessions a chunk than at 32). A single triple
    pattern is looked up directly; for more, ontology/README.md shows MINUS or OPTIONAL.
    (`chemoden check` reports them with their lines; tests/test_check.py has a broken copy.)"""
    from reasoner.knowledge.queryfiles import exists_over_joins

    assert [(q.id, line) for q in ontology.all_queries for line in exists_over_joins(q.text)] == []
