"""One-click part masks: the connected region whose tracking features resemble the clicked point's.

DragGAN's observation is that the generator's features are discriminative enough to
track a part; the same features, compared by cosine similarity to the clicked point's
feature, outline the part (an eye, the mouth, the hair). The similarity map is computed
once per click (`PartSelection`), so changing the threshold (the wheel, in the app) costs
only a threshold and a connected-component pass.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from ..errors import DragEditError
from . import tracking
from .semantic_defaults import PART_THRESHOLD as DEFAULT_THRESHOLD


def _check_threshold(threshold):
    try:
        t = float(threshold)
    except (TypeError, ValueError):
        raise DragEditError(f"part-mask threshold must be a number in [-1, 1], got {threshold!r}") from None
    if not (math.isfinite(t) and -1.0 <= t <= 1.0):
        raise DragEditError(f"part-mask threshold must be a cosine similarity in [-1, 1], got {threshold!r}")
    return t


def similarity_map(feat, point, size) -> np.ndarray:
    """Cosine similarity [H, W] (float32) of every image pixel's feature to the feature at `point`.

    feat: [1, C, h, w] features of the feature block; size: the image's (H, W)."""
    h, w = size
    x, y = float(point[0]), float(point[1])
    if not (math.isfinite(x) and math.isfinite(y) and 0 <= x <= w - 1 and 0 <= y <= h - 1):
        raise DragEditError(f"part-mask point ({x:g}, {y:g}) is outside the {w}x{h} image")
    with torch.no_grad():
        ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
        full = tracking.sample_points(feat, xs, ys, size)                  # [C, H, W]
        ref = tracking.sample_points(feat, torch.tensor([x]), torch.tensor([y]), size)[:, 0]
        mean = full.mean(dim=(1, 2))
        full, ref = full - mean.reshape(-1, 1, 1), ref - mean
        full = full / full.norm(dim=0, keepdim=True).clamp_min(1e-8)
        ref = ref / ref.norm().clamp_min(1e-8)
        sim = (full * ref.reshape(-1, 1, 1)).sum(dim=0)
    return sim.cpu().numpy().astype(np.float32)


def _holes(part) -> np.ndarray:
    """bool: background pixels of `part` (uint8 0/1) that the image border cannot reach."""
    import cv2
    bg = (1 - part).astype(np.uint8)
    n, labels = cv2.connectedComponents(bg, connectivity=4)
    border = set(np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])).tolist())
    return (bg == 1) & ~np.isin(labels, list(border))


class PartSelection:
    """A click's similarity map; `region(threshold)` is the connected part containing the click."""

    def __init__(self, feat, point, size, threshold=DEFAULT_THRESHOLD):
        self.size = tuple(size)
        self.point = (float(point[0]), float(point[1]))
        self.similarity = similarity_map(feat, point, size)
        self.threshold = _check_threshold(threshold)

    def region(self, threshold=None) -> np.ndarray:
        """bool [H, W]: pixels with similarity >= threshold, 8-connected to the clicked pixel."""
        import cv2
        t = self.threshold if threshold is None else _check_threshold(threshold)
        above = (self.similarity >= t).astype(np.uint8)
        px = min(max(int(round(self.point[0])), 0), self.size[1] - 1)
        py = min(max(int(round(self.point[1])), 0), self.size[0] - 1)
        above[py, px] = 1  # the clicked pixel is always part of its own region
        _, labels = cv2.connectedComponents(above, connectivity=8)
        part = (labels == labels[py, px]).astype(np.uint8)
        # a part ends at its outline, whose features differ: close holes (a pupil inside an eye's
        # white) and take in a margin of about one outline width (2 px at 128 px)
        filled = part.copy()
        filled[_holes(part)] = 1
        m = self.margin
        if m > 0:
            disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * m + 1, 2 * m + 1))
            filled = cv2.dilate(filled, disk)
        return filled.astype(bool)

    @property
    def margin(self) -> int:
        return max(1, int(round(2 * self.size[0] / 128)))

    def grow(self, steps, step=0.02) -> np.ndarray:
        """Lower (steps > 0) or raise the threshold by steps * step; returns the new region."""
        self.threshold = min(1.0, max(-1.0, self.threshold - steps * step))
        return self.region()


def part_mask(session, point, threshold=DEFAULT_THRESHOLD) -> np.ndarray:
    """bool [H, W] part region of the session's current image around `point` (image pixels)."""
    return PartSelection(session.features(), point, session.size, threshold).region()


def parse_part_mask(text, option="--part-mask"):
    """'X,Y[:THRESHOLD]' -> ((x, y), threshold)."""
    try:
        head, _, thr = str(text).partition(":")
        x, y = (float(v) for v in head.split(","))
    except ValueError:
        raise DragEditError(f"{option} {text!r}: expected X,Y or X,Y:THRESHOLD, e.g. 45,52:0.5") from None
    return (x, y), _check_threshold(thr) if thr else DEFAULT_THRESHOLD
