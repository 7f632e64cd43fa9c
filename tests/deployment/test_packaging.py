"""What a ``pip install`` of bus puts into site-packages: the ``bus`` package only (with its Lua
scripts), never top-level ``config`` or ``workers`` that would shadow a user's own modules; and
the settings' old home in a checkout still imports, with a deprecation warning."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: What a checkout holds besides its source: environments, caches, build output.
NOT_SOURCE = (".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "htmlcov")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    # Built from a copy: setuptools reuses a source tree's build/ directory, whose leftovers of
    # an earlier layout would end up in the wheel.
    source = tmp_path_factory.mktemp("source") / "bus"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*NOT_SOURCE))
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(source)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("bus-*.whl")
    return zipfile.ZipFile(built)


@pytest.mark.slow
def test_the_wheel_installs_the_bus_package_only(wheel: zipfile.ZipFile) -> None:
    top = {name.split("/", 1)[0] for name in wheel.namelist()}
    assert {name for name in top if not name.endswith(".dist-info")} == {"bus"}


@pytest.mark.slow
def test_the_wheel_carries_every_lua_script(wheel: zipfile.ZipFile) -> None:
    shipped = {name for name in wheel.namelist() if name.endswith(".lua")}
    in_tree = {str(path.relative_to(ROOT)) for path in (ROOT / "bus").rglob("*.lua")}
    assert in_tree
    assert shipped == in_tree


@pytest.mark.slow
def test_the_wheel_carries_the_console_templates_and_static_files(wheel: zipfile.ZipFile) -> None:
    console = ROOT / "bus" / "console"
    in_tree = {
        str(path.relative_to(ROOT))
        for folder in ("templates", "static")
        for path in (console / folder).iterdir()
    }
    assert {"bus/console/static/console.js", "bus/console/templates/timeline.html"} <= in_tree
    assert in_tree <= set(wheel.namelist())


@pytest.mark.parametrize(
    ("old", "name"), [("config.settings", "BusSettings"), ("config.channels", "DEFAULT_CHANNELS")]
)
def test_the_old_settings_modules_still_import_with_a_deprecation_warning(
    old: str, name: str
) -> None:
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=old):
        module = importlib.import_module(old)
    from bus import settings

    new = getattr(settings, name, None) or getattr(settings.defaults, name)
    assert getattr(module, name) is new
