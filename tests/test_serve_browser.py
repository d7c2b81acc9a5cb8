"""The query page in a real browser: Debian's headless Chromium, driven by Playwright, opens the
YASGUI page of `chemoden serve`, picks a library query, runs it and shows its results. The page
and its scripts come from the endpoint itself (the network is not needed). A screenshot is kept
in test-artifacts/ (git-ignored)."""

import os
import shutil
from pathlib import Path

import pytest

from reasoner import code_file

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
pytestmark = pytest.mark.xdist_group("serve")


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: `make setup` installs Debian's chromium")
        pytest.skip("chromium is not installed (make setup installs it as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


def test_a_library_query_runs_from_the_page(endpoint, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    requests_elsewhere = []
    page.on("request", lambda r: None if r.url.startswith(endpoint) else requests_elsewhere.append(r.url))
    page.goto(f"{endpoint}/")
    page.wait_for_selector(".yasqe .CodeMirror")
    page.select_option("#library", "code-frequencies")
    editor = page.locator(".CodeMirror:visible").first.inner_text()
    assert "How often each code is billed" in editor
    page.locator(".yasqe_queryButton:visible").click()
    table = page.locator(".yasr table.dataTable:visible").first
    table.locator("tbody tr").first.wait_for(timeout=20_000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "yasgui-code-frequencies.png"))
    header = [c.strip() for c in table.locator("thead th").all_inner_texts()]
    cells = [[c.strip() for c in row.locator("td").all_inner_texts()] for row in table.locator("tbody tr").all()]
    assert [h for h in header if h] == ["code", "sessions", "totalUnits", "withModifier"]
    # the page shows what the coder derives: the codes of the example sessions, with session counts
    sessions = {}
    for path in sorted(p for p in (ROOT / "examples").rglob("*") if p.is_file()):
        if path.suffix in (".json", ".ttl"):
            for result in code_file(path):
                for line in result.lines:
                    sessions.setdefault(line.code, set()).add(result.session.identifier)
    code, count = header.index("code"), header.index("sessions")
    shown = {row[code]: row[count] for row in cells}
    assert shown == {code: str(len(ids)) for code, ids in sessions.items()}
    assert requests_elsewhere == []  # YASGUI came from the endpoint, nothing from elsewhere
    page.close()


def test_a_new_tab_starts_with_the_prefixes_and_errors_read_as_in_the_terminal(endpoint, browser):
    from reasoner.core.vocab import PREFIXES
    from reasoner.engines.safety import inspect

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{endpoint}/")
    page.wait_for_selector(".yasqe .CodeMirror")
    page.locator(".addTab").first.click()  # YASGUI's "+": a new tab with the default query
    page.wait_for_function("window.chemodenYasgui.getTab().getYasqe() !== undefined")
    text = page.evaluate("window.chemodenYasgui.getTab().getYasqe().getValue()")
    assert text.startswith("\n".join(f"PREFIX {p}: <{iri}>" for p, iri in PREFIXES.items()) + "\n")
    inspect(text)  # the starter query itself is good SPARQL
    bad = "SELECT * WHERE { ?s ?p }"
    page.evaluate(f"window.chemodenYasgui.getTab().getYasqe().setValue({bad!r})")
    page.locator(".yasqe_queryButton:visible").click()
    error = page.locator(".yasr .errorResult:visible").first
    error.wait_for(timeout=20_000)
    assert ("SPARQL syntax error at line 1, column 24: expected a variable, an IRI, a prefixed name or a literal, "
            "found '}'") in error.inner_text()
    page.close()
