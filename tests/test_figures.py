"""Figures for print: every saved figure is PNG and PDF and says which version and commit
made it."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from PIL import Image

import huzhu
from huzhu import MutualAidModel
from huzhu.cli import _parser
from huzhu.experiments.figures import overview_figure, provenance_text
from huzhu.experiments.paper_figures import FIGURES, argv_of, recipe_for

ROOT = Path(__file__).resolve().parents[1]


def _figures_shown() -> set[str]:
    shown = set()
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", page.read_text()):
            shown.add((page.parent / target).resolve().relative_to(ROOT).as_posix())
    return shown


def test_a_saved_figure_is_png_and_pdf_each_naming_the_version_and_commit_that_made_it(tmp_path):
    table = MutualAidModel(n_agents=2_000, rng=1).run()
    written = overview_figure(table, tmp_path / "overview")
    assert sorted(p.suffix for p in written) == [".pdf", ".png"]
    made_by = provenance_text()
    assert re.fullmatch(rf"huzhu {re.escape(huzhu.__version__)}, git ([0-9a-f]{{40}}(-dirty)?|unknown)", made_by)
    png = next(p for p in written if p.suffix == ".png")
    assert Image.open(png).text["Software"] == made_by
    pdf = next(p for p in written if p.suffix == ".pdf").read_bytes()
    assert f"/Creator ({made_by})".encode() in pdf


def test_every_figure_the_readme_and_docs_show_has_a_recipe_that_makes_it():
    shown = _figures_shown()
    assert len(shown) >= 8
    missing = sorted(figure for figure in shown if recipe_for(figure) is None)
    assert not missing, f"figures with no recipe in huzhu.experiments.paper_figures: {missing}"
    assert all((ROOT / figure).is_file() for figure in shown)


@pytest.mark.parametrize("recipe", FIGURES, ids=[r.name for r in FIGURES])
def test_each_recipe_is_a_valid_command_of_the_package(recipe):
    for command in recipe.commands:
        words = shlex.split(command)
        if words[0] == "huzhu":
            args = _parser().parse_args(words[1:])  # an unknown option or value exits
            assert args.command == words[1]
        else:
            assert argv_of(command)[1:3] == ["-m", "huzhu.viz.browser"]
    assert recipe.product.endswith(".png") and recipe.figure.endswith(".png")
