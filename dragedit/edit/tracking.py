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

`patch` is `motion` matching a 3x3 template (the handle's feature and its
eight neighbours one feature cell apart, from the first iteration) instead of
one feature vector: a single vector is ambiguous on flat parts (a nose tip on
a smooth cheek), where the tracked point slides off the real one.

`patch` is the default: on the landmark benchmark it ends closer than `nn` at
every point count at the same learning rate (README).

Every handle's reference is the template; `nn` and `motion` use its centre,
so the tracker can change during a run.

`track_positions` and `references` work on tensors on the feature map's device
and never read a value back, so a GPU step runs without waiting on the host;
`track_many` and `reference` are their list-of-points wrappers.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

TRACKERS = ("nn", "motion", "patch")


def sample_points(feat, xs, ys, size):
    """Features [C, *xs.shape] at image-pixel positions (x, y), for an image of `size` (H, W).

    Equals indexing the feature map bilinearly resized to the image size (align_corners=False)."""
    h, w = size
    gx = (xs.to(feat.dtype) + 0.5) / w * 2 - 1
    gy = (ys.to(feat.dtype) + 0.5) / h * 2 - 1
    grid = torch.stack([gx, gy], dim=-1).reshape(1, 1, -1, 2).to(feat.device)
    out = F.grid_sample(feat, grid, mode="bilinear", padding_mode="border", align_corners=False)
    return out[0, :, 0].reshape(feat.shape[1], *xs.shape)


def window_distances(feat, ref, handle, radius, size):
    """L2 feature distance to ref at every integer pixel of the window around the handle.

    Returns (dist [h, w], x0, y0): pixel (x0 + j, y0 + i) has distance dist[i, j]."""
    h, w = size
    x, y = int(round(handle[0])), int(round(handle[1]))
    x0, x1 = max(x - radius, 0), min(x + radius + 1, w)
    y0, y1 = max(y - radius, 0), min(y + radius + 1, h)
    ys, xs = torch.meshgrid(torch.arange(y0, y1), torch.arange(x0, x1), indexing="ij")
    patch = sample_points(feat, xs, ys, size)
    return (patch - _centre(ref).reshape(-1, 1, 1)).square().sum(dim=0).sqrt(), x0, y0


def _as_points(points, device=None):
    """[n, 2] float32 tensor of (x, y) from a list of points or a tensor."""
    if isinstance(points, torch.Tensor):
        return points.to(torch.float32).reshape(-1, 2)
    return torch.tensor([[float(x), float(y)] for x, y in points], dtype=torch.float32,
                        device=device).reshape(-1, 2)


def _window_grid(handles, radius, size):
    """Integer window centres and the pixel grid of every window ([n, k, k] each; k = 2 radius + 1),
    with a mask of the cells inside the image. handles: list of points or an [n, 2] tensor (the
    grid is on its device); centres round half to even, as Python's round does."""
    h, w = size
    pts = _as_points(handles)
    offs = torch.arange(-radius, radius + 1, device=pts.device)
    cx = pts[:, 0].round().long().reshape(-1, 1, 1)
    cy = pts[:, 1].round().long().reshape(-1, 1, 1)
    k = offs.numel()
    xs = (cx + offs.reshape(1, 1, -1)).expand(-1, k, k)
    ys = (cy + offs.reshape(1, -1, 1)).expand(-1, k, k)
    inside = (xs >= 0) & (xs < w) & (ys >= 0) & (ys < h)
    return xs, ys, inside


def _patch_step(size):
    """Spacing (image px) of the template's cells: one feature cell at the usual feature
    resolution (half the image's), at least 1 px."""
    return max(1, round(size[0] / 64))


def patch_offsets(size):
    """Offsets (image px) of the 3x3 template the `patch` tracker matches, row by row."""
    step = _patch_step(size)
    return [(dx * step, dy * step) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]


def reference(feat, point, size):
    """What the trackers match against later: the 3x3 template around the handle [C, 9]. Its
    centre column is the handle's own feature, all `nn` and `motion` use, so the tracker can be
    switched during a run."""
    return references(feat, _as_points([point], feat.device), size)[0]


def references(feat, points, size):
    """`reference` of every point of an [n, 2] tensor at once: [n, C, 9]."""
    o = (torch.arange(3, dtype=torch.float32, device=points.device) - 1) * _patch_step(size)
    oy, ox = torch.meshgrid(o, o, indexing="ij")                      # row by row, as patch_offsets
    xs = points[:, :1] + ox.reshape(1, -1)
    ys = points[:, 1:] + oy.reshape(1, -1)
    return sample_points(feat, xs, ys, size).permute(1, 0, 2)         # [n, C, 9]


CENTRE = 4  # the template column of offset (0, 0)


def _centre(ref):
    return ref[:, CENTRE] if ref.dim() == 2 else ref


def _batched_distances(feat, refs, xs, ys, size, template=False):
    if template:  # 3x3 templates: sum of squared distances over the template's cells
        # One lookup on each window grown by the template's reach. ||p - r||^2 = ||p||^2 - 2 p.r + ||r||^2:
        # the products of every template cell with every grown-window cell are one batched matrix
        # product; each cell's share is then a shifted view.
        step = _patch_step(size)
        k = xs.shape[-1]
        grow = torch.arange(-step, k + step, device=xs.device)
        ext_x = xs[:, :1, :1] + grow.reshape(1, 1, -1)
        ext_y = ys[:, :1, :1] + grow.reshape(1, -1, 1)
        ext_x, ext_y = torch.broadcast_tensors(ext_x, ext_y)
        ext = sample_points(feat, ext_x, ext_y, size)                  # [C, n, K, K], K = k + 2 step
        c, n, kk = ext.shape[0], ext.shape[1], ext.shape[-1]
        ref = refs if isinstance(refs, torch.Tensor) else torch.stack(refs)  # [n, C, 9]
        dots = torch.bmm(ref.transpose(1, 2), ext.reshape(c, n, kk * kk).transpose(0, 1))
        dots = dots.reshape(n, 9, kk, kk)
        sq = ext.square().sum(dim=0)                                      # [n, K, K]
        total = ref.square().sum(dim=(1, 2)).reshape(n, 1, 1)
        for j, (dx, dy) in enumerate(patch_offsets(size)):
            rows, cols = slice(step + dy, step + dy + k), slice(step + dx, step + dx + k)
            total = total + sq[:, rows, cols] - 2 * dots[:, j, rows, cols]
        return total.clamp_min(0).sqrt()
    patch = sample_points(feat, xs, ys, size)                         # [C, n, k, k]
    if isinstance(refs, torch.Tensor):
        ref = (refs[:, :, CENTRE] if refs.dim() == 3 else refs).t()[:, :, None, None]
    else:
        ref = torch.stack([_centre(r).reshape(-1) for r in refs], dim=1)[:, :, None, None]
    return (patch - ref).square().sum(dim=0).sqrt()                  # [n, k, k]


def _pick_nn(dist, x0, y0):
    idx = int(torch.argmin(dist))
    return (float(x0 + idx % dist.shape[1]), float(y0 + idx // dist.shape[1]))


def _window_argmin(cost, inside):
    """Row and column of each window's smallest cost ([n, k, k]), over the cells inside the image;
    ties go to the first cell in row order, as in a window cropped to the image. Returns
    (window index, row, column, cost with +inf outside the image)."""
    cost = torch.where(inside, cost, float("inf"))
    k = cost.shape[-1]
    idx = cost.flatten(1).argmin(dim=1)
    return torch.arange(cost.shape[0], device=cost.device), idx // k, idx % k, cost


def _pick_nn_many(dist, xs, ys, inside):
    """`_pick_nn` for all windows at once: [n, 2] positions."""
    n, iy, ix, _ = _window_argmin(dist, inside)
    return torch.stack([xs[n, iy, ix], ys[n, iy, ix]], dim=1).to(torch.float32)


def _parabola_offset(cm, c0, cp):
    """Sub-pixel offset of a minimum from three equally spaced costs, in [-0.5, 0.5]."""
    denom = cm - 2 * c0 + cp
    if denom <= 1e-12:
        return 0.0
    return max(-0.5, min(0.5, 0.5 * (cm - cp) / denom))


def _pick_motion(dist, x0, y0, centre, radius, motion_weight=1.0):
    scale = dist.median().clamp_min(1e-6)
    ys = torch.arange(y0, y0 + dist.shape[0], dtype=dist.dtype).reshape(-1, 1)
    xs = torch.arange(x0, x0 + dist.shape[1], dtype=dist.dtype).reshape(1, -1)
    moved2 = (xs - centre[0]).square() + (ys - centre[1]).square()
    cost = dist / scale + motion_weight * moved2 / float(max(radius, 1)) ** 2
    idx = int(torch.argmin(cost))
    cy, cx = idx // cost.shape[1], idx % cost.shape[1]
    fx, fy = float(x0 + cx), float(y0 + cy)
    if 0 < cx < cost.shape[1] - 1:
        fx += _parabola_offset(float(cost[cy, cx - 1]), float(cost[cy, cx]), float(cost[cy, cx + 1]))
    if 0 < cy < cost.shape[0] - 1:
        fy += _parabola_offset(float(cost[cy - 1, cx]), float(cost[cy, cx]), float(cost[cy + 1, cx]))
    return (fx, fy)


def _median_inside(dist, inside):
    """Per window, the (lower) median of the distances inside the image: nanmedian's result,
    by a sort, which every backend has (Apple's MPS lacks nanmedian in some torch versions)."""
    flat = torch.where(inside, dist, float("inf")).flatten(1)
    count = inside.flatten(1).sum(dim=1)
    return flat.sort(dim=1).values.gather(1, ((count - 1) // 2).reshape(-1, 1)).reshape(-1)


def _pick_motion_many(dist, xs, ys, inside, centres, radius, motion_weight=1.0):
    """`_pick_motion` for all windows at once ([n, k, k] tensors; cells outside the image never win).
    centres: [n, 2] tensor of the previous positions. Returns [n, 2] positions."""
    scale = _median_inside(dist, inside).clamp_min(1e-6)
    c = centres.to(dist.dtype).reshape(-1, 2, 1, 1)
    moved2 = (xs.to(dist.dtype) - c[:, 0]).square() + (ys.to(dist.dtype) - c[:, 1]).square()
    cost = dist / scale.reshape(-1, 1, 1) + motion_weight * moved2 / float(max(radius, 1)) ** 2
    n, iy, ix, cost = _window_argmin(cost, inside)
    k = cost.shape[-1]
    fx = xs[n, iy, ix].to(dist.dtype)
    fy = ys[n, iy, ix].to(dist.dtype)
    # parabola through the two neighbours along each axis, where both lie in the image
    c0 = cost[n, iy, ix]
    out = []
    for axis, base in ((1, fx), (0, fy)):
        lo = (ix if axis else iy) - 1
        hi = (ix if axis else iy) + 1
        ok = (lo >= 0) & (hi < k)
        lo_c, hi_c = lo.clamp(0, k - 1), hi.clamp(0, k - 1)
        cm = cost[n, iy, lo_c] if axis else cost[n, lo_c, ix]
        cp = cost[n, iy, hi_c] if axis else cost[n, hi_c, ix]
        ok = ok & torch.isfinite(cm) & torch.isfinite(cp)
        denom = cm - 2 * c0 + cp
        ok = ok & (denom > 1e-12)
        off = (0.5 * (cm - cp) / torch.where(ok, denom, torch.ones_like(denom))).clamp(-0.5, 0.5)
        out.append(base + torch.where(ok, off, torch.zeros_like(off)))
    return torch.stack(out, dim=1)


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
    if not len(handles):
        return []
    pts = _as_points(handles, feat.device)
    refs = refs if isinstance(refs, torch.Tensor) else torch.stack(list(refs))
    return [tuple(p) for p in track_positions(name, feat, refs, pts, radius, size).tolist()]


def track_positions(name, feat, refs, handles, radius, size):
    """Device-side tracking: refs [n, C, 9] (from `references`), handles [n, 2] on feat's device
    -> [n, 2] new positions, float32, without reading anything back to the host."""
    _check_name(name)
    xs, ys, inside = _window_grid(handles, radius, size)
    if name == "nn":
        return _pick_nn_many(_batched_distances(feat, refs, xs, ys, size), xs, ys, inside)
    dist = _batched_distances(feat, refs, xs, ys, size, template=name == "patch")
    return _pick_motion_many(dist, xs, ys, inside, handles, radius)
