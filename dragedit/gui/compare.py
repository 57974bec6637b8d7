"""Before/after: the image the current edit started from (the seed's image, or the fitted photo),
shown while `\\` is held, as a split view on the canvas, or side by side in a pane of its own
(side_by_side.py) zoomed and panned with the canvas.

The start image is the render of the session's `ws_initial`. It is kept whenever a frame of that
latent is on screen anyway; otherwise it is rendered once when first asked for.
"""
from __future__ import annotations

import numpy as np
import torch


class Compare:
    """Owns the start image and the three ways to show it; the window forwards frames and keys."""

    def __init__(self, canvas, render_start, side):
        self.canvas = canvas
        self.side = side                        # SideBySide: the start image beside the canvas
        self._render_start = render_start       # () -> frame of ws_initial, or None when busy
        self._key = None                        # ws_initial the frame belongs to
        self._frame = None
        self.mode = "off"                       # 'off' | 'split' (the canvas); side by side is separate
        self.holding = False

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

    def set_side_by_side(self, on, ws_initial=None):
        self.side.set_shown(on)
        self._refresh(ws_initial)

    def set_mode(self, mode, ws_initial=None):
        self.mode = mode
        self._refresh(ws_initial)

    def _refresh(self, ws_initial=None):
        wanted = self.holding or self.mode == "split" or self.side.shown
        frame = self._frame
        if wanted and ws_initial is not None:
            frame = self.start_frame(ws_initial)
        self.canvas.set_before(frame if wanted else None)
        self.canvas.set_compare("hold" if self.holding else self.mode)
        if self.side.shown:
            self.side.set_frame(frame)
