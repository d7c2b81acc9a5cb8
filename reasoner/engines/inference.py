"""The OWL-RL step behind one small interface.

Reasoners:
- "owlrl": the reference, pure-Python forward chaining (owlrl on rdflib);
- "reasonable": a Rust OWL 2 RL reasoner, used only because a parity test
  (tests/test_parity.py) proves it gives the same codes as "owlrl" on every fixture.
Which one "auto" means is engines/registry.py's to say.
The ontology keeps to rules both implement (no property chains, no cardinality).
"""

from __future__ import annotations

from rdflib import Graph, Literal
from rdflib.namespace import XSD

from . import registry


def closure(graph: Graph, engine: str = "auto") -> Graph:
    """A new graph holding `graph` and everything OWL-RL infers from it."""
    engine = registry.closure_engine(engine)
    out = Graph()
    for prefix, ns in graph.namespaces():
        out.bind(prefix, ns, override=False)
    out += graph
    if engine == "owlrl":
        import owlrl

        owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(out)
        return out
    for triple in reasonable_closure([graph]):
        out.add(triple)
    return out


def reasonable_closure(sources) -> list[tuple]:
    """Everything the Rust reasoner entails from the triples of `sources` (graphs or lists)."""
    import reasonable

    reasoner = reasonable.PyReasoner()
    for source in sources:
        reasoner.from_graph(source)
    triples = []
    for s, p, o in reasoner.reason():
        # reasonable writes plain literals back as xsd:string; in RDF 1.1 they are the same
        # term, but rdflib would count them twice, so keep the plain form
        if isinstance(o, Literal) and o.datatype == XSD.string:
            o = Literal(str(o), lang=o.language)
        triples.append((s, p, o))
    return triples
