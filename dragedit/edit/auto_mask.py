"""An automatic flexible area from the drag itself, for when no mask is painted: the union of each handle's
part selection (the connected region whose features resemble the handle's, `part_mask.PartSelection`),
together with the same part carried along its drag (the part translated by target - handle, in steps
of at most a part margin), so the area covers where the part starts, where it goes and the way between.
Everything else is proposed as fixed. Off by default: the window shows it as an outline to accept."""
from __future__ import annotations

import math

import numpy as np

from .part_mask import DEFAULT_THRESHOLD, PartSelection


def _shifted(mask, dx, dy):
    import cv2
    h, w = mask.shape
    m = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(mask.astype(np.uint8), m, (w, h), flags=cv2.INTER_NEAREST).astype(bool)


def auto_mask(session, pairs=None, threshold=DEFAULT_THRESHOLD, feat=None, grow=0, check=None) -> np.ndarray | None:
    """bool [H, W] flexible area for the session's pairs (or `pairs`: ((hx, hy), (tx, ty)) each) on its
    current image, dilated by `grow` px; None without pairs. feat: the session's features, if computed.
    check: called before each pair's part selection; it may raise to abandon the computation (the
    window's proposal thread does when the pairs change meanwhile)."""
    if pairs is None:
        pairs = [(p.handle, p.target) for p in session.pairs]
    pairs = list(pairs)
    if not pairs:
        return None
    feat = session.features() if feat is None else feat
    out = np.zeros(session.size, bool)
    for (hx, hy), (tx, ty) in pairs:
        if check is not None:
            check()
        sel = PartSelection(feat, (hx, hy), session.size, threshold)
        part = sel.region()
        dx, dy = tx - hx, ty - hy
        n = max(1, int(math.ceil(math.hypot(dx, dy) / max(1, sel.margin))))
        out |= part
        for k in range(1, n + 1):
            out |= _shifted(part, dx * k / n, dy * k / n)
    if grow > 0:
        import cv2
        r = int(round(grow))
        out = cv2.dilate(out.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
        out = out.astype(bool)
    return out
