"""The timeline beside the autosave (autosave.timeline.npz), so File › Recover last session brings
back the run that made the image, not only the image. Written with numpy (no pickle) and read
with the engine's checked npz reader; a timeline that does not fit the recovered session (another
latent, another size) is left out, never half-applied."""
from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import torch

from ..errors import DragEditError
from ..io import npyfile
from .timeline import RunFrames

log = logging.getLogger(__name__)

MAX_BYTES = 256 << 20   # frames of a big model's long run are skipped rather than written


def save_timeline(path: Path, run: RunFrames | None) -> bool:
    """Write `run` to PATH (or remove a stale file when there is none); False when it was skipped."""
    path = Path(path)
    if run is None or len(run.frames) < 2:
        path.unlink(missing_ok=True)
        return False
    f = run.frames
    frames = np.stack([np.asarray(e["frame"], np.uint8) for e in f])
    ws = np.stack([e["ws"].detach().cpu().numpy().astype(np.float32) for e in f])
    if frames.nbytes + ws.nbytes > MAX_BYTES:
        path.unlink(missing_ok=True)
        return False
    handles = np.asarray([[list(h) for h in e["handles"]] for e in f], np.float64)
    targets = np.asarray([[list(t) for t in e["targets"]] for e in f], np.float64)
    meta = np.asarray([[int(e["iteration"]), int(e.get("step", i)), int(bool(e.get("low_res")))]
                       for i, e in enumerate(f)], np.int64)
    tmp = path.with_name(path.name + ".tmp.npz")
    try:
        np.savez_compressed(tmp, frames=frames, ws=ws, handles=handles, targets=targets, meta=meta,
                            index=np.asarray([run.index], np.int64))
        os.replace(tmp, path)
    except OSError:
        log.exception("saving the timeline failed")
        tmp.unlink(missing_ok=True)
        return False
    return True


def load_timeline(path: Path, ws_now: torch.Tensor, size: tuple) -> RunFrames | None:
    """The saved run when it made the image whose latent is `ws_now` (frame `index` shows it) and
    its frames are `size` (H, W); None otherwise or when the file is absent or broken."""
    path = Path(path)
    if not path.is_file():
        return None
    n_ws = int(ws_now.numel())
    h, w = size
    try:
        a = npyfile.load_npz(path, "the recovered timeline", dict(
            frames=MAX_BYTES, ws=MAX_BYTES, handles=1 << 24, targets=1 << 24, meta=1 << 20, index=64), MAX_BYTES)
        frames, ws, meta = a["frames"], a["ws"], a["meta"]
        n = len(frames)
        if (frames.ndim != 4 or frames.shape[1:] != (h, w, 3) or frames.dtype != np.uint8 or n < 2
                or ws.shape != (n, *ws_now.shape) or meta.shape != (n, 3) or a["handles"].shape[0] != n
                or a["targets"].shape != a["handles"].shape or not np.isfinite(ws).all()):
            return None
        index = int(a["index"][0])
        if not 0 <= index < n or not np.array_equal(ws[index].reshape(-1), ws_now.cpu().numpy().reshape(-1)) \
                or ws[index].size != n_ws:
            return None
    except (DragEditError, KeyError, IndexError, ValueError):
        return None
    entries = tuple(dict(iteration=int(m[0]), step=int(m[1]), low_res=bool(m[2]), frame=frames[i],
                         ws=torch.from_numpy(ws[i].copy()), handles=[tuple(p) for p in a["handles"][i].tolist()],
                         targets=[tuple(p) for p in a["targets"][i].tolist()])
                    for i, m in enumerate(meta))
    return RunFrames(entries, index)
