"""Parity: for every fixture the fast engine gives exactly the result of the reference path
(the full owlrl closure of ontology plus session, then the same queries)."""

import pytest

from conftest import CASES, load_case
from reasoner import code, inference, read_document

pytestmark = pytest.mark.skipif(not inference.available("reasonable"), reason="reasonable not installed")


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_fast_engine_equals_reference(path, ontology):
    case = load_case(path)
    session = read_document(case["session"], ontology, profile=case.get("profile"))
    fast = code(session, ontology, engine="reasonable").as_dict()
    reference = code(session, ontology, engine="owlrl").as_dict()
    assert fast == reference
