"""Golden RDF: `chemoden code --format turtle` for an example equals tests/golden/NAME.ttl,
compared by graph isomorphism (blank-node and ordering free).

After an intended change, regenerate with `make golden` and review the diff before committing.
"""

import json
from pathlib import Path

import pytest
from rdflib import Graph
from rdflib.compare import graph_diff, to_isomorphic

from reasoner import code_json

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = sorted((ROOT / "tests" / "golden").glob("*.ttl"))


@pytest.mark.parametrize("golden", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_result_graph_matches_golden(golden, ontology):
    session = json.loads((ROOT / "examples" / f"{golden.stem}.json").read_text())
    got = Graph().parse(data=code_json(session, ontology).to_turtle(), format="turtle")
    want = Graph().parse(golden, format="turtle")
    if to_isomorphic(got) != to_isomorphic(want):
        _, only_got, only_want = graph_diff(to_isomorphic(got), to_isomorphic(want))
        pytest.fail("result graph differs from golden\nonly in result:\n"
                    + only_got.serialize(format="nt") + "\nonly in golden:\n" + only_want.serialize(format="nt"))
