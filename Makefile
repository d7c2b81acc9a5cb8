# Chemoden: `make run` codes the bundled examples, `make test` runs the test suite.
# Both create .venv (Python 3.11+) when it is missing and install the project into it.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test setup clean golden bench

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	# the faster OWL-RL engine is optional: without a wheel for this machine, owlrl does the work
	$(BIN)/python -m pip install --quiet -e '.[fast]' || echo "note: 'reasonable' not installed; using owlrl"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/chemoden code examples/; status=$$?; \
	  if [ $$status -gt 1 ]; then exit $$status; fi

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadgroup tests

bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py

golden: $(STAMP)
	for f in tests/golden/*.ttl; do n=$$(basename $$f .ttl); \
	  $(BIN)/chemoden code --format turtle examples/$$n.json > $$f; done

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
