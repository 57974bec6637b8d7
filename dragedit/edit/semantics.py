"""Semantic directions in W: SeFa for any StyleGAN2/3 model, named factors for models that know them.

SeFa (Shen & Zhou, CVPR 2021, DESIGN section 9): the style affines of the chosen
layers map w to per-channel styles; the directions in which they change the most
are the top eigenvectors of AᵀA, A stacking those affine weights. Each row (one
style channel) is scaled to unit length first, so per-layer gains (equalised
learning rate) cancel out. The result depends on the weights alone.

Named factors: the default model's z is Phi^-1 of the renderer's factors, so
factor i has a direction in W: the mean of mapping(z + delta e_i) - mapping(z)
over a fixed set of z, per unit of z_i. Being a direction in W (not a change
of z), it applies to any latent: a dragged or inverted one too. A model file
may store better ones, fitted to what its images show (`factor_directions`,
written by `python -m dragedit.edit.factor_estimate`: one W+ vector per factor,
per unit of amount); those are used where present.

Amounts are in natural units: for a factor, 1/6 of its whole range (amount
+-3 spans it; for a mean direction that is a z step of 1/(6 phi(0)) at the
prior's centre); for a SeFa direction, one standard deviation of w projected
on it over the same fixed samples.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import numpy as np
import torch

from ..errors import DragEditError
from .semantic_defaults import LAYER_RANGES

SAMPLES = 512           # fixed z samples for factor directions and amount scales
SAMPLE_SEED = 1234
FACTOR_DELTA = 0.5      # z step used to estimate a factor's direction (mapping is near-linear at this scale)
FACTOR_UNIT_Z = 1 / (6 * math.sqrt(2 * math.pi) ** -1)  # z step of 1/6 of a factor's range at the prior's centre


@dataclass
class Direction:
    """One semantic direction: a unit-free vector in W (or one per ws), the ws indices it edits, and its unit."""
    name: str
    kind: str               # 'factor' or 'sefa'
    vector: torch.Tensor    # [w_dim] float32, or [num_ws, w_dim] (a fitted factor direction: one per ws)
    layers: str             # one of LAYER_RANGES
    ws_indices: list = field(default_factory=list)
    scale: float = 1.0      # |w| change of amount 1
    eigenvalue: float | None = None

    def describe(self) -> dict:
        return dict(name=self.name, kind=self.kind, layers=self.layers, ws_indices=list(self.ws_indices),
                    fitted=self.vector.ndim == 2,
                    scale=round(float(self.scale), 6),
                    eigenvalue=None if self.eigenvalue is None else round(float(self.eigenvalue), 6))


# --------------------------------------------------------------------------- layers

def _affines(G):
    """(ws index, block resolution, affine weight [channels, w_dim]) for every style affine of G.

    StyleGAN2: block b's conv layers read consecutive ws (b4.conv1 -> 0, b8.conv0 -> 1, ...) and its
    toRGB the ws after its last conv. StyleGAN3: layer L_k reads ws[k + 1]; the input's affine (a
    rotation and a shift, normalised inside the layer) is left out."""
    syn = G.synthesis
    out = []
    if getattr(G, "family", "stylegan2") == "stylegan3":
        for i, name in enumerate(syn.layer_names):
            layer = getattr(syn, name)
            out.append((i + 1, i + 1, layer.affine.weight))
        return out
    idx = 0
    for res, block in zip(syn.block_resolutions, syn.blocks()):
        convs = [block.conv0] if block.in_channels else []
        convs.append(block.conv1)
        for j, layer in enumerate(convs):
            out.append((idx + j, res, layer.affine.weight))
        if hasattr(block, "torgb"):
            out.append((idx + block.num_conv, res, block.torgb.affine.weight))
        idx += block.num_conv
    return out


def layer_indices(G, layers="all") -> list:
    """The ws indices a layer range edits.

    StyleGAN2 (by the resolution of the block whose convs read that w, as in the StyleGAN paper):
    coarse 4-8 px, middle 16-32 px, fine 64 px and up. StyleGAN3 (no pyramid of resolutions): the
    first, second and last third of its layers. 'all': every ws."""
    if layers not in LAYER_RANGES:
        raise DragEditError(f"layer range {layers!r} is not one of {', '.join(LAYER_RANGES)}")
    n = G.num_ws
    if layers == "all":
        return list(range(n))
    if getattr(G, "family", "stylegan2") == "stylegan3":
        a, b = int(round(n / 3)), int(round(2 * n / 3))
        return dict(coarse=list(range(0, a)), middle=list(range(a, b)), fine=list(range(b, n)))[layers]
    owner = {}  # ws index -> resolution of the first conv that reads it
    syn = G.synthesis
    idx = 0
    for res, block in zip(syn.block_resolutions, syn.blocks()):
        for j in range(block.num_conv):
            owner.setdefault(idx + j, res)
        idx += block.num_conv
    owner.setdefault(n - 1, syn.block_resolutions[-1])  # the last toRGB's own w
    bounds = dict(coarse=(0, 8), middle=(16, 32), fine=(64, 1 << 30))
    ranges = {k: [i for i in range(n) if lo <= owner[i] <= hi] for k, (lo, hi) in bounds.items()}
    if not all(ranges.values()):  # a model under 64 px lacks some resolutions: thirds of its ws instead
        a, b = max(1, int(round(n / 3))), max(2, int(round(2 * n / 3)))
        ranges = dict(coarse=list(range(0, a)), middle=list(range(a, b)), fine=list(range(b, n)))
    return ranges[layers]


# --------------------------------------------------------------------------- SeFa

def sefa(G, layers="all", k=8):
    """Top-k SeFa directions [k, w_dim] (unit rows, float32) and their eigenvalues, from weights alone.

    The sign of each eigenvector is fixed (its largest-magnitude coordinate positive) so the result
    is the same on every call and every machine."""
    keep = set(layer_indices(G, layers))
    rows = [w.detach().to("cpu", torch.float64) for i, _, w in _affines(G) if i in keep]
    if not rows:
        raise DragEditError(f"this model has no style layers in the {layers!r} range")
    A = torch.cat(rows, dim=0)
    norms = A.norm(dim=1, keepdim=True)
    A = A[norms[:, 0] > 0] / norms[norms[:, 0] > 0]
    if A.shape[0] == 0:
        raise DragEditError(f"every style weight in the {layers!r} range is zero: no directions to find")
    vals, vecs = torch.linalg.eigh(A.T @ A)          # ascending
    order = torch.argsort(vals, descending=True)[:max(1, min(int(k), A.shape[1]))]
    vals, vecs = vals[order], vecs[:, order].T       # [k, w_dim]
    pick = vecs.abs().argmax(dim=1)
    signs = torch.sign(vecs[torch.arange(len(vecs)), pick])
    vecs = vecs * signs[:, None]
    return vecs.to(torch.float32), vals.to(torch.float32)


# --------------------------------------------------------------------------- factors

def factor_names(G):
    """The names of G's z coordinates if the model knows them (its file's `factor_names`), else None.

    Files written before the field existed: the shipped default model (models/faces128.pt, whose z
    has one coordinate per renderer factor) is recognised by its path and z size."""
    info = getattr(G, "source_info", {}) or {}
    names = info.get("factor_names") or (info.get("extra") or {}).get("factor_names")
    if names:
        names = [str(n) for n in names]
        return names if len(names) == G.z_dim else None
    path = info.get("path")
    if path:
        from ..models import DEFAULT_GENERATOR
        from ..synth import faces
        try:
            same = DEFAULT_GENERATOR.is_file() and os.path.samefile(path, DEFAULT_GENERATOR)
        except OSError:
            same = False
        if same and G.z_dim == faces.NUM_FACTORS:
            return list(faces.FACTOR_NAMES)
    return None


def _samples(G, n=SAMPLES):
    z = torch.from_numpy(np.random.RandomState(SAMPLE_SEED).randn(n, G.z_dim).astype(np.float32))
    device = G.mapping.w_avg.device
    c = torch.zeros([n, G.c_dim], device=device) if G.c_dim else None
    return z.to(device), c


@torch.no_grad()
def factor_vectors(G, delta=FACTOR_DELTA, n=SAMPLES):
    """[z_dim, w_dim]: mean of (mapping(z + delta e_i) - mapping(z)) / delta over n fixed samples."""
    z, c = _samples(G, n)
    w0 = G.mapping(z, c)[:, 0]
    out = torch.empty(G.z_dim, G.w_dim)
    for i in range(G.z_dim):
        zi = z.clone()
        zi[:, i] += delta
        out[i] = ((G.mapping(zi, c)[:, 0] - w0).mean(dim=0) / delta).cpu()
    return out


@torch.no_grad()
def _projection_std(G, vecs, n=SAMPLES):
    z, c = _samples(G, n)
    w = G.mapping(z, c)[:, 0].cpu()
    return (w @ vecs.T).std(dim=0)


# --------------------------------------------------------------------------- the cache

_CACHE = {}


def _key(G, what):
    info = getattr(G, "source_info", {}) or {}
    path = info.get("path")
    if path:
        try:
            st = os.stat(path)
            return (os.path.abspath(path), st.st_mtime_ns, st.st_size, what)
        except OSError:
            pass
    return (id(G), what)


def directions(G, layers="all", k=8, named=True):
    """The model's directions: its named factors (if it knows them and named=True) on every layer,
    then the top-k SeFa directions of `layers`. Cached per model file (path, mtime, size)."""
    key = _key(G, (layers, int(k), bool(named)))
    if key in _CACHE:
        return list(_CACHE[key])
    out = []
    names = factor_names(G) if named else None
    if names:
        vecs = factor_vectors(G)
        fitted = stored_factor_directions(G)
        idx = layer_indices(G, "all")
        for name, v in zip(names, vecs):
            if name in fitted:
                out.append(Direction(name=name, kind="factor", vector=fitted[name], layers="all", ws_indices=idx))
            else:
                out.append(Direction(name=name, kind="factor", vector=v, layers="all", ws_indices=idx,
                                     scale=FACTOR_UNIT_Z))
    if k > 0:
        vecs, vals = sefa(G, layers, k)
        stds = _projection_std(G, vecs)
        idx = layer_indices(G, layers)
        for j, (v, val, s) in enumerate(zip(vecs, vals, stds)):
            out.append(Direction(name=f"sefa{j}", kind="sefa", vector=v, layers=layers, ws_indices=idx,
                                 scale=float(s), eigenvalue=float(val)))
    _CACHE[key] = list(out)
    return out


def stored_factor_directions(G) -> dict:
    """{factor name: [num_ws, w_dim] W+ vector per unit of amount} from the model file's
    `factor_directions` (see factor_estimate), or {} when it stores none."""
    info = getattr(G, "source_info", {}) or {}
    stored = (info.get("extra") or {}).get("factor_directions")
    if not stored:
        return {}
    where = info.get("path", "the model file")
    dirs = stored.get("directions") if isinstance(stored, dict) else None
    if not isinstance(dirs, dict):
        raise DragEditError(f"{where}: 'factor_directions' holds no 'directions' dict; rewrite it with "
                            f"python -m dragedit.edit.factor_estimate")
    out = {}
    for name, v in dirs.items():
        if not isinstance(v, torch.Tensor) or tuple(v.shape) != (G.num_ws, G.w_dim):
            found = list(v.shape) if isinstance(v, torch.Tensor) else type(v).__name__
            raise DragEditError(f"{where}: factor direction {name!r} is {found}; expected a tensor of shape "
                                f"[{G.num_ws}, {G.w_dim}] (one W vector per ws)")
        out[str(name)] = v.detach().to("cpu", torch.float32)
    return out


def clear_cache():
    """Forget every cached direction (after a model file was rewritten within the same second)."""
    _CACHE.clear()


def find_factor(G, name):
    """The factor direction called `name` ('mouth open', 'mouth_openness' and unique prefixes match)."""
    names = factor_names(G)
    if not names:
        raise DragEditError("this model has no named factors (its file stores no factor_names): "
                            "use --direction K:AMOUNT with a SeFa direction from `dragedit directions`")
    want = str(name).strip().lower().replace(" ", "_").replace("-", "_")
    exact = [d for d in directions(G, k=0) if d.name == want]
    if exact:
        return exact[0]
    hits = [d for d in directions(G, k=0) if d.name.startswith(want)]
    if len(hits) == 1:
        return hits[0]
    what = "matches several factors" if hits else "is not a factor of this model"
    raise DragEditError(f"factor {name!r} {what}: expected one of {', '.join(names)}")


def sefa_direction(G, index, layers="all"):
    """SeFa direction number `index` (0 = largest eigenvalue) of a layer range."""
    if not isinstance(index, int) or index < 0:
        raise DragEditError(f"direction index must be a whole number >= 0, got {index!r}")
    if index >= G.w_dim:
        raise DragEditError(f"direction {index} does not exist: this model's W has {G.w_dim} dimensions")
    return directions(G, layers=layers, k=max(8, index + 1), named=False)[index]


# --------------------------------------------------------------------------- applying

def as_wplus(G, ws) -> torch.Tensor:
    """[1, num_ws, w_dim] float32 from a W ([w_dim] / [1, w_dim]) or W+ latent."""
    ws = torch.as_tensor(ws, dtype=torch.float32)
    if ws.ndim == 1:
        ws = ws[None]
    if ws.ndim == 2:
        ws = ws[:, None]
    if ws.ndim == 3 and ws.shape[1] == 1:
        ws = ws.repeat(1, G.num_ws, 1)
    if tuple(ws.shape) != (1, G.num_ws, G.w_dim):
        raise DragEditError(f"latent has shape {tuple(ws.shape)}: expected (1, {G.num_ws}, {G.w_dim}) (W+) "
                            f"or (1, {G.w_dim}) (W)")
    return ws


def apply(G, ws, edits) -> torch.Tensor:
    """ws moved along each (Direction, amount[, layers]) of `edits` on that direction's ws indices
    (or on the given layer range). Returns a new W+ latent; `ws` is not changed."""
    out = as_wplus(G, ws).clone()
    for edit in edits:
        d, amount = edit[0], float(edit[1])
        if not math.isfinite(amount):
            raise DragEditError(f"amount of {d.name} must be a finite number, got {amount!r}")
        idx = layer_indices(G, edit[2]) if len(edit) > 2 and edit[2] else d.ws_indices
        v = d.vector.to(out.device, out.dtype)
        out[:, idx] += (amount * d.scale) * (v[idx] if v.ndim == 2 else v)
    return out


# --------------------------------------------------------------------------- previews

@torch.no_grad()
def preview_frame(G, ws, low_res=False) -> np.ndarray:
    """uint8 [H, W, 3] of ws, forward only. low_res (StyleGAN2): the image of the synthesis up to half
    the output resolution (its skip-architecture RGB at that block), upsampled; StyleGAN3 has no such
    intermediate image and always renders in full."""
    from ..imaging import to_uint8
    syn = G.synthesis
    blocks = syn.blocks()
    if not low_res or not getattr(syn, "supports_low_res_preview", True) or len(blocks) < 3:
        return to_uint8(syn(ws))
    x = img = None
    for block, bw in zip(blocks[:-1], syn.block_ws(ws)[:-1]):
        x, img = block(x, img, bw)
    frame = to_uint8(img)
    import cv2
    return cv2.resize(frame, (G.img_resolution, G.img_resolution), interpolation=cv2.INTER_LINEAR)


def measure_previews(G, ws, direction, n=30, low_res=False):
    """Milliseconds of each of n slider previews (apply + forward + uint8) at amounts sweeping -2..2."""
    import time
    times = []
    for i in range(n):
        amount = -2 + 4 * i / max(n - 1, 1)
        t = time.perf_counter()
        preview_frame(G, apply(G, ws, [(direction, amount)]), low_res=low_res)
        times.append((time.perf_counter() - t) * 1000)
    return times
