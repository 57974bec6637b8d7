"""The thread that inverts a photo for File > Open image, so the window stays responsive.

It runs `edit.inversion.invert` (projection, then optional pivotal tuning) on
the session's generator and reports through signals: progress after every
step, a preview image every few steps, and exactly one of `done` / `failed`
at the end. Cancel is a flag checked before every step, so it takes effect
within one step.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QThread, Signal

from ..edit.inversion_defaults import PROJECT_STEPS, PTI_STEPS
from ..errors import DragEditError

log = logging.getLogger(__name__)


@dataclass
class InversionOptions:
    space: str = "w+"          # 'w+' reconstructs closer; 'w' stays more editable
    steps: int = PROJECT_STEPS  # projection steps
    pti: bool = False          # pivotal tuning: fine-tune a copy of the generator to the photo
    pti_steps: int = PTI_STEPS
    lpips_weights: str | None = None


class InversionWorker(QThread):
    progress = Signal(str, int, int, float)   # stage ('loss', 'latent', 'tuning'), step, steps, loss
    preview = Signal(str, object)             # stage, uint8 HxWx3 image of the current step
    done = Signal(object)                     # InversionResult (cancelled=True after Cancel)
    failed = Signal(str)

    def __init__(self, G, photo: np.ndarray, options: InversionOptions, parent=None):
        super().__init__(parent)
        self.G = G
        self.photo = photo
        self.options = options
        self.loss_kind = None
        self._stop = threading.Event()

    def cancel(self):
        self._stop.set()

    @property
    def cancelled(self) -> bool:
        return self._stop.is_set()

    def run(self):
        from ..edit.inversion import invert
        from ..nets.perceptual import PerceptualLoss
        o = self.options
        try:
            self.progress.emit("loss", 0, 1, 0.0)
            perceptual = PerceptualLoss(o.lpips_weights, quiet=True)
            self.loss_kind = perceptual.kind
            res = invert(self.G, self.photo, space=o.space, steps=o.steps,
                         pti_steps=o.pti_steps if o.pti else 0, perceptual=perceptual,
                         progress=lambda stage, i, n, loss: self.progress.emit(stage, i, n, float(loss)),
                         preview=lambda stage, img: self.preview.emit(stage, img),
                         should_stop=self._stop.is_set)
            res.cancelled = res.cancelled or self._stop.is_set()
        except DragEditError as exc:
            self.failed.emit(str(exc))
            return
        except Exception as exc:
            log.exception("inversion failed")
            self.failed.emit(f"the inversion failed: {type(exc).__name__}: {exc}")
            return
        self.done.emit(res)
