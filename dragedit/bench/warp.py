"""`dragedit bench --warp`: time the warp preview (field + remap) on one CPU core.

The preview runs on every mouse move while targets or a region's gizmo are dragged, so what counts is
its p95: each case times `repeats` warps of a random image after 5 warm-ups, with OpenCV held to one
thread, for a lone pair, five pairs, and a region's 32 pairs with a fixed mask outside the region."""
from __future__ import annotations

import time

import numpy as np

CASES = (("1 pair", 1, False), ("5 pairs", 5, False), ("region: 32 pairs + fixed mask", 32, True))


def _case(size, n, with_mask, rng):
    h, w = size
    handles = rng.uniform(0.3, 0.7, (n, 2)) * (w, h)
    targets = handles + rng.uniform(-0.05, 0.05, (n, 2)) * (w, h)
    pairs = [(tuple(a), tuple(b)) for a, b in zip(handles, targets)]
    fixed = None
    if with_mask:
        fixed = np.ones(size, bool)
        fixed[int(0.25 * h):int(0.75 * h), int(0.25 * w):int(0.75 * w)] = False
    return pairs, fixed


def bench_warp(sizes=(512, 128), repeats=200, threads=1, grid=None) -> list:
    """One row per (size, case): median and p95 ms of Warper.warp."""
    import cv2
    from ..edit.warp import Warper
    before = cv2.getNumThreads()
    cv2.setNumThreads(threads)
    rows = []
    try:
        for side in sizes:
            size = (side, side)
            rng = np.random.default_rng(side)
            img = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
            warper = Warper(size, grid=grid)
            for name, n, with_mask in CASES:
                pairs, fixed = _case(size, n, with_mask, rng)
                for _ in range(5):
                    warper.warp(img, pairs, fixed)
                ms = []
                for _ in range(repeats):
                    t0 = time.perf_counter()
                    warper.warp(img, pairs, fixed)
                    ms.append((time.perf_counter() - t0) * 1000)
                rows.append(dict(size=side, case=name, pairs=n, fixed_mask=with_mask, repeats=repeats,
                                 median_ms=round(float(np.median(ms)), 2),
                                 p95_ms=round(float(np.percentile(ms, 95)), 2)))
    finally:
        cv2.setNumThreads(before)
    return rows


def format_warp_table(rows, machine: str, threads: int) -> str:
    lines = [f"Machine: {machine}; OpenCV threads {threads}.", "",
             "| image | case | ms median | ms p95 |", "|---|---|---|---|"]
    lines += [f"| {r['size']} px | {r['case']} | {r['median_ms']:.1f} | {r['p95_ms']:.1f} |" for r in rows]
    return "\n".join(lines)
