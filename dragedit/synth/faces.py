"""Deterministic renderer of cartoon faces, the synthetic training data for dragedit.

Why a renderer: a StyleGAN trained on these faces learns a latent space in
which pose, shape and expression move geometry smoothly, which is exactly
what drag editing needs, and every image comes with exact landmarks (for the
landmark detector and for evaluating drags).

Everything is an implicit shape (an approximate signed distance, in pixels)
evaluated with numpy on a supersampled pixel grid, restricted to each shape's
bounding box, then box-downsampled: anti-aliased, vectorised and
deterministic (same factors -> same bytes).

Coordinates: internally a 128-unit canvas whose edges are at 0 and 128.
Landmarks are returned in pixels of the `size` x `size` output, pixel column i
/ row j having its centre at exactly (i, j), so the valid range is
[-0.5, size - 0.5]. "Left"/"right" in names mean image left/right.

Geometry has three frames:
  screen  -> rotated frame (undo head roll about the pivot)
  rotated -> feature frame (undo yaw: the face is a vertical cylinder of
             radius Rw, u = Rw sin(asin(x / Rw) - yaw)), in which eyes, brows
             and mouth are drawn, so yaw shifts them sideways and squashes the
             far side. The nose tip sticks out further (radius Rn > Rw).
Landmarks are the same defining points pushed through the forward
transforms, or found by root-finding on the very implicit functions that are
drawn (face outline, hair top), so they are exactly where features appear.
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

FACTOR_NAMES = (
    "head_width", "head_height", "jaw_width", "yaw", "roll",
    "eye_spacing", "eye_height", "eye_size", "eye_openness", "gaze_x", "gaze_y",
    "brow_height", "brow_angle", "nose_length", "nose_width",
    "mouth_width", "mouth_openness", "smile", "mouth_height",
    "hair_volume", "hair_style", "hair_fringe", "hair_length", "hair_hue", "hair_lightness",
    "ear_size", "skin_tone", "background_hue", "background_lightness",
    "light_direction", "light_strength",
)
NUM_FACTORS = len(FACTOR_NAMES)
FACTOR_INDEX = {n: i for i, n in enumerate(FACTOR_NAMES)}

LANDMARK_NAMES = (
    "l_eye_outer", "l_eye_inner", "r_eye_inner", "r_eye_outer",
    "l_pupil", "r_pupil",
    "l_eye_top", "l_eye_bottom", "r_eye_top", "r_eye_bottom",
    "l_brow_outer", "l_brow_inner", "r_brow_inner", "r_brow_outer",
    "nose_tip",
    "mouth_left", "mouth_right", "upper_lip", "lower_lip",
    "chin", "l_jaw", "r_jaw", "l_cheek", "r_cheek",
    "hair_top",
)
NUM_LANDMARKS = len(LANDMARK_NAMES)
LANDMARK_INDEX = {n: i for i, n in enumerate(LANDMARK_NAMES)}
# Left/right pairs: used to mirror landmarks under a horizontal flip (augmentation).
LANDMARK_FLIP = tuple(
    LANDMARK_INDEX[n.replace("l_", "#").replace("r_", "l_").replace("#", "r_")]
    if n.startswith(("l_", "r_")) else
    (LANDMARK_INDEX["mouth_right"] if n == "mouth_left" else
     LANDMARK_INDEX["mouth_left"] if n == "mouth_right" else i)
    for i, n in enumerate(LANDMARK_NAMES))

CANVAS = 128.0
PIVOT = (64.0, 62.0)            # head-frame origin (between the eyes/nose), roll pivot

# Fixed colours (RGB 0..1).
_OUTLINE_MIX = 0.45             # outline = darkened fill colour
_EYE_WHITE = np.array([0.98, 0.98, 0.97], np.float32)
_IRIS = np.array([0.30, 0.20, 0.14], np.float32)
_PUPIL = np.array([0.05, 0.04, 0.05], np.float32)
_LINE = np.array([0.16, 0.10, 0.09], np.float32)
_MOUTH_IN = np.array([0.42, 0.10, 0.13], np.float32)
_TONGUE = np.array([0.88, 0.45, 0.48], np.float32)
_TEETH = np.array([0.97, 0.96, 0.93], np.float32)
_SKIN_PALETTE = np.array([[1.00, 0.88, 0.78], [0.95, 0.76, 0.60], [0.80, 0.55, 0.38],
                          [0.50, 0.32, 0.21]], np.float32)


# ----------------------------------------------------------------------------- factors

def random_factors(n: int, seed: int = 0) -> np.ndarray:
    """n factor vectors, uniform in [0, 1] (the prior), from a seeded numpy Generator."""
    return np.random.default_rng(seed).random((int(n), NUM_FACTORS)).astype(np.float32)


def factors_from_z(z):
    """Map z ~ N(0, I) to uniform factors via the normal CDF (numpy array or torch tensor).

    This is how a generator's latent links to the renderer's prior: each
    standard normal coordinate becomes one uniform factor.
    """
    torch = sys.modules.get("torch")        # no torch import needed for numpy callers
    if torch is not None and isinstance(z, torch.Tensor):
        return torch.special.ndtr(z)
    z = np.asarray(z, dtype=np.float64)
    erf = np.frompyfunc(math.erf, 1, 1)
    e = np.asarray(erf(z / math.sqrt(2.0)), dtype=np.float64)
    return (0.5 * (1.0 + e)).astype(np.float32)


def default_factors() -> np.ndarray:
    """An average face: all factors 0.5."""
    return np.full(NUM_FACTORS, 0.5, np.float32)


def _lerp(a, b, t):
    return a + (b - a) * t


def _hsv(h, s, v):
    """Scalar HSV -> RGB (0..1), hue wraps so colours vary continuously around the circle."""
    h = (h % 1.0) * 6.0
    c = v * s
    x = c * (1 - abs(h % 2 - 1))
    i = int(h) % 6
    r, g, b = [(c, x, 0), (x, c, 0), (0, c, x), (0, x, c), (x, 0, c), (c, 0, x)][i]
    m = v - c
    return np.array([r + m, g + m, b + m], np.float32)


# ----------------------------------------------------------------------------- geometry

class FaceGeometry:
    """All shape parameters and transforms derived from one factor vector (128-unit canvas)."""

    def __init__(self, factors):
        f = np.clip(np.asarray(factors, np.float64).reshape(-1), 0.0, 1.0)
        if f.shape[0] != NUM_FACTORS:
            raise ValueError(f"expected {NUM_FACTORS} factors, got {f.shape[0]}")
        g = {n: float(f[i]) for i, n in enumerate(FACTOR_NAMES)}
        self.f = g
        self.px, self.py = PIVOT
        # head
        self.W = _lerp(25.0, 33.0, g["head_width"])          # cranium half width
        self.H = _lerp(28.0, 36.0, g["head_height"])         # cranium half height
        self.cy = -7.0                                        # cranium centre (rotated frame)
        self.chin_y = self.cy + self.H * 1.18 + 2.0
        self.Jw = self.W * _lerp(0.50, 0.96, g["jaw_width"])
        self.Jh = self.H * 0.62
        self.yaw = _lerp(-0.42, 0.42, g["yaw"])
        self.roll = _lerp(-0.26, 0.26, g["roll"])
        self.cr, self.sr = math.cos(self.roll), math.sin(self.roll)
        self.Rw = self.W * 1.05                               # feature cylinder radius
        self.Rn = self.W * 1.32                               # nose tip protrudes further
        self.jx = 0.28 * self.W * math.sin(self.yaw)          # jaw follows the turn a little
        self.jy = self.chin_y - self.Jh
        self.k_head = 7.0                                     # smooth-union radius
        # eyes
        self.es = self.W * _lerp(0.28, 0.45, g["eye_spacing"])
        self.ey = _lerp(-3.0, 5.0, g["eye_height"])
        self.erx = self.W * _lerp(0.16, 0.25, g["eye_size"])
        op = _lerp(0.28, 1.0, g["eye_openness"])
        self.ehu = self.erx * 0.78 * op                       # upper lid height
        self.ehl = self.erx * _lerp(0.30, 0.50, op)           # lower lid depth
        self.pr = self.erx * 0.47                             # iris radius
        self.gx = _lerp(-1.0, 1.0, g["gaze_x"])
        self.gy = _lerp(-1.0, 1.0, g["gaze_y"])
        # brows
        self.brow_gap = _lerp(2.5, 8.0, g["brow_height"])
        self.brow_ang = _lerp(-0.38, 0.38, g["brow_angle"])   # >0: inner end lower (frown)
        self.brow_hw = self.erx * 1.15
        self.brow_th = _lerp(1.2, 1.7, 1.0 - g["brow_height"] * 0.5)
        # nose
        self.nose_y = self.ey + _lerp(8.0, 15.0, g["nose_length"])
        self.nw = _lerp(2.6, 5.4, g["nose_width"])
        # mouth
        self.mw = self.W * _lerp(0.22, 0.42, g["mouth_width"])
        mo = g["mouth_openness"]
        self.mhu = _lerp(0.0, 2.8, mo)
        self.mhl = _lerp(0.0, 7.0, mo)
        self.smile = _lerp(-2.5, 4.5, g["smile"])
        top = self.nose_y + self.nw * 0.75 + 3.0 + self.mhu
        bottom = self.chin_y - 4.0 - max(self.smile, 0.0) - self.mhl
        self.my = _lerp(top, max(top, bottom), g["mouth_height"])
        # ears
        self.ear_s = _lerp(0.75, 1.25, g["ear_size"])
        self.ear_y = self.ey + 5.0
        # hair
        self.hv = _lerp(1.0, 9.0, g["hair_volume"])
        self.hstyle = g["hair_style"]
        self.hlen = _lerp(0.35, 2.05, g["hair_length"]) * self.H
        # fringe: the line stays above the brows (eyes and brows never hidden)
        (ui, vi), (uo, vo) = self.brow_ends(1)
        brow_top = min(vi, vo, self.ey - self.ehu - self.brow_gap - 2.6) - self.brow_th - 1.8
        self.fringe_cap = brow_top
        hair_line_top = self.cy - self.H * 0.55
        self.fringe_y = _lerp(hair_line_top, max(hair_line_top, brow_top), g["hair_fringe"])
        # colours
        t = g["skin_tone"] * (len(_SKIN_PALETTE) - 1)
        i = min(int(t), len(_SKIN_PALETTE) - 2)
        self.skin = _lerp(_SKIN_PALETTE[i], _SKIN_PALETTE[i + 1], t - i).astype(np.float32)
        hl = g["hair_lightness"]
        # purple -> red -> brown/ginger -> blond; dark values give black/brown hair
        hh = _lerp(-0.22, 0.14, g["hair_hue"])
        self.hair = _hsv(hh, _lerp(0.62, 0.45, hl) - 0.2 * max(hh - 0.08, 0.0) / 0.06 * (1 - hl),
                         _lerp(0.14, 0.93, hl))
        self.bg_h = g["background_hue"]
        self.bg_v = _lerp(0.38, 0.95, g["background_lightness"])
        ang = _lerp(-1.1, 1.1, g["light_direction"])
        self.light = (math.sin(ang), -math.cos(ang))
        self.light_k = _lerp(0.05, 0.42, g["light_strength"])

    # -- transforms (scalars or arrays) -------------------------------------------
    def to_rot(self, X, Y):
        """screen -> rotated (roll undone) frame."""
        dx, dy = X - self.px, Y - self.py
        return self.cr * dx + self.sr * dy, -self.sr * dx + self.cr * dy

    def from_rot(self, xr, yr):
        """rotated frame -> screen."""
        return self.px + self.cr * xr - self.sr * yr, self.py + self.sr * xr + self.cr * yr

    def rot_to_feat(self, xr):
        """rotated x -> feature-frame u (undo yaw on the cylinder)."""
        s = np.clip(xr / self.Rw, -1.0, 1.0)
        return self.Rw * np.sin(np.arcsin(s) - self.yaw)

    def feat_to_rot(self, u):
        s = np.clip(np.asarray(u, np.float64) / self.Rw, -1.0, 1.0)
        return self.Rw * np.sin(np.arcsin(s) + self.yaw)

    def feat_to_screen(self, u, v):
        return self.from_rot(self.feat_to_rot(u), v)

    # -- implicit shapes in the rotated frame (approximate signed distances) ----------
    def head_sdf(self, xr, yr):
        """Face outline: smooth union of a cranium ellipse and a jaw ellipse."""
        a = _ellipse_sdf(xr, yr - self.cy, self.W, self.H)
        b = _ellipse_sdf(xr - self.jx, yr - self.jy, self.Jw, self.Jh)
        return _smin(a, b, self.k_head)

    def hair_back_sdf(self, xr, yr):
        """Hair behind the head: puffed cranium cap smoothly joined to a curtain of length hlen."""
        W, H, v = self.W, self.H, self.hv
        # wavy outline amplitude grows with style (continuous morph smooth -> curly)
        # "diamond angle" (cheap monotone stand-in for atan2) around the cranium centre
        dy = yr - self.cy
        p = xr / (np.abs(xr) + np.abs(dy) + 1e-3)
        wave = (0.4 + 2.2 * self.hstyle) * np.sin(p * 22.0 + 1.3) * np.clip(0.6 - dy / H, 0, 1)
        cap = _ellipse_sdf(xr, yr - self.cy + 0.35 * v, W + v, H + v * 0.9) - wave
        bottom = self.cy + self.hlen
        hw = W + 0.75 * v
        yc = 0.5 * (self.cy + bottom)
        hh = 0.5 * (bottom - self.cy)
        r = min(8.0, hh)
        cur = _round_box_sdf(xr, yr - yc, hw, hh, r)
        # a little tapered tips at the bottom: narrow the curtain towards its end
        return _smin(cap, cur, 6.0)

    def fringe_line(self, xr):
        """y of the lower edge of the front hair, a function of x in the rotated frame."""
        W = self.W
        xn = self.rot_to_feat(xr) / W                       # follows yaw like the features
        s = self.hstyle
        tilt = 0.45 * (1.0 - s) ** 2 * W * 0.5 * xn          # side-swept when s is small
        scallop = s * 2.6 * np.abs(np.sin(xn * 5.5 + 0.4))  # bangs tips when s is large
        sides = 0.55 * (xn ** 4) * self.H * 0.8               # hair comes down at the temples
        y = self.fringe_y + tilt + scallop + sides
        return np.minimum(y, self.fringe_cap)                 # never covers the brows

    def fringe_sdf(self, xr, yr):
        """(region, line) distances: front hair = inside head or back hair, above the fringe line."""
        d_line = yr - self.fringe_line(xr)
        region = np.minimum(self.head_sdf(xr, yr) - 1.2, self.hair_back_sdf(xr, yr) + 0.9)
        return region, d_line

    # -- landmarks -------------------------------------------------------------------
    def eye_centers(self):
        return (-self.es, self.ey), (self.es, self.ey)

    def pupil_offset(self):
        a = self.gx * (self.erx - self.pr) * 0.8
        q = 1.0 - (a / self.erx) ** 2
        b = self.gy * (self.ehl if self.gy > 0 else self.ehu) * 0.45 * q
        return a, b

    def brow_ends(self, side):
        """(inner, outer) ends of a brow in the feature frame; side -1 = image left."""
        ex, ey = self.es * side, self.ey
        cx = ex + side * 0.8
        cy = ey - self.ehu - self.brow_gap - 1.0
        ang = self.brow_ang
        # inner end goes down for positive angle
        dx, dy = math.cos(ang) * self.brow_hw, math.sin(ang) * self.brow_hw
        inner = (cx - side * dx, cy + dy)
        outer = (cx + side * dx, cy - dy)
        return inner, outer

    def mouth_center_line(self, u):
        return self.my + self.smile * (1.0 - (u / self.mw) ** 2)

    def nose_tip_rot(self):
        return self.Rn * math.sin(self.yaw), self.nose_y

    def landmarks(self):
        """[K, 2] landmarks on the 128-unit canvas (edge coordinates)."""
        P = {}
        feat = []
        for side, nm in ((-1, "l"), (1, "r")):
            ex, ey = self.es * side, self.ey
            feat.append((f"{nm}_eye_outer", ex + side * self.erx, ey))
            feat.append((f"{nm}_eye_inner", ex - side * self.erx, ey))
            a, b = self.pupil_offset()
            feat.append((f"{nm}_pupil", ex + a, ey + b))
            feat.append((f"{nm}_eye_top", ex, ey - self.ehu))
            feat.append((f"{nm}_eye_bottom", ex, ey + self.ehl))
            inner, outer = self.brow_ends(side)
            feat.append((f"{nm}_brow_inner",) + inner)
            feat.append((f"{nm}_brow_outer",) + outer)
        c0 = self.mouth_center_line(0.0)
        feat += [("mouth_left", -self.mw, self.my), ("mouth_right", self.mw, self.my),
                 ("upper_lip", 0.0, c0 - self.mhu), ("lower_lip", 0.0, c0 + self.mhl)]
        for name, u, v in feat:
            P[name] = self.feat_to_screen(u, v)
        P["nose_tip"] = self.from_rot(*self.nose_tip_rot())
        # outline points: root finding on the drawn implicit functions
        big = 80.0
        P["chin"] = self.from_rot(*_ray_root(self.head_sdf, (self.jx, self.jy), (0.0, 1.0), big))
        yj = 0.5 * (self.my + self.chin_y)
        P["l_jaw"] = self.from_rot(*_ray_root(self.head_sdf, (self.jx, yj), (-1.0, 0.0), big))
        P["r_jaw"] = self.from_rot(*_ray_root(self.head_sdf, (self.jx, yj), (1.0, 0.0), big))
        P["l_cheek"] = self.from_rot(*_ray_root(self.head_sdf, (0.0, self.ey), (-1.0, 0.0), big))
        P["r_cheek"] = self.from_rot(*_ray_root(self.head_sdf, (0.0, self.ey), (1.0, 0.0), big))
        P["hair_top"] = self.from_rot(*_ray_root(self.hair_back_sdf, (0.0, self.cy), (0.0, -1.0), big))
        return np.array([P[n] for n in LANDMARK_NAMES], np.float64)


# ----------------------------------------------------------------------------- sdf helpers

def _ellipse_sdf(x, y, rx, ry):
    """Approximate signed distance to an axis-aligned ellipse (exact on the boundary's zero set)."""
    k0 = np.sqrt((x / rx) ** 2 + (y / ry) ** 2)
    k1 = np.sqrt((x / (rx * rx)) ** 2 + (y / (ry * ry)) ** 2)
    return k0 * (k0 - 1.0) / np.maximum(k1, 1e-6)


def _circle_sdf(x, y, r):
    return np.sqrt(x * x + y * y) - r


def _round_box_sdf(x, y, hw, hh, r):
    qx = np.abs(x) - hw + r
    qy = np.abs(y) - hh + r
    ox, oy = np.maximum(qx, 0.0), np.maximum(qy, 0.0)
    return np.sqrt(ox * ox + oy * oy) + np.minimum(np.maximum(qx, qy), 0.0) - r


def _smin(a, b, k):
    """Polynomial smooth minimum: a smooth union that equals min(a, b) where |a-b| >= k."""
    h = np.maximum(k - np.abs(a - b), 0.0) / k
    return np.minimum(a, b) - h * h * k * 0.25


def _ray_root(fn, origin, direction, tmax, step=0.25, iters=40):
    """Outermost zero of fn along origin + t*direction, t in [0, tmax] (fn < 0 at origin).

    Scans inward from tmax so the outermost crossing is found even for wavy
    outlines, then bisects to float precision.
    """
    ox, oy = origin
    dx, dy = direction
    ts = np.arange(tmax, -step, -step)
    vals = fn(ox + ts * dx, oy + ts * dy)
    inside = np.nonzero(vals <= 0)[0]
    if len(inside) == 0:
        raise ValueError("ray origin is outside the shape")
    j = inside[0]
    lo, hi = ts[j], ts[j - 1] if j > 0 else tmax   # fn(lo) <= 0 < fn(hi)
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        if fn(np.float64(ox + mid * dx), np.float64(oy + mid * dy)) <= 0:
            lo = mid
        else:
            hi = mid
    t = 0.5 * (lo + hi)
    return ox + t * dx, oy + t * dy


# ----------------------------------------------------------------------------- canvas

class _Canvas:
    """Supersampled float canvas; shapes are painted only inside their bounding box."""

    def __init__(self, size, ss):
        self.n = size * ss
        self.ss = ss
        self.pw = CANVAS / self.n                 # canvas units per sample
        self.img = np.zeros((self.n, self.n, 3), np.float32)
        self.coords = (np.arange(self.n, dtype=np.float32) + 0.5) * self.pw

    def region(self, box):
        """Slice and (X, Y) sample grids for a canvas-unit box (x0, y0, x1, y1), or None if empty."""
        x0, y0, x1, y1 = box
        i0 = max(int(math.floor(x0 / self.pw)), 0)
        i1 = min(int(math.ceil(x1 / self.pw)) + 1, self.n)
        j0 = max(int(math.floor(y0 / self.pw)), 0)
        j1 = min(int(math.ceil(y1 / self.pw)) + 1, self.n)
        if i1 <= i0 or j1 <= j0:
            return None
        X = self.coords[i0:i1][None, :]
        Y = self.coords[j0:j1][:, None]
        return (slice(j0, j1), slice(i0, i1)), X, Y

    def alpha(self, d):
        return np.clip(0.5 - d / self.pw, 0.0, 1.0)

    def blend(self, sl, a, color):
        """Composite colour (3,) or (h, w, 3) over the region with coverage a (h, w)."""
        dst = self.img[sl]
        dst += a[..., None] * (color - dst)

    def downsample(self, size, ss):
        im = self.img.reshape(size, ss, size, ss, 3).mean(axis=(1, 3))
        return np.clip(np.round(im * 255.0), 0, 255).astype(np.uint8)


def _rot_box(g, x0, y0, x1, y1, margin=2.0):
    """Screen bounding box of a rotated-frame box."""
    xs, ys = g.from_rot(np.array([x0, x1, x0, x1]), np.array([y0, y0, y1, y1]))
    return xs.min() - margin, ys.min() - margin, xs.max() + margin, ys.max() + margin


def _feat_box(g, u0, v0, u1, v1, margin=2.0):
    xr = g.feat_to_rot(np.array([u0, u1]))
    return _rot_box(g, xr.min(), v0, xr.max(), v1, margin)


def _shade(g, X, Y, color):
    """Soft directional lighting: colour scaled by a linear gradient across the head."""
    t = ((X - g.px) * g.light[0] + (Y - (g.py + g.cy)) * g.light[1]) / 45.0
    s = np.clip(1.0 + g.light_k * t, 0.55, 1.35).astype(np.float32)
    return s[..., None] * color


# ----------------------------------------------------------------------------- render

def render(factors, size: int = 128, supersample: int = 4):
    """Render one face -> (uint8 image [size, size, 3], float32 landmarks [K, 2] in output pixels)."""
    g = FaceGeometry(factors)
    cv = _Canvas(size, supersample)
    hr = _HeadRegion(g, cv)
    _paint_background(g, cv)
    _paint_hair_back(g, cv, hr)
    _paint_neck(g, cv)
    _paint_shoulders(g, cv)
    _paint_ears(g, cv)
    _paint_head(g, cv, hr)
    _paint_eyes(g, cv)
    _paint_brows(g, cv)
    _paint_nose(g, cv)
    _paint_mouth(g, cv)
    _paint_fringe(g, cv, hr)
    img = cv.downsample(size, supersample)
    lm = g.landmarks() * (size / CANVAS) - 0.5
    return img, lm.astype(np.float32)


def render_batch(factors, size: int = 128, supersample: int = 4):
    """Render [N, F] factors -> (uint8 images [N, size, size, 3], float32 landmarks [N, K, 2])."""
    factors = np.asarray(factors, np.float32).reshape(-1, NUM_FACTORS)
    imgs = np.empty((len(factors), size, size, 3), np.uint8)
    lms = np.empty((len(factors), NUM_LANDMARKS, 2), np.float32)
    for i, f in enumerate(factors):
        imgs[i], lms[i] = render(f, size, supersample)
    return imgs, lms


def landmarks_of(factors, size: int = 128) -> np.ndarray:
    """Landmarks only (no drawing), float32 [K, 2] or [N, K, 2]."""
    f = np.asarray(factors, np.float32)
    if f.ndim == 1:
        return (FaceGeometry(f).landmarks() * (size / CANVAS) - 0.5).astype(np.float32)
    return np.stack([landmarks_of(x, size) for x in f])


def _paint_background(g, cv):
    """Vertical gradient of the background hue plus a soft glow behind the head.

    The field is smooth, so it is evaluated once per output pixel and broadcast
    to the supersamples (the box filter returns exactly these values).
    """
    n = cv.n // cv.ss
    c = ((np.arange(n, dtype=np.float32) + 0.5) * (CANVAS / n))
    top = _hsv(g.bg_h, 0.32, min(1.0, g.bg_v * 1.08))
    bot = _hsv(g.bg_h + 0.04, 0.42, g.bg_v * 0.78)
    t = (c / CANVAS)[:, None, None]
    grad = top * (1 - t) + bot * t                                # (n, 1, 3)
    # a Gaussian is separable, so two 1-D exps suffice
    gx = np.exp(-((c - 64.0) / 70.0) ** 2).astype(np.float32)
    gy = (0.10 * np.exp(-((c - 55.0) / 70.0) ** 2)).astype(np.float32)
    glow = (gy[:, None] * gx[None, :])[..., None]
    bg = grad + glow * (1.0 - grad)
    cv.img.reshape(n, cv.ss, n, cv.ss, 3)[:] = bg[:, None, :, None, :]


def _paint_shoulders(g, cv):
    shirt = _hsv(g.bg_h + 0.5, 0.45, _lerp(0.75, 0.45, g.f["background_lightness"]))
    box = (0.0, 96.0, CANVAS, CANVAS)
    sl, X, Y = cv.region(box)
    cx = g.px + 0.35 * g.jx
    d = _ellipse_sdf(X - cx, Y - 146.0, 60.0 + 0.5 * g.W, 44.0)
    # collar: a V-neck notch cut into the shirt top (skin of the neck shows through)
    d = np.maximum(d, (112.0 - 1.4 * np.abs(X - cx) - Y) * 0.58)
    cv.blend(sl, cv.alpha(d - 0.9), shirt * _OUTLINE_MIX)
    cv.blend(sl, cv.alpha(d), _shade(g, X, Y, shirt))


def _paint_neck(g, cv):
    cx = g.px + 0.5 * g.jx
    hw = g.Jw * 0.62
    top = g.py + g.jy
    box = (cx - hw - 2, top, cx + hw + 2, CANVAS)
    r = cv.region(box)
    if r is None:
        return
    sl, X, Y = r
    d = _round_box_sdf(X - cx, Y - 0.5 * (top + 125.0), hw, 0.5 * (125.0 - top), 2.0)
    col = g.skin * 0.82
    cv.blend(sl, cv.alpha(d - 0.8), col * _OUTLINE_MIX)
    cv.blend(sl, cv.alpha(d), _shade(g, X, Y, col))


class _HeadRegion:
    """Head and hair distances on one shared grid (they overlap a lot; computed once)."""

    def __init__(self, g, cv):
        ext = g.W + g.hv + 4.0
        box = _rot_box(g, -ext, g.cy - g.H - g.hv - 4.0, ext,
                       max(g.cy + g.hlen, g.chin_y) + 2.0)
        self.sl, self.X, self.Y = cv.region(box)
        self.xr, self.yr = g.to_rot(self.X, self.Y)
        self.d_head = g.head_sdf(self.xr, self.yr)
        self.d_hair = g.hair_back_sdf(self.xr, self.yr)
        t = ((self.X - g.px) * g.light[0] + (self.Y - (g.py + g.cy)) * g.light[1]) * (g.light_k / 45.0)
        self.shade = np.clip(1.0 + t, 0.55, 1.35).astype(np.float32)[..., None]

    def sub(self, cv, box):
        """Index tuple (into this region's arrays) and canvas slice for a sub-box."""
        r = cv.region(box)
        if r is None:
            return None
        (sy, sx), _, _ = r
        y0, y1 = max(sy.start, self.sl[0].start), min(sy.stop, self.sl[0].stop)
        x0, x1 = max(sx.start, self.sl[1].start), min(sx.stop, self.sl[1].stop)
        if y1 <= y0 or x1 <= x0:
            return None
        loc = (slice(y0 - self.sl[0].start, y1 - self.sl[0].start),
               slice(x0 - self.sl[1].start, x1 - self.sl[1].start))
        return loc, (slice(y0, y1), slice(x0, x1))


def _paint_hair_back(g, cv, hr):
    d = hr.d_hair
    cv.blend(hr.sl, cv.alpha(d - 0.9), g.hair * _OUTLINE_MIX)
    cv.blend(hr.sl, cv.alpha(d), hr.shade * g.hair)


def _paint_ears(g, cv):
    for side in (-1, 1):
        ang = side * 1.72 + g.yaw
        ex = g.W * math.sin(ang)
        vis = 0.55 + 0.45 * abs(math.sin(ang))
        rx = 4.2 * g.ear_s * vis
        ry = 6.5 * g.ear_s
        box = _rot_box(g, ex - rx - 2, g.ear_y - ry - 2, ex + rx + 2, g.ear_y + ry + 2)
        r = cv.region(box)
        if r is None:
            continue
        sl, X, Y = r
        xr, yr = g.to_rot(X, Y)
        d = _ellipse_sdf(xr - ex, yr - g.ear_y, rx, ry)
        cv.blend(sl, cv.alpha(d - 0.9), g.skin * _OUTLINE_MIX)
        cv.blend(sl, cv.alpha(d), _shade(g, X, Y, g.skin))
        # inner ear fold
        d2 = np.abs(_ellipse_sdf(xr - ex - side * rx * 0.25, yr - g.ear_y, rx * 0.45, ry * 0.6)) - 0.45
        d2 = np.maximum(d2, -(xr - ex) * side)        # only the outer half of the fold
        cv.blend(sl, cv.alpha(d2) * 0.6, g.skin * 0.6)


def _paint_head(g, cv, hr):
    ext = g.W + 2.0
    r = hr.sub(cv, _rot_box(g, -ext, g.cy - g.H - 2, ext, g.chin_y + 2))
    loc, sl = r
    d = hr.d_head[loc]
    cv.blend(sl, cv.alpha(d - 1.0), g.skin * _OUTLINE_MIX)
    a_skin = cv.alpha(d)
    cv.blend(sl, a_skin, hr.shade[loc] * g.skin)
    # cheek blush (soft, in the feature frame so it follows yaw), in a small box per cheek
    blush = np.array([0.95, 0.45, 0.45], np.float32)
    for side in (-1, 1):
        bx = side * (g.es + g.erx * 0.3)
        by = g.ey + g.erx + 4.0
        rb = hr.sub(cv, _feat_box(g, bx - 11, by - 7, bx + 11, by + 7))
        if rb is None:
            continue
        lb, sb = rb
        u = g.rot_to_feat(hr.xr[lb])
        q = ((u - bx) / 5.0) ** 2 + ((hr.yr[lb] - by) / 3.0) ** 2
        a = (0.28 * np.exp(-q) * cv.alpha(hr.d_head[lb])).astype(np.float32)
        cv.blend(sb, a, blush)


def _paint_eyes(g, cv):
    pa, pb = g.pupil_offset()
    for side in (-1, 1):
        ex = g.es * side
        box = _feat_box(g, ex - g.erx - 2, g.ey - g.ehu - 2.5, ex + g.erx + 2, g.ey + g.ehl + 2)
        sl, X, Y = cv.region(box)
        xr, yr = g.to_rot(X, Y)
        a = g.rot_to_feat(xr) - ex
        b = yr - g.ey
        q = 1.0 - (a / g.erx) ** 2
        slope = 2.0 * a / (g.erx * g.erx)
        up = -g.ehu * q
        lo = g.ehl * q
        d_up = (up - b) / np.sqrt(1.0 + (g.ehu * slope) ** 2)
        d_lo = (b - lo) / np.sqrt(1.0 + (g.ehl * slope) ** 2)
        d = np.maximum(d_up, d_lo)
        # outline, thicker on the upper lid (lash line)
        t = np.where(b < 0, 1.15, 0.7)
        cv.blend(sl, cv.alpha(d - t), _LINE)
        inside = cv.alpha(d)
        cv.blend(sl, inside, _EYE_WHITE)
        di = _circle_sdf(a - pa, b - pb, g.pr)
        cv.blend(sl, cv.alpha(np.maximum(di, d)), _IRIS)
        dp = _circle_sdf(a - pa, b - pb, g.pr * 0.58)
        cv.blend(sl, cv.alpha(np.maximum(dp, d)), _PUPIL)
        dh = _circle_sdf(a - pa - 0.42 * g.pr, b - pb + 0.42 * g.pr, g.pr * 0.26)
        cv.blend(sl, cv.alpha(np.maximum(dh, d)) * 0.9, _EYE_WHITE)


def _paint_brows(g, cv):
    col = g.hair * 0.55
    for side in (-1, 1):
        inner, outer = g.brow_ends(side)
        u0, v0 = inner
        u1, v1 = outer
        box = _feat_box(g, min(u0, u1) - 2, min(v0, v1) - 4, max(u0, u1) + 2, max(v0, v1) + 4)
        sl, X, Y = cv.region(box)
        xr, yr = g.to_rot(X, Y)
        u = g.rot_to_feat(xr)
        # brow-local coords along the inner->outer segment
        L = math.hypot(u1 - u0, v1 - v0)
        tx, ty = (u1 - u0) / L, (v1 - v0) / L
        s = ((u - u0) * tx + (yr - v0) * ty) / L            # 0 at inner, 1 at outer
        n = -(u - u0) * ty + (yr - v0) * tx
        n = n * side                                         # same handedness for both brows
        arch = 1.6 * 4.0 * s * (1.0 - s)                     # arches upwards
        th = g.brow_th * np.sqrt(np.clip(1.0 - (2.0 * s - 1.0) ** 2, 0.0, 1.0)) * (1.15 - 0.35 * s)
        d = np.maximum(np.abs(n + arch) - th, (np.abs(s - 0.5) - 0.5) * L)   # clip at the ends
        cv.blend(sl, cv.alpha(d), col)


def _paint_nose(g, cv):
    tx, ty = g.nose_tip_rot()
    rx, ry = g.nw, g.nw * 0.72
    box = _rot_box(g, tx - rx - 3, ty - ry - 6, tx + rx + 3, ty + ry + 2)
    sl, X, Y = cv.region(box)
    xr, yr = g.to_rot(X, Y)
    d = _ellipse_sdf(xr - tx, yr - ty, rx, ry)
    shade = g.skin * 0.88
    cv.blend(sl, cv.alpha(d) * 0.55, shade)
    # lower arc ("u" line) of the nose tip
    low = np.clip((yr - ty) / (0.35 * ry) + 0.3, 0.0, 1.0)
    cv.blend(sl, cv.alpha(np.abs(d) - 0.55) * low, g.skin * 0.42)
    # nostrils
    for s in (-1, 1):
        dn = _ellipse_sdf(xr - tx - s * rx * 0.42, yr - ty - ry * 0.35, rx * 0.2, ry * 0.2)
        cv.blend(sl, cv.alpha(dn) * 0.7, g.skin * 0.35)
    # bridge shading on the side facing away from the light, following yaw
    bx = g.feat_to_rot(0.0)
    side = 1.0 if g.light[0] < 0 else -1.0
    t = np.clip((yr - (ty - 7.0)) / 7.0, 0.0, 1.0)
    lx = bx + (tx - bx) * t + side * rx * 0.75 * t
    dl = np.maximum(np.abs(xr - lx) - 0.45, np.maximum(ty - 7.0 - yr, yr - ty + 0.3 * ry))
    cv.blend(sl, cv.alpha(dl) * 0.35 * t, g.skin * 0.6)


def _paint_mouth(g, cv):
    mw, my = g.mw, g.my
    box = _feat_box(g, -mw - 2, my - g.mhu - 3 - max(0, -g.smile), mw + 2, my + g.mhl + max(0, g.smile) + 3)
    sl, X, Y = cv.region(box)
    xr, yr = g.to_rot(X, Y)
    u = g.rot_to_feat(xr)
    q = 1.0 - (u / mw) ** 2
    c = my + g.smile * q
    dq = -2.0 * u / (mw * mw)
    up = c - g.mhu * q
    lo = c + g.mhl * q
    s_up = (g.smile - g.mhu) * dq
    s_lo = (g.smile + g.mhl) * dq
    d_up = (up - yr) / np.sqrt(1.0 + s_up ** 2)
    d_lo = (yr - lo) / np.sqrt(1.0 + s_lo ** 2)
    d = np.maximum(np.maximum(d_up, d_lo), np.abs(u) - mw)
    cv.blend(sl, cv.alpha(d - 0.75), _LINE * 1.4)
    a_in = cv.alpha(d)
    cv.blend(sl, a_in, _MOUTH_IN)
    # teeth under the upper lip and a tongue at the bottom, clipped to the opening
    dt = np.maximum(d, yr - (up + 1.0 + 0.18 * g.mhl * q))
    cv.blend(sl, cv.alpha(dt), _TEETH)
    dtg = np.maximum(d, _ellipse_sdf(u, yr - (lo + 0.4 * g.mhl), mw * 0.55, 0.75 * g.mhl + 1e-3))
    cv.blend(sl, cv.alpha(dtg), _TONGUE)


def _paint_fringe(g, cv, hr):
    ext = g.W + g.hv + 4.0
    loc, sl = hr.sub(cv, _rot_box(g, -ext, g.cy - g.H - g.hv - 4.0, ext, g.ey))
    xr, yr = hr.xr[loc], hr.yr[loc]
    d_line = yr - g.fringe_line(xr)
    region = np.minimum(hr.d_head[loc] - 1.2, hr.d_hair[loc] + 0.9)
    # outline only along the fringe edge; the outer edge merges with the back hair
    cv.blend(sl, cv.alpha(np.maximum(region, d_line - 0.9)), g.hair * _OUTLINE_MIX)
    d = np.maximum(region, d_line)
    cv.blend(sl, cv.alpha(d), hr.shade[loc] * g.hair)
    # a few soft strand lines radiating from the crown, for texture (follow roll)
    y0 = g.cy - g.H - g.hv - 6.0
    ratio = (xr - g.W * 0.25 * (1.0 - 2.0 * g.hstyle)) / np.maximum(yr - y0, 1.0)
    strands = np.abs(np.sin(ratio * 9.0)) - 0.1
    a = cv.alpha(np.maximum(d + 2.0, strands * 6.0)) * 0.3
    cv.blend(sl, a, g.hair * 0.7)


# ----------------------------------------------------------------------------- datasets

def _render_chunk(job):
    factors, size = job
    return render_batch(factors, size)


def render_dataset(n: int, seed: int, path, size: int = 128, processes: int = 1):
    """Render n random faces once into an .npz cache (images uint8, factors, landmarks float32)."""
    factors = random_factors(n, seed)
    if processes > 1:
        from multiprocessing import get_context
        chunks = np.array_split(factors, max(1, min(processes, 2) * 8))
        with get_context("spawn").Pool(min(processes, 2)) as pool:
            parts = pool.map(_render_chunk, [(c, size) for c in chunks])
        images = np.concatenate([p[0] for p in parts])
        landmarks = np.concatenate([p[1] for p in parts])
    else:
        images, landmarks = render_batch(factors, size)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, images=images, factors=factors, landmarks=landmarks,
             factor_names=np.array(FACTOR_NAMES), landmark_names=np.array(LANDMARK_NAMES))
    return path


def load_dataset(path):
    """-> dict with images uint8 [N,S,S,3], factors float32 [N,F], landmarks float32 [N,K,2]."""
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in ("images", "factors", "landmarks")}


def save_grid(path, n=16, seed=0, cols=4, size=128):
    """Write a PNG grid of random renders, for eyeballing changes to the renderer."""
    from ..io.export import image_grid, save_image
    imgs, _ = render_batch(random_factors(n, seed), size)
    save_image(image_grid(imgs, cols), path)
    return path
