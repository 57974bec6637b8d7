"""Live slider previews on their own thread: forward only, newest wins.

A slider emits many values per second; rendering each in turn would lag behind
the hand. One slot holds the newest request, a render in progress finishes, and
then only the newest request is rendered: nothing queues. A model whose preview
takes longer than 1/15 s switches to the low-resolution preview."""
from __future__ import annotations

import threading
import time

from PySide6.QtCore import QObject, Signal

from ..edit import semantics


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
        self.low_res = {}           # id(G) -> bool, decided from the first full previews
        self.timings: list = []     # ms of every preview rendered
        self._times = {}            # id(G) -> ms of its full-resolution previews

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
                low = self.low_res.get(id(G), False)
                t = time.perf_counter()
                frame = semantics.preview_frame(G, ws, low_res=low)
                ms = (time.perf_counter() - t) * 1000
                mine = self._times.setdefault(id(G), [])
                mine.append(ms)
                if id(G) not in self.low_res and len(mine) >= 3:  # the first render warms up: judge three
                    self.low_res[id(G)] = min(mine) > semantics.PREVIEW_BUDGET_S * 1000
                self.timings.append(ms)
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
