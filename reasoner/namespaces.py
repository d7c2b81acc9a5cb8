"""The few IRIs the orchestration code needs (vocabulary terms, never codes or muscles)."""

from rdflib import Namespace

CD = Namespace("https://w3id.org/chemoden#")
SESSION_BASE = "https://w3id.org/chemoden/session/"
