"""The two worked examples the seed article codes wrongly: Chemoden codes them by the
article's own rules and its explanation says why the article's answer is wrong."""

import json
from pathlib import Path

from reasoner import code_json

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _code(name, ontology):
    return code_json(json.loads((EXAMPLES / name).read_text()), ontology)


def _keys(result):
    return sorted((ln.code, ln.units, ln.modifiers) for ln in result.lines)


def test_76m_arm_with_five_muscles_is_64644_not_64642(ontology):
    result = _code("seed-76m-three-limbs.json", ontology)
    article = [("64642", 1, ()), ("64643", 2, ())]
    assert _keys(result) != sorted(article)
    assert _keys(result) == sorted([("64644", 1, ()), ("64643", 2, ())])
    primary = next(ln for ln in result.lines if ln.code == "64644")
    # the why: the arm holds five distinct muscles, and 64642 stops at four
    assert "left upper extremity has 5 distinct muscle" in primary.explanation
    assert "5 or more" in primary.explanation
    addon = next(ln for ln in result.lines if ln.code == "64643")
    assert "left lower extremity has 3 distinct muscle" in addon.explanation
    assert "right lower extremity has 3 distinct muscle" in addon.explanation


def test_53m_bilateral_cervical_paraspinals_take_modifier_50(ontology):
    result = _code("seed-53m-neck-and-trunk.json", ontology)
    article = [("64646", 1, ()), ("64616", 1, ()), ("95874", 1, ())]
    assert _keys(result) != sorted(article)
    assert _keys(result) == sorted([("64616", 1, ("50",)), ("64646", 1, ()), ("95874", 1, ())])
    neck = next(ln for ln in result.lines if ln.code == "64616")
    assert "Left and right were both injected" in neck.explanation and "modifier 50" in neck.explanation
    assert neck.because == ("i1", "i2")
    trunk = next(ln for ln in result.lines if ln.code == "64646")
    assert "2 distinct trunk muscle" in trunk.explanation
