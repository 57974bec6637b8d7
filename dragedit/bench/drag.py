"""The face-landmark benchmark of DragGAN's Table 1, on our default model.

For a fixed list of seed pairs, landmarks of face 1 are the handles and those
of face 2 the targets; after the edit the detector finds the landmarks again
and MD is their mean distance to the targets (lower is better). We also
report how much the image changed outside the edited area, the time per
iteration and per edit, for every tracker.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

from .generator import machine_info, summarize_ms
from ..edit.drag import DragParams, DragSession
from ..errors import DragEditError

# Landmark subsets by name; "1" cycles through a few distinct features over the pairs.
ONE_POINT_CYCLE = ("nose_tip", "l_pupil", "mouth_right", "chin", "r_brow_outer")
FIVE_POINTS = ("l_pupil", "r_pupil", "nose_tip", "mouth_left", "mouth_right")
SUBSETS = ("1", "5", "all")


def seed_pairs(n):
    return [(1000 + 2 * i, 1001 + 2 * i) for i in range(n)]


def edited_region(handles, targets, size, margin):
    """True within `margin` px of any handle->target segment: the area an edit may change."""
    h, w = size
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    region = np.zeros((h, w), bool)
    for (hx, hy), (tx, ty) in zip(handles, targets):
        vx, vy = tx - hx, ty - hy
        L2 = max(vx * vx + vy * vy, 1e-9)
        t = np.clip(((xs - hx) * vx + (ys - hy) * vy) / L2, 0, 1)
        d2 = (xs - hx - t * vx) ** 2 + (ys - hy - t * vy) ** 2
        region |= d2 <= margin * margin
    return region


def psnr_outside(a, b, region):
    keep = ~region
    if not keep.any():
        return float("nan")
    mse = ((a.astype(np.float64) - b.astype(np.float64)) ** 2)[keep].mean()
    return float(10 * np.log10(255.0 ** 2 / max(mse, 1e-10)))


DRAGGAN = "draggan"  # DragGAN's own loop (bench/draggan.py), not a DragSession tracker


# DragParams fields a method spec may set after its tracker ('patch+near=spring+hold=1@3e-3')
VARIANT_FIELDS = ("near", "pair_weight", "hold", "reset_jump")


def parse_method(spec: str):
    """'TRACKER' or 'TRACKER@LR' (e.g. 'patch@3e-3') -> (tracker, DragParams overrides);
    'draggan[@LR]' is DragGAN's own loop. A '+frames' after the tracker renders every iteration's
    frame, as the app does (without it only the final image is rendered, as `dragedit edit` does);
    '+FIELD=VALUE' sets one of VARIANT_FIELDS ('patch+near=spring+pair_weight=distance')."""
    from ..edit.tracking import TRACKERS
    name, _, lr = spec.strip().partition("@")
    name, *flags = name.split("+")
    extra = {}
    for flag in flags:
        key, eq, value = flag.partition("=")
        if name == DRAGGAN or not (flag == "frames" or (eq and key in VARIANT_FIELDS)):
            raise DragEditError(f"benchmark method {spec!r}: after a tracker, '+frames' or '+FIELD=VALUE' "
                                f"with FIELD one of {', '.join(VARIANT_FIELDS)}")
        if flag == "frames":
            extra["frames"] = True
            continue
        try:
            extra[key] = float(value)
        except ValueError:
            extra[key] = value
    if name not in TRACKERS + (DRAGGAN,):
        raise DragEditError(f"benchmark method {spec!r}: unknown tracker {name!r}, expected one of "
                            f"{', '.join(TRACKERS + (DRAGGAN,))}, optionally followed by @LEARNING_RATE")
    try:
        DragParams(**{k: v for k, v in extra.items() if k != "frames"}).validate()
    except DragEditError as exc:
        raise DragEditError(f"benchmark method {spec!r}: {exc}") from None
    if not lr:
        return name, extra
    try:
        value = float(lr)
    except ValueError:
        value = float("nan")
    if not (value > 0 and np.isfinite(value)):
        raise DragEditError(f"benchmark method {spec!r}: the learning rate after @ must be a positive number")
    return name, dict(extra, lr=value)


def run_benchmark(G, detector, pairs=50, steps=100, trackers=("nn", "motion"), subsets=("1", "5", "all"),
                  perceptual=None, log=sys.stderr, device="cpu", precision="fp32"):
    """trackers: method specs for parse_method, e.g. ('nn@2e-3', 'patch'). The edits run on
    `device` in `precision`; the detector and the image metrics on the CPU (on the frames)."""
    from ..devices import describe_device
    print(f"landmark benchmark on {describe_device(device)}, precision {precision}", file=log, flush=True)
    methods = {spec: parse_method(spec) for spec in trackers}  # bad specs fail before any work
    from ..synth.faces import LANDMARK_NAMES
    from ..synth.landmarks import detect
    index = {n: i for i, n in enumerate(LANDMARK_NAMES)}
    size = (G.img_resolution, G.img_resolution)
    margin = 12 * G.img_resolution / 128
    seeds = seed_pairs(pairs)
    starts = {}
    for a, b in seeds:  # landmarks of both faces, detected on the generator's own images
        for s in (a, b):
            if s not in starts:
                img = DragSession(G, seed=s, device=device, precision=precision).render()
                starts[s] = (img, detect(img, detector))
    rows = {"no edit": {}}
    raw = []
    for subset in subsets:
        md = []
        for i, (a, b) in enumerate(seeds):
            idx = _subset(subset, i, index)
            md.append(np.linalg.norm(starts[a][1][idx] - starts[b][1][idx], axis=1).mean())
        rows["no edit"][subset] = dict(md=float(np.mean(md)))
    for tracker in trackers:
        rows[tracker] = {}
    for subset in subsets:
        acc = {t: dict(md=[], psnrs=[], lp=[], iters_ms=[], edit_ms=[], iterations=[], edit_s=[], reached=[])
               for t in trackers}
        for i, (a, b) in enumerate(seeds):
            idx = _subset(subset, i, index)
            handles = np.clip(starts[a][1][idx], 0, size[0] - 1)
            targets = np.clip(starts[b][1][idx], 0, size[0] - 1)
            # the trackers take turns on each pair, so background load hits them alike
            for tracker in trackers:
                acc_t = acc[tracker]
                final, last, seconds, ms = _edit(G, a, handles, targets, methods[tracker], steps, device, precision)
                acc_t["iters_ms"] += ms
                acc_t["edit_ms"].append(float(np.sum(ms)))  # iterations x ms: the edit's own compute
                acc_t["iterations"].append(last.iteration)
                acc_t["edit_s"].append(seconds)
                found = detect(final, detector)[idx]
                acc_t["md"].append(float(np.linalg.norm(found - targets, axis=1).mean()))
                region = edited_region(handles, targets, size, margin)
                acc_t["psnrs"].append(psnr_outside(starts[a][0], final, region))
                if perceptual is not None:
                    acc_t["lp"].append(_lpips_outside(perceptual, starts[a][0], final, region))
                acc_t["reached"].append(bool(last.reached))
                raw.append(dict(tracker=tracker, subset=subset, seeds=[a, b], md=acc_t["md"][-1],
                                psnr=acc_t["psnrs"][-1], iterations=last.iteration, reached=last.reached,
                                edit_s=seconds))
        for tracker in trackers:
            a_t = acc[tracker]
            t = summarize_ms(np.asarray(a_t["iters_ms"]) / 1000.0)
            compute = summarize_ms(np.asarray(a_t["edit_ms"]) / 1000.0)
            rows[tracker][subset] = dict(md=float(np.mean(a_t["md"])), psnr_outside=float(np.nanmean(a_t["psnrs"])),
                                         lpips_outside=float(np.mean(a_t["lp"])) if a_t["lp"] else None,
                                         iteration_median_ms=t["median_ms"], iteration_p95_ms=t["p95_ms"],
                                         edit_compute_median_ms=compute["median_ms"],
                                         edit_compute_p95_ms=compute["p95_ms"],
                                         iterations_median=float(np.median(a_t["iterations"])),
                                         edit_s=float(np.mean(a_t["edit_s"])), reached=float(np.mean(a_t["reached"])))
            r = rows[tracker][subset]
            print(f"{tracker:7s} {subset:>4s} points: MD {r['md']:.2f} px "
                  f"(no edit {rows['no edit'][subset]['md']:.2f}), "
                  f"PSNR outside {r['psnr_outside']:.1f} dB, {t['median_ms']:.0f} ms/iter, "
                  f"{r['iterations_median']:.0f} iterations and {compute['median_ms'] / 1000:.2f} s per edit (median), "
                  f"reached {r['reached']:.0%}", file=log, flush=True)
    return dict(machine=machine_info(device), precision=precision, pairs=pairs, steps=steps, rows=rows, raw=raw,
                load=_load_average())


def _load_average():
    """The 1-, 5- and 15-minute load averages when the run ended (benchmarks on a shared machine)."""
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except (OSError, AttributeError):
        return None


def _draggan_edit(G, seed, handles, targets, lr, steps, device):
    """The edit with DragGAN's own loop, from the same start latent: the same tuple as `_edit`."""
    from .draggan import PAPER_LR, DragGANLoop
    s = DragSession(G, seed=seed, device=device, precision="fp32")
    loop = DragGANLoop(s.G, s.ws, handles, targets, lr=lr or PAPER_LR)
    ms, reached, iteration = [], False, 0
    t0 = time.perf_counter()
    for iteration, _, reached, t in loop.run(steps):
        ms.append(t)
    s.set_latent(loop.ws().detach())
    last = SimpleNamespace(reached=reached, iteration=iteration)
    return s.render(), last, time.perf_counter() - t0, ms


def _edit(G, seed, handles, targets, method, steps, device="cpu", precision="fp32"):
    """One drag edit: (final image, last step result, seconds, per-iteration ms)."""
    tracker, overrides = method
    if tracker == DRAGGAN:
        return _draggan_edit(G, seed, handles, targets, overrides.get("lr"), steps, device)
    overrides = dict(overrides)
    frames = overrides.pop("frames", False)
    s = DragSession(G, seed=seed, params=DragParams(tracker=tracker, **overrides), device=device,
                    precision=precision)
    for hd, tg in zip(handles, targets):
        if np.linalg.norm(hd - tg) < 1e-3:
            tg = tg + np.array([0.5, 0.0])
        s.add_pair(tuple(hd), tuple(tg))
    ms, last = [], None
    t0 = time.perf_counter()
    for res in s.run(steps, frames=frames):
        ms.append(res.timings.get("total_ms", 0.0))
        last = res
    return s.render(), last, time.perf_counter() - t0, ms


def _subset(subset, i, index):
    from ..synth.faces import LANDMARK_NAMES
    if subset == "1":
        return [index[ONE_POINT_CYCLE[i % len(ONE_POINT_CYCLE)]]]
    if subset == "5":
        return [index[n] for n in FIVE_POINTS]
    return list(range(len(LANDMARK_NAMES)))


def _lpips_outside(perceptual, start, final, region):
    """LPIPS between the start and the final image with the edited area pasted back from the start."""
    comp = np.where(region[..., None], start, final)

    def t(x):
        return torch.from_numpy(x).permute(2, 0, 1)[None].float() / 127.5 - 1

    with torch.no_grad():
        return float(perceptual(t(start), t(comp)))


NAMES = {DRAGGAN: "DragGAN's own loop", "nn": "DragGAN tracking (nn)", "motion": "ours (motion tracker)",
         "patch": "ours (patch tracker)"}


def method_name(spec: str) -> str:
    tracker, overrides = parse_method(spec)
    name = NAMES.get(tracker, tracker)
    if overrides.get("frames"):
        name += ", every frame rendered"
    for key in VARIANT_FIELDS:
        if key in overrides:
            name += f", {key} {overrides[key]:g}" if isinstance(overrides[key], float) else f", {key} {overrides[key]}"
    return f"{name}, lr {overrides['lr']:g}" if "lr" in overrides else name


def _cell(r, subset, fmt):
    return fmt(r[subset]) if subset in r else "-"


def format_table(result) -> str:
    """The Markdown table of README: one row per method; MD and reached per subset, the image change
    outside the edited area, and the cost of a 1-point edit.

    The time of an edit is its iterations' own compute (iterations x ms, median and p95 over the
    1-point edits); iterations per edit are given too because they do not depend on what else the
    machine was doing while the benchmark ran."""
    rows = result["rows"]
    subsets = SUBSETS
    precision = f", precision {result['precision']}" if result.get("precision", "fp32") != "fp32" else ""
    load = f"; load average {result['load']}" if result.get("load") else ""
    lines = [f"Machine: {result['machine']}{precision}{load}; {result['pairs']} seed pairs, up to "
             f"{result['steps']} iterations.", "",
             "| method | MD 1 / 5 / all pt | reached 1 / 5 / all | PSNR outside (dB) | LPIPS outside "
             "| ms/iter median / p95 | 1-pt edit: iterations median, s median / p95 |",
             "|---|---|---|---|---|---|---|"]
    ne = rows["no edit"]
    no_edit = " / ".join(_cell(ne, k, lambda c: f"{c['md']:.2f}") for k in subsets)
    lines.append(f"| no edit | {no_edit} | - | - | - | - | - |")
    for name, r in rows.items():
        if name == "no edit":
            continue
        ps = np.nanmean([r[k]["psnr_outside"] for k in r])
        lp = [r[k]["lpips_outside"] for k in r if r[k]["lpips_outside"] is not None]
        med = np.median([r[k]["iteration_median_ms"] for k in r])
        p95 = np.max([r[k]["iteration_p95_ms"] for k in r])
        md = " / ".join(_cell(r, k, lambda c: f"{c['md']:.2f}") for k in subsets)
        reached = " / ".join(_cell(r, k, lambda c: f"{c['reached']:.0%}") for k in subsets)
        one = _cell(r, "1", lambda c: f"{c['iterations_median']:.0f}, {c['edit_compute_median_ms'] / 1000:.2f} / "
                                      f"{c['edit_compute_p95_ms'] / 1000:.2f}" if "iterations_median" in c else "-")
        lines.append(f"| {method_name(name)} | {md} | {reached} | {ps:.1f} | {f'{np.mean(lp):.3f}' if lp else '-'} "
                     f"| {med:.0f} / {p95:.0f} | {one} |")
    return "\n".join(lines)


def write_results(result, json_path, md_path):
    Path(json_path).parent.mkdir(parents=True, exist_ok=True)
    with open(json_path, "w") as fh:
        json.dump(result, fh, indent=2)
    Path(md_path).write_text(format_table(result) + "\n")
