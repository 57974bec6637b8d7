"""The status bar's permanent fields: iteration, rate, loss, handle distances, cursor, zoom, device,
and the busy bar shown while a large model file is read. Only views: nothing here edits."""
from __future__ import annotations

import math

from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar

LISTED_DISTANCES = 5   # more pairs than this: the status bar says the largest and the mean distance


class StatusView:
    def __init__(self, bar: QStatusBar, device: str):
        self.bar = bar
        self.last_progress = None   # (result, rate) of the newest step shown
        self.iteration, self.rate, self.loss = QLabel(""), QLabel(""), QLabel("")
        self.dist, self.pos, self.zoom = QLabel(""), QLabel(""), QLabel("")
        self.device = QLabel(device)
        self.busy = QProgressBar()       # a busy bar while a large model is read (in the bar only then)
        self.busy.setRange(0, 0)
        self.busy.setMaximumSize(120, self.iteration.sizeHint().height())
        self.busy.setToolTip("Reading the model file")
        for w, tip in ((self.iteration, "Iteration of the current edit"),
                       (self.rate, "Iterations per second"), (self.loss, "Loss of the last step"),
                       (self.dist, "Distance of each handle to its target"),
                       (self.pos, "Image pixel under the cursor"), (self.zoom, "Zoom"),
                       (self.device, "Where the generator runs")):
            w.setToolTip(tip)
            w.setContentsMargins(6, 0, 6, 0)
            bar.addPermanentWidget(w)

    def show_progress(self, res, rate, iteration):
        """iteration: of this run (the count the timeline and the final message use)."""
        self.last_progress = (res, rate)
        self.iteration.setText(f"iteration {iteration}")
        self.rate.setText(f"{rate:.1f} it/s")
        if res.reached:
            self.loss.setText("targets reached")
        elif getattr(res, "stalled", False):
            self.loss.setText("handles stalled")
        else:
            self.loss.setText(f"loss {res.loss:.4f}")

    def show_run(self, run):
        """After the timeline moved (no run going on): the count of the step on screen; rate and
        loss only belong to a run's last step."""
        self.iteration.setText("" if run is None else f"iteration {run.step()}")
        if run is None or run.index != len(run.frames) - 1:
            self.rate.setText("")
            self.loss.setText("")

    def show_pairs(self, pairs):
        dists = [math.dist(h, t) for h, t in pairs]
        if not dists:
            text = "no pairs"
        elif len(dists) <= LISTED_DISTANCES:
            text = "distance " + " / ".join(f"{d:.1f}" for d in dists) + " px"
        else:   # a region's 16-32 pairs: one figure each would run off the status bar
            text = f"{len(dists)} pairs: distance up to {max(dists):.1f} px, mean {sum(dists) / len(dists):.1f}"
        self.dist.setText(text)

    def show_hover(self, x, y):
        self.pos.setText("" if math.isnan(x) else f"x {x:.1f}  y {y:.1f}")

    def show_zoom(self, z):
        self.zoom.setText(f"{z * 100:.0f}%")

    def show_busy(self, on):
        if on:
            self.bar.addPermanentWidget(self.busy)
            self.busy.show()
        else:
            self.bar.removeWidget(self.busy)
