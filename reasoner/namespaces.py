"""The few IRIs the orchestration code needs (vocabulary terms, never codes or muscles)."""

from rdflib import Namespace, URIRef


class _Vocabulary(Namespace):
    """A namespace that makes each of its terms once: rdflib's makes a new URIRef (and checks
    it) on every `CD.x`, which was a tenth of the time spent reading a session."""

    def __getattr__(self, name: str) -> URIRef:
        if name.startswith("__"):
            raise AttributeError(name)
        terms = _TERMS.setdefault(str(self), {})
        term = terms.get(name)
        if term is None:
            term = terms[name] = self.term(name)
        return term


_TERMS: dict[str, dict[str, URIRef]] = {}
CD = _Vocabulary("https://w3id.org/chemoden#")
SESSION_BASE = "https://w3id.org/chemoden/session/"
