"""Properties of coding over generated sessions (Hypothesis).

Sessions are drawn from the ontology itself (every target of every billing region, sides as
each region needs them, guidance, approach, indication, profile), so a muscle a maintainer
adds is exercised too. The number of examples is small in `make test`; set
CHEMODEN_PROPERTY_EXAMPLES for a longer run (`make fuzz` does).
"""

from __future__ import annotations

import os
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rdflib.namespace import RDFS

from reasoner import code, load_ontology, read_document
from reasoner.coding.reference import reference_many
from reasoner.core.vocab import CD

EXAMPLES = int(os.environ.get("CHEMODEN_PROPERTY_EXAMPLES", "40"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
ONTOLOGY = load_ontology()
GRAPH = ONTOLOGY.graph


def _region_name(iri) -> str:
    return str(iri).rsplit("#", 1)[1]


# target label -> (region, needs a side, is midline)
TARGETS: dict[str, tuple[str, bool, bool]] = {}
for _t, _region in GRAPH.subject_objects(CD.billingRegion):
    TARGETS[str(GRAPH.value(_t, RDFS.label))] = (
        _region_name(_region), bool(GRAPH.value(_region, CD.lateralityMatters)), bool(GRAPH.value(_t, CD.midline)))
BY_REGION: dict[str, list[str]] = {}
for _label, (_region, _, _) in sorted(TARGETS.items()):
    BY_REGION.setdefault(_region, []).append(_label)
# codes billed for a region's targets (cd:codeRegion), and the extremity codes (tied to a limb)
CODES_OF_REGION: dict[str, set[str]] = {}
for _c, _region in GRAPH.subject_objects(CD.codeRegion):
    CODES_OF_REGION.setdefault(_region_name(_region), set()).add(str(GRAPH.value(_c, CD.notation)))
EXTREMITY_CODES = {str(GRAPH.value(c, CD.notation)) for c in GRAPH.subjects(CD.extremityRole, None)}
GUIDANCE_SEPARATE = {str(GRAPH.value(c, CD.notation)) for c in GRAPH.subjects(CD.guidanceHandling, CD.GuidanceSeparate)}
GUIDANCE_CODES = {str(GRAPH.value(c, CD.notation)) for c in GRAPH.objects(None, CD.guidanceCode)}
LIMBS = ("UpperExtremity", "LowerExtremity")


@st.composite
def injections_of(draw, region: str, min_size: int = 1, max_size: int = 6, side=None):
    labels = draw(st.lists(st.sampled_from(BY_REGION[region]), min_size=min_size, max_size=max_size))
    out = []
    for label in labels:
        _, lateral, midline = TARGETS[label]
        inj = {"muscle": label}
        if not midline:
            chosen = side or draw(st.sampled_from(["left", "right", "bilateral"] + ([] if lateral else [None])))
            if chosen:
                inj["side"] = chosen
        out.append(inj)
    return out


@st.composite
def sessions(draw):
    regions = draw(st.lists(st.sampled_from(sorted(BY_REGION)), min_size=1, max_size=4, unique=True))
    injections = []
    for region in regions:
        injections += draw(injections_of(region))
    doc = {"id": "property", "injections": injections,
           "guidance": draw(st.lists(st.sampled_from(["needle-emg", "electrical-stimulation", "ultrasound"]),
                                     max_size=2, unique=True)),
           "profile": draw(st.sampled_from(["standard", "guidance-per-code", "rt-lt"]))}
    if "Larynx" in regions and draw(st.booleans()):
        doc["approach"] = draw(st.sampled_from(["percutaneous", "direct-laryngoscopy", "flexible-laryngoscopy"]))
    if draw(st.integers(0, 4)) == 0:
        doc["indication"] = "chronic migraine"
    return doc


def _code(doc):
    return code(read_document(doc, ONTOLOGY), ONTOLOGY)


def _units(result) -> Counter:
    units: Counter = Counter()
    for line in result.lines:
        units[line.code] += line.units
    return units


def _lines(result) -> list[tuple]:
    return sorted((ln.code, ln.units, ln.modifiers, tuple(sorted(ln.because))) for ln in result.lines)


@SETTINGS
@given(sessions())
def test_the_same_input_gives_byte_identical_output(doc):
    assert _code(doc).to_json() == _code(doc).to_json()


@SETTINGS
@given(sessions(), st.randoms(use_true_random=False))
def test_the_order_of_injections_does_not_change_the_lines(doc, rnd):
    for n, inj in enumerate(doc["injections"]):
        inj["id"] = f"i{n}"  # ids follow the injection, not its place in the list
    shuffled = dict(doc, injections=rnd.sample(doc["injections"], len(doc["injections"])))
    assert _lines(_code(doc)) == _lines(_code(shuffled))


@SETTINGS
@given(sessions())
def test_never_both_sizes_of_one_primary(doc):
    units = _units(_code(doc))
    assert not (units["64642"] and units["64644"])
    assert not (units["64646"] and units["64647"])


@SETTINGS
@given(sessions())
def test_at_most_three_extremity_add_ons_and_one_primary(doc):
    units = _units(_code(doc))
    assert units["64643"] + units["64645"] <= 3
    assert units["64642"] + units["64644"] <= 1


@SETTINGS
@given(sessions())
def test_guidance_units_within_the_profile_limit(doc):
    result = _code(doc)
    units = _units(result)
    per_code = ONTOLOGY.graph.value(result.session.profile, CD.guidanceUnits) == CD.GuidancePerCodeUnit
    limit = sum(units[c] for c in GUIDANCE_SEPARATE) if per_code else min(1, sum(units[c] for c in GUIDANCE_SEPARATE))
    for g in GUIDANCE_CODES:
        assert units[g] <= limit, (g, units)


@st.composite
def limb_sessions(draw):
    limb = draw(st.sampled_from(LIMBS))
    side = draw(st.sampled_from(["left", "right"]))
    doc = {"id": "limb", "injections": draw(injections_of(limb, 1, 6, side=side))}
    others = [r for r in LIMBS if r != limb]
    if draw(st.booleans()):
        doc["injections"] += draw(injections_of(others[0], 1, 6, side=draw(st.sampled_from(["left", "right"]))))
    extra = draw(st.sampled_from(BY_REGION[limb]))
    return doc, {"muscle": extra, "side": side}


def _extremity_rank(units: Counter) -> tuple[int, int]:
    """How much extremity work is billed: units at five or more muscles, and all units."""
    return units["64644"] + units["64645"], sum(units[c] for c in EXTREMITY_CODES)


@SETTINGS
@given(limb_sessions())
def test_adding_a_muscle_to_an_extremity_never_lowers_its_code(case):
    doc, extra = case
    before = _extremity_rank(_units(_code(doc)))
    after = _extremity_rank(_units(_code(dict(doc, injections=doc["injections"] + [extra]))))
    assert after >= before


@SETTINGS
@given(sessions(), st.data())
def test_removing_a_region_removes_its_codes(doc, data):
    regions = sorted({TARGETS[i["muscle"]][0] for i in doc["injections"]})
    if len(regions) < 2:
        return
    gone = data.draw(st.sampled_from(regions))
    kept = [i for i in doc["injections"] if TARGETS[i["muscle"]][0] != gone]
    units = _units(_code(dict(doc, injections=kept)))
    codes = CODES_OF_REGION.get(gone, set())
    if gone in LIMBS and not any(TARGETS[i["muscle"]][0] in LIMBS for i in kept):
        codes = codes | EXTREMITY_CODES
    assert not codes & {c for c, n in units.items() if n}, (gone, units)


@pytest.mark.parity  # generated sessions; `make test` compares the fixtures that fire every rule
@pytest.mark.xdist_group("properties-reference")
@settings(max_examples=max(2, EXAMPLES // 20), deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(sessions(), min_size=1, max_size=4))
def test_the_fast_path_equals_the_reference_path(docs):
    sessions_ = [read_document(dict(d, id=f"s{n}"), ONTOLOGY) for n, d in enumerate(docs)]
    reference = [r.as_dict() for r in reference_many(sessions_, ONTOLOGY)]
    assert [code(s, ONTOLOGY, engine="fast").as_dict() for s in sessions_] == reference
