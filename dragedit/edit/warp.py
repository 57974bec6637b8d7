"""The instant warp preview: the image warped by the smooth displacement field that the handle -> target
pairs define, before any generator run.

The field is the similarity variant of moving least squares (Schaefer, McPhail and Warren, "Image
Deformation Using Moving Least Squares", SIGGRAPH 2006), solved backwards: for each output pixel v, the
similarity that best maps the targets to the handles under weights 1/|target - v|^2 says where v comes
from, so `cv2.remap` can read the image there. Solved in closed form with complex numbers (a similarity
is z -> m z + b), on a coarse grid (one node per `grid` px) and resized to the image, then solved exactly
at the pixels around each target, so each handle's pixel lands on its target. Anchors on the image border
(handle = target) keep a lone pair's warp local instead of sliding the whole image. Pixels of a fixed mask
do not move; the field fades to zero over `ramp` px before them, so there is no seam."""
from __future__ import annotations

import numpy as np

from ..errors import DragEditError

BORDER_ANCHORS_PER_SIDE = 5


class Warper:
    """Warps images of one size (H, W); keeps the grids between calls."""

    def __init__(self, size, grid: int | None = None, ramp: float | None = None):
        """grid: px between field nodes (default 1/32 of the longer side, at least 4: 16 px at 512 px,
        where it halves the time of 8 px under load); ramp: px over which the field fades before a fixed mask."""
        self.size = (int(size[0]), int(size[1]))
        h, w = self.size
        if h < 2 or w < 2:
            raise DragEditError(f"a warp needs an image of at least 2x2 pixels, got {w}x{h}")
        self.grid = max(1, int(grid)) if grid is not None else max(4, round(max(h, w) / 32))
        self.ramp = float(ramp) if ramp is not None else max(2.0, h / 32)
        gy = np.linspace(0, h - 1, max(2, (h - 1) // self.grid + 2), dtype=np.float32)
        gx = np.linspace(0, w - 1, max(2, (w - 1) // self.grid + 2), dtype=np.float32)
        yy, xx = np.meshgrid(gy, gx, indexing="ij")
        self._nodes = (xx + 1j * yy).astype(np.complex64)
        self._ident_x, self._ident_y = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        t = np.linspace(0, 1, BORDER_ANCHORS_PER_SIDE, endpoint=False)
        edge = np.concatenate([t * (w - 1), (w - 1) + 1j * t * (h - 1), (1 - t) * (w - 1) + 1j * (h - 1),
                               1j * (1 - t) * (h - 1)])
        self._anchors = edge.astype(np.complex64)
        self._fixed_key = None
        self._fade = None

    # ----- the field ------------------------------------------------------------------------------
    def _check_pairs(self, pairs):
        try:
            arr = np.asarray([[p[0][0], p[0][1], p[1][0], p[1][1]] for p in pairs], np.float64).reshape(-1, 4)
        except (TypeError, ValueError, IndexError):
            raise DragEditError("warp pairs must be ((handle_x, handle_y), (target_x, target_y)) each") from None
        if not np.isfinite(arr).all():
            raise DragEditError("a warp pair holds a NaN or infinite coordinate")
        return arr

    def _solve(self, v, handles, targets):
        """Source positions (complex) of the points v: MLS similarity from targets to handles."""
        d2 = np.abs(v[..., None] - targets) ** 2                        # [..., n]
        w = 1.0 / np.maximum(d2, 1e-6)
        sw = w.sum(-1)
        p_star = (w * targets).sum(-1) / sw
        q_star = (w * handles).sum(-1) / sw
        ph = targets - p_star[..., None]
        qh = handles - q_star[..., None]
        num = (w * np.conj(ph) * qh).sum(-1)
        den = (w * (ph.real ** 2 + ph.imag ** 2)).sum(-1)
        m = np.where(den > 1e-9, num / np.maximum(den, 1e-9), 1.0)
        return m * (v - p_star) + q_star

    def maps(self, pairs, fixed_mask=None):
        """(map_x, map_y) float32 [H, W] for `cv2.remap`: where each output pixel reads the image."""
        import cv2
        h, w = self.size
        arr = self._check_pairs(pairs)
        if len(arr) == 0:
            return self._ident_x.copy(), self._ident_y.copy()
        handles = np.concatenate([(arr[:, 0] + 1j * arr[:, 1]).astype(np.complex64), self._anchors])
        targets = np.concatenate([(arr[:, 2] + 1j * arr[:, 3]).astype(np.complex64), self._anchors])
        src = self._solve(self._nodes, handles, targets)
        dx = cv2.resize((src.real - self._nodes.real).astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
        dy = cv2.resize((src.imag - self._nodes.imag).astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
        self._exact_near_targets(dx, dy, arr[:, 2:], handles, targets)
        fade = self._fade_of(fixed_mask)
        if fade is not None:
            dx *= fade
            dy *= fade
        return self._ident_x + dx, self._ident_y + dy

    def _exact_near_targets(self, dx, dy, tpts, handles, targets, r=1):
        """Solve the field exactly on the (2r+1)² pixels around each target (the coarse grid's bilinear
        field can be off there by more than a pixel where neighbouring pairs pull differently)."""
        h, w = self.size
        offs = np.arange(-r, r + 1)
        cx = np.clip(np.round(tpts[:, 0]).astype(int)[:, None, None] + offs[None, None, :], 0, w - 1)
        cy = np.clip(np.round(tpts[:, 1]).astype(int)[:, None, None] + offs[None, :, None], 0, h - 1)
        cx, cy = np.broadcast_arrays(cx, cy)
        v = (cx + 1j * cy).astype(np.complex64).reshape(-1)
        src = self._solve(v, handles, targets)
        dx[cy.reshape(-1), cx.reshape(-1)] = (src.real - v.real).astype(np.float32)
        dy[cy.reshape(-1), cx.reshape(-1)] = (src.imag - v.imag).astype(np.float32)

    def _fade_of(self, fixed_mask):
        """float32 [H, W]: 0 on fixed pixels, rising to 1 at `ramp` px from them (cached per mask)."""
        if fixed_mask is None:
            return None
        import cv2
        m = np.asarray(fixed_mask)
        if m.shape != self.size:
            raise DragEditError(f"the warp's fixed mask is {m.shape[1] if m.ndim > 1 else '?'}x{m.shape[0]} "
                                f"but the image is {self.size[1]}x{self.size[0]}")
        m = m if m.dtype == bool else m.astype(bool)
        key = hash(np.packbits(m).tobytes())
        if key == self._fixed_key:
            return self._fade
        if not m.any():
            return None
        if key != self._fixed_key:
            dist = cv2.distanceTransform((~m).astype(np.uint8), cv2.DIST_L2, 3)
            self._fade = np.clip(dist / self.ramp, 0, 1).astype(np.float32)
            self._fade[m] = 0.0
            self._fixed_key = key
        return self._fade

    # ----- the image ------------------------------------------------------------------------------
    def warp(self, image, pairs, fixed_mask=None) -> np.ndarray:
        """image [H, W] or [H, W, C] (uint8 or float) warped by the pairs' field; fixed pixels unchanged."""
        import cv2
        img = np.asarray(image)
        if img.shape[:2] != self.size:
            raise DragEditError(f"the image to warp is {img.shape[1] if img.ndim > 1 else '?'}x{img.shape[0]} "
                                f"but the warper is for {self.size[1]}x{self.size[0]}")
        mx, my = self.maps(pairs, fixed_mask)
        out = cv2.remap(img, mx, my, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        if fixed_mask is not None:   # the field is zero there already; copy to be exact under any interpolation
            m = np.asarray(fixed_mask)
            m = m if m.dtype == bool else m.astype(bool)
            np.copyto(out, img, where=m[..., None] if img.ndim == 3 else m)
        return out


def warp_preview(image, pairs, fixed_mask=None, grid: int | None = None) -> np.ndarray:
    """One-off `Warper(image size).warp(...)`."""
    return Warper(np.asarray(image).shape[:2], grid=grid).warp(image, pairs, fixed_mask)


def session_fixed_mask(session):
    """bool [H, W] of the pixels a DragSession holds fixed (its painted mask, or all but its regions'
    flexible areas), or None when nothing is fixed."""
    from .region import fixed_pixels
    return fixed_pixels(session.mask, session.mask_mode, session.regions, session.size)
