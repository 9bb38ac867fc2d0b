"""The documentation says what the code does: parameter table, ODD names, notebook."""

from __future__ import annotations

import re
from pathlib import Path

from huzhu.cli import main
from huzhu.model.model import REPORTED_COLUMNS
from huzhu.model.parameters import PARAMETERS

ROOT = Path(__file__).resolve().parents[1]


def test_docs_parameter_table_is_what_huzhu_params_prints(capsys):
    main(["params", "--format", "markdown"])
    assert (ROOT / "docs" / "parameters.md").read_text() == capsys.readouterr().out, (
        "regenerate with: huzhu params --format markdown > docs/parameters.md"
    )


def test_every_parameter_has_a_unit_and_a_source():
    for p in PARAMETERS:
        assert p.unit, p.name
        assert len(p.source) > 10, p.name


def test_the_model_description_names_every_parameter_and_output_column():
    odd = (ROOT / "docs" / "ODD.md").read_text()
    missing = [p.name for p in PARAMETERS if p.name not in odd]
    assert not missing, f"parameters not described in docs/ODD.md: {missing}"
    missing_columns = [c for c in REPORTED_COLUMNS if not re.search(rf"`{c}`", odd) and c not in ("period", "date")]
    assert not missing_columns, f"output columns not defined in docs/ODD.md: {missing_columns}"


def test_the_experiments_guide_lists_every_summary_with_its_unit_and_definition():
    from huzhu.experiments.summaries import ALL_METRICS

    guide = (ROOT / "docs" / "experiments.md").read_text()
    missing = [m.name for m in ALL_METRICS.values() if f"| `{m.name}` | {m.unit} | {m.definition} |" not in guide]
    assert not missing, f"summaries not listed (name, unit, definition) in docs/experiments.md: {missing}"


def test_the_model_description_follows_the_odd_protocol_2020_update_in_full():
    # Grimm et al. 2020 (JASSS 23(2) 7): seven elements, and eleven design concepts.
    odd = (ROOT / "docs" / "ODD.md").read_text()
    headings = re.findall(r"^## (\d)\. (.+)$", odd, flags=re.MULTILINE)
    assert [title for _, title in headings] == [
        "Purpose and patterns", "Entities, state variables and scales", "Process overview and scheduling",
        "Design concepts", "Initialisation", "Input data", "Submodels",
    ]  # fmt: skip
    concepts = odd.split("## 4. Design concepts", 1)[1].split("## 5.", 1)[0]
    named = re.findall(r"^- \*\*(\w[\w ]*)\.\*\*", concepts, flags=re.MULTILINE)
    assert named == [
        "Basic principles", "Emergence", "Adaptation", "Objectives", "Learning", "Prediction", "Sensing",
        "Interaction", "Stochasticity", "Collectives", "Observation",
    ]  # fmt: skip
