"""`chemoden serve` shows the vocabulary reference at /vocabulary: the page vocabulary.py builds
from the served ontology, with the security headers of the other pages and a policy that lets no
script run; the query page links to it."""

import base64
import hashlib
import urllib.request
from pathlib import Path

import pytest

from reasoner.knowledge import vocabulary
from reasoner.knowledge.ontology import load

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.xdist_group("serve")


def get(url):
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, response.headers, response.read()


def test_vocabulary_page(endpoint):
    status, headers, body = get(f"{endpoint}/vocabulary")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert body.decode("utf-8") == vocabulary.page(vocabulary.build(load(ROOT / "ontology").graph))
    csp = headers["Content-Security-Policy"]
    style = base64.b64encode(hashlib.sha256(vocabulary.STYLE.encode()).digest()).decode()
    assert "default-src 'none'" in csp and f"style-src 'sha256-{style}'" in csp and "frame-ancestors 'none'" in csp
    assert "script-src" not in csp and b"<script" not in body
    assert headers["X-Frame-Options"] == "DENY" and headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Content-Type-Options"] == "nosniff"
    for term in (b"cd:billingRegion", b"cd:addOnTo", b"cd:AddOnCode", b"cd:Neck", b"cd:standardProfile"):
        assert term in body


def test_the_query_page_links_to_the_vocabulary(endpoint):
    _, _, page = get(f"{endpoint}/")
    assert b'href="vocabulary"' in page
