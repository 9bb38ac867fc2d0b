"""Where every figure of the README and docs/ comes from: the command that makes it at
full size, from the shipped experiment files, presets and calibration (`huzhu figures`,
`make figures`).

A recipe's commands run in order from the repository's root; its product (the PNG, with
the PDF beside it where the command writes one) is then copied over the figure, a PNG
its maker left unmarked given the version and commit. Each
figure the README or docs/ shows has a recipe (tests/test_figures.py), so none is a
picture nobody can remake.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class FigureRecipe:
    """How one figure is made.

    Attributes:
        figure: The figure's path in the repository (a PNG; its PDF beside it, if any).
        commands: Shell-free commands run in order from the repository's root; the first
            word "huzhu" is the package's command line, "python" this interpreter.
        product: The PNG the commands write (relative to the root).
        minutes: Wall time of the commands at full size on this project's 2-core machine
            (minutes; for planning, not a benchmark).
        needs: What must exist before the commands can run, or "" if nothing beyond the
            repository.
    """

    figure: str
    commands: tuple[str, ...]
    product: str
    minutes: float
    needs: str = ""

    @property
    def name(self) -> str:
        """The figure's file stem (how `huzhu figures --only` names it)."""
        return Path(self.figure).stem


#: The salience rule's calibrations and those to 2019 (docs/calibration.md) are not
#: shipped: a forecast pooling both rules needs their folders first (hours of CPU).
_OTHER_CALIBRATIONS = (
    "results/cal-salience-2020 (and, for the validation, results/cal-constant-2019 and results/cal-salience-2019): "
    "the calibration chains of docs/calibration.md, not shipped"
)


def shipped_calibration_command() -> str:
    """The last link of the shipped calibration's chain (data/xianghubao_calibration.json):
    every setting it records that the command line takes, and its start values, into
    results/cal-constant-2020."""
    import json

    settings = json.loads((ROOT / "data" / "xianghubao_calibration.json").read_text())["settings"]
    words = [
        "huzhu calibrate", f"--until {settings['until']}", f"--stay-rule {settings['stay_rule']}",
        f"--replications {settings['replications']}", f"--agents {settings['n_agents']}", f"--seed {settings['seed']}",
        f"--exit-bound {settings['exit_bound_reading']}", f"--budget {settings['budget']}",
        f"--refine {settings['refine']}", f"--polish {settings['polish']}", f"--explore {settings['explore']}",
        f"--estimator {settings['estimator']}", f"--parameters {','.join(settings['parameters'])}",
        *(f"--set {name}={value}" for name, value in settings["fixed"].items()),
        *(f"--start {name}={value}" for name, value in settings["start"].items()),
        "--out results/cal-constant-2020 --overwrite",
    ]  # fmt: skip
    return " ".join(words)


FIGURES: tuple[FigureRecipe, ...] = (
    FigureRecipe(
        "docs/figures/overview_default.png",
        ("huzhu run --seed 1 --out results/default --overwrite",),
        "results/default/overview.png",
        minutes=0.5,
    ),
    FigureRecipe(
        "docs/figures/market.png",
        ("huzhu run --preset market --agents 10000000 --seed 1 --out results/market-run --overwrite",),
        "results/market-run/market.png",
        minutes=5.0,  # 281 s of running at f7df5e5
    ),
    FigureRecipe(
        "docs/figures/sensitivity_sobol.png",
        ("huzhu sensitivity experiments/sobol.toml --out results/sobol",),
        "results/sobol/sensitivity.png",
        minutes=1.0,  # 224 runs in 61 s at f7df5e5
    ),
    FigureRecipe(
        "docs/figures/app.png",
        ("python -m huzhu.viz.browser screenshot results/app/app.png",),
        "results/app/app.png",
        minutes=0.5,
        needs="Debian's Chromium at /usr/bin/chromium (make test installs it)",
    ),
    FigureRecipe(
        "docs/figures/claims_xianghubao.png",
        (shipped_calibration_command(),),
        "results/cal-constant-2020/claims.png",
        minutes=40.0,
    ),
    FigureRecipe(
        "docs/figures/fit_xianghubao.png",
        (shipped_calibration_command(),),
        "results/cal-constant-2020/fit.png",
        minutes=40.0,
    ),
    FigureRecipe(
        "docs/figures/forecast_xianghubao.png",
        ("huzhu forecast --calibrated-until 2020-12-31 --until 2022-01-28 --calibration results/cal-constant-2020 "
         "--calibration results/cal-salience-2020 --out results/forecast-2020",),
        "results/forecast-2020/forecast.png",
        minutes=8.0,
        needs=_OTHER_CALIBRATIONS,
    ),
    FigureRecipe(
        "docs/figures/validation_2019_2020.png",
        ("huzhu forecast --calibrated-until 2019-12-31 --until 2020-12-31 --calibration results/cal-constant-2019 "
         "--calibration results/cal-salience-2019 --out results/validation-2019",),
        "results/validation-2019/forecast.png",
        minutes=5.0,
        needs=_OTHER_CALIBRATIONS,
    ),
)  # fmt: skip


def recipe_for(figure: str) -> FigureRecipe | None:
    """The recipe of the figure at `figure` (a path in the repository), or None."""
    return next((r for r in FIGURES if r.figure == figure), None)


def argv_of(command: str) -> list[str]:
    """A recipe command as the argument list that runs it (no shell)."""
    words = shlex.split(command)
    if words[0] == "huzhu":
        return [sys.executable, "-m", "huzhu", *words[1:]]
    if words[0] == "python":
        return [sys.executable, *words[1:]]
    raise ValueError(f"recipe command {command!r}: must start with 'huzhu' or 'python'")


def make_figures(names: list[str] | None = None, echo=print) -> list[Path]:
    """Run the recipes (all, or those named by figure stem) and copy their products over
    the figures; a recipe whose `needs` are missing is reported and skipped.

    Returns:
        The figure files written.
    """
    unknown = sorted(set(names or ()) - {r.name for r in FIGURES})
    if unknown:
        raise ValueError(f"unknown figure {unknown[0]!r}: one of {', '.join(r.name for r in FIGURES)}")
    # Every command runs before any figure is copied: a copied figure changes the tree, and
    # the figures made after it would name a "-dirty" commit.
    from huzhu.experiments.figures import provenance_text

    made_by = provenance_text()
    done: set[str] = set()
    ready = []
    for recipe in FIGURES:
        if names and recipe.name not in names:
            continue
        if recipe.needs and not all((ROOT / path).exists() for path in _paths_needed(recipe)):
            echo(f"[{recipe.name}] skipped: needs {recipe.needs}")
            continue
        for command in recipe.commands:
            if command in done:  # several figures of one command run it once
                continue
            echo(f"[{recipe.name}] {command}")
            subprocess.run(argv_of(command), cwd=ROOT, check=True)
            done.add(command)
        ready.append(recipe)
    written: list[Path] = []
    for recipe in ready:
        for suffix in (".png", ".pdf"):
            product = (ROOT / recipe.product).with_suffix(suffix)
            if product.is_file():
                target = (ROOT / recipe.figure).with_suffix(suffix)
                shutil.copyfile(product, target)
                if suffix == ".png":
                    _stamp(target, made_by)
                written.append(target)
    return written


def _stamp(png: Path, made_by: str) -> None:
    """Give a PNG that its maker left unmarked (a browser screenshot) `made_by` (the
    version and commit), as `figures.save_figure` gives every figure it saves."""
    from PIL import Image, PngImagePlugin

    with Image.open(png) as image:
        if "Software" in image.text:
            return
        info = PngImagePlugin.PngInfo()
        info.add_text("Software", made_by)
        image.load()
        image.save(png, pnginfo=info)


def _paths_needed(recipe: FigureRecipe) -> list[str]:
    """What a recipe's commands read that the repository does not hold: the result folders
    of `--calibration DIR`, and the browser for a screenshot."""
    paths = []
    for command in recipe.commands:
        words = shlex.split(command)
        paths += [words[k + 1] for k, word in enumerate(words[:-1]) if word == "--calibration"]
        if "huzhu.viz.browser" in words:
            from huzhu.viz.browser import CHROMIUM

            paths.append(CHROMIUM)
    return paths
