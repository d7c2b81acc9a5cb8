"""Parity: the fast path (cached closure, chunked reasoning, Oxigraph) gives exactly the result
of the reference path (the owlrl closure of ontology plus session, then the same queries on
rdflib), for every session and audit fixture.

The reference for the fixtures is computed with one owlrl run over the ontology plus half of
the fixture sessions (coding/reference.py, reference_many), then rdflib's queries over that
closure; sessions share no individuals and every rule is scoped to one session, so this is the
same result per session. The plain one-run-per-session reference is checked against it on two
seed examples. A failure names every fixture that differs.
"""

import pytest
from conftest import AUDITS, CASES, load_case

from reasoner import code, read_document
from reasoner.coding.fast import coder as fast_coder
from reasoner.coding.reference import reference_many
from reasoner.engines import registry

pytestmark = pytest.mark.skipif(not registry.has_oxigraph(), reason="pyoxigraph not installed")
FIXTURES = CASES + AUDITS


def _session(path, ontology):
    case = load_case(path)
    return read_document(case["session"], ontology, profile=case.get("profile"))


# Fixtures per owlrl run: two chunks, one test each, so that each chunk's reference is computed
# once and the two run side by side on the two test workers (an owlrl run costs about 15 s
# whatever the number of sessions in it; rdflib's rules then about 0.3 s a session)
CHUNKS = 2
CHUNK = (len(FIXTURES) + CHUNKS - 1) // CHUNKS
# The joint reference is also checked against one owlrl run per session on seed examples of the
# article. Two suffice: what they check is that sessions in one closure do not see each other,
# not any one rule.
SEEDS = [p for p in CASES if p.stem.startswith("seed-")][:2]


@pytest.mark.parametrize("part", range(CHUNKS), ids=[f"fixtures-{n * CHUNK + 1}-to-{min(len(FIXTURES), (n + 1) * CHUNK)}"
                                                      for n in range(CHUNKS)])
def test_fast_path_equals_reference(part, ontology):
    chunk = FIXTURES[part * CHUNK:(part + 1) * CHUNK]
    sessions = [_session(p, ontology) for p in chunk]
    reference = {p: r.as_dict() for p, r in zip(chunk, reference_many(sessions, ontology))}
    differ = [p.stem for p, s in zip(chunk, sessions) if code(s, ontology, engine="fast").as_dict() != reference[p]]
    assert not differ, f"the fast path differs from the reference on {len(differ)} fixture(s): {', '.join(differ)}"
    for seed in (p for p in SEEDS if p in reference):
        plain = code(_session(seed, ontology), ontology, engine="owlrl").as_dict()
        assert plain == reference[seed], f"{seed.stem}: one owlrl run of its own differs from the joint reference"


def test_fast_path_in_one_chunk_equals_one_by_one(ontology):
    """Coding many sessions together (the batch path) changes nothing (checked on the first
    80 fixtures, a mix of sessions, drugs and claims)."""
    sessions = [_session(p, ontology) for p in FIXTURES[:40] + FIXTURES[-40:]]
    chunk = fast_coder(ontology).code(sessions)
    assert [r.as_dict() for r in chunk] == [code(s, ontology, engine="fast").as_dict() for s in sessions]
