"""The code map (reasoner/codemap.py): its graph is the ontology's codes and links, its layout
keeps codes apart, and the README's picture (docs/code-map.png, `make code-map`) is current."""

import itertools
import math
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")
pytest.importorskip("networkx")

from PIL import Image  # noqa: E402
from rdflib.namespace import RDF  # noqa: E402

from reasoner.core.vocab import CD  # noqa: E402
from reasoner.surfaces import codemap  # noqa: E402
from reasoner.surfaces.dataset import build  # noqa: E402

PICTURE = Path(__file__).resolve().parent.parent / "docs" / "code-map.png"


@pytest.fixture(scope="module")
def graph(ontology):
    return codemap.graph(build(ontology))


def test_nodes_are_the_procedure_codes_and_edges_their_links(graph, ontology):
    g = ontology.graph
    codes = {str(g.value(c, CD.notation)) for k in (CD.PrimaryCode, CD.AddOnCode) for c in g.subjects(RDF.type, k)}
    assert set(graph) == codes
    addons = {(str(g.value(a, CD.notation)), str(g.value(p, CD.notation))) for a, p in g.subject_objects(CD.addOnTo)}
    assert {(u, v) for u, v, r in graph.edges(data="relation") if r == "add-on to"} == addons
    excluded = {frozenset((str(g.value(a, CD.notation)), str(g.value(b, CD.notation))))
                for a, b in g.subject_objects(CD.excludes)}
    assert {frozenset((u, v)) for u, v, r in graph.edges(data="relation") if r == "excludes"} == excluded
    assert {r for _, _, r in graph.edges(data="relation")} == set(codemap.RELATIONS)


def test_layout_places_every_code_apart(graph):
    pos = codemap.layout(graph)
    assert set(pos) == set(graph)
    closest = min(math.dist(pos[a], pos[b]) for a, b in itertools.combinations(pos, 2))
    assert closest >= 1.0, "two codes overlap in the picture"


def test_the_readme_picture_is_small_and_current(graph, tmp_path):
    assert PICTURE.stat().st_size < 200_000
    fresh = tmp_path / "code-map.png"
    assert codemap.main([str(fresh)]) == 0
    # same size in pixels: the layout behind the committed picture is the ontology's current one
    assert Image.open(fresh).size == Image.open(PICTURE).size
    assert fresh.stat().st_size < 200_000
