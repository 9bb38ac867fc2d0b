"""Figures for print: every saved figure is PNG and PDF and says which version and commit
made it."""

from __future__ import annotations

import re

from PIL import Image

import huzhu
from huzhu import MutualAidModel
from huzhu.experiments.figures import overview_figure, provenance_text


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
