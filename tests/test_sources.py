"""docs/sources.md is the project's sources document: the ontology, the query files and the
documentation cite its sections as `docs/sources.md#<slug>`. These tests keep the citations
and the document in step, and keep the project from citing anything outside the repository.

- every `docs/sources.md#slug` anywhere in ontology/, docs/, README.md, notebooks/ and the test
  fixtures names a `### slug` section (one test per citation, named FILE:LINE:slug);
- every `dcterms:source` literal and every `# source:` query header that cites the sources
  document does so in that form (other parts of the value, such as "seed article" or
  "issue 3 catalogue", stay beside it, separated by `; `);
- no file in ontology/, reasoner/, docs/, README.md, notebooks/ or tests/ mentions the old
  research notes (`coding-facts`) or a path outside the repository (`../shared`);
- every section has a slug heading, a Fact line and a Sources line with an https:// address and
  a known confidence grade.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "docs" / "sources.md"
SOURCES_REL = "docs/sources.md"

SCANNED = ["ontology", "reasoner", "docs", "README.md", "notebooks", "tests"]
TEXT_SUFFIXES = {".ttl", ".rq", ".md", ".py", ".ipynb", ".json", ".jsonld", ".jsonl", ".tsv", ".txt",
                 ".html", ".js", ".css", ".toml", ".cfg", ".ini", ".yaml", ".yml", ".csv"}
SKIP_DIRS = {"__pycache__", "node_modules", ".ipynb_checkpoints", ".pytest_cache"}
THIS_FILE = Path(__file__).resolve()

CITATION = re.compile(r"docs/sources\.md#(<[^>]*>|[^\s;:,.)\"'`\]\\<]*)")  # <slug>: a placeholder
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
FORBIDDEN = re.compile(r"coding-facts|\.\./shared|/work/shared|shared/reference")
GRADES = ("verified", "secondary", "not confirmed")
DCTERMS_SOURCE = URIRef("http://purl.org/dc/terms/source")
HEADER = re.compile(r"^#\s*([a-z]+):\s*(.*)$")


def _files() -> list[Path]:
    found = []
    for name in SCANNED:
        path = ROOT / name
        candidates = [path] if path.is_file() else sorted(path.rglob("*"))
        for file in candidates:
            if not file.is_file() or file.resolve() == THIS_FILE:
                continue
            if SKIP_DIRS.intersection(file.relative_to(ROOT).parts) or file.suffix not in TEXT_SUFFIXES:
                continue
            found.append(file)
    return found


FILES = _files()


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8", errors="replace").splitlines()


# --- the sources document ---------------------------------------------------------------------

def _sections() -> list[tuple[str, int, list[str]]]:
    """(slug, line number of its heading, the lines up to the next heading) for each `### `."""
    lines = _lines(SOURCES)
    sections = []
    for number, line in enumerate(lines, 1):
        if line.startswith("### "):
            body = []
            for following in lines[number:]:
                if following.startswith("#"):
                    break
                body.append(following)
            sections.append((line[4:].strip(), number, body))
    return sections


SECTIONS = _sections()
SLUGS = {slug for slug, _, _ in SECTIONS}


def test_the_document_has_sections_and_a_place_for_later_ones():
    text = SOURCES.read_text(encoding="utf-8")
    assert len(SECTIONS) >= 30, f"{SOURCES_REL} has only {len(SECTIONS)} sections"
    assert "\n## Sections added by later changes" in text, \
        f"{SOURCES_REL} must keep its '## Sections added by later changes' heading"
    duplicates = sorted({slug for slug, _, _ in SECTIONS if [s for s, _, _ in SECTIONS].count(slug) > 1})
    assert not duplicates, f"{SOURCES_REL}: slugs used twice: {duplicates}"


@pytest.mark.parametrize("slug,line,body", SECTIONS, ids=[f"{SOURCES_REL}:{n}:{s}" for s, n, _ in SECTIONS])
def test_section_has_fact_and_sources(slug, line, body):
    where = f"{SOURCES_REL}:{line}: ### {slug}"
    assert SLUG.match(slug), f"{where}: a slug is lower case letters, digits and single hyphens"
    facts = [text for text in body if text.startswith("**Fact.** ")]
    sources = [text for text in body if text.startswith("**Sources.** ")]
    assert len(facts) == 1 and len(facts[0]) > len("**Fact.** ") + 10, f"{where}: needs one '**Fact.** ...' line"
    assert len(sources) == 1, f"{where}: needs one '**Sources.** ...' line"
    assert body.index(facts[0]) < body.index(sources[0]), f"{where}: the Fact comes before the Sources"
    assert "https://" in sources[0], f"{where}: the Sources line needs at least one https:// address"
    grades = re.findall(r"\(how sure: ([^),;]*)", sources[0])
    assert grades, f"{where}: each source says '(how sure: verified | secondary | not confirmed)'"
    unknown = [grade for grade in grades if not grade.strip().startswith(GRADES)]
    assert not unknown, f"{where}: unknown confidence {unknown}; use one of {', '.join(GRADES)}"


def _internal_links() -> list[tuple[int, str]]:
    return [(number, match) for number, line in enumerate(_lines(SOURCES), 1)
            for match in re.findall(r"\]\(#([^)]*)\)", line)]


@pytest.mark.parametrize("line,slug", _internal_links(), ids=lambda value: str(value))
def test_links_inside_the_document_name_a_section(line, slug):
    assert slug in SLUGS, f"{SOURCES_REL}:{line}: link to #{slug}, which is no section"


# --- citations --------------------------------------------------------------------------------

def _citations() -> list[tuple[str, int, str]]:
    return [(_rel(file), number, match)
            for file in FILES
            for number, line in enumerate(_lines(file), 1)
            for match in CITATION.findall(line) if not match.startswith("<")]


CITATIONS = _citations()


def test_the_ontology_cites_the_sources_document():
    in_ontology = [c for c in CITATIONS if c[0].startswith("ontology/")]
    assert len(in_ontology) >= 100, f"only {len(in_ontology)} citations of {SOURCES_REL} found in ontology/"


@pytest.mark.parametrize("path,line,slug", CITATIONS, ids=[f"{p}:{n}:{s}" for p, n, s in CITATIONS])
def test_citation_names_a_section(path, line, slug):
    assert slug in SLUGS, f"{path}:{line}: cites {SOURCES_REL}#{slug}, but {SOURCES_REL} has no '### {slug}'"


def _source_values() -> list[tuple[str, int, str]]:
    """Each dcterms:source literal of the ontology's Turtle and each '# source:' query header,
    with the file and line it is on."""
    values = []
    for file in sorted((ROOT / "ontology").rglob("*.ttl")):
        graph = Graph().parse(file, format="turtle")
        lines = _lines(file)
        for value in sorted({str(o) for o in graph.objects(None, DCTERMS_SOURCE) if isinstance(o, Literal)}):
            number = next((n for n, line in enumerate(lines, 1) if value[:40] in line), 0)
            values.append((_rel(file), number, value))
    for file in sorted((ROOT / "ontology").rglob("*.rq")):
        key, start, parts = None, 0, {}
        for number, line in enumerate(_lines(file), 1):
            if not line.startswith("#"):
                if line.strip():
                    break
                continue
            match = HEADER.match(line)
            if match and not line.startswith("#  "):
                key = match.group(1)
                if key == "source":
                    start, parts[number] = number, [match.group(2)]
            elif key == "source":
                parts[start].append(line[1:].strip())
        values += [(_rel(file), number, " ".join(part)) for number, part in parts.items()]
    return values


SOURCE_VALUES = _source_values()


@pytest.mark.parametrize("path,line,value", SOURCE_VALUES, ids=[f"{p}:{n}" for p, n, _ in SOURCE_VALUES])
def test_source_values_cite_sections_in_the_agreed_form(path, line, value):
    for word in re.findall(r"\S*sources\.md\S*", value):
        assert re.fullmatch(r"docs/sources\.md#[a-z0-9]+(?:-[a-z0-9]+)*[;,)]?", word), \
            f"{path}:{line}: '{word}' should be 'docs/sources.md#<slug>' (several separated by '; ')"


# --- nothing outside the repository -------------------------------------------------------------

@pytest.mark.parametrize("path", FILES, ids=[_rel(f) for f in FILES])
def test_no_citation_outside_the_repository(path):
    hits = [f"{_rel(path)}:{number}: {line.strip()[:120]}"
            for number, line in enumerate(_lines(path), 1) if FORBIDDEN.search(line)]
    assert not hits, ("cites a file outside the repository; cite docs/sources.md#<slug> instead:\n"
                      + "\n".join(hits))
