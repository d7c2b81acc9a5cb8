"""Reasoning and SPARQL backends: which engines exist (registry), OWL-RL closures (owlrl,
reasonable, rl), where SPARQL runs (rdflib, Oxigraph), answers and their formats, and what a
query may do."""
