"""The `huzhu` command line: help everywhere, clear errors, complete output folders."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from huzhu.cli import main
from huzhu.model.model import REPORTED_COLUMNS
from huzhu.model.parameters import PARAMETERS


def huzhu(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "huzhu", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("command", [(), ("run",), ("params",), ("presets",), ("viz",), ("calibrate",), ("forecast",)])
def test_every_command_has_help(command):
    result = huzhu(*command, "--help")
    assert result.returncode == 0
    assert "usage: huzhu" in result.stdout


@pytest.mark.parametrize(
    "args, named",
    [
        (("run", "--set", "fee_rat=0.1"), "fee_rate"),
        (("run", "--set", "fee_rate=1.5"), "fee_rate"),
        (("run", "--set", "fee_rate=lots"), "fee_rate"),
        (("run", "--set", "sharing_rule=random"), "sharing_rule"),
        (("run", "--set", "fee_rate"), "NAME=VALUE"),
        (("run", "--agents", "10"), "n_agents"),
        (("run", "--preset", "nonsense"), "preset"),
        (("params", "--group", "nonsense"), "group"),
    ],
)
def test_bad_input_exits_non_zero_with_a_message_naming_the_field_and_no_traceback(args, named):
    result = huzhu(*args)
    assert result.returncode == 2
    assert named in result.stderr
    assert "Traceback" not in result.stderr


def test_params_lists_every_parameter_with_unit_range_and_source(capsys):
    assert main(["params", "--format", "csv"]) == 0
    listed = pd.read_csv(pd.io.common.StringIO(capsys.readouterr().out))
    assert list(listed["name"]) == [p.name for p in PARAMETERS]
    assert listed["source"].str.len().min() > 10
    assert listed["unit"].notna().all()


def test_run_writes_table_manifest_and_figure(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "--agents", "3000", "--seed", "5", "--set", "fee_rate=0.1", "--out", str(out), "--quiet"]) == 0
    assert "members      peak" in capsys.readouterr().out
    table = pd.read_csv(out / "timeseries.csv", parse_dates=["date"])
    assert list(table.columns) == list(REPORTED_COLUMNS)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 5
    assert manifest["parameters"]["fee_rate"] == 0.1
    assert manifest["parameters"]["n_agents"] == 3000
    assert set(manifest["parameters"]) == {p.name for p in PARAMETERS}
    assert {"huzhu_version", "git_commit", "libraries", "platform", "python", "wall_seconds"} <= set(manifest)
    assert (out / "overview.png").stat().st_size > 10_000
    assert (out / "overview.pdf").exists()
    record = pd.read_csv(out / "record.csv")
    assert set(manifest["files"]) == {p.name for p in out.iterdir()}
    assert (record["quantity"] == "members").sum() >= 5  # every dated member count of the record


def test_a_market_run_writes_every_plans_table_the_industrys_members_and_the_market_figure(tmp_path):
    from huzhu import MutualAidModel

    out = tmp_path / "market"
    assert main(["run", "--preset", "market", "--agents", "3000", "--seed", "2", "--out", str(out), "--quiet"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["files"]) == {p.name for p in out.iterdir()}
    assert {"plans.csv", "industry.csv", "market.png", "market.pdf"} <= set(manifest["files"])
    plans = pd.read_csv(out / "plans.csv", parse_dates=["date"])
    direct = MutualAidModel(preset="market", n_agents=3000, rng=2)
    direct.run()
    pd.testing.assert_frame_equal(plans, direct.plan_results(), check_dtype=False, rtol=1e-9)
    industry = pd.read_csv(out / "industry.csv")
    assert set(industry.platform) == {"xianghubao", "waterdrop", "qingsong", "meituan", "wukong", "xiaomi", "all"}


def test_calibrate_market_refuses_settings_it_cannot_use(capsys):
    assert main(["calibrate-market", "--agents", "10", "--out", "x.json", "--quiet"]) == 2
    assert "--agents must be at least 1000" in capsys.readouterr().err


def test_a_saved_table_matches_the_model_run_with_the_same_seed(tmp_path):
    from huzhu import MutualAidModel

    main(["run", "--agents", "2000", "--seed", "9", "--out", str(tmp_path), "--quiet"])
    saved = pd.read_csv(tmp_path / "timeseries.csv", parse_dates=["date"])
    direct = MutualAidModel(preset="xianghubao", n_agents=2000, rng=9).run()  # huzhu run's default preset
    pd.testing.assert_frame_equal(saved, direct, check_dtype=False, rtol=1e-9)


def test_a_folder_holding_a_run_is_not_overwritten_without_asking(tmp_path):
    assert main(["run", "--agents", "2000", "--seed", "1", "--out", str(tmp_path), "--quiet"]) == 0
    before = (tmp_path / "manifest.json").read_text()
    result = huzhu("run", "--agents", "2000", "--seed", "2", "--out", str(tmp_path), "--quiet")
    assert result.returncode == 2
    assert "--overwrite" in result.stderr
    assert (tmp_path / "manifest.json").read_text() == before


def test_viz_refuses_a_port_that_is_not_a_tcp_port(capsys):
    assert main(["viz", "--port", "70000"]) == 2
    assert "--port 70000 is not a TCP port: allowed 1..65535" in capsys.readouterr().err


def test_viz_without_the_bundled_front_end_says_which_package_to_install(monkeypatch, tmp_path, capsys):
    from huzhu.viz import server

    monkeypatch.setattr(server, "ASSETS_DIR", tmp_path)
    assert main(["viz", "--port", "8765"]) == 1
    assert "install the package `solara-assets`" in capsys.readouterr().err
