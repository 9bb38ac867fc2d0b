"""The validation document (docs/validation.md, TRACE) names checks that exist.

Every claim in its tables names the test functions (`tests/FILE.py::NAME`) or notebooks
(`notebooks/NAME.ipynb`, whose cell headed `# Claims` asserts it) that check it, or says
"not tested:" and why. The test files are read as text, not imported, so a renamed or
removed test, or a notebook that lost its claims cell, fails here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENT = ROOT / "docs" / "validation.md"
HEADER = "| claim | where it is made | checked by |"
TEST_REFERENCE = re.compile(r"\btests/[\w/]+\.py::\w+")
NOTEBOOK_REFERENCE = re.compile(r"\bnotebooks/[\w/-]+\.ipynb")
ELEMENTS = (
    "1 Problem formulation",
    "2 Model description",
    "3 Data evaluation",
    "4 Conceptual model evaluation",
    "5 Implementation verification",
    "6 Model output verification",
    "7 Model analysis",
    "8 Model output corroboration",
)
MINIMUM_REFERENCES = 40


def _text() -> str:
    return DOCUMENT.read_text(encoding="utf-8")


def _table_rows(text: str) -> list[list[str]]:
    """The cells of every body row of the claim tables (those under HEADER)."""
    rows, in_table = [], False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped == HEADER:
            in_table = True
        elif in_table and stripped.startswith("|"):
            if not re.fullmatch(r"\|(\s*:?-+:?\s*\|)+", stripped):  # the separator row
                rows.append([cell.strip() for cell in stripped.strip("|").split("|")])
        else:
            in_table = False
    return rows


def _test_references() -> list[str]:
    return sorted(set(TEST_REFERENCE.findall(_text())))


def _notebook_references() -> list[str]:
    return sorted(set(NOTEBOOK_REFERENCE.findall(_text())))


def test_the_document_has_a_claim_table_for_every_trace_element():
    text = _text()
    headings = re.findall(r"^## (.+)$", text, flags=re.MULTILINE)
    assert headings == list(ELEMENTS)
    assert text.count(HEADER) == len(ELEMENTS)


def test_the_document_names_at_least_40_checks():
    references = TEST_REFERENCE.findall(_text()) + NOTEBOOK_REFERENCE.findall(_text())
    assert len(references) >= MINIMUM_REFERENCES, len(references)


@pytest.mark.parametrize("reference", _test_references())
def test_each_named_test_function_is_defined_at_the_top_level_of_its_file(reference):
    path, name = reference.split("::")
    file = ROOT / path
    assert file.is_file(), f"{path} does not exist"
    source = file.read_text(encoding="utf-8")
    # Top level: `def` at the start of a line; a decorator (e.g. pytest.mark.parametrize) may precede it.
    assert re.search(rf"^(?:async\s+)?def\s+{re.escape(name)}\s*\(", source, flags=re.MULTILINE), (
        f"{path} defines no function {name}"
    )


@pytest.mark.parametrize("reference", _notebook_references())
def test_each_named_notebook_has_a_code_cell_headed_claims(reference):
    path = ROOT / reference
    assert path.is_file(), f"{reference} does not exist"
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    sources = ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "code"]
    assert any(source.startswith("# Claims") for source in sources), f"{reference} has no cell headed '# Claims'"


def test_every_claim_names_a_check_or_says_why_it_is_not_tested():
    rows = _table_rows(_text())
    assert rows, "no claim table found"
    for cells in rows:
        assert len(cells) == 3, cells
        claim, where, checked_by = cells
        assert claim and where, cells
        named = TEST_REFERENCE.search(checked_by) or NOTEBOOK_REFERENCE.search(checked_by)
        assert named or checked_by.startswith("not tested:"), f"no check for: {claim}"
