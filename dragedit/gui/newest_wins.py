"""One background thread with a one-slot queue: the newest request wins, nothing queues.

A slider or a dragged point asks for many previews per second; computing each in turn would lag
behind the hand. A request waiting in the slot is replaced by a newer one, a computation in
progress finishes, and `done()` is called (on the worker thread) after each result is stored, so
a QObject can emit a queued signal from it and `take()` the result on the GUI thread."""
from __future__ import annotations

import threading


class NewestWins:
    def __init__(self, work, done, name):
        """`work(request) -> result` runs on the thread and must turn its own errors into results
        (a failed preview must not end the thread); `done()` follows each stored result."""
        self._work, self._done, self._name = work, done, name
        self._cv = threading.Condition()
        self._request = None
        self._result = None
        self._busy = False
        self._quit = False
        self._thread = None

    def submit(self, request):
        """Compute `request` soon; an older request not yet started is dropped."""
        with self._cv:
            self._request = request
            self._cv.notify_all()
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
                self._thread.start()

    def take(self):
        """The newest finished result (once), or None."""
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
                request, self._request = self._request, None
                self._busy = True
            result = self._work(request)   # the work function turns its own errors into results
            with self._cv:
                self._result = result
                self._busy = False
                self._cv.notify_all()
            try:
                self._done()
            except RuntimeError:   # the Qt object behind `done` went away during the work
                return
