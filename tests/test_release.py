"""The release metadata: the citation file is valid and names the version being released."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import jsonschema
import yaml

import huzhu

ROOT = Path(__file__).resolve().parents[1]
#: The Citation File Format 1.2.0 schema (citation-file-format.github.io, CC-BY-4.0), as
#: shipped with cffconvert 2.0.0: kept here so the check runs offline.
CFF_SCHEMA = ROOT / "tests" / "data" / "citation-file-format-1.2.0.schema.json"


def _citation() -> dict:
    # YAML reads an unquoted date as a date; the schema wants the text CFF files hold.
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    return {key: value.isoformat() if isinstance(value, dt.date) else value for key, value in citation.items()}


def test_the_citation_file_is_valid_citation_file_format_1_2_0():
    schema = json.loads(CFF_SCHEMA.read_text())
    jsonschema.validate(_citation(), schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


def test_the_citation_file_the_changelog_and_the_package_name_one_version_and_date():
    citation = _citation()
    assert citation["version"] == huzhu.__version__
    changelog = (ROOT / "CHANGELOG.md").read_text()
    released = re.findall(r"^## \[(\d+\.\d+\.\d+)\] - (\d{4}-\d{2}-\d{2})$", changelog, flags=re.MULTILINE)
    assert released[0] == (citation["version"], citation["date-released"]), "the newest release leads the changelog"


def test_the_readme_cites_the_version_being_released():
    citation = _citation()
    readme = (ROOT / "README.md").read_text()
    assert f"version {citation['version']} (released {citation['date-released']})" in readme


def test_a_citation_file_missing_its_title_is_refused():
    # The check has teeth: the schema's required fields are enforced.
    schema = json.loads(CFF_SCHEMA.read_text())
    citation = _citation()
    del citation["title"]
    try:
        jsonschema.validate(citation, schema)
    except jsonschema.ValidationError as error:
        assert "title" in error.message
    else:
        raise AssertionError("a citation without a title passed the schema")
