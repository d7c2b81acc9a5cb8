"""Which format an HTTP answer is written in: a `format`/`output` parameter first, else the best
of the Accept header (SPARQL 1.1 Protocol, with the names common clients send)."""

from __future__ import annotations

from ..core.errors import Refusal
from ..engines.answer import GRAPH_FORMATS, MEDIA_TYPES, RESULT_FORMATS

# `format` / `output` parameter values (as many clients send them) -> format
FORMAT_NAMES = {"json": "json", "srj": "json", "xml": "xml", "srx": "xml", "csv": "csv", "tsv": "tsv",
                "turtle": "turtle", "ttl": "turtle", "json-ld": "json-ld", "jsonld": "json-ld",
                "nt": "n-triples", "n-triples": "n-triples", "ntriples": "n-triples", "rdf": "rdf-xml",
                "rdf-xml": "rdf-xml", "rdfxml": "rdf-xml"}
FORMAT_NAMES.update({media: name for name, media in MEDIA_TYPES.items()})
ACCEPT_ALIASES = {"application/json": "json", "application/xml": "xml", "text/xml": "xml",
                  "application/x-turtle": "turtle", "application/json+ld": "json-ld", "text/plain": None}


def negotiate(form: str | None, accept: str | None, explicit: str | None) -> str:
    """The answer format: a `format`/`output` parameter first, else the best of Accept."""
    offered = GRAPH_FORMATS if form == "graph" else RESULT_FORMATS
    if explicit:
        name = FORMAT_NAMES.get(explicit.strip().lower())
        if name in offered:
            return name
    if not accept:
        return offered[0]
    choices = []
    for n, part in enumerate(accept.split(",")):
        fields = [f.strip() for f in part.split(";")]
        media, q = fields[0].lower(), 1.0
        for f in fields[1:]:
            if f.startswith("q="):
                try:
                    q = float(f[2:])
                except ValueError:
                    q = 0.0
        if q <= 0 or not media:
            continue
        if media in ("*/*", "application/*", "text/*"):
            kind = media.split("/")[0]
            matches = [o for o in offered if kind == "*" or MEDIA_TYPES[o].startswith(kind + "/")]
        else:
            name = FORMAT_NAMES.get(media) if media in MEDIA_TYPES.values() else ACCEPT_ALIASES.get(media)
            matches = [name] if name in offered else []
        choices += [(-q, n, offered.index(m), m) for m in matches]
    if not choices:
        raise Refusal(406, f"none of the formats accepted ({accept}) can carry this answer; offered: "
                           + ", ".join(MEDIA_TYPES[o] for o in offered))
    return min(choices)[3]
