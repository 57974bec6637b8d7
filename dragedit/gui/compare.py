"""Before/after: the image the current edit started from (the seed's image, or the fitted photo),
shown while `\\` is held, as a split view on the canvas, or side by side in a dock.

The start image is the render of the session's `ws_initial`. It is kept whenever a frame of that
latent is on screen anyway; otherwise it is rendered once when first asked for.
"""
from __future__ import annotations

import numpy as np
import torch
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QDockWidget, QLabel, QSizePolicy

from .canvas import frame_to_qimage


class _ScaledImage(QLabel):
    def __init__(self):
        super().__init__()
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(160, 160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._pix = None

    def set_frame(self, frame):
        self._pix = None if frame is None else QPixmap.fromImage(frame_to_qimage(frame))
        self._rescale()

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self._rescale()

    def _rescale(self):
        if self._pix is None:
            self.setText("No start image")
            return
        mode = Qt.TransformationMode.FastTransformation if self.width() > self._pix.width() \
            else Qt.TransformationMode.SmoothTransformation
        self.setPixmap(self._pix.scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio, mode))


class Compare:
    """Owns the start image and the three ways to show it; the window forwards frames and keys."""

    def __init__(self, canvas, render_start):
        self.canvas = canvas
        self._render_start = render_start       # () -> frame of ws_initial, or None when busy
        self._key = None                        # ws_initial the frame belongs to
        self._frame = None
        self.mode = "off"                       # 'off' | 'split' (the canvas), the dock is separate
        self.holding = False
        self.view = _ScaledImage()
        self.dock = QDockWidget("Start image")
        self.dock.setObjectName("start_image")
        self.dock.setWidget(self.view)
        self.dock.hide()
        self.dock.visibilityChanged.connect(lambda on: on and self._refresh())

    def note(self, frame, ws, ws_initial):
        """A frame of `ws` is on screen: keep it when it is the start image."""
        if frame is not None and ws is not None and ws_initial is not None and torch.equal(ws, ws_initial):
            if self._key is None or not torch.equal(self._key, ws_initial):
                self._key, self._frame = ws_initial.clone(), np.asarray(frame)
                self._refresh()

    def start_frame(self, ws_initial):
        if ws_initial is None:
            return None
        if self._key is None or not torch.equal(self._key, ws_initial):
            frame = self._render_start()
            if frame is None:
                return None
            self._key, self._frame = ws_initial.clone(), frame
        return self._frame

    def forget(self):
        self._key, self._frame = None, None
        self._refresh()

    def hold(self, on, ws_initial=None):
        self.holding = bool(on)
        self._refresh(ws_initial)

    def set_mode(self, mode, ws_initial=None):
        self.mode = mode
        self._refresh(ws_initial)

    def _refresh(self, ws_initial=None):
        wanted = self.holding or self.mode == "split" or self.dock.isVisible()
        frame = self._frame
        if wanted and ws_initial is not None:
            frame = self.start_frame(ws_initial)
        self.canvas.set_before(frame if wanted else None)
        self.canvas.set_compare("hold" if self.holding else self.mode)
        if self.dock.isVisible():
            self.view.set_frame(frame)
