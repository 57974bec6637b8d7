"""Point tracking: find where each handle went in the new feature map.

Features live at the feature block's own resolution; points are in image
pixels. DragGAN resizes the whole feature map to the image size first (at
512 px that is a 256 x 512 x 512 tensor per iteration); we sample it
bilinearly only where needed (`align_corners=False`, exactly what the resize
would give at those pixels), so the cost no longer grows with the image.

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
import torch.nn.functional as F

TRACKERS = ("nn", "motion")


def sample_points(feat, xs, ys, size):
    """Features [C, *xs.shape] at image-pixel positions (x, y), for an image of `size` (H, W).

    Equals indexing the feature map bilinearly resized to the image size (align_corners=False)."""
    h, w = size
    gx = (xs.to(feat.dtype) + 0.5) / w * 2 - 1
    gy = (ys.to(feat.dtype) + 0.5) / h * 2 - 1
    grid = torch.stack([gx, gy], dim=-1).reshape(1, 1, -1, 2).to(feat.device)
    out = F.grid_sample(feat, grid, mode="bilinear", padding_mode="border", align_corners=False)
    return out[0, :, 0].reshape(feat.shape[1], *xs.shape)


def sample_feature(feat, point, size):
    """Feature vector [C] at one (possibly sub-pixel) image point."""
    return sample_points(feat, torch.tensor([float(point[0])]), torch.tensor([float(point[1])]), size)[:, 0]


def window_distances(feat, ref, handle, radius, size):
    """L2 feature distance to ref at every integer pixel of the window around the handle.

    Returns (dist [h, w], x0, y0): pixel (x0 + j, y0 + i) has distance dist[i, j]."""
    h, w = size
    x, y = int(round(handle[0])), int(round(handle[1]))
    x0, x1 = max(x - radius, 0), min(x + radius + 1, w)
    y0, y1 = max(y - radius, 0), min(y + radius + 1, h)
    ys, xs = torch.meshgrid(torch.arange(y0, y1), torch.arange(x0, x1), indexing="ij")
    patch = sample_points(feat, xs, ys, size)
    return (patch - ref.reshape(-1, 1, 1)).square().sum(dim=0).sqrt(), x0, y0


def window_distances_many(feat, refs, handles, radius, size):
    """`window_distances` for many handles with one feature lookup (one grid_sample for all windows:
    with 25 points this saves a few ms per iteration over one call per point)."""
    h, w = size
    offs = torch.arange(-radius, radius + 1)
    centers = [(int(round(x)), int(round(y))) for x, y in handles]
    cx = torch.tensor([c[0] for c in centers]).reshape(-1, 1, 1)
    cy = torch.tensor([c[1] for c in centers]).reshape(-1, 1, 1)
    k = offs.numel()
    xs = (cx + offs.reshape(1, 1, -1)).expand(-1, k, k)
    ys = (cy + offs.reshape(1, -1, 1)).expand(-1, k, k)
    patch = sample_points(feat, xs, ys, size)                         # [C, n, k, k]
    ref = torch.stack([r.reshape(-1) for r in refs], dim=1)[:, :, None, None]
    dist = (patch - ref).square().sum(dim=0).sqrt()                  # [n, k, k]
    out = []
    for i, (x, y) in enumerate(centers):  # crop each window to the image, as window_distances does
        x0, x1 = max(x - radius, 0), min(x + radius + 1, w)
        y0, y1 = max(y - radius, 0), min(y + radius + 1, h)
        out.append((dist[i, y0 - y + radius:y1 - y + radius, x0 - x + radius:x1 - x + radius], x0, y0))
    return out


def _pick_nn(dist, x0, y0):
    idx = int(torch.argmin(dist))
    return (float(x0 + idx % dist.shape[1]), float(y0 + idx // dist.shape[1]))


def _parabola_offset(cm, c0, cp):
    """Sub-pixel offset of a minimum from three equally spaced costs, in [-0.5, 0.5]."""
    denom = cm - 2 * c0 + cp
    if denom <= 1e-12:
        return 0.0
    return max(-0.5, min(0.5, 0.5 * (cm - cp) / denom))


def _pick_motion(dist, x0, y0, handle, radius, motion_weight=1.0):
    scale = dist.median().clamp_min(1e-6)
    ys = torch.arange(y0, y0 + dist.shape[0], dtype=dist.dtype).reshape(-1, 1)
    xs = torch.arange(x0, x0 + dist.shape[1], dtype=dist.dtype).reshape(1, -1)
    moved2 = (xs - handle[0]).square() + (ys - handle[1]).square()
    cost = dist / scale + motion_weight * moved2 / float(max(radius, 1)) ** 2
    idx = int(torch.argmin(cost))
    cy, cx = idx // cost.shape[1], idx % cost.shape[1]
    fx, fy = float(x0 + cx), float(y0 + cy)
    if 0 < cx < cost.shape[1] - 1:
        fx += _parabola_offset(float(cost[cy, cx - 1]), float(cost[cy, cx]), float(cost[cy, cx + 1]))
    if 0 < cy < cost.shape[0] - 1:
        fy += _parabola_offset(float(cost[cy - 1, cx]), float(cost[cy, cx]), float(cost[cy + 1, cx]))
    return (fx, fy)


def track_nn(feat, ref, handle, radius, size):
    """Reference DragGAN tracking: integer argmin of feature distance in the window."""
    return _pick_nn(*window_distances(feat, ref, handle, radius, size))


def track_motion(feat, ref, handle, radius, size, motion_weight=1.0):
    """Feature match plus a motion prior around the previous position, refined to sub-pixel."""
    return _pick_motion(*window_distances(feat, ref, handle, radius, size), handle, radius, motion_weight)


def _check_name(name):
    if name not in TRACKERS:
        raise ValueError(f"unknown tracker {name!r}: expected one of {', '.join(TRACKERS)}")


def track(name, feat, ref, handle, radius, size):
    return track_many(name, feat, [ref], [handle], radius, size)[0]


def track_many(name, feat, refs, handles, radius, size):
    """New positions of all handles (same results as `track` per handle, one feature lookup)."""
    _check_name(name)
    if not handles:
        return []
    windows = window_distances_many(feat, refs, handles, radius, size)
    if name == "nn":
        return [_pick_nn(*wd) for wd in windows]
    return [_pick_motion(*wd, hd, radius) for wd, hd in zip(windows, handles)]
