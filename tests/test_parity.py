"""Parity: the fast path (cached closure, chunked reasoning, Oxigraph) gives exactly the result
of the reference path (the owlrl closure of ontology plus session, then the same queries on
rdflib), for every session and audit fixture.

The reference for the fixtures is computed with one owlrl run over the ontology plus half of
the fixture sessions (coding/reference.py, reference_many), then rdflib's queries over that
closure; sessions share no individuals and every rule is scoped to one session, so this is the
same result per session. The plain one-run-per-session reference is checked against it on two
seed examples. A failure names every fixture that differs. `make test` compares a sample of the
fixtures that fires every rule the fixtures fire; `make parity` compares them all.
"""

import pytest
from conftest import AUDITS, CASES, PARITY_FULL, covering, load_case

from reasoner import code, read_document
from reasoner.coding.fast import coder as fast_coder
from reasoner.coding.reference import reference_many
from reasoner.engines import registry

pytestmark = pytest.mark.skipif(not registry.has_oxigraph(), reason="pyoxigraph not installed")
FIXTURES = CASES + AUDITS


def _session(path, ontology):
    case = load_case(path)
    return read_document(case["session"], ontology, profile=case.get("profile"))


# The full comparison (every fixture against the reference) takes several minutes of both cores:
# it runs in `make parity`, which CI runs after `make test`; `make test` compares a sample that
# fires every rule any fixture fires (below).
FULL = PARITY_FULL
# Fixtures per owlrl run: two chunks, one test each, so that each chunk's reference is computed
# once and the two run side by side on the two test workers (an owlrl run costs about 15 s
# whatever the number of sessions in it; rdflib's rules then about 0.3 s a session)
CHUNKS = 2
CHUNK = (len(FIXTURES) + CHUNKS - 1) // CHUNKS
# The joint reference is also checked against one owlrl run per session on seed examples of the
# article. Two suffice: what they check is that sessions in one closure do not see each other,
# not any one rule.
SEEDS = [p for p in CASES if p.stem.startswith("seed-")][:2]


def _compare(chunk, ontology, seeds=SEEDS):
    sessions = [_session(p, ontology) for p in chunk]
    reference = {p: r.as_dict() for p, r in zip(chunk, reference_many(sessions, ontology))}
    differ = [p.stem for p, s in zip(chunk, sessions) if code(s, ontology, engine="fast").as_dict() != reference[p]]
    assert not differ, f"the fast path differs from the reference on {len(differ)} fixture(s): {', '.join(differ)}"
    for seed in (p for p in seeds if p in reference):
        plain = code(_session(seed, ontology), ontology, engine="owlrl").as_dict()
        assert plain == reference[seed], f"{seed.stem}: one owlrl run of its own differs from the joint reference"


@pytest.mark.skipif(not FULL, reason="the full parity runs in `make parity` (CHEMODEN_PARITY=full)")
@pytest.mark.parametrize("part", range(CHUNKS), ids=[f"fixtures-{n * CHUNK + 1}-to-{min(len(FIXTURES), (n + 1) * CHUNK)}"
                                                      for n in range(CHUNKS)])
def test_fast_path_equals_reference(part, ontology):
    _compare(FIXTURES[part * CHUNK:(part + 1) * CHUNK], ontology)


def _fired(result: dict) -> set:
    """What a result shows of the rules that fired: each line's rule, code and modifiers, each
    conflict's rule and severity, the profile."""
    return ({("line", ln["rule"], ln["code"], tuple(sorted(ln["modifiers"]))) for ln in result["lines"]}
            | {("conflict", c["rule"], c["severity"]) for c in result["conflicts"]} | {("profile", result["profile"])})


def covering_sample(ontology) -> list:
    """The seeds and the fewest fixtures (greedily) that together fire every rule, code, modifier
    and conflict any fixture fires on the fast path: a rule changed on one path and not the
    other shows in it."""
    fired = {p: _fired(code(_session(p, ontology), ontology, engine="fast").as_dict()) for p in FIXTURES}
    seen = set().union(*(fired[p] for p in SEEDS))
    rest = [p for p in FIXTURES if p not in SEEDS]
    return list(SEEDS) + covering(rest, {p: fired[p] - seen for p in rest})


@pytest.mark.skipif(FULL, reason="the full parity covers it")
def test_fast_path_equals_reference_on_a_sample_firing_every_rule(ontology):
    sample = covering_sample(ontology)
    assert len(sample) < len(FIXTURES) / 3, len(sample)
    _compare(sample, ontology, seeds=[])  # a seed's run of its own (20 s each) is left to `make parity`


def test_fast_path_in_one_chunk_equals_one_by_one(ontology):
    """Coding many sessions together (the batch path) changes nothing (checked on the first
    80 fixtures, a mix of sessions, drugs and claims)."""
    sessions = [_session(p, ontology) for p in FIXTURES[:40] + FIXTURES[-40:]]
    chunk = fast_coder(ontology).code(sessions)
    assert [r.as_dict() for r in chunk] == [code(s, ontology, engine="fast").as_dict() for s in sessions]
