"""Files dropped onto the window: which kind each is (by extension) and which open it takes."""
from __future__ import annotations

from pathlib import Path

from .photo_open import IMAGE_SUFFIXES


def dropped_files(mime) -> list[str]:
    """The local files of a drag's mime data (URLs of other kinds are not opened)."""
    if not mime.hasUrls():
        return []
    return [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]


def open_dropped(path, *, open_image, open_session, load_latent, open_model, has_session, show_message) -> bool:
    """A session (.json), a latent (.npz/.npy, onto an open model), a photo, or else a model."""
    ext = Path(path).suffix.lower()
    if ext in IMAGE_SUFFIXES:
        return open_image(path) is not None
    if ext == ".json":
        return open_session(path)
    if ext in (".npz", ".npy"):
        if not has_session():
            show_message("info", "No model", "Open a model before loading a latent.")
            return False
        return load_latent(path)
    return open_model(path)
