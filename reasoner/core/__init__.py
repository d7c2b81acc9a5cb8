"""Foundations: the error tree with exit codes, the vocabulary and prefixes, NDC forms, the
version. Imports nothing else of the package."""
