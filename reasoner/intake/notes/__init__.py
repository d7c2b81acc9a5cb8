"""Reading a procedure note: plain text in, a session in the documented input format out, with
the character span each fact came from and what could not be settled (`unresolved`).

The reader is rule-based, after the ConText algorithm: the note is cut into sections (by their
headings) and sentences (or table rows, list items); names are found by the longest phrase the
ontology knows; a target counts as injected today unless its section or a trigger in its
sentence (negation, history, plan, examination) puts it out; its side is the side word next to
it, else its table column, else the last side word of its sentence, else its heading's; its dose
is the amount written in its clause (per site, per side, per kilogram worked out). Every word
list comes from the ontology (knowledge/reading.py); nothing here names a muscle or a code.

The modules, each using only those listed before it (pyproject.toml's import contract):
provenance (the Extraction, the record of spans and unresolved items, the table and the Web
Annotations), patterns (numbers, units, the field cues' patterns), structure (lines, sections,
sentences, tables), mentions (tokens, known phrases, ConText), doses (amounts and their labels),
injections (targets of today, their sides and doses) and assembly (the whole note, `extract`).
"""

from .assembly import extract
from .provenance import Extraction, Unresolved, annotations, position, problem, table

__all__ = ["Extraction", "Unresolved", "annotations", "extract", "position", "problem", "table"]
