"""Coding: the one entry every surface calls (entry.py), the fast and reference paths, the
rules and checks run over classified sessions (derive.py), results, and traces."""
