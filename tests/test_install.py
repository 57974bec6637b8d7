"""The install itself: build the wheel, install it into a fresh virtual environment without the
source tree, and run the shipped model from another directory, as a user of `pip install` would."""
import os
import site
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _run(cmd, cwd, env=None, timeout=600):
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"{cmd} failed ({r.returncode}):\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}"
    return r


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    # No build isolation: the build uses the setuptools already installed (no network, seconds).
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out),
          str(ROOT)], cwd=out)
    (path,) = out.glob("dragedit-*.whl")
    return path


def test_wheel_carries_the_models_and_icons_but_not_training_data_or_tests(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for needed in ("dragedit/_models/faces128.pt", "dragedit/_models/landmarks.pt",
                   "dragedit/_models/MODEL_CARD.md", "dragedit/_icons/dragedit.png", "dragedit/cli/__init__.py",
                   "dragedit/cli/edit.py", "dragedit/bench/drag.py"):
        assert needed in names, f"{needed} is missing from {wheel.name}"
    assert not [n for n in names if n.endswith("checkpoint.pt") or "/training/" in n], \
        "the training checkpoint is in the wheel"
    assert not [n for n in names if n.startswith("tests/") or "/tests/" in n], "the tests are in the wheel"
    assert wheel.stat().st_size < 10 * 2 ** 20


def _site_dirs_of_this_interpreter() -> list[str]:
    """Where the running interpreter finds torch & co: its site dirs (a venv's own when the tests
    run in one; `system_site_packages` would give the base interpreter's instead) and what their
    .pth files added, but never the source tree."""
    dirs = list(site.getsitepackages())
    if site.ENABLE_USER_SITE:
        dirs.append(site.getusersitepackages())
    dirs += [p for p in sys.path if p and {"site-packages", "dist-packages"} & set(Path(p).parts)]
    out = []
    for d in dirs:
        if Path(d).is_dir() and Path(d).resolve() != ROOT and d not in out:
            out.append(d)
    return out


def _reuse_running_site_packages(py, env, cwd):
    """Reuse the installed torch & co in the new venv (seconds, not minutes) through a .pth file that
    appends the running interpreter's site dirs after the venv's own, so dragedit itself comes only
    from the wheel."""
    purelib = _run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                   cwd=cwd, env=env).stdout.strip()
    (Path(purelib) / "_parent_site_packages.pth").write_text("\n".join(_site_dirs_of_this_interpreter()) + "\n")


def test_installed_wheel_runs_the_default_model_from_any_directory(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    _reuse_running_site_packages(py, env, tmp_path)
    _run([str(py), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)], cwd=tmp_path, env=env)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = _run([str(py), "-c", "import dragedit, dragedit.models as m; print(dragedit.__file__); "
                  "print(m.resolve_model_path('default'))"], cwd=elsewhere, env=env).stdout.split()
    assert Path(where[0]).is_relative_to(env_dir), f"dragedit was imported from {where[0]}, not the wheel"
    assert Path(where[1]).is_relative_to(env_dir), f"the default model came from {where[1]}"
    dragedit = str(env_dir / "bin" / "dragedit")
    info = _run([dragedit, "info", "default"], cwd=elsewhere, env=env).stdout
    assert "128" in info
    out = elsewhere / "x.png"
    _run([dragedit, "edit", "--model", "default", "--seed", "3", "--pair", "64,90:64,100", "--steps", "3",
          "--threads", "1", "--quiet", "--out", str(out)], cwd=elsewhere, env=env)
    from PIL import Image
    with Image.open(out) as im:
        assert im.size == (128, 128)
