"""Every paper notebook is a valid jupytext percent-format notebook and runs top to bottom at quick scale."""

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
    """Execute the notebook's code cells in order, in a fresh interpreter (as a kernel would)."""
    nb = jupytext.read(path)
    script = tmp_path / "notebook.py"
    script.write_text("\n\n".join(cell.source for cell in nb.cells if cell.cell_type == "code"))
    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
