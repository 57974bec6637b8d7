"""How soon after Start does the picture change? Measured in the real window, as a user would see it.

For each seed the window gets one point pair by mouse clicks, Start is pressed (the Start/Stop
action, as Space does), and the event loop runs on while a 5-ms timer probes it. The time from Start
to the first painted frame that differs from the start image (any pixel by at least `--visible`
levels) is the latency; the probe's worst gap says whether the loop stayed responsive meanwhile.

    QT_QPA_PLATFORM=offscreen python -m dragedit.gui.start_latency --seeds 10 --threads 1
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import numpy as np

# One pair on the 128-px face model: the left mouth corner pulled out and up (scaled to other sizes).
PAIR = ((52.0, 92.0), (46.0, 88.0))


def _percentile(values, q):
    return float(np.percentile(np.asarray(values, dtype=float), q))


def measure(model="default", seeds=10, first_seed=0, visible=8, timeout=30.0, log=print) -> dict:
    """Latency from Start to the first visibly changed frame, per seed, plus the event loop's worst gap."""
    from PySide6.QtCore import QSettings, Qt, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from .app import configure_application
    from .window import MainWindow

    app = QApplication.instance() or QApplication(["dragedit"])
    configure_application(app)
    settings = QSettings(os.path.join(tempfile.mkdtemp(prefix="dragedit-latency-"), "s.ini"),
                         QSettings.Format.IniFormat)
    w = MainWindow(model=model, seed=first_seed, settings=settings)
    w.show_message = lambda kind, title, text: w.status(text, 0)
    w.resize(1200, 800)
    w.show()

    def pump(cond, limit):
        end = time.perf_counter() + limit
        while not cond() and time.perf_counter() < end:
            app.processEvents()
            time.sleep(0.001)
        return cond()

    ticks: list[float] = []
    probe = QTimer()
    probe.setInterval(5)
    probe.timeout.connect(lambda: ticks.append(time.perf_counter()))
    rows, warm_up_s = [], float("nan")
    try:
        if w.session is None:
            raise RuntimeError(f"no model could be opened: {w.messages[-1][2] if w.messages else model}")
        scale = w.session.size[0] / 128.0
        for seed in range(first_seed, first_seed + seeds):
            if seed != first_seed:
                w.panel.seed.setValue(seed)
            if not pump(lambda: w.doc.frame_ok and not w.doc.running, timeout):
                raise RuntimeError(f"seed {seed}: the image was not shown within {timeout} s")
            # A user takes a moment to click two points: by then the worker has warmed up (its
            # first optimiser imports torch._dynamo). How long that takes is reported on its own.
            shown = time.perf_counter()
            pump(lambda: w.doc.worker.wait_idle(0.01), timeout)
            if seed == first_seed:
                warm_up_s = time.perf_counter() - shown
                log(f"worker warm-up after the first image: {warm_up_s * 1000:.0f} ms")
            start = w.doc.frame.astype(np.int16)
            vp = w.canvas.viewport()
            for x, y in PAIR:
                at = w.canvas.image_to_widget(x * scale, y * scale).toPoint()
                QTest.mouseClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at)
            seen = {}

            def on_frame():
                if "visible" in seen or w.doc.frame is None or w.doc.frame.shape != start.shape:
                    return
                diff = int(np.abs(w.doc.frame.astype(np.int16) - start).max())
                now = time.perf_counter()
                if diff > 0 and "any" not in seen:
                    seen["any"] = now
                if diff >= visible:
                    seen["visible"] = now

            w.doc.frameChanged.connect(on_frame)
            ticks.clear()
            probe.start()
            t0 = time.perf_counter()
            ticks.append(t0)
            w.actions_["start_stop"].trigger()
            pump(lambda: "visible" in seen or not w.doc.running, timeout)
            pump(lambda: False, 0.3)   # the loop keeps going a little after the change: its gaps count too
            probe.stop()
            w.doc.frameChanged.disconnect(on_frame)
            w.runs.stop(wait=True)
            gaps = np.diff(ticks) if len(ticks) > 1 else np.array([0.0])
            row = dict(seed=seed, first_change_s=seen.get("any", np.nan) - t0,
                       visible_s=seen.get("visible", np.nan) - t0, worst_gap_ms=float(gaps.max() * 1000))
            rows.append(row)
            log(f"seed {seed}: first change {row['first_change_s'] * 1000:.0f} ms, visible "
                f"(>= {visible} levels) {row['visible_s'] * 1000:.0f} ms, worst event-loop gap "
                f"{row['worst_gap_ms']:.0f} ms")
    finally:
        w.confirm_quit = False
        w.close()
    vis = [r["visible_s"] for r in rows if np.isfinite(r["visible_s"])]
    return dict(rows=rows, visible_median_s=statistics.median(vis) if vis else float("nan"),
                visible_p95_s=_percentile(vis, 95) if vis else float("nan"),
                worst_gap_ms=max(r["worst_gap_ms"] for r in rows) if rows else float("nan"),
                missed=len(rows) - len(vis), warm_up_s=warm_up_s)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m dragedit.gui.start_latency", description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="default", help="model file (default: the shipped model)")
    ap.add_argument("--seeds", type=int, default=10, help="how many seeds to time (default 10)")
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--visible", type=int, default=8, help="levels (of 255) a pixel must change by (default 8)")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    args = ap.parse_args(argv)
    if args.seeds < 1 or not 1 <= args.visible <= 255:
        ap.error("--seeds must be >= 1 and --visible 1..255")
    from ..devices import set_threads
    set_threads(args.threads)
    res = measure(args.model, args.seeds, args.first_seed, args.visible)
    print(f"Start -> first visible change: median {res['visible_median_s'] * 1000:.0f} ms, "
          f"p95 {res['visible_p95_s'] * 1000:.0f} ms over {len(res['rows']) - res['missed']} seeds "
          f"({res['missed']} never changed); worst event-loop gap {res['worst_gap_ms']:.0f} ms; worker warm-up "
          f"{res['warm_up_s'] * 1000:.0f} ms after the first image")
    import platform

    import torch
    print(f"{platform.machine()}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads, "
          f"torch {torch.__version__}, CPU worker unless the window chose a device; "
          f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
