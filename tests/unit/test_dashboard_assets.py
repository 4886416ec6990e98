"""The build-time check that the dashboard's page has every file it loads."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

from triage.service.dashboard import ASSETS, missing_assets


def test_installed_package_has_every_asset() -> None:
    """After `make install` nothing index.html loads is missing (ECharts included)."""
    assert missing_assets() == []


def test_a_missing_asset_is_named(tmp_path: Path) -> None:
    """A static folder without ECharts is reported, by the file's name."""
    static = resources.files("triage").joinpath("static")
    for name in set(ASSETS) - {"echarts.min.js"}:
        shutil.copyfile(str(static.joinpath(name)), tmp_path / name)
    assert missing_assets(tmp_path) == ["echarts.min.js"]


def test_a_loaded_file_that_is_not_served_is_named(tmp_path: Path) -> None:
    """A file the page loads but the server does not serve counts as missing too."""
    (tmp_path / "index.html").write_text('<script src="/static/extra.js"></script>')
    (tmp_path / "extra.js").write_text("")
    assert missing_assets(tmp_path) == ["extra.js"]
