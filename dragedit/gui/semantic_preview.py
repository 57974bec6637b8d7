"""Live slider previews on their own thread: forward only, newest wins.

A slider emits many values per second; rendering each in turn would lag behind
the hand. One slot holds the newest request, a render in progress finishes, and
then only the newest request is rendered: nothing queues. Whether a preview is low resolution
is decided before each render by a PreviewPolicy from the recent full-render timings (a 128-px
model stays in full while that takes under about 100 ms)."""
from __future__ import annotations

import threading
import time

from PySide6.QtCore import QObject, Signal

from ..edit import semantics
from ..edit.preview_policy import PreviewPolicy


class PreviewRenderer(QObject):
    ready = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._cv = threading.Condition()
        self._request = None
        self._result = None
        self._quit = False
        self._thread = None
        self._busy = False
        self.policy = PreviewPolicy()
        self.timings: list = []     # ms of every preview rendered
        self.low_flags: list = []   # whether each of them was low resolution
        self.clock = time.perf_counter  # seconds; what the timings are read from

    def request(self, G, ws, token):
        """Render ws with G soon; an older request not yet started is dropped."""
        with self._cv:
            self._request = (G, ws.detach().clone(), token)
            self._cv.notify_all()
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="dragedit-preview", daemon=True)
                self._thread.start()

    def take(self):
        """(frame, token, ms, low_res) of the newest finished preview, or None."""
        with self._cv:
            r, self._result = self._result, None
            return r

    def idle(self) -> bool:
        with self._cv:
            return self._request is None and not self._busy

    def wait_idle(self, timeout=10.0) -> bool:
        with self._cv:
            return self._cv.wait_for(lambda: self._request is None and not self._busy, timeout)

    def shutdown(self):
        with self._cv:
            self._quit = True
            self._request = None
            self._cv.notify_all()
        if self._thread is not None:
            self._thread.join(5.0)

    def _loop(self):
        while True:
            with self._cv:
                self._cv.wait_for(lambda: self._quit or self._request is not None)
                if self._quit:
                    return
                (G, ws, token), self._request = self._request, None
                self._busy = True
            try:
                low = self.policy.low_res(id(G), G.img_resolution)
                t = self.clock()
                frame = semantics.preview_frame(G, ws, low_res=low)
                ms = (self.clock() - t) * 1000
                self.policy.record(id(G), ms, low)
                self.timings.append(ms)
                self.low_flags.append(low)
                with self._cv:
                    self._result = (frame, token, ms, low)
            except Exception as exc:  # noqa: BLE001 - a failed preview must not end the thread
                with self._cv:
                    self._result = (None, token, 0.0, str(exc))
            finally:
                with self._cv:
                    self._busy = False
                    self._cv.notify_all()
            try:
                self.ready.emit()
            except RuntimeError:  # the window (and this object) went away during the render
                return
