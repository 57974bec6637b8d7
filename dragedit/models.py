"""Where the shipped models live, and resolving the word 'default' to them."""
from __future__ import annotations

from pathlib import Path

from .errors import ModelFileError

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
DEFAULT_GENERATOR = MODELS_DIR / "faces128.pt"
DEFAULT_DETECTOR = MODELS_DIR / "landmarks.pt"


def resolve_model_path(name) -> Path:
    """'default' (or None) -> the shipped generator; anything else is taken as a path."""
    if name in (None, "", "default"):
        if not DEFAULT_GENERATOR.is_file():
            raise ModelFileError(f"the default model {DEFAULT_GENERATOR} is missing: reinstall dragedit "
                                 "or pass --model FILE.pkl")
        return DEFAULT_GENERATOR
    return Path(name).expanduser()
