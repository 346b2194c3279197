"""Every paper notebook is a valid jupytext percent-format notebook and runs top to bottom at quick scale,
executed as a notebook, the way a reader would: `jupytext --to ipynb --execute` (nbconvert's executor
and the ipykernel of the test extra) in a fresh kernel; no cell may fail."""

import json
import os
import subprocess
import sys
from pathlib import Path

import jupytext
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "paper_notebooks").glob("*.py"))


def test_there_are_notebooks():
    assert NOTEBOOKS, "paper_notebooks/ holds no notebook"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_percent_format_with_markdown_and_code(path):
    nb = jupytext.read(path)
    kinds = {cell.cell_type for cell in nb.cells}
    assert kinds == {"markdown", "code"}
    assert nb.metadata["jupytext"]["text_representation"]["format_name"] == "percent"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes(path, tmp_path):
    """`jupytext --to ipynb --execute` in a scratch directory: every code cell runs in a kernel, in order."""
    executed = tmp_path / f"{path.stem}.ipynb"
    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.run([sys.executable, "-m", "jupytext", "--to", "ipynb", "--execute", "--run-path", str(tmp_path), "--output", str(executed), str(path)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    cells = [cell for cell in json.loads(executed.read_text())["cells"] if cell["cell_type"] == "code"]
    assert cells and all(cell.get("execution_count") for cell in cells if cell["source"]), "a code cell did not run"
    errors = [out for cell in cells for out in cell.get("outputs", []) if out.get("output_type") == "error"]
    assert not errors, errors[0]["ename"] + ": " + errors[0]["evalue"]
