"""Region drags: a region of the image and an affine map (move, rotate, scale) become many handle -> target
pairs that DragSession tracks and supervises like any other pair.

Handles are sampled inside the region (eroded by a pixel, so each handle's supervision disc lies in it),
16-32 of them by the region's area, spread out by a farthest-point rule weighted by how distinctive
the generator's feature is there (the score of `suggest.distinctiveness`: a feature that differs from
its neighbours in every direction, like an eye or a mouth corner, is one the tracker can follow). The
targets are the affine images of the handles. While no mask is painted, the region and its transformed
copy, dilated, are the flexible area and everything else is held fixed.

A Region keeps the handles where they were sampled, so a new affine after a run (the gizmo moved
again) sets new targets from the same handles while the tracked handles go on from where they are."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .. import schema
from ..errors import DragEditError

MIN_HANDLES = 16
MAX_HANDLES = 32
AREA_PER_HANDLE = 12.0      # px² of region per handle at 128 px (scaled with the image's area)
# Drag parameters for region edits (what `dragedit edit --region` uses unless told otherwise): many pairs
# outweigh the mask term, which is a mean over the whole feature map, so it weighs more; a region should
# land, not stop 2 px short; and a stronger mask needs a larger step to get there in ~100 iterations.
REGION_LAMBDA_MASK = 200.0
REGION_STOP_DISTANCE = 1.0
REGION_LR = 6e-3


def region_params(params, **given):
    """A copy of params (DragParams) with the region defaults, then the `given` values (the ones a user
    set explicitly)."""
    import copy
    p = copy.deepcopy(params)
    p.lambda_mask, p.stop_distance, p.lr = REGION_LAMBDA_MASK, REGION_STOP_DISTANCE, REGION_LR
    for k, v in given.items():
        setattr(p, k, v)
    return p


@dataclass(frozen=True)
class Affine:
    """p' = pivot + R(rotate) diag(scale) (p - pivot) + move. rotate in degrees: positive turns
    clockwise on screen (the image's y axis points down), i.e. atan2 of a line grows by `rotate`.
    pivot None: the region's centre (the middle of its bounding box)."""
    move: tuple = (0.0, 0.0)
    rotate: float = 0.0
    scale: tuple = (1.0, 1.0)
    pivot: tuple | None = None

    def __post_init__(self):
        def raw(v):
            if not isinstance(v, (tuple, list, np.ndarray)):
                return v
            return [x.item() if isinstance(x, np.generic) else x for x in v]
        doc = dict(move=raw(self.move), rotate=self.rotate, scale=raw(self.scale),
                   pivot=None if self.pivot is None else raw(self.pivot))
        v = schema.check_fields(doc, AFFINE_FIELDS, "affine")
        object.__setattr__(self, "move", tuple(v["move"]))
        object.__setattr__(self, "rotate", v["rotate"])
        object.__setattr__(self, "scale", tuple(v["scale"]))
        object.__setattr__(self, "pivot", None if v["pivot"] is None else tuple(v["pivot"]))

    def matrix(self, centre) -> np.ndarray:
        """2x3 float64 matrix of the map; centre is used when pivot is None."""
        px, py = self.pivot if self.pivot is not None else centre
        a = math.radians(self.rotate)
        c, s = math.cos(a), math.sin(a)
        sx, sy = self.scale
        lin = np.array([[c * sx, -s * sy], [s * sx, c * sy]])
        t = np.array([px, py]) + np.asarray(self.move, float) - lin @ np.array([px, py])
        return np.concatenate([lin, t[:, None]], axis=1)

    def apply(self, points, centre) -> np.ndarray:
        pts = np.asarray(points, float).reshape(-1, 2)
        m = self.matrix(centre)
        return pts @ m[:, :2].T + m[:, 2]

    @property
    def is_identity(self) -> bool:
        return self.move == (0.0, 0.0) and self.rotate % 360 == 0 and self.scale == (1.0, 1.0)

    def to_dict(self) -> dict:
        return dict(move=[float(v) for v in self.move], rotate=float(self.rotate),
                    scale=[float(v) for v in self.scale],
                    pivot=None if self.pivot is None else [float(v) for v in self.pivot])

    @classmethod
    def from_dict(cls, d) -> "Affine":
        v = schema.check_fields(d, AFFINE_FIELDS, "affine")
        return cls(move=tuple(v["move"]), rotate=v["rotate"], scale=tuple(v["scale"]),
                   pivot=None if v["pivot"] is None else tuple(v["pivot"]))


def _pair_of(check, what):
    return schema.list_of(check, 2, 2, what=what)


AFFINE_FIELDS = (
    schema.Field("move", _pair_of(schema.number(-1e5, 1e5), "[dx, dy]: a list"), default=[0.0, 0.0]),
    schema.Field("rotate", schema.number(-3600, 3600), default=0.0),
    schema.Field("scale", _pair_of(schema.number(above=0, hi=100), "[sx, sy]: a list"), default=[1.0, 1.0]),
    schema.Field("pivot", schema.optional(_pair_of(schema.number(-1e5, 1e5), "[x, y]: a list"))),
)


def check_region_mask(mask, size, what="region mask") -> np.ndarray:
    """bool [H, W] copy of mask; DragEditError unless it has the image's size and selects something."""
    m = np.asarray(mask)
    if m.ndim != 2 or m.shape != tuple(size):
        shape = f"{m.shape[1]}x{m.shape[0]}" if m.ndim == 2 else f"of shape {m.shape}"
        raise DragEditError(f"{what} is {shape} but the image is {size[1]}x{size[0]}")
    if m.dtype.kind == "f" and not np.isfinite(m).all():
        raise DragEditError(f"{what} contains NaN or infinite values")
    m = m.astype(bool)
    if not m.any():
        raise DragEditError(f"{what} selects no pixel: select a region first")
    return m.copy()


def centre_of(mask) -> tuple:
    """Middle of the mask's bounding box, in image pixels."""
    ys, xs = np.nonzero(mask)
    return ((float(xs.min()) + float(xs.max())) / 2, (float(ys.min()) + float(ys.max())) / 2)


def rect_mask(box, size) -> np.ndarray:
    """bool [H, W] of the rectangle x0,y0,x1,y1 (inclusive pixel bounds, any corner order)."""
    h, w = size
    x0, y0, x1, y1 = (float(v) for v in box)
    if not all(math.isfinite(v) for v in (x0, y0, x1, y1)):
        raise DragEditError(f"region rectangle {box!r} holds a non-finite number")
    xa, xb = sorted((x0, x1))
    ya, yb = sorted((y0, y1))
    xa, ya = max(0, math.ceil(xa)), max(0, math.ceil(ya))
    xb, yb = min(w - 1, math.floor(xb)), min(h - 1, math.floor(yb))
    m = np.zeros((h, w), bool)
    if xa > xb or ya > yb:
        raise DragEditError(f"region rectangle {x0:g},{y0:g},{x1:g},{y1:g} covers no pixel of the {w}x{h} image")
    m[ya:yb + 1, xa:xb + 1] = True
    return m


def handle_count(area: int, size) -> int:
    per = AREA_PER_HANDLE * (size[0] * size[1]) / (128 * 128)
    return int(min(MAX_HANDLES, max(MIN_HANDLES, round(area / per)), area))


def distinctiveness_map(feat, size) -> np.ndarray:
    """float32 [H, W] in [0, 1]: `suggest.distinctiveness` resized to the image."""
    import cv2
    from .suggest import distinctiveness
    score = distinctiveness(feat, size).cpu().numpy().astype(np.float32)
    score = cv2.resize(score, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
    lo, hi = float(score.min()), float(score.max())
    return (score - lo) / (hi - lo) if hi > lo else np.zeros_like(score)


def sample_handles(mask, score, n=None, affine=None) -> np.ndarray:
    """[n, 2] handle points (x, y) inside mask: greedy farthest-point sampling where each candidate's
    distance to the chosen ones counts more on distinctive features (weight 0.5 + score), starting at
    the most distinctive pixel. Handles whose affine target leaves the image are never chosen."""
    import cv2
    h, w = mask.shape
    inner = cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    cand = inner if inner.sum() >= MIN_HANDLES else mask
    ys, xs = np.nonzero(cand)
    pts = np.stack([xs, ys], axis=1).astype(np.float64)
    if affine is not None:
        t = affine.apply(pts, centre_of(mask))
        ok = (t[:, 0] >= 0) & (t[:, 0] <= w - 1) & (t[:, 1] >= 0) & (t[:, 1] <= h - 1)
        pts, ys, xs = pts[ok], ys[ok], xs[ok]
    if len(pts) == 0:
        raise DragEditError("the transformed region lies outside the image: move, turn or scale it less")
    n = handle_count(int(mask.sum()), (h, w)) if n is None else int(n)
    n = max(1, min(n, len(pts)))
    weight = 0.5 + score[ys, xs].astype(np.float64)
    chosen = [int(np.argmax(weight))]
    dist = np.linalg.norm(pts - pts[chosen[0]], axis=1)
    for _ in range(n - 1):
        i = int(np.argmax(dist * weight))
        if dist[i] <= 0:
            break
        chosen.append(i)
        dist = np.minimum(dist, np.linalg.norm(pts - pts[i], axis=1))
    return pts[chosen]


def dilation_px(size) -> int:
    """How far the flexible area reaches beyond a region: 6 px at 128 px, scaled with the image."""
    return max(2, int(round(6 * size[0] / 128)))


@dataclass
class Region:
    """A region (bool mask of the image it was selected on), its affine map, the handles sampled in it,
    and the session's Pair objects those handles drive (one per handle, same order)."""
    mask: np.ndarray
    affine: Affine
    handles: np.ndarray                   # [n, 2] where the handles were sampled
    pairs: list = field(default_factory=list)

    @property
    def centre(self) -> tuple:
        return centre_of(self.mask)

    def targets(self, affine=None) -> np.ndarray:
        return (affine or self.affine).apply(self.handles, self.centre)

    def pair_points(self) -> list:
        """[((hx, hy), (tx, ty))] for the handles as sampled."""
        return [(tuple(map(float, h)), tuple(map(float, t))) for h, t in zip(self.handles, self.targets())]

    def moved_mask(self, affine=None) -> np.ndarray:
        """bool [H, W]: where the affine map sends the region."""
        import cv2
        h, w = self.mask.shape
        m = (affine or self.affine).matrix(self.centre)
        out = cv2.warpAffine(self.mask.astype(np.uint8), m, (w, h), flags=cv2.INTER_NEAREST)
        return out.astype(bool)

    def flexible_area(self) -> np.ndarray:
        """bool [H, W]: the region and where it goes, dilated by `dilation_px`."""
        import cv2
        both = (self.mask | self.moved_mask()).astype(np.uint8)
        r = dilation_px(self.mask.shape)
        disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
        return cv2.dilate(both, disk).astype(bool)

    def to_dict(self, pair_index) -> dict:
        """JSON-ready record (without the mask, which goes to the arrays); pair_index maps Pair -> index."""
        return dict(affine=self.affine.to_dict(), handles=[[float(x), float(y)] for x, y in self.handles],
                    pairs=[pair_index(p) for p in self.pairs])


def make_region(mask, affine, size, feat=None, handles=None) -> Region:
    """Check the mask and affine and sample handles (from feat, the session's tracking features) unless
    handles are given."""
    mask = check_region_mask(mask, size)
    affine = affine if affine is not None else Affine()
    if not isinstance(affine, Affine):
        raise DragEditError(f"a region's transform must be an Affine, got {type(affine).__name__}")
    if handles is None:
        if feat is None:
            raise DragEditError("sampling a region's handles needs the session's features")
        score = distinctiveness_map(feat, size)
        handles = sample_handles(mask, score, affine=affine)
    handles = np.asarray(handles, float).reshape(-1, 2)
    if len(handles) == 0:
        raise DragEditError("a region needs at least one handle")
    return Region(mask=mask, affine=affine, handles=handles)


def fixed_pixels(mask, mask_mode, regions, size) -> np.ndarray | None:
    """bool [H, W] of the pixels a drag holds fixed, or None when none are: a painted mask decides
    ('fixed': its pixels, 'flexible': all others); without one, all but the regions' flexible areas."""
    if mask is not None:
        fixed = mask if mask_mode == "fixed" else ~mask
    else:
        flexible = flexible_union(regions, size)
        if flexible is None:
            return None
        fixed = ~flexible
    return fixed if fixed.any() else None


def flexible_union(regions, size) -> np.ndarray | None:
    """The union of the regions' flexible areas, or None without regions."""
    if not regions:
        return None
    out = np.zeros(size, bool)
    for r in regions:
        out |= r.flexible_area()
    return out
