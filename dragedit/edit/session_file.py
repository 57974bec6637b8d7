"""The session file format: `NAME.json` (model path, seed, drag parameters, points, settings) beside
`NAME.npz` (the latent, the seed's latent, the mask and each region's mask).

`read_session` reads and checks the whole of both files before it returns, against one declared
schema (`SESSION_FIELDS`: every field's type, range and whether it is required), and returns one
frozen `SessionFile`, or raises one `DragEditError` naming the file, the field, the value and what
was expected. Nothing of a session is applied anywhere before that; what needs the model (the
latent's shape, the image size) is checked by `SessionFile.check_fits(G)` before the swap.
The arrays are read with a byte limit and never unpickled, so opening a session never runs code."""
from __future__ import annotations

import copy
import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

import numpy as np

from .. import schema
from ..errors import DragEditError
from ..io import npyfile
from ..io.latents import MAX_LATENT_VALUES, as_float32_latent
from ..io.userfile import read_user_bytes, short_name
from ..schema import Field, Invalid
from .drag import DragParams
from .region import Affine

FORMAT = "dragedit-session"
VERSION = 1
MAX_JSON_BYTES = 8 << 20
MAX_NPZ_BYTES = 256 << 20
MAX_SIDE = 8192          # of the generator's image; the largest StyleGANs are 1024 px
MAX_PAIRS = 10_000
MAX_REGIONS = 32         # each region's mask is one member of the .npz (which holds at most 64)
MAX_SEED = 2 ** 32 - 1   # numpy's RandomState, which draws a seed's z, takes 0 .. 2**32 - 1


def _version(v):
    if not (isinstance(v, int) and not isinstance(v, bool)) or v < 0:
        raise Invalid(f"a whole number from 0 to {VERSION}")
    if v > VERSION:
        raise Invalid(f"at most {VERSION}: the file was written by a newer dragedit")
    return v


def _data_name(v):
    """The .npz beside the .json: a plain file name, so a session cannot point elsewhere."""
    schema.text(max_len=255)(v)
    if "/" in v or "\\" in v or v in ("", ".", ".."):
        raise Invalid("a file name beside the session (no folder part)")
    return v


def _params(v) -> DragParams:
    """The drag parameters: `DragParams.validate` checks each one (its names are prefixed 'params.')."""
    if not isinstance(v, dict):
        raise Invalid("an object of drag parameters")
    known = {f.name for f in dataclasses.fields(DragParams)}
    params = DragParams(**{k: v[k] for k in known if k in v})
    params.validate()
    return params


_point = schema.list_of(schema.number(), 4, 4, what="[handle_x, handle_y, target_x, target_y]: a list")

SETTINGS_FIELDS = (           # the window's panel values; keys not declared here are ignored
    Field("steps", schema.integer(1, 10_000)),
    Field("fps", schema.integer(1, 120)),
    Field("overlay", schema.boolean()),
    Field("brush", schema.integer(1, 256)),
)


def _settings(v) -> Mapping:
    if not isinstance(v, dict):
        raise Invalid("an object of the window's settings")
    checked = schema.check_fields(v, SETTINGS_FIELDS)
    return MappingProxyType({k: checked[k] for k in checked if k in v})


def _affine(v) -> Affine:
    try:
        return Affine.from_dict(v)
    except schema.FieldError as exc:
        raise Invalid(exc.expected, "." + exc.field.partition(".")[2], exc.value, True) from None


REGION_FIELDS = (
    Field("affine", _affine, required=True),
    Field("handles", schema.list_of(schema.list_of(schema.number(), 2, 2, what="[x, y]: a list"), 1, 1024),
          required=True),
    Field("pairs", schema.list_of(schema.integer(0, MAX_PAIRS - 1), 1, 1024), required=True),
)


def _region(v) -> dict:
    """One region's record: its affine map, its handles as sampled and the indices of the pairs they drive."""
    try:
        r = schema.check_fields(v, REGION_FIELDS)
    except schema.FieldError as exc:
        raise Invalid(exc.expected, "." + exc.field, exc.value, True) from None
    if len(r["handles"]) != len(r["pairs"]):
        raise Invalid(f"as many handles as pairs (it has {len(r['handles'])} handles and "
                      f"{len(r['pairs'])} pairs)", ".handles", v.get("handles"), True)
    return r


SESSION_FIELDS = (
    Field("format", schema.text((FORMAT,)), required=True),
    Field("version", _version, default=VERSION),
    Field("model", schema.optional(schema.text(max_len=4096))),
    Field("seed", schema.integer(0, MAX_SEED), default=0),
    Field("params", schema.optional(_params)),
    Field("pairs", schema.optional(schema.list_of(_point, 0, MAX_PAIRS)), default=[]),
    Field("mask_mode", schema.text(("flexible", "fixed")), default="flexible"),
    Field("size", schema.optional(schema.list_of(schema.integer(1, MAX_SIDE), 2, 2, what="[height, width]: a list"))),
    Field("data", schema.optional(_data_name)),
    Field("settings", schema.optional(_settings)),
    Field("regions", schema.list_of(_region, 0, MAX_REGIONS), default=[]),
)


@dataclass(frozen=True)
class SessionFile:
    """One validated session, as read from disk. Arrays are read-only; `params` is copied on use."""
    path: Path
    model: str | None
    seed: int
    params: DragParams
    pairs: tuple            # ((hx, hy), (tx, ty)) per pair, in image pixels
    mask_mode: str
    size: tuple | None      # (H, W) of the image the session was made on (None in hand-written files)
    settings: Mapping
    ws: np.ndarray          # float32 [1, num_ws, w_dim]
    ws_initial: np.ndarray
    mask: np.ndarray | None  # bool [H, W]
    regions: tuple = ()     # (mask bool [H, W], Affine, handles [n, 2], pair indices) per region

    def check_fits(self, G):
        """Raise DragEditError unless this session can be shown on generator G (latent shape, image
        size, points inside the image): call it on the model to be used before swapping anything."""
        expected = (1, int(G.num_ws), int(G.w_dim))
        if tuple(self.ws.shape) != expected:
            raise DragEditError(f"the session's latent has shape {tuple(self.ws.shape)} but this model "
                                f"needs {expected}: open the session's model first")
        size = (int(G.img_resolution), int(G.img_resolution))
        if self.size is not None and self.size != size:
            raise DragEditError(f"the session was made on a {self.size[1]}x{self.size[0]} image but the "
                                f"model's image is {size[1]}x{size[0]}: open the session's model first")
        _check_against_size(self.pairs, self.mask, size, "the model's image")
        for i, (mask, *_rest) in enumerate(self.regions):
            if mask.shape != size:
                raise DragEditError(f"regions[{i}]: the mask is {mask.shape[1]}x{mask.shape[0]} but the model's "
                                    f"image is {size[1]}x{size[0]}")

    def snapshot_for(self, session) -> dict:
        """A snapshot for `DragSession.restore`, after `check_fits(session.G)`."""
        import torch
        self.check_fits(session.G)
        device = session.ws.device
        return dict(ws=torch.from_numpy(self.ws.copy()).to(device),
                    ws_initial=torch.from_numpy(self.ws_initial.copy()).to(device),
                    seed=self.seed, pairs=list(self.pairs), mask=None if self.mask is None else self.mask.copy(),
                    mask_mode=self.mask_mode, params=copy.deepcopy(self.params), iteration=0,
                    regions=[(m.copy(), a, h.copy(), list(ix)) for m, a, h, ix in self.regions])


def read_session(path) -> SessionFile:
    """Read and check a session (.json and its .npz); one DragEditError naming the file and field if
    anything in either is wrong."""
    raw = read_user_bytes(path, "session file", MAX_JSON_BYTES, "a session file (.json)")
    path = Path(path)
    name = short_name(path)
    doc = _parse_json(raw, name)
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise DragEditError(f"{name} is not a dragedit session file (no \"format\": \"{FORMAT}\")")
    try:
        v = schema.check_fields(doc, SESSION_FIELDS)
        size = tuple(v["size"]) if v["size"] is not None else None
        pairs = tuple(((p[0], p[1]), (p[2], p[3])) for p in v["pairs"] or ())
        if size is not None:
            _check_against_size(pairs, None, size, "the session's image")
        _check_region_records(v["regions"], len(pairs), size)
    except DragEditError as exc:
        raise DragEditError(f"{name}: {exc}") from None
    data_path = path.parent / (v["data"] or path.with_suffix(".npz").name)
    ws, ws_initial, mask, region_masks = _read_arrays(data_path, size, len(v["regions"]))
    regions = tuple((m, r["affine"], np.asarray(r["handles"], float).reshape(-1, 2), tuple(r["pairs"]))
                    for m, r in zip(region_masks, v["regions"]))
    return SessionFile(path=path, model=v["model"], seed=v["seed"], params=v["params"] or DragParams(),
                       pairs=pairs, mask_mode=v["mask_mode"], size=size,
                       settings=v["settings"] if v["settings"] is not None else MappingProxyType({}),
                       ws=ws, ws_initial=ws_initial, mask=mask, regions=regions)


def _parse_json(raw: bytes, name: str):
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        # ValueError also covers integers of thousands of digits; RecursionError deep nesting
        raise DragEditError(f"{name} is not a dragedit session file (expected JSON written by "
                            "File > Save session)") from None


def _check_against_size(pairs, mask, size, where: str):
    h, w = size
    if mask is not None and mask.shape != (h, w):
        raise DragEditError(f"the session's mask is {mask.shape[1]}x{mask.shape[0]} but {where} is {w}x{h}")
    for i, (hd, tg) in enumerate(pairs):
        for x, y in (hd, tg):
            if not (0 <= x <= w - 1 and 0 <= y <= h - 1):
                raise DragEditError(f"pairs[{i}]: the point ({x:g}, {y:g}) is outside {where} ({w}x{h})")


def _check_region_records(regions, n_pairs, size):
    """Each region's pairs exist and belong to it alone; its handles lie in the image."""
    owner = {}
    for i, r in enumerate(regions):
        for j in r["pairs"]:
            if j >= n_pairs:
                raise DragEditError(f"regions[{i}].pairs names pair {j} but the session has {n_pairs} pair(s)")
            if j in owner:
                raise DragEditError(f"regions[{i}].pairs names pair {j}, which regions[{owner[j]}] drives already")
            owner[j] = i
        if size is not None:
            _check_against_size([(h, h) for h in r["handles"]], None, size, "the session's image")


def region_mask_name(i: int) -> str:
    return f"region_mask_{i}"


def _read_arrays(data_path: Path, size, n_regions=0):
    """ws, ws_initial, the mask and the regions' masks from the session's .npz, each checked (shape,
    dtype, finite)."""
    what = "the session's data file"
    name = short_name(data_path)
    mask_limit = size[0] * size[1] * 8 if size is not None else MAX_SIDE * MAX_SIDE
    latent_limit = MAX_LATENT_VALUES * 8
    limits = dict(ws=latent_limit, ws_initial=latent_limit, mask=mask_limit)
    limits.update({region_mask_name(i): mask_limit for i in range(n_regions)})
    arrays = npyfile.load_npz(data_path, what, limits, MAX_NPZ_BYTES)
    if "ws" not in arrays:
        raise DragEditError(f"{what} {name} holds no 'ws' array")
    out = {}
    for key in ("ws", "ws_initial"):
        arr = arrays.get(key, arrays["ws"])
        if arr.ndim != 3 or arr.shape[0] != 1 or 0 in arr.shape:
            raise DragEditError(f"{what} {name}: '{key}' has shape {arr.shape}, expected [1, num_ws, w_dim]")
        out[key] = as_float32_latent(arr, f"{what} {name}: '{key}'")
    if out["ws_initial"].shape != out["ws"].shape:
        raise DragEditError(f"{what} {name}: 'ws_initial' has shape {out['ws_initial'].shape} but 'ws' "
                            f"{out['ws'].shape}")
    mask = _read_mask(arrays, "mask", what, name, size)
    regions = []
    for i in range(n_regions):
        key = region_mask_name(i)
        if key not in arrays:
            raise DragEditError(f"{what} {name} holds no '{key}' array for regions[{i}]")
        m = _read_mask(arrays, key, what, name, size)
        if not m.any():
            raise DragEditError(f"{what} {name}: '{key}' (the mask of regions[{i}]) selects no pixel")
        regions.append(m)
    for arr in (out["ws"], out["ws_initial"], mask, *regions):
        if arr is not None:
            arr.flags.writeable = False
    return out["ws"], out["ws_initial"], mask, regions


def _read_mask(arrays, key, what, name, size):
    mask = arrays.get(key)
    if mask is not None:
        if mask.ndim != 2:
            raise DragEditError(f"{what} {name}: '{key}' has shape {mask.shape}, expected [height, width]")
        if mask.dtype.kind == "f" and not np.isfinite(mask).all():
            raise DragEditError(f"{what} {name}: '{key}' contains NaN or infinite values")
        mask = mask.astype(bool)
        if size is not None and mask.shape != tuple(size):
            raise DragEditError(f"{what} {name}: '{key}' is {mask.shape[1]}x{mask.shape[0]} but the session's "
                                f"image is {size[1]}x{size[0]}")
    return mask


def session_snapshot(data, session) -> dict:
    """`SessionFile.snapshot_for`, also for the window's dict view of one (gui/sessionfile.py)."""
    file = data if isinstance(data, SessionFile) else SessionFile(**data)
    return file.snapshot_for(session)


def save_session(path, session, model_path, settings=None) -> Path:
    """Write the session to PATH (.json) and its arrays to PATH with .npz; returns the JSON path.
    Both are written to temporary names first and then renamed, so a failed save leaves the old pair."""
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
               settings=dict(settings or {}),
               regions=[dict(affine=a.to_dict(), handles=[[float(x), float(y)] for x, y in h], pairs=list(ix))
                        for _m, a, h, ix in snap.get("regions", ())])
    arrays = dict(ws=snap["ws"].cpu().numpy().astype(np.float32),
                  ws_initial=snap["ws_initial"].cpu().numpy().astype(np.float32))
    if snap["mask"] is not None:
        arrays["mask"] = snap["mask"].astype(bool)
    for i, (m, *_rest) in enumerate(snap.get("regions", ())):
        arrays[region_mask_name(i)] = m.astype(bool)
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
