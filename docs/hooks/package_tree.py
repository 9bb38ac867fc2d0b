"""MkDocs hook: the `huzhu` package as the import system sees it, for the API reference.

setup.cfg maps the repository's folders into one namespace (`huzhu.model` from model/,
`huzhu.agents` from agents/, ...); the API reference reads the source from a copy laid out
as the installed package is (build/package/huzhu), made afresh at each build.
"""

from __future__ import annotations

import configparser
import shutil
from pathlib import Path

from mkdocs.plugins import event_priority

ROOT = Path(__file__).resolve().parents[2]
TREE = ROOT / "build" / "package"


@event_priority(100)  # before mkdocstrings reads its search paths, which must exist by then
def on_config(config):
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    mapping = dict(line.split("=", 1) for line in setup["options"]["package_dir"].strip().splitlines() if "=" in line)
    shutil.rmtree(TREE, ignore_errors=True)
    for package, folder in sorted((k.strip(), v.strip()) for k, v in mapping.items()):
        target = TREE.joinpath(*package.split("."))
        target.mkdir(parents=True, exist_ok=True)
        for source in (ROOT / folder).glob("*.py"):
            shutil.copy2(source, target / source.name)  # copies: a link's target is read as its own module
    return config
