"""Save and load latents as `.npz` (what the app and `dragedit edit --latent` read back).

The reference app saved `.npy` files it then opened with `torch.load`; we write one format and
read `.npz` or `.npy` with numpy's header parser and a byte limit (never `allow_pickle`, never an
unbounded inflate), whatever the file's suffix says.
"""
from __future__ import annotations

import json
import math

import numpy as np

from ..errors import DragEditError
from . import npyfile
from .userfile import check_user_file, short_name

# num_ws x w_dim of the largest latent read without a model to compare with: far above any
# StyleGAN (18 x 512 at 1024 px), far below what would hurt.
MAX_LATENT_VALUES = 64 * 2048
MAX_META_BYTES = 1 << 20
MAX_LATENT_FILE_BYTES = 16 << 20
FLOAT32_MAX = float(np.finfo(np.float32).max)


def save_latent(path, ws, **meta):
    from pathlib import Path
    path = Path(path)
    arr = ws.detach().cpu().numpy() if hasattr(ws, "detach") else np.asarray(ws)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, ws=arr.astype(np.float32), meta=np.array(json.dumps(meta, default=str)))
    tmp.replace(path)
    return path


def as_float32_latent(arr: np.ndarray, what: str) -> np.ndarray:
    """float32 copy of a latent array, refused when it holds NaN/inf or values that float32 cannot
    hold (float64 numbers above 3.4e38 would silently become inf)."""
    if arr.dtype.kind != "f":
        raise DragEditError(f"{what}: expected a float array, got {arr.dtype}")
    if not np.isfinite(arr).all():
        raise DragEditError(f"{what} contains NaN or infinite values")
    if arr.size and float(np.abs(arr).max()) > FLOAT32_MAX:
        raise DragEditError(f"{what} holds values up to {float(np.abs(arr).max()):.3g}, beyond the float32 "
                            f"range (|x| <= {FLOAT32_MAX:.3g})")
    return arr.astype(np.float32)


def load_latent(path, with_meta=False, expect=None):
    """-> ws float32 [1, num_ws, w_dim] (or [1, w_dim] for a W latent), optionally with its metadata.

    expect: the (num_ws, w_dim) of the model it is for; the read is then capped at that size and the
    shape checked here. Without it any latent of up to MAX_LATENT_VALUES numbers is read."""
    path = check_user_file(path, "latent file", MAX_LATENT_FILE_BYTES, "a latent file (.npz)")
    name = short_name(path)
    values = MAX_LATENT_VALUES if expect is None else int(expect[0]) * int(expect[1])
    limit = values * 8   # float64 at most
    try:
        kind = npyfile.sniff(path)
    except OSError as exc:
        raise DragEditError(f"latent file {name} cannot be read: {exc.strerror or exc}") from None
    meta = {}
    if kind == "npy":
        ws = npyfile.load_npy(path, f"latent file {name}", limit, kinds="f")
    elif kind == "npz":
        arrays = npyfile.load_npz(path, "latent file", dict(ws=limit, w=limit, meta=MAX_META_BYTES),
                                  MAX_LATENT_FILE_BYTES, kinds="fU")
        key = "ws" if "ws" in arrays else ("w" if "w" in arrays else None)
        if key is None:
            found = ", ".join(npyfile.npz_member_names(path)) or "nothing"
            raise DragEditError(f"latent file {name} holds no 'ws' array (found {found})")
        ws = arrays[key]
        meta = _read_meta(arrays.get("meta"), name)
    else:
        raise DragEditError(f"latent file {name} is not a numpy .npz/.npy file")
    if ws.dtype.kind != "f" or ws.ndim not in (2, 3) or ws.shape[0] != 1 or ws.size == 0:
        raise DragEditError(f"latent file {name}: expected float ws of shape [1, num_ws, w_dim], "
                            f"got {ws.dtype} {ws.shape}")
    if expect is not None and not _fits(ws.shape, int(expect[0]), int(expect[1])):
        raise DragEditError(f"latent file {name} has shape {ws.shape}: expected (1, {expect[0]}, {expect[1]}) "
                            f"(W+) or (1, {expect[1]}) (W) for this model")
    ws = as_float32_latent(ws, f"latent file {name}")
    return (ws, meta) if with_meta else ws


def _fits(shape, num_ws, w_dim) -> bool:
    """A W+ latent of the model's size, or a W latent ([1, w_dim] or [1, 1, w_dim])."""
    return shape[-1] == w_dim and (len(shape) == 2 or shape[1] in (1, num_ws))


def _read_meta(arr, name) -> dict:
    """The JSON metadata saved beside a latent; unreadable metadata is refused, not guessed."""
    if arr is None:
        return {}
    try:
        meta = json.loads(str(arr.reshape(()) if arr.size == 1 else ""), parse_constant=lambda c: math.nan)
    except (ValueError, RecursionError):
        raise DragEditError(f"latent file {name}: its 'meta' entry is not JSON") from None
    if not isinstance(meta, dict):
        raise DragEditError(f"latent file {name}: its 'meta' entry is {type(meta).__name__}, expected an object")
    return meta
