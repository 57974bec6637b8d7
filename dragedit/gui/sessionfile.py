"""Save and open a whole editing session: `NAME.json` (model path, seed, settings, points) beside
`NAME.npz` (the latent, the seed's latent and the mask). No Qt here; numpy reads the arrays with
`allow_pickle=False`, so opening a session never runs code from it."""
from __future__ import annotations

import dataclasses
import json
import math
import os
from pathlib import Path

import numpy as np
import torch

from ..edit.drag import DragParams
from ..errors import DragEditError

FORMAT = "dragedit-session"
VERSION = 1


def save_session(path, session, model_path, settings=None) -> Path:
    """Write the session to PATH (.json) and its arrays to PATH with .npz; returns the JSON path."""
    path = Path(path)
    if path.suffix.lower() != ".json":
        path = path.with_name(path.name + ".json")
    data_path = path.with_suffix(".npz")
    snap = session.snapshot()
    doc = dict(format=FORMAT, version=VERSION,
               model=str(Path(model_path).resolve()) if model_path else None,
               seed=int(snap["seed"]), params=dataclasses.asdict(snap["params"]),
               pairs=[[float(h[0]), float(h[1]), float(t[0]), float(t[1])] for h, t in snap["pairs"]],
               mask_mode=snap["mask_mode"], size=list(session.size), data=data_path.name,
               settings=settings or {})
    arrays = dict(ws=snap["ws"].cpu().numpy().astype(np.float32),
                  ws_initial=snap["ws_initial"].cpu().numpy().astype(np.float32))
    if snap["mask"] is not None:
        arrays["mask"] = snap["mask"].astype(bool)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp_npz = data_path.with_name(data_path.name + ".tmp.npz")
        np.savez_compressed(tmp_npz, **arrays)
        tmp_json = path.with_name(path.name + ".tmp")
        tmp_json.write_text(json.dumps(doc, indent=2))
        os.replace(tmp_npz, data_path)
        os.replace(tmp_json, path)
    except OSError as exc:
        raise DragEditError(f"cannot save the session to {path}: {exc.strerror or exc}") from None
    return path


def read_session(path) -> dict:
    """Read and check a session file. Returns a dict with model (str or None), seed, params
    (DragParams), pairs [(handle, target)], mask_mode, ws, ws_initial (float32 arrays), mask (bool or
    None), size (H, W), settings."""
    path = Path(path)
    if not path.is_file():
        raise DragEditError(f"session file {path} does not exist")
    try:
        doc = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError):
        raise DragEditError(f"{path} is not a dragedit session file (expected JSON written by "
                            "File > Save session)") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise DragEditError(f"{path} is not a dragedit session file (no \"format\": \"{FORMAT}\")")
    if doc.get("version", 0) > VERSION:
        raise DragEditError(f"{path} was written by a newer dragedit (session version {doc.get('version')})")
    data_path = path.parent / str(doc.get("data") or path.with_suffix(".npz").name)
    if not data_path.is_file():
        raise DragEditError(f"the session's data file {data_path} is missing (it is written beside the .json)")
    try:
        with np.load(data_path, allow_pickle=False) as npz:
            ws = np.asarray(npz["ws"], dtype=np.float32)
            ws_initial = np.asarray(npz["ws_initial"], dtype=np.float32) if "ws_initial" in npz else ws
            mask = np.asarray(npz["mask"]).astype(bool) if "mask" in npz else None
    except Exception:  # noqa: BLE001 - numpy raises many kinds for a bad file
        raise DragEditError(f"the session's data file {data_path} is not a readable .npz with a 'ws' array") from None
    for name, arr in (("ws", ws), ("ws_initial", ws_initial)):
        if arr.ndim != 3 or arr.shape[0] != 1 or not np.isfinite(arr).all():
            raise DragEditError(f"{data_path}: {name} must be finite with shape [1, num_ws, w_dim], got {arr.shape}")
    try:
        fields = {f.name for f in dataclasses.fields(DragParams)}
        params = DragParams(**{k: v for k, v in (doc.get("params") or {}).items() if k in fields})
        params.validate()
        pairs = []
        for item in doc.get("pairs") or []:
            hx, hy, tx, ty = (float(v) for v in item)
            if not all(math.isfinite(v) for v in (hx, hy, tx, ty)):
                raise ValueError("non-finite point")
            pairs.append(((hx, hy), (tx, ty)))
        mask_mode = doc.get("mask_mode", "flexible")
        if mask_mode not in ("flexible", "fixed"):
            raise ValueError(f"mask_mode {mask_mode!r}")
        seed = int(doc.get("seed", 0))
        size = tuple(int(v) for v in doc.get("size") or ())
    except DragEditError as exc:
        raise DragEditError(f"{path}: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise DragEditError(f"{path}: malformed session ({exc})") from None
    return dict(model=doc.get("model"), seed=seed, params=params, pairs=pairs, mask_mode=mask_mode,
                ws=ws, ws_initial=ws_initial, mask=mask, size=size, settings=doc.get("settings") or {})


def session_snapshot(data: dict, session) -> dict:
    """Turn read_session's dict into a snapshot for `session.restore`, checked against this session's
    generator (latent shape, image size, points inside the image)."""
    expected = tuple(session.ws.shape)
    for name in ("ws", "ws_initial"):
        if tuple(data[name].shape) != expected:
            raise DragEditError(f"the session's latent has shape {tuple(data[name].shape)} but this model "
                                f"needs {expected}: open the session's model first")
    h, w = session.size
    if data["mask"] is not None and data["mask"].shape != (h, w):
        raise DragEditError(f"the session's mask is {data['mask'].shape[1]}x{data['mask'].shape[0]} "
                            f"but the model's image is {w}x{h}")
    for hd, tg in data["pairs"]:
        for x, y in (hd, tg):
            if not (0 <= x <= w - 1 and 0 <= y <= h - 1):
                raise DragEditError(f"the session's point ({x:g}, {y:g}) is outside the {w}x{h} image")
    device = session.ws.device
    return dict(ws=torch.from_numpy(data["ws"]).to(device), ws_initial=torch.from_numpy(data["ws_initial"]).to(device),
                seed=data["seed"], pairs=list(data["pairs"]), mask=data["mask"], mask_mode=data["mask_mode"],
                params=data["params"], iteration=0)
