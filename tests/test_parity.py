"""Parity: the fast path (cached closure, chunked reasoning, Oxigraph) gives exactly the result
of the reference path (the owlrl closure of ontology plus session, then the same queries on
rdflib), for every session and audit fixture.

The reference for the fixtures is computed with one owlrl run over the ontology plus half of
the fixture sessions (coding/reference.py, reference_many), then rdflib's queries over that
closure; sessions share no individuals and every rule is scoped to one session, so this is the
same result per session. The plain one-run-per-session reference (`code_one`) is checked
against it on the seed examples.
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


# Fixtures per owlrl run, one xdist group each: one closure per test worker (an owlrl run costs
# about 15 s whatever the number of sessions in it)
CHUNK = (len(FIXTURES) + 1) // 2
_REFERENCE: dict = {}


def _reference(path, ontology):
    """The reference result for `path`, computed with the other fixtures of its chunk."""
    if path not in _REFERENCE:
        start = FIXTURES.index(path) // CHUNK * CHUNK
        chunk = FIXTURES[start:start + CHUNK]
        results = reference_many([_session(p, ontology) for p in chunk], ontology)
        _REFERENCE.update({p: r.as_dict() for p, r in zip(chunk, results)})
    return _REFERENCE[path]


@pytest.mark.parametrize("path", [pytest.param(p, id=p.stem, marks=pytest.mark.xdist_group(f"parity{i // CHUNK}"))
                                  for i, p in enumerate(FIXTURES)])
def test_fast_path_equals_reference(path, ontology):
    assert code(_session(path, ontology), ontology, engine="fast").as_dict() == _reference(path, ontology)


def test_fast_path_in_one_chunk_equals_one_by_one(ontology):
    """Coding many sessions together (the batch path) changes nothing (checked on the first
    80 fixtures, a mix of sessions, drugs and claims)."""
    sessions = [_session(p, ontology) for p in FIXTURES[:40] + FIXTURES[-40:]]
    chunk = fast_coder(ontology).code(sessions)
    assert [r.as_dict() for r in chunk] == [code(s, ontology, engine="fast").as_dict() for s in sessions]


# The joint reference is checked against one owlrl run per session on seed examples of the
# article, in the xdist group of their chunk (so its reference is computed once). Two suffice:
# what they check is that sessions in one closure do not see each other, not any one rule.
SEEDS = [p for p in CASES if p.stem.startswith("seed-")][:2]


@pytest.mark.parametrize("path", [pytest.param(p, id=p.stem, marks=pytest.mark.xdist_group(f"parity{FIXTURES.index(p) // CHUNK}"))
                                  for p in SEEDS])
def test_plain_reference_equals_joint_reference(path, ontology):
    assert code(_session(path, ontology), ontology, engine="owlrl").as_dict() == _reference(path, ontology)
