"""When a live preview may drop to low resolution: decided again and again from recent timings.

Judging once from the first renders is wrong on a shared machine: a burst of load while the model
warms up switched previews to the blurry low-resolution image for good, even where a full render
takes 49 ms. Here the decision is the median of the last few full renders, so one slow render
changes nothing and a model that became fast again is shown in full again. While low resolution is
in use, every fourth preview is still a full one, so the timings stay current, and one fast full
render is enough to try full size again.

Small models (the 128-px default) stay in full while a full render takes under about 100 ms: their
half-resolution image lacks the eyes and mouth drawn by the last block. Larger models drop to low
resolution once a full render misses the frame budget. The same rule fits the frames shown during
a drag (`DragSession`), with `min_low_res_px` of 257 there.
"""
from __future__ import annotations

import statistics
from collections import deque

WINDOW = 5                  # recent full-render timings the decision looks at (their median)
MIN_TIMINGS = 3             # before this many, render in full
BUDGET_MS = 1000 / 15       # a bigger model's full preview slower than this (15 per second) goes low-res
SMALL_MODEL_PX = 128        # models up to this size ...
SMALL_MODEL_OK_MS = 100.0   # ... stay in full while a full render takes less than this
PROBE_EVERY = 4             # while low-res, every 4th preview is rendered in full to keep timing it


class PreviewPolicy:
    """Full or low-resolution previews per model, from a moving window of recent full-render timings.

    Call `low_res(key, resolution)` before a render and `record(key, ms, low)` after it. `key` is any
    hashable that names one model (e.g. id(G))."""

    def __init__(self, window=WINDOW, budget_ms=BUDGET_MS, small_px=SMALL_MODEL_PX,
                 small_ok_ms=SMALL_MODEL_OK_MS, probe_every=PROBE_EVERY, min_low_res_px=0):
        self.window = int(window)
        self.budget_ms = float(budget_ms)
        self.small_px = int(small_px)
        self.small_ok_ms = float(small_ok_ms)
        self.probe_every = int(probe_every)
        self.min_low_res_px = int(min_low_res_px)
        self._full = {}     # key -> deque of full-render ms
        self._lows = {}     # key -> low-res previews since the last full one

    def threshold_ms(self, resolution) -> float:
        """The median full-render time above which previews of a model this size go low-res."""
        if int(resolution) <= self.small_px:
            return max(self.budget_ms, self.small_ok_ms)
        return self.budget_ms

    def median_ms(self, key):
        """Median of the recent full-render timings, or None before MIN_TIMINGS of them."""
        times = self._full.get(key)
        if not times or len(times) < min(MIN_TIMINGS, self.window):
            return None
        return statistics.median(times)

    def slow(self, key, resolution) -> bool:
        """True when the recent full renders of this model are too slow for a live preview."""
        if int(resolution) < self.min_low_res_px:
            return False
        med = self.median_ms(key)
        limit = self.threshold_ms(resolution)
        # the latest full render counts too: one fast probe is enough to try full size again
        return med is not None and med > limit and self._full[key][-1] > limit

    def low_res(self, key, resolution) -> bool:
        """Whether the next preview of this model should be low resolution."""
        if not self.slow(key, resolution):
            return False
        return self._lows.get(key, 0) < self.probe_every - 1   # every probe_every-th is full: re-time it

    def record(self, key, ms, low):
        """Note one rendered preview: its time in ms and whether it was low resolution."""
        if low:
            self._lows[key] = self._lows.get(key, 0) + 1
            return
        self._lows[key] = 0
        self._full.setdefault(key, deque(maxlen=self.window)).append(float(ms))

    def forget(self, key):
        self._full.pop(key, None)
        self._lows.pop(key, None)
