"""Reading a procedure note (chemoden extract): the reader lives in reasoner/intake/notes/; this
module keeps its public names where they have always been imported from."""

from .notes import Extraction, Unresolved, annotations, extract, position, problem, table

__all__ = ["Extraction", "Unresolved", "annotations", "extract", "position", "problem", "table"]
