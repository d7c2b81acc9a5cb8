"""The query library: ontology/queries/NAME.rq, each with a title, a description and an example
(and, for a query that reads coded sessions, `# needs: sessions`), and how a QUERY argument (a
library name, a .rq file or SPARQL text) is read."""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import OntologyError, QueryError
from .ontology import header_lines


@dataclass(frozen=True)
class LibraryQuery:
    name: str
    title: str
    description: str
    example: str  # the command, then what it prints (table format)
    text: str
    path: Path
    needs: frozenset[str] = frozenset()  # what the dataset must hold for an answer: "sessions"

    def as_dict(self) -> dict:
        return {"name": self.name, "title": self.title, "description": self.description, "query": self.text}


LIBRARY_HEADER = ("title", "description", "example")
NEEDS = {"sessions"}  # the values `# needs:` may list


def parse_library_header(text: str) -> dict[str, str]:
    """The header (ontology.header_lines). The example keeps its line breaks (it is a table);
    other values are joined into one line."""
    header = header_lines(text)
    out = {}
    for key, lines in header.items():
        first, rest = lines[0], textwrap.dedent("\n".join(lines[1:])).strip("\n")
        if key == "example":
            out[key] = "\n".join(part for part in (first, rest) if part)
        else:
            out[key] = " ".join(" ".join(part.split()) for part in (first, rest) if part.strip())
    return out


def library(ontology_dir: Path) -> dict[str, LibraryQuery]:
    """The named queries of the ontology folder, by name (file name without .rq), sorted."""
    out = {}
    for path in sorted((Path(ontology_dir) / "queries").glob("*.rq")):
        text = path.read_text(encoding="utf-8")
        header = parse_library_header(text)
        missing = [k for k in LIBRARY_HEADER if not header.get(k)]
        if missing:
            raise OntologyError(f"library query header lacks {', '.join(missing)}", source=str(path))
        needs = frozenset(header.get("needs", "").replace(",", " ").split())
        if needs - NEEDS:
            raise OntologyError(f"library query header: needs {', '.join(sorted(needs - NEEDS))} is unknown "
                                f"(known: {', '.join(sorted(NEEDS))})", source=str(path))
        out[path.stem] = LibraryQuery(path.stem, header["title"], header["description"], header["example"], text, path,
                                      needs)
    return out


def named(name: str, queries: dict[str, LibraryQuery]) -> LibraryQuery:
    """The library query called name; a QueryError listing the names for any other."""
    if name not in queries:
        raise QueryError(f"{name!r} is not a library query; the library has: {', '.join(queries)}")
    return queries[name]


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # SPARQL text too long for a file name
        return False


def resolve(argument: str, queries: dict[str, LibraryQuery]) -> str:
    """QUERY as given on the command line: a .rq file, a library query's name, or SPARQL text."""
    path = Path(argument)
    if argument in queries and not argument.endswith(".rq"):
        return queries[argument].text
    if argument.endswith(".rq") or _is_file(path):
        try:
            return path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise QueryError("file not found", source=argument) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise QueryError(f"cannot read: {exc}", source=argument) from None
    if re.fullmatch(r"[\w.-]+", argument):
        raise QueryError(f"{argument!r} is not a library query, a .rq file or SPARQL text "
                         "(`chemoden query --list` shows the library)")
    return argument


