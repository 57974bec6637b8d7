"""Open a model as a whole step: read and check the file and build its drag session in a new object,
touching nothing on screen. The window swaps the result in only when this returned; on any error
one DragEditError says why, and the open work stays as it was."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QThread, Signal

from ..edit.drag import DragParams, DragSession
from ..edit.latent_source import embedded_latent
from ..errors import DragEditError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OpenedModel:
    """A loaded generator with its new session, not yet shown."""
    path: Path              # resolved
    session: DragSession
    info: dict              # resolution, w_dim, num_ws, z_dim, params (for the Model panel)
    source: tuple           # ('seed', n), or ('photo', name) for a generator tuned to a photo

    @property
    def G(self):
        return self.session.G


def load_model(path, seed: int, params: DragParams, device="cpu", precision="auto") -> OpenedModel:
    """Load PATH into a new DragSession (seed's image, or the photo latent a tuned model carries)."""
    from ..io.checkpoint import load_generator
    path = Path(path).expanduser()
    try:
        G = load_generator(path)
        session = DragSession(G, seed=int(seed), params=params, device=device, precision=precision)
        embedded = embedded_latent(G)
        if embedded is not None:   # a generator tuned to a photo opens on that photo's latent
            session.set_latent(embedded, as_start=True)
    except DragEditError:
        raise
    except Exception as exc:
        log.exception("loading %s failed", path)
        raise DragEditError(f"{path}: could not be loaded ({type(exc).__name__}: {exc})") from None
    info = dict(resolution=G.img_resolution, w_dim=G.w_dim, num_ws=G.num_ws, z_dim=G.z_dim,
                params=sum(p.numel() for p in G.parameters()))
    if embedded is not None:
        photo = (getattr(G, "source_info", {}).get("extra", {}) or {}).get("source_image") or path
        source = ("photo", Path(str(photo)).name)
    else:
        source = ("seed", session.seed)
    return OpenedModel(path.resolve(), session, info, source)


LARGE_MODEL_BYTES = 64 << 20   # above this a model is read in the background, with a note in the status bar


def is_large(path) -> bool:
    try:
        return Path(path).expanduser().stat().st_size > LARGE_MODEL_BYTES
    except OSError:
        return False


class ModelLoader(QThread):
    """`load_model` in a thread of its own, so the window keeps drawing and answering while a big
    file is read; `loaded` carries the OpenedModel, or None and the reason."""
    loaded = Signal(object, str)

    def __init__(self, path, seed, params, device, precision, parent=None):
        super().__init__(parent)
        self.args = (path, seed, params, device, precision)

    def run(self):
        try:
            self.loaded.emit(load_model(*self.args), "")
        except DragEditError as exc:
            self.loaded.emit(None, str(exc))
