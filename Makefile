# Chemoden: `make run` codes the bundled examples, `make test` runs the test suite.
# Both create .venv (Python 3.11+) when it is missing and install the project into it.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# YASGUI for the query page of `chemoden serve`, from the npm registry (package-lock.json)
WEB    := node_modules/.package-lock.json

.PHONY: run test parity setup clean golden eval-notes bench bench-store browser fuzz load lab code-map vocabulary strip-notebooks

setup: $(STAMP) $(WEB) browser

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	# the faster OWL-RL engine is optional: without a wheel for this machine, owlrl does the work
	$(BIN)/python -m pip install --quiet -e '.[fast]' || echo "note: 'reasonable' not installed; using owlrl"
	touch $(STAMP)

$(WEB): package.json package-lock.json
	if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund --ignore-scripts --loglevel=error; \
	  else echo "note: npm not found; the query page of chemoden serve falls back to a plain form"; fi

# Debian's Chromium for the browser test of the query page (installed when missing and root)
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "note: chromium not installed (needs root and apt-get); the browser test will be skipped"; fi; }

# also the query page's YASGUI files: `chemoden serve` right after `make run` shows the full page
run: $(STAMP) $(WEB)
	$(BIN)/chemoden code examples/; status=$$?; \
	  if [ $$status -gt 1 ]; then exit $$status; fi

test: $(STAMP) $(WEB) browser
	$(BIN)/python -m pytest -n 2 --dist loadgroup tests

# the reference paths (owlrl closure, rdflib store) against the fast ones on every fixture, not
# only on the sample that fires every rule which `make test` compares (CI runs both)
parity: $(STAMP)
	CHEMODEN_PARITY=full $(BIN)/python -m pytest -n 2 --dist loadgroup tests/test_parity.py tests/test_history.py
	CHEMODEN_PARITY=full $(BIN)/python -m pytest -n 2 --dist loadgroup -m parity tests

# 10,000 generated and mutated inputs through reading, validation and coding, then 1,000 mutated
# procedure notes through extract and code; 0 crashes allowed
fuzz: $(STAMP)
	$(BIN)/python tests/fuzzing.py --count 10000

# 50 concurrent clients (library queries and POST /code) plus 2 sending heavy queries, for 60 s
# against a loopback server, with one then two coding workers
load: $(STAMP)
	$(BIN)/python benchmarks/load.py --clients 50 --heavy 2 --seconds 60 --code-workers 1,2

# JupyterLab on the project's environment, opened on notebooks/ (installs the `lab` extra once);
# LAB_ARGS passes options on, e.g. make lab LAB_ARGS='--no-browser --port 8888'
LAB := $(VENV)/.lab-installed
LAB_ARGS ?=
$(LAB): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[lab]'
	touch $(LAB)

lab: $(LAB)
	$(BIN)/jupyter lab --notebook-dir=notebooks $$([ "$$(id -u)" = 0 ] && echo --allow-root) $(LAB_ARGS)

# Notebooks are committed without outputs (tests/test_notebooks.py checks): clear them after `make lab`
strip-notebooks: $(LAB)
	$(BIN)/jupyter nbconvert --clear-output --inplace notebooks/*.ipynb

# The README's picture of the code map, drawn from the ontology
code-map: $(STAMP)
	$(BIN)/python -m reasoner.surfaces.codemap docs/code-map.png

# docs/vocabulary.md, the vocabulary reference, generated from the ontology (run after changing
# any ontology/*.ttl; tests/test_vocabulary.py fails when it is out of date)
vocabulary: $(STAMP)
	$(BIN)/python -m reasoner.knowledge.vocabulary docs/vocabulary.md

# chemoden extract over the note corpus (tests/notes/): precision, recall and F1 per field, and the
# share of notes coded like their expected session (tests/test_notes.py holds the floors)
# NOTES=tests/notes-heldout measures on notes never used to build the reader
NOTES ?= tests/notes
eval-notes: $(STAMP)
	$(BIN)/python tests/notes_eval.py --corpus $(NOTES)

bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py

# The treatment-history store with a year of 10,000 then 100,000 generated sessions: chemoden load
# --jobs 2 (time, memory, size), serve --store's start-up, four aggregate queries over the store
# (query --store and /sparql) and over --session with 5,000 sessions; writes
# benchmarks/store-results.json. Long (most of an hour on 2 cores) and not part of make test.
bench-store: $(STAMP)
	$(BIN)/python benchmarks/store.py

golden: $(STAMP)
	for f in tests/golden/*.ttl; do n=$$(basename $$f .ttl); \
	  $(BIN)/chemoden code --format turtle examples/$$n.json > $$f; done

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info node_modules test-artifacts
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
