"""The few IRIs the orchestration code needs (vocabulary terms, never codes or muscles)."""

from rdflib import Namespace, URIRef


class _Vocabulary(Namespace):
    """A namespace that makes each of its terms once: rdflib's makes a new URIRef (and checks
    it) on every `CD.x`, which was a tenth of the time spent reading a session. The term is
    kept as an attribute of the namespace, so the next `CD.x` is a plain attribute read."""

    def __getattr__(self, name: str) -> URIRef:
        if name.startswith("__"):
            raise AttributeError(name)
        term = self.term(name)
        object.__setattr__(self, name, term)
        return term


CD = _Vocabulary("https://w3id.org/chemoden#")
SESSION_BASE = "https://w3id.org/chemoden/session/"
