"""`dragedit bench --auto-mask`: the landmark benchmark's edits run without a mask, with the automatic mask
(`edit.auto_mask`: the handles' part selections carried along their drags, flexible; the rest fixed) and
with that mask dilated by 6 px (at 128 px), comparing MD (lower is better) and PSNR outside the edited
area (higher: the rest of the image changed less). Same seed pairs, tracker and budget as the landmark
benchmark; the methods take turns on each pair so background load hits them alike."""
from __future__ import annotations

import sys
import time

import numpy as np

from . import drag as bench_drag
from .generator import machine_info
from ..edit.drag import DragParams, DragSession

METHODS = ("no mask", "auto mask", "auto mask + 6 px")
GROW = {"no mask": None, "auto mask": 0, "auto mask + 6 px": 6}   # dilation of the proposal, at 128 px


def _edit(G, seed, handles, targets, steps, grow):
    from ..edit.auto_mask import auto_mask
    s = DragSession(G, seed=seed, params=DragParams())
    for hd, tg in zip(handles, targets):
        if np.linalg.norm(hd - tg) < 1e-3:
            tg = tg + np.array([0.5, 0.0])
        s.add_pair(tuple(hd), tuple(tg))
    if grow is not None:
        s.set_mask(auto_mask(s, grow=grow * G.img_resolution / 128), "flexible")
    last = None
    t0 = time.perf_counter()
    for last in s.run(steps):
        pass
    return s.render(), last, time.perf_counter() - t0


def run(G, detector, pairs=16, steps=100, subsets=("1", "5"), log=None, methods=METHODS) -> dict:
    """log: where progress goes (default: sys.stderr as it is at the call)."""
    log = log if log is not None else sys.stderr
    from ..synth.faces import LANDMARK_NAMES
    from ..synth.landmarks import detect
    index = {n: i for i, n in enumerate(LANDMARK_NAMES)}
    size = (G.img_resolution, G.img_resolution)
    margin = 12 * G.img_resolution / 128
    starts = {}
    for a, b in bench_drag.seed_pairs(pairs):
        for s in (a, b):
            if s not in starts:
                img = DragSession(G, seed=s).render()
                starts[s] = (img, detect(img, detector))
    rows = {m: {} for m in methods}
    raw = []
    for subset in subsets:
        acc = {m: dict(md=[], psnr=[], s=[], reached=[]) for m in methods}
        for i, (a, b) in enumerate(bench_drag.seed_pairs(pairs)):
            idx = bench_drag._subset(subset, i, index)
            handles = np.clip(starts[a][1][idx], 0, size[0] - 1)
            targets = np.clip(starts[b][1][idx], 0, size[0] - 1)
            region = bench_drag.edited_region(handles, targets, size, margin)
            for m in methods:
                final, last, seconds = _edit(G, a, handles, targets, steps, GROW[m])
                found = detect(final, detector)[idx]
                acc[m]["md"].append(float(np.linalg.norm(found - targets, axis=1).mean()))
                acc[m]["psnr"].append(bench_drag.psnr_outside(starts[a][0], final, region))
                acc[m]["s"].append(seconds)
                acc[m]["reached"].append(bool(last.reached))
                raw.append(dict(method=m, subset=subset, seeds=[a, b], md=acc[m]["md"][-1], psnr=acc[m]["psnr"][-1],
                                iterations=last.iteration, reached=bool(last.reached)))
        for m in methods:
            rows[m][subset] = dict(md=float(np.mean(acc[m]["md"])), psnr_outside=float(np.nanmean(acc[m]["psnr"])),
                                   edit_s=float(np.mean(acc[m]["s"])), reached=float(np.mean(acc[m]["reached"])))
            print(f"{m:9s} {subset:>2s} points: MD {rows[m][subset]['md']:.2f} px, PSNR outside "
                  f"{rows[m][subset]['psnr_outside']:.1f} dB, {rows[m][subset]['edit_s']:.1f} s/edit", file=log,
                  flush=True)
    return dict(machine=machine_info(), pairs=pairs, steps=steps, rows=rows, raw=raw)


def format_table(result) -> str:
    subsets = list(next(iter(result["rows"].values())))
    head = " | ".join(f"MD {s} pt | PSNR outside {s} pt (dB)" for s in subsets)
    lines = [f"Machine: {result['machine']}; {result['pairs']} seed pairs, up to {result['steps']} iterations, "
             "patch tracker.", "", f"| method | {head} | reached |", "|---" * (2 * len(subsets) + 2) + "|"]
    for m, r in result["rows"].items():
        cells = " | ".join(f"{r[s]['md']:.2f} | {r[s]['psnr_outside']:.1f}" for s in subsets)
        lines.append(f"| {m} | {cells} | {np.mean([r[s]['reached'] for s in subsets]):.0%} |")
    return "\n".join(lines)
