"""Save and load latents as `.npz` (what the app and `dragedit edit --latent` read back).

The reference app saved `.npy` files it then opened with `torch.load`; we
write one format and read it with numpy only (`allow_pickle=False`).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import DragEditError


def save_latent(path, ws, **meta):
    path = Path(path)
    arr = ws.detach().cpu().numpy() if hasattr(ws, "detach") else np.asarray(ws)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, ws=arr.astype(np.float32), meta=np.array(json.dumps(meta, default=str)))
    tmp.replace(path)
    return path


def load_latent(path, with_meta=False):
    """-> ws float32 [1, num_ws, w_dim] (or [1, w_dim] for a W latent), optionally with its metadata."""
    path = Path(path)
    if not path.is_file():
        raise DragEditError(f"latent file {path} does not exist")
    try:
        if path.suffix.lower() == ".npy":
            ws, meta = np.load(path, allow_pickle=False), {}
        else:
            with np.load(path, allow_pickle=False) as data:
                key = "ws" if "ws" in data else ("w" if "w" in data else None)
                if key is None:
                    raise DragEditError(f"latent file {path} holds no 'ws' array (found {', '.join(data.files)})")
                ws = data[key]
                meta = json.loads(str(data["meta"])) if "meta" in data else {}
    except DragEditError:
        raise
    except Exception:  # noqa: BLE001 - numpy raises many kinds for a bad file
        raise DragEditError(f"latent file {path} is not a numpy .npz/.npy file") from None
    if not np.issubdtype(ws.dtype, np.floating) or ws.ndim not in (2, 3):
        raise DragEditError(f"latent file {path}: expected float ws of shape [1, num_ws, w_dim], got {ws.dtype} {ws.shape}")
    if not np.isfinite(ws).all():
        raise DragEditError(f"latent file {path} contains NaN or infinite values")
    ws = ws.astype(np.float32)
    return (ws, meta) if with_meta else ws
