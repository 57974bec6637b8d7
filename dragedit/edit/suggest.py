"""Suggested handle points: landmarks where the model has a detector, distinctive feature points anywhere.

Good handles are points the tracker can follow: places whose feature differs from every
neighbour's. On a flat cheek all neighbours look alike and a handle slides; at an eye
corner or a mouth corner it does not. The score of a feature cell is the smallest
distance of its (centred, unit) feature to its eight neighbours' on a ring of 1/20
of the image side (a part's scale) — high only where the feature changes in every direction, like a Harris
corner measure. Local maxima, non-maximum suppressed, the top 12, are the suggestions.

On the default face model (a landmark detector ships with it) the suggestions are
the detected landmarks, with their names.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

TOP_K = 12


def distinctiveness(feat, size, ring_px=None) -> torch.Tensor:
    """Score [H', W'] on a grid of at most 64 x 64 cells covering the image (higher = more distinctive).

    Returns the score map; cell (i, j) is centred on image pixel ((j + 0.5) * W / W' - 0.5, ...)."""
    h, w = size
    with torch.no_grad():
        f = feat.float()
        if f.shape[-1] > 64:
            f = F.adaptive_avg_pool2d(f, (min(64, f.shape[-2]), 64))
        f = f - f.mean(dim=(2, 3), keepdim=True)
        f = f / f.norm(dim=1, keepdim=True).clamp_min(1e-8)
        cell = w / f.shape[-1]
        r = max(1, int(round((ring_px if ring_px is not None else w / 20) / cell)))
        pad = F.pad(f, (r, r, r, r), mode="replicate")
        H, W = f.shape[-2:]
        best = None
        for dy in (-r, 0, r):
            for dx in (-r, 0, r):
                if dx == 0 and dy == 0:
                    continue
                nb = pad[:, :, r + dy:r + dy + H, r + dx:r + dx + W]
                d = (f - nb).norm(dim=1)[0]
                best = d if best is None else torch.minimum(best, d)
    return best


def feature_points(feat, size, k=TOP_K, nms_px=None):
    """The k most distinctive feature points [(x, y)] in image pixels, strongest first.

    nms_px: no two points closer than this (default: 1/16 of the image side, at least 4 px)."""
    h, w = size
    score = distinctiveness(feat, size)
    H, W = score.shape
    cell = w / W
    nms = nms_px if nms_px is not None else max(4.0, w / 16)
    rad = max(1, int(round(nms / cell)))
    with torch.no_grad():
        s = score.clone()
        border = max(1, rad // 2)          # a point at the very edge cannot be dragged far
        s[:border], s[-border:], s[:, :border], s[:, -border:] = 0, 0, 0, 0
        peaks = F.max_pool2d(s[None, None], 2 * rad + 1, stride=1, padding=rad)[0, 0]
        is_peak = (s == peaks) & (s > 0)
        ys, xs = torch.nonzero(is_peak, as_tuple=True)
        vals = s[ys, xs]
        order = torch.argsort(vals, descending=True)
    out = []
    for i in order.tolist():
        x = (float(xs[i]) + 0.5) * cell - 0.5
        y = (float(ys[i]) + 0.5) * (h / H) - 0.5
        if all((x - px) ** 2 + (y - py) ** 2 >= nms * nms for px, py in out):
            out.append((x, y))
        if len(out) == k:
            break
    return out


def landmark_points(frame, detector=None) -> list:
    """[{'x', 'y', 'name'}] of the face landmarks detected in a uint8 frame (the default model's detector)."""
    from ..synth import faces, landmarks
    lm = landmarks.detect(frame, detector)
    return [dict(x=float(x), y=float(y), name=n) for (x, y), n in zip(lm, faces.LANDMARK_NAMES)]


def has_landmark_detector(G) -> bool:
    """True for the shipped face model (its file is the default and the detector ships alongside),
    or any model whose image size the detector reads and whose factors are the renderer's."""
    from ..models import DEFAULT_DETECTOR
    from ..synth import faces
    from .semantics import factor_names
    names = factor_names(G)
    return (DEFAULT_DETECTOR.is_file() and G.img_resolution == 128
            and names is not None and tuple(names) == tuple(faces.FACTOR_NAMES))


def suggest_points(session, k=TOP_K, use_detector=None, frame=None) -> list:
    """Suggested handles for the session's current image: [{'x', 'y', 'name', 'kind'}].

    kind 'landmark' (named, from the detector: the default face model) or 'feature' (named
    'feature N', distinctive feature points: any model). use_detector None: when the model has one."""
    if use_detector is None:
        use_detector = has_landmark_detector(session.G)
    if use_detector:
        if frame is None:
            frame = session.render()
        return [dict(p, kind="landmark") for p in landmark_points(frame)]
    pts = feature_points(session.features(), session.size, k=k)
    return [dict(x=x, y=y, name=f"feature {i + 1}", kind="feature") for i, (x, y) in enumerate(pts)]


def nearest(points, x, y, radius):
    """Index of the suggestion within `radius` px of (x, y), nearest first, or None."""
    best, best_d = None, radius * radius
    for i, p in enumerate(points):
        d = (p["x"] - x) ** 2 + (p["y"] - y) ** 2
        if d <= best_d:
            best, best_d = i, d
    return best


__all__ = ["distinctiveness", "feature_points", "landmark_points", "suggest_points", "nearest",
           "has_landmark_detector", "TOP_K"]
