"""The notebooks (notebooks/*.ipynb): stored without outputs, each opening with what it shows and how
to run it, and each executed top to bottom here, so none can rot. The executed copies are written to
test-artifacts/notebooks/ for a look."""

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
ARTIFACTS = ROOT / "test-artifacts" / "notebooks"
# pictures each notebook must show (a plot that silently stopped drawing fails here)
PICTURES = {"1-code-map": 1, "2-muscles-and-regions": 2, "3-one-session-step-by-step": 1, "4-auditing-a-batch": 3,
            "6-a-practices-year": 4, "7-reading-a-procedure-note": 1}
# one kernel at a time: the notebooks share the two cores with the rest of the suite
pytestmark = pytest.mark.xdist_group("notebooks")


def test_the_seven_notebooks_are_there():
    assert [p.name.split("-")[0] for p in NOTEBOOKS] == ["1", "2", "3", "4", "5", "6", "7"]
    assert set(PICTURES) <= {p.stem for p in NOTEBOOKS}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_stored_without_outputs_and_introduced(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for n, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, \
                f"{path.name} cell {n} keeps its outputs: run `make strip-notebooks` before committing"
    intro = nb.cells[0]
    assert intro.cell_type == "markdown" and intro.source.startswith("# "), f"{path.name}: no title"
    assert "**What it shows.**" in intro.source and "**How to run.**" in intro.source, path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_runs_top_to_bottom(path):
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=180, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()  # raises CellExecutionError, naming the cell, on the first error
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, ARTIFACTS / path.name)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    pictures = sum("image/png" in o.get("data", {}) for o in outputs)
    assert pictures >= PICTURES.get(path.stem, 0), f"{path.name} showed {pictures} picture(s)"
    warnings = [o.text for o in outputs if o.output_type == "stream" and o.name == "stderr"]
    assert not warnings, f"{path.name} wrote to stderr: {warnings}"
