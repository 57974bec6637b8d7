"""Where the shipped models live, and resolving the word 'default' to them.

The weights live in the repository's top-level `models/` folder. The build
maps that folder into the package as `dragedit._models` (see pyproject.toml),
so a wheel, `pip install .` and an editable install all carry it, and
`importlib.resources` finds it wherever the package was installed (a zipped
install is extracted once per process). A source tree used straight from
`PYTHONPATH` has no such package; there the repository folder is used.
"""
from __future__ import annotations

import atexit
import contextlib
from importlib import resources
from pathlib import Path

from .errors import ModelFileError

RESOURCE_PACKAGE = "dragedit._models"
REPO_MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
GENERATOR_FILE = "faces128.pt"
DETECTOR_FILE = "landmarks.pt"

_extracted = contextlib.ExitStack()
atexit.register(_extracted.close)


def _candidates(name: str):
    try:
        root = resources.files(RESOURCE_PACKAGE)
    except (ModuleNotFoundError, TypeError):
        root = None
    if root is not None:
        item = root / name
        if item.is_file():
            yield item
    yield REPO_MODELS_DIR / name


def shipped_file(name: str) -> Path | None:
    """A real file-system path to the shipped `models/<name>`, or None when it is not installed.

    Called once per file, at import (the module constants below)."""
    for item in _candidates(name):
        if not isinstance(item, Path):          # inside a zip: extracted for the process's lifetime
            return Path(_extracted.enter_context(resources.as_file(item)))
        if item.is_file():
            return item
    return None


# Resolved once at import; a missing file stays a path (where a source checkout keeps it), so the
# error that names it is raised only when the default model is asked for.
DEFAULT_GENERATOR = shipped_file(GENERATOR_FILE) or REPO_MODELS_DIR / GENERATOR_FILE
DEFAULT_DETECTOR = shipped_file(DETECTOR_FILE) or REPO_MODELS_DIR / DETECTOR_FILE


def _require(path: Path, what: str) -> Path:
    if not path.is_file():
        raise ModelFileError(f"{what} {path} is missing (looked in the installed package {RESOURCE_PACKAGE} "
                             "and the source tree's models/): reinstall dragedit or pass --model FILE.pkl")
    return path


def default_detector_path() -> Path:
    """The shipped landmark detector, or a clear error naming where it was looked for."""
    return _require(DEFAULT_DETECTOR, "the landmark detector")


def resolve_model_path(name) -> Path:
    """'default' (or None) -> the shipped generator; anything else is taken as a path."""
    if name in (None, "", "default"):
        return _require(DEFAULT_GENERATOR, "the default model")
    return Path(name).expanduser()
