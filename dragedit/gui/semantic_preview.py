"""Live slider previews on their own thread: forward only, newest wins.

A slider emits many values per second; rendering each in turn would lag behind
the hand. One slot holds the newest request, a render in progress finishes, and
then only the newest request is rendered: nothing queues. Whether a preview is low resolution
is decided before each render by a PreviewPolicy from the recent full-render timings (a 128-px
model stays in full while that takes under about 100 ms)."""
from __future__ import annotations

import time

from PySide6.QtCore import QObject, Signal

from ..edit import semantics
from ..edit.preview_policy import PreviewPolicy
from .newest_wins import NewestWins


class PreviewRenderer(QObject):
    ready = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._worker = NewestWins(self._render, self.ready.emit, "dragedit-preview")
        self.policy = PreviewPolicy()
        self.timings: list = []     # ms of every preview rendered
        self.low_flags: list = []   # whether each of them was low resolution
        self.clock = time.perf_counter  # seconds; what the timings are read from

    def request(self, G, ws, token):
        """Render ws with G soon; an older request not yet started is dropped."""
        self._worker.submit((G, ws.detach().clone(), token))

    def take(self):
        """(frame, token, ms, low_res) of the newest finished preview, or None."""
        return self._worker.take()

    def idle(self) -> bool:
        return self._worker.idle()

    def wait_idle(self, timeout=10.0) -> bool:
        return self._worker.wait_idle(timeout)

    def shutdown(self):
        self._worker.shutdown()

    def _render(self, request):
        G, ws, token = request
        try:
            low = self.policy.low_res(id(G), G.img_resolution)
            t = self.clock()
            frame = semantics.preview_frame(G, ws, low_res=low)
            ms = (self.clock() - t) * 1000
            self.policy.record(id(G), ms, low)
            self.timings.append(ms)
            self.low_flags.append(low)
            return frame, token, ms, low
        except Exception as exc:  # noqa: BLE001 - a failed preview must not end the thread
            return None, token, 0.0, str(exc)
