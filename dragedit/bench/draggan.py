"""DragGAN's own loop, written from the paper (Pan et al., SIGGRAPH 2023, section 3), as the benchmark's
baseline: the same model, pairs and detector as ours, none of our changes.

Per iteration: the whole synthesis; the features of the 128-px block (the half-size block on smaller
models) resized bilinearly to the image size; nearest-neighbour tracking (L2 over channels) of each
handle's first-iteration feature in a square window of radius r2; stop once every handle is within
max(2 h / 512, 2) px; motion supervision L1(F(q).detach(), F(q + d)) over the disc of radius r1 around
each handle (F(q + d) by `grid_sample`, align_corners=True), skipping pairs within 1 px; one Adam step
(lr 2e-3) on the first 6 layers of W+. r1 = 3 and r2 = 12 at 512 px, scaled as `round(r * h / 512)`.
"""
from __future__ import annotations

import math
import time

import torch
import torch.nn.functional as F

PAPER_LR = 2e-3
NUM_LAYERS = 6


def radii(h):
    """(r1, r2, stop distance) of the paper's defaults, scaled to an h-px image."""
    return round(3 * h / 512), round(12 * h / 512), max(2 * h / 512, 2.0)


def features_of(G, ws, fb):
    """(image, block fb's features resized bilinearly to the image size), with a graph."""
    img, feats = G.synthesis(ws, return_features=True)
    h = G.img_resolution
    return img, F.interpolate(feats[fb].float(), size=(h, h), mode="bilinear", align_corners=False)


def nearest(feat, ref, point, r2):
    """The integer pixel (x, y) of smallest L2 distance to ref within r2 of point."""
    h, w = feat.shape[-2:]
    x, y = int(point[0]), int(point[1])
    x0, y0 = max(x - r2, 0), max(y - r2, 0)
    win = feat[0, :, y0:min(y + r2 + 1, h), x0:min(x + r2 + 1, w)]
    idx = int(torch.linalg.vector_norm(win - ref.reshape(-1, 1, 1), dim=0).argmin())
    return (x0 + idx % win.shape[-1], y0 + idx // win.shape[-1])


def motion_loss(feat, points, targets, r1):
    h, w = feat.shape[-2:]
    ys, xs = torch.meshgrid(torch.arange(h, device=feat.device), torch.arange(w, device=feat.device),
                            indexing="ij")
    loss = feat.new_zeros(())
    for (px, py), (tx, ty) in zip(points, targets):
        dx, dy = tx - px, ty - py
        norm = math.hypot(dx, dy)
        if norm <= 1:
            continue
        qy, qx = torch.where((xs - px) ** 2 + (ys - py) ** 2 < r1 * r1)
        gx = (qx + dx / norm) / (w - 1) * 2 - 1
        gy = (qy + dy / norm) / (h - 1) * 2 - 1
        grid = torch.stack([gx, gy], dim=-1).reshape(1, 1, -1, 2).to(feat.dtype)
        moved = F.grid_sample(feat, grid, mode="bilinear", align_corners=True)[:, :, 0]
        loss = loss + F.l1_loss(feat[:, :, qy, qx].detach(), moved)
    return loss


class DragGANLoop:
    """One edit with DragGAN's loop; `run` yields (iteration, points, reached, ms) per iteration."""

    def __init__(self, G, ws, handles, targets, lr=PAPER_LR):
        self.G = G
        h = G.img_resolution
        self.fb = G.synthesis.default_feature_block()
        self.r1, self.r2, self.stop = radii(h)
        self.ws0 = ws.detach()
        self.w = ws[:, :NUM_LAYERS].detach().clone().requires_grad_(True)
        self.opt = torch.optim.Adam([self.w], lr=lr)
        self.points = [(int(round(x)), int(round(y))) for x, y in handles]
        self.targets = [(float(x), float(y)) for x, y in targets]
        self.refs = None

    def ws(self):
        return torch.cat([self.w, self.ws0[:, NUM_LAYERS:]], dim=1)

    def step(self):
        """One iteration; returns True once every handle is within the stop distance."""
        _, feat = features_of(self.G, self.ws(), self.fb)
        with torch.no_grad():
            if self.refs is None:
                self.refs = [feat[0, :, y, x].clone() for x, y in self.points]
            else:
                self.points = [nearest(feat, ref, p, self.r2) for ref, p in zip(self.refs, self.points)]
        if all(math.dist(p, t) <= self.stop for p, t in zip(self.points, self.targets)):
            return True
        loss = motion_loss(feat, self.points, self.targets, self.r1)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return False

    def run(self, max_steps):
        for i in range(max_steps):
            t = time.perf_counter()
            reached = self.step()
            yield i + 1, list(self.points), reached, (time.perf_counter() - t) * 1000
            if reached:
                return

    def image(self):
        with torch.no_grad():
            return self.G.synthesis(self.ws())
