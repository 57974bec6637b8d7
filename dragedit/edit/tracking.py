"""Point tracking: find where each handle went in the new feature map.

`nn` is DragGAN's reference: the nearest neighbour (L2 over channels) of the
handle's first-iteration feature inside a square window of radius r2. It can
snap onto a similar-looking part (the other eye, the other mouth corner).

`motion` keeps the same feature match but adds what a handle physically does
between two small optimiser steps: it moves little, so a match far from the
previous position must be much better to win (a quadratic motion prior,
scale-free because feature distances are divided by their window median).
The winner is refined to sub-pixel precision by a parabola through its
neighbours, which matters on small models where one pixel is a large step.
"""
from __future__ import annotations

import torch

TRACKERS = ("nn", "motion")


def _window(handle, radius, h, w):
    x, y = int(round(handle[0])), int(round(handle[1]))
    x0, x1 = max(x - radius, 0), min(x + radius + 1, w)
    y0, y1 = max(y - radius, 0), min(y + radius + 1, h)
    return x0, x1, y0, y1


def feature_distances(feat, ref, window):
    """L2 distance over channels between ref [C] and every pixel of the window: [h, w]."""
    x0, x1, y0, y1 = window
    patch = feat[0, :, y0:y1, x0:x1]
    return (patch - ref.reshape(-1, 1, 1)).square().sum(dim=0).sqrt()


def track_nn(feat, ref, handle, radius):
    """Reference DragGAN tracking: integer argmin of feature distance in the window."""
    _, _, h, w = feat.shape
    x0, x1, y0, y1 = win = _window(handle, radius, h, w)
    dist = feature_distances(feat, ref, win)
    idx = int(torch.argmin(dist))
    return (float(x0 + idx % (x1 - x0)), float(y0 + idx // (x1 - x0)))


def _parabola_offset(cm, c0, cp):
    """Sub-pixel offset of a minimum from three equally spaced costs, in [-0.5, 0.5]."""
    denom = cm - 2 * c0 + cp
    if denom <= 1e-12:
        return 0.0
    return max(-0.5, min(0.5, 0.5 * (cm - cp) / denom))


def track_motion(feat, ref, handle, radius, motion_weight=1.0):
    """Feature match plus a motion prior around the previous position, refined to sub-pixel."""
    _, _, h, w = feat.shape
    x0, x1, y0, y1 = win = _window(handle, radius, h, w)
    dist = feature_distances(feat, ref, win)
    scale = dist.median().clamp_min(1e-6)
    ys = torch.arange(y0, y1, dtype=dist.dtype).reshape(-1, 1)
    xs = torch.arange(x0, x1, dtype=dist.dtype).reshape(1, -1)
    moved2 = (xs - handle[0]).square() + (ys - handle[1]).square()
    cost = dist / scale + motion_weight * moved2 / float(max(radius, 1)) ** 2
    idx = int(torch.argmin(cost))
    cy, cx = idx // (x1 - x0), idx % (x1 - x0)
    fx, fy = float(x0 + cx), float(y0 + cy)
    if 0 < cx < cost.shape[1] - 1:
        fx += _parabola_offset(float(cost[cy, cx - 1]), float(cost[cy, cx]), float(cost[cy, cx + 1]))
    if 0 < cy < cost.shape[0] - 1:
        fy += _parabola_offset(float(cost[cy - 1, cx]), float(cost[cy, cx]), float(cost[cy + 1, cx]))
    return (fx, fy)


def track(name, feat, ref, handle, radius):
    if name == "nn":
        return track_nn(feat, ref, handle, radius)
    if name == "motion":
        return track_motion(feat, ref, handle, radius)
    raise ValueError(f"unknown tracker {name!r}: expected one of {', '.join(TRACKERS)}")


def sample_feature(feat, point):
    """Feature vector [C] at a (possibly sub-pixel) point, bilinear, align_corners=True."""
    _, _, h, w = feat.shape
    gx = point[0] / max(w - 1, 1) * 2 - 1
    gy = point[1] / max(h - 1, 1) * 2 - 1
    grid = torch.tensor([[[[gx, gy]]]], dtype=feat.dtype, device=feat.device)
    return torch.nn.functional.grid_sample(feat, grid, align_corners=True)[0, :, 0, 0]
