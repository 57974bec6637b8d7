"""Strict loading shared by every model-file reader: shapes and names, finiteness, the description.

Each format module (`checkpoint` for ours, `nvidia`, `tf_pickle`, `rosinality`) turns its file
into our parameter names and a generator config, then hands both here. A state dict is loaded
only when every name and shape matches and every floating tensor is finite: one NaN in a
weight renders a black frame, and an inf in the mapping or in `w_avg` surfaces much later as a
"bad latent", far from the file that caused it.
"""
from __future__ import annotations

import math
import re

import torch

from ..errors import ModelFileError
from ..nets import stylegan3
from ..nets.stylegan2 import Generator, count_params

__all__ = ["short_error", "check_finite", "check_finite_config", "check_and_load", "build_converted",
           "model_info"]

_FLOAT32_MAX = torch.finfo(torch.float32).max


def short_error(e: BaseException, limit=200) -> str:
    """First sentence of an exception message (torch's are paragraphs of advice)."""
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    text = re.split(r"(?<=[a-z)])\. ", text, maxsplit=1)[0]
    return text if len(text) <= limit else text[:limit] + "..."


def _bad_count(t: torch.Tensor) -> int:
    """How many values of t are NaN, infinite, or (float64) beyond what float32 can hold."""
    if t.dtype == torch.float64:
        return int((~(t.abs() <= _FLOAT32_MAX)).sum())  # NaN compares false too
    return int((~torch.isfinite(t)).sum())


def _is_finite(t: torch.Tensor) -> bool:
    """One pass, no temporary. float32: a NaN or inf anywhere makes the sum NaN or inf, so a
    finite sum proves the tensor finite (only a sum overflowing from huge finite values is
    looked at again). Others: min and max propagate NaN, and an inf is the min or the max.
    (`isfinite(t).all()` makes four passes and three temporaries: about 15x slower on CPU.)"""
    if t.numel() == 0:
        return True
    t = t.detach()
    if t.dtype == torch.float32 and math.isfinite(float(t.sum())):
        return True
    if t.is_complex():
        t = torch.view_as_real(t)
    lo, hi = torch.aminmax(t)
    lo, hi = float(lo), float(hi)
    if t.dtype == torch.float64:
        return -_FLOAT32_MAX <= lo and hi <= _FLOAT32_MAX  # beyond float32 becomes inf on the cast
    return math.isfinite(lo) and math.isfinite(hi)


def check_finite(tensors: dict, path: str, what="tensor"):
    """Refuse the file at the first floating tensor holding NaN or inf (dict order: the file's);
    the bad values are only counted for the message."""
    for name, t in tensors.items():
        if not isinstance(t, torch.Tensor) or not (t.is_floating_point() or t.is_complex()):
            continue
        if not _is_finite(t):
            if t.is_complex():
                t = torch.view_as_real(t)
            raise ModelFileError(f"{path}: {what} {name} holds {_bad_count(t)} NaN or infinite value(s) "
                                 f"of {t.numel()}; the file is damaged or its training diverged")


def check_finite_config(value, path: str, where="config"):
    """Refuse NaN / inf numbers anywhere in a generator config (gains, clamps, filter taps)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ModelFileError(f"{path}: {where} is {value!r}, expected a finite number")
    if isinstance(value, dict):
        for k, v in value.items():
            check_finite_config(v, path, f"{where}.{k}")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            check_finite_config(v, path, f"{where}[{i}]")


def _mismatch_message(G, sd, expected, path, where):
    missing = [k for k in expected if k not in sd]
    unexpected = [k for k in sd if k not in expected]
    shapes = [f"{k} is {list(sd[k].shape)} in the file, {list(v.shape)} expected"
              for k, v in expected.items() if k in sd and tuple(sd[k].shape) != tuple(v.shape)]
    if not (missing or unexpected or shapes):
        return None
    parts = []
    if shapes:
        parts.append("; ".join(shapes[:4]) + (f" (+{len(shapes) - 4} more)" if len(shapes) > 4 else ""))
    if missing:
        parts.append("missing " + ", ".join(missing[:6]) + (" ..." if len(missing) > 6 else ""))
    if unexpected:
        parts.append("unexpected " + ", ".join(unexpected[:6]) + (" ..." if len(unexpected) > 6 else ""))
    return (f"{path}: the stored weights do not match {where} (resolution "
            f"{G.img_resolution}, channels {G.synthesis.channels}): " + "; ".join(parts))


def check_state(G, sd: dict, path: str, where: str, expected=None):
    """Names, shapes and finiteness of sd against G, without copying any weight."""
    expected = G.state_dict() if expected is None else expected
    message = _mismatch_message(G, sd, expected, path, where)
    if message:
        raise ModelFileError(message)
    check_finite_config(getattr(G, "config", None), path)
    check_finite(sd, path)


def check_and_load(G, sd: dict, path: str, where: str):
    """Strict load with a message listing missing/unexpected keys, shape mismatches, or the first
    tensor holding NaN / inf (checked after the cast to float32, so float64 overflow counts)."""
    message = _mismatch_message(G, sd, G.state_dict(), path, where)
    if message:
        raise ModelFileError(message)
    check_finite_config(getattr(G, "config", None), path)
    clean = {}
    for k, t in sd.items():
        t = t.detach()
        if t.is_floating_point() or t.is_complex():
            t = t.to(torch.float32)
        clean[k] = t.contiguous()
    check_finite(clean, path)
    try:
        G.load_state_dict(clean, strict=True)
    except RuntimeError as e:
        raise ModelFileError(f"{path}: the stored weights could not be loaded: {short_error(e)}") from None


def build_converted(config: dict, sd: dict, path: str, where: str, describe_only=False) -> Generator:
    """Build our StyleGAN2 Generator for weights converted from another project and load them.

    describe_only: only check names, shapes and finiteness, copying no weights, so `dragedit
    info` stays cheap. (The meta device would skip the random init too, but its first use in a
    process costs more than the init.) Missing `resample_filter` buffers are ours to fill.
    """
    try:
        G = Generator(**config)
    except (TypeError, ValueError, KeyError) as e:
        raise ModelFileError(f"{path}: cannot build a generator from {where}: {e}") from None
    expected = G.state_dict()
    for k, v in expected.items():
        if k.endswith("resample_filter") and k not in sd:
            sd[k] = v
    if describe_only:
        check_state(G, sd, path, where, expected)
        return G
    check_and_load(G, sd, path, where=where)
    return G


def model_info(G) -> dict:
    """What `dragedit info` and `G.source_info` say about a built generator."""
    if getattr(G, "family", "stylegan2") == "stylegan3":
        syn = G.synthesis
        fb = syn.default_feature_block()
        return dict(family="stylegan3", supported=True, resolution=G.img_resolution,
                    img_channels=G.img_channels, z_dim=G.z_dim, w_dim=G.w_dim, c_dim=G.c_dim,
                    num_ws=G.num_ws, mapping_layers=G.mapping.num_layers, architecture=stylegan3.variant(G),
                    layers=list(syn.layer_names), channels=list(syn.channels),
                    conv_clamp=syn.layer_specs[0]["conv_clamp"],
                    feature_layer=syn.layer_names[fb - 1] if fb > 0 else "input",
                    params=count_params(G))
    syn = G.config["synthesis_kwargs"]
    return dict(family="stylegan2", supported=True, resolution=G.img_resolution,
                img_channels=G.img_channels, z_dim=G.z_dim, w_dim=G.w_dim, c_dim=G.c_dim,
                num_ws=G.num_ws, mapping_layers=G.mapping.num_layers,
                architecture=syn.get("architecture", "skip"), channels=dict(G.synthesis.channels),
                conv_clamp=syn.get("conv_clamp"), params=count_params(G))
