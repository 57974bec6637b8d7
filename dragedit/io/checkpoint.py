"""Read and write generator files without running code from them.

These formats are read:

* NVIDIA's official network pickles (stylegan2-ada-pytorch, and the
  StyleGAN3 release: `stylegan3-t/r-*.pkl` become `nets.stylegan3.Generator`,
  its `stylegan2-*.pkl` the StyleGAN2 one), through the allow-list unpickler in
  `safe_pickle`. The network config is rebuilt from the stored module state
  (attributes and tensor shapes), never from `_init_kwargs` and never by
  executing the module source stored in the file. Our own files say which
  network they hold with `config['family']` (absent: StyleGAN2).
* dragedit's own format: `torch.save({'format': 'dragedit-generator',
  'version': 1, 'config': G.config, 'state_dict': ..., **extra})`, read with
  `torch.load(weights_only=True)`.
* Converted on load: TensorFlow-era pickles of NVIDIA's StyleGAN2 release
  (`tf_pickle`) and rosinality stylegan2-pytorch `.pt` checkpoints (`rosinality`).

Every failure a user can cause (wrong file, broken file, unsafe file) is a
`ModelFileError` whose message names the file and what was expected.
"""
from __future__ import annotations

import argparse
import contextlib
import math
import os
import pickle
import re
import tempfile
import warnings

import numpy as np
import torch

from ..errors import ModelFileError
from ..nets.stylegan2 import Generator, count_params
from .safe_pickle import PersistentRecord, PlainModuleRecord, safe_load

__all__ = ["FORMAT", "FORMAT_VERSION", "load_generator", "save_generator", "inspect_model"]

FORMAT = "dragedit-generator"
FORMAT_VERSION = 1
_RESERVED_KEYS = {"format", "version", "config", "state_dict", "dtype"}

_IMAGE_MAGIC = [
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
]
_ZIP_MAGIC = b"PK\x03\x04"
_LEGACY_TORCH_MAGIC = 0x1950A86A20F9469CFC6C  # first object of a pre-1.6 torch.save file
_EXPECTED = ("expected a StyleGAN2 network pickle (.pkl: PyTorch or TensorFlow release), a rosinality "
             "stylegan2-pytorch checkpoint (.pt) or a dragedit model file (.pt)")


# --------------------------------------------------------------------------- sniffing

def _sniff(path: str) -> str:
    """Classify the file by its first bytes so a wrong file gets a precise message."""
    if not os.path.exists(path):
        raise ModelFileError(f"{path}: model file not found ({_EXPECTED})")
    if os.path.isdir(path):
        raise ModelFileError(f"{path}: is a directory; {_EXPECTED}")
    try:
        with open(path, "rb") as f:
            head = f.read(512)
    except OSError as e:
        raise ModelFileError(f"{path}: cannot read the model file: {e.strerror or e}") from None
    if not head:
        raise ModelFileError(f"{path}: the file is empty; {_EXPECTED}")
    for magic, what in _IMAGE_MAGIC:
        if head.startswith(magic):
            raise ModelFileError(f"{path}: this is {what}, not a model; {_EXPECTED}")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        raise ModelFileError(f"{path}: this is a WebP image, not a model; {_EXPECTED}")
    if head.startswith(_ZIP_MAGIC):
        return "zip"
    if head[0] == 0x80 and len(head) > 1 and head[1] <= pickle.HIGHEST_PROTOCOL:
        return "pickle"
    if b"\x00" not in head:
        try:
            head.decode("utf-8")
            is_text = True
        except UnicodeDecodeError as e:
            is_text = e.start > len(head) - 4  # a multi-byte char cut at the end
        if is_text:
            raise ModelFileError(f"{path}: this is a text file, not a model; {_EXPECTED}")
    raise ModelFileError(f"{path}: unrecognised file format; {_EXPECTED}")


# --------------------------------------------------------------------------- helpers

def _as_int(value, path, what):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ModelFileError(f"{path}: {what} is {value!r}, expected an integer")
    return int(value)


def _plain_number(value):
    """numpy scalars -> Python numbers so configs stay loadable with weights_only."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def _modules(rec) -> dict:
    mods = getattr(rec, "state", {}).get("_modules")
    return mods if isinstance(mods, dict) else {}


def _child(rec, name, path):
    child = _modules(rec).get(name)
    if not isinstance(child, (PersistentRecord, PlainModuleRecord)):
        raise ModelFileError(f"{path}: {rec.class_name} has no '{name}' submodule; "
                             "not a StyleGAN2 generator this loader knows")
    return child


def _attr(rec, name, path):
    if name not in rec.state:
        raise ModelFileError(f"{path}: {rec.class_name} has no '{name}' attribute; "
                             "not a StyleGAN2 generator this loader knows")
    return rec.state[name]


def _tensor(rec, name, path):
    for group in ("_parameters", "_buffers"):
        t = (rec.state.get(group) or {}).get(name)
        if isinstance(t, torch.Tensor):
            return t
    raise ModelFileError(f"{path}: {rec.class_name} has no '{name}' tensor; "
                         "not a StyleGAN2 generator this loader knows")


def _collect_state(rec, prefix, out, path):
    """Walk the record tree into a flat state dict (`synthesis.b8.conv0.weight`, ...)."""
    st = getattr(rec, "state", None)
    if not isinstance(st, dict):
        return
    non_persistent = st.get("_non_persistent_buffers_set") or ()
    for group in ("_parameters", "_buffers"):
        items = st.get(group) or {}
        if not isinstance(items, dict):
            raise ModelFileError(f"{path}: malformed {group} in {prefix or 'the network'}")
        for name, t in items.items():
            if t is None or (group == "_buffers" and name in non_persistent):
                continue
            if not isinstance(t, torch.Tensor):
                raise ModelFileError(f"{path}: {prefix}{name} is a {type(t).__name__}, expected a tensor")
            out[prefix + name] = t
    for name, child in _modules(rec).items():
        if child is None:
            continue
        if not isinstance(child, (PersistentRecord, PlainModuleRecord)):
            raise ModelFileError(f"{path}: submodule {prefix}{name} is a {type(child).__name__}, "
                                 "expected a network module")
        _collect_state(child, f"{prefix}{name}.", out, path)
    return out


def _count_record_params(rec) -> int:
    total = 0
    for t in ((getattr(rec, "state", {}) or {}).get("_parameters") or {}).values():
        if isinstance(t, torch.Tensor):
            total += t.numel()
    return total + sum(_count_record_params(c) for c in _modules(rec).values()
                       if isinstance(c, (PersistentRecord, PlainModuleRecord)))


def _filter_spec(buf: torch.Tensor):
    """Recover the 1-D taps a `setup_filter` buffer was made from (the default as (1, 3, 3, 1))."""
    f = buf.detach().to(torch.float64)
    if f.ndim == 2 and f.shape[0] == f.shape[1]:
        row = f.sum(dim=0)
        total = f.sum()
        if total.abs() > 1e-12 and torch.allclose(torch.outer(f.sum(dim=1), row) / total, f, atol=1e-7):
            taps = row / row.sum()
            default = torch.tensor([1.0, 3.0, 3.0, 1.0], dtype=torch.float64) / 8
            if taps.shape == default.shape and torch.allclose(taps, default, atol=1e-7):
                return (1, 3, 3, 1)
            return tuple(float(v) for v in taps)
    return [[float(v) for v in r] for r in f.reshape(f.shape[0], -1)]


def _short(e: BaseException, limit=200) -> str:
    """First sentence of an exception message (torch's are paragraphs of advice)."""
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    text = re.split(r"(?<=[a-z)])\. ", text, maxsplit=1)[0]
    return text if len(text) <= limit else text[:limit] + "..."


def _check_and_load(G: Generator, sd: dict, path: str, where: str):
    """Strict load with a message listing missing/unexpected keys and shape mismatches."""
    expected = G.state_dict()
    missing = [k for k in expected if k not in sd]
    unexpected = [k for k in sd if k not in expected]
    shapes = [f"{k} is {list(sd[k].shape)} in the file, {list(v.shape)} expected"
              for k, v in expected.items() if k in sd and tuple(sd[k].shape) != tuple(v.shape)]
    if missing or unexpected or shapes:
        parts = []
        if shapes:
            parts.append("; ".join(shapes[:4]) + (f" (+{len(shapes) - 4} more)" if len(shapes) > 4 else ""))
        if missing:
            parts.append("missing " + ", ".join(missing[:6]) + (" ..." if len(missing) > 6 else ""))
        if unexpected:
            parts.append("unexpected " + ", ".join(unexpected[:6]) + (" ..." if len(unexpected) > 6 else ""))
        raise ModelFileError(f"{path}: the stored weights do not match {where} (resolution "
                             f"{G.img_resolution}, channels {G.synthesis.channels}): " + "; ".join(parts))
    clean = {}
    for k, t in sd.items():
        t = t.detach()
        if t.is_floating_point() or t.is_complex():
            t = t.to(torch.float32)
        clean[k] = t.contiguous()
    try:
        G.load_state_dict(clean, strict=True)
    except RuntimeError as e:
        raise ModelFileError(f"{path}: the stored weights could not be loaded: {_short(e)}") from None


def _finish(G: Generator, info: dict, device) -> Generator:
    G.eval().requires_grad_(False)
    G.source_info = info
    return G.to(device)


def _model_info(G: Generator) -> dict:
    if getattr(G, "family", "stylegan2") == "stylegan3":
        return _stylegan3_model_info(G)
    syn = G.config["synthesis_kwargs"]
    return dict(family="stylegan2", supported=True, resolution=G.img_resolution,
                img_channels=G.img_channels, z_dim=G.z_dim, w_dim=G.w_dim, c_dim=G.c_dim,
                num_ws=G.num_ws, mapping_layers=G.mapping.num_layers,
                architecture=syn.get("architecture", "skip"), channels=dict(G.synthesis.channels),
                conv_clamp=syn.get("conv_clamp"), params=count_params(G))


# --------------------------------------------------------------------------- official pickles

class _TFPickleFound(Exception):
    """Carries an unpickled TensorFlow-era network from `_read_official` up to `_open` (read once)."""

    def __init__(self, obj):
        super().__init__("TensorFlow network pickle")
        self.obj = obj


def _read_official(path: str):
    """Unpickle safely and pick the generator record: G_ema, else G (with a warning)."""
    try:
        with open(path, "rb") as f:
            obj = safe_load(f, path=path)
    except ModelFileError:
        raise
    except EOFError:
        raise ModelFileError(f"{path}: the pickle is truncated (it ends early); "
                             "download or export it again") from None
    except Exception as e:  # noqa: BLE001 - any unpickling failure means a broken file
        raise ModelFileError(f"{path}: not a readable network pickle (truncated or corrupt?): "
                             f"{type(e).__name__}: {_short(e)}") from None
    if isinstance(obj, PersistentRecord):
        return obj, "(whole file)"
    from .tf_pickle import is_tf_pickle
    if is_tf_pickle(obj):
        raise _TFPickleFound(obj)
    if isinstance(obj, int) and obj == _LEGACY_TORCH_MAGIC:
        raise ModelFileError(f"{path}: an old-style (non-zip) torch.save file, not a network pickle; "
                             f"{_EXPECTED}")
    if not isinstance(obj, dict):
        raise ModelFileError(f"{path}: the pickle holds a {type(obj).__name__}, expected NVIDIA's "
                             "network dict with 'G_ema' (or 'G')")
    if isinstance(obj.get("G_ema"), PersistentRecord):
        return obj["G_ema"], "G_ema"
    if isinstance(obj.get("G"), PersistentRecord):
        warnings.warn(f"{path}: no G_ema in the pickle; using G (the non-averaged generator)",
                      UserWarning, stacklevel=5)
        return obj["G"], "G"
    keys = ", ".join(repr(k) for k in list(obj)[:8]) or "none"
    raise ModelFileError(f"{path}: the pickle holds no generator: expected a 'G_ema' (or 'G') "
                         f"network, found keys {keys}")


def _is_stylegan3(rec: PersistentRecord) -> bool:
    synth = _modules(rec).get("synthesis")
    if isinstance(synth, PersistentRecord):
        names = list(_modules(synth))
        if "input" in names or any(re.match(r"L\d+_", str(n)) for n in names):
            return True
        if "filtered_lrelu" in (synth.module_src or ""):
            return True
    return "filtered_lrelu" in (rec.module_src or "")


def _stylegan3_info(rec, path) -> dict:
    st = rec.state
    mapping = _modules(rec).get("mapping")
    info = dict(family="stylegan3", supported=False, params=_count_record_params(rec))
    for key, name in (("resolution", "img_resolution"), ("img_channels", "img_channels"),
                      ("z_dim", "z_dim"), ("w_dim", "w_dim"), ("c_dim", "c_dim"), ("num_ws", "num_ws")):
        info[key] = _plain_number(st.get(name))
    info["mapping_layers"] = _plain_number(mapping.state.get("num_layers")) \
        if isinstance(mapping, PersistentRecord) else None
    return info


class _SG3Error(ModelFileError):
    """A StyleGAN3 record this loader cannot read; `_stylegan3_config` adds the file name."""


def _sg3_child(rec, name):
    child = _modules(rec).get(name)
    if not isinstance(child, (PersistentRecord, PlainModuleRecord)):
        raise _SG3Error(f"{rec.class_name} has no '{name}' submodule")
    return child


def _sg3_attr(rec, name, kind=None):
    """A stored attribute; kind 'int' / 'float' / 'bool' / 'size' converts it (numpy scalars and
    NVIDIA's broadcast [width, height] size arrays included) or refuses it."""
    if name not in rec.state:
        raise _SG3Error(f"{rec.class_name} has no '{name}' attribute")
    v = rec.state[name]
    if kind is None:
        return v
    if kind == "size":
        arr = np.asarray(v)
        if arr.ndim == 1 and arr.size == 2 and arr.dtype.kind in "iu" and arr[0] == arr[1]:
            return int(arr[0])
        if arr.ndim == 0 and arr.dtype.kind in "iu":
            return int(arr)
        raise _SG3Error(f"{rec.class_name}.{name} is {v!r}, expected a square size")
    if kind == "bool" and isinstance(v, (bool, np.bool_)):
        return bool(v)
    if kind in ("int", "float") and isinstance(v, (int, float, np.integer, np.floating)) \
            and not isinstance(v, (bool, np.bool_)):
        if kind == "int":
            if float(v) != int(v):
                raise _SG3Error(f"{rec.class_name}.{name} is {v!r}, expected an integer")
            return int(v)
        return float(v)
    raise _SG3Error(f"{rec.class_name}.{name} is {v!r}, expected a {kind}")


def _sg3_tensor(rec, name, optional=False):
    for group in ("_parameters", "_buffers"):
        items = rec.state.get(group) or {}
        if name in items:
            t = items[name]
            if isinstance(t, torch.Tensor) or (optional and t is None):
                return t
            raise _SG3Error(f"{rec.class_name}.{name} is a {type(t).__name__}, expected a tensor")
    raise _SG3Error(f"{rec.class_name} has no '{name}' tensor")


def _stylegan3_layer_spec(rec, name, idx):
    """One `L{idx}_{size}_{channels}` layer: geometry from its attributes, channels, kernel and
    filter taps from its tensor shapes (the stored filters themselves are loaded as buffers)."""
    weight = _sg3_tensor(rec, "weight")
    if weight.ndim != 4 or weight.shape[2] != weight.shape[3]:
        raise _SG3Error(f"{name}.weight has shape {list(weight.shape)}, expected [out, in, k, k]")
    taps = []
    for fname in ("up_filter", "down_filter"):
        f = _sg3_tensor(rec, fname, optional=True)
        if f is not None and not (f.ndim == 1 or (f.ndim == 2 and f.shape[0] == f.shape[1])):
            raise _SG3Error(f"{name}.{fname} has shape {list(f.shape)}, expected taps or a square filter")
        taps.append(f)
    up_f, down_f = taps
    if up_f is not None and up_f.ndim != 1:
        raise _SG3Error(f"{name}.up_filter is 2-D; only separable up-sampling filters exist in StyleGAN3")
    padding = _sg3_attr(rec, "padding")
    if not (isinstance(padding, (list, tuple)) and len(padding) == 4
            and all(isinstance(p, (int, np.integer)) for p in padding)):
        raise _SG3Error(f"{name}.padding is {padding!r}, expected four integers")
    clamp = _sg3_attr(rec, "conv_clamp")
    if clamp is not None:
        clamp = _sg3_attr(rec, "conv_clamp", "float")
        clamp = int(clamp) if clamp.is_integer() else clamp
    beta = _plain_number(rec.state.get("magnitude_ema_beta", 0.999))
    spec = dict(is_torgb=_sg3_attr(rec, "is_torgb", "bool"),
                is_critically_sampled=_sg3_attr(rec, "is_critically_sampled", "bool"),
                use_fp16=bool(_plain_number(rec.state.get("use_fp16", False))),
                in_channels=int(weight.shape[1]), out_channels=int(weight.shape[0]),
                in_size=_sg3_attr(rec, "in_size", "size"), out_size=_sg3_attr(rec, "out_size", "size"),
                in_sampling_rate=_sg3_attr(rec, "in_sampling_rate", "int"),
                out_sampling_rate=_sg3_attr(rec, "out_sampling_rate", "int"),
                tmp_sampling_rate=_sg3_attr(rec, "tmp_sampling_rate", "int"),
                in_cutoff=_sg3_attr(rec, "in_cutoff", "float"), out_cutoff=_sg3_attr(rec, "out_cutoff", "float"),
                in_half_width=_sg3_attr(rec, "in_half_width", "float"),
                out_half_width=_sg3_attr(rec, "out_half_width", "float"),
                conv_kernel=int(weight.shape[2]),
                up_taps=1 if up_f is None else int(up_f.shape[0]),
                down_taps=1 if down_f is None else int(down_f.shape[0]),
                down_radial=down_f is not None and down_f.ndim == 2,
                conv_clamp=clamp, magnitude_ema_beta=None if beta is None else float(beta),
                padding=[int(p) for p in padding])
    from ..nets.stylegan3 import layer_padding
    if spec["tmp_sampling_rate"] % spec["in_sampling_rate"] or spec["tmp_sampling_rate"] % spec["out_sampling_rate"]:
        raise _SG3Error(f"{name}: sampling rates {spec['in_sampling_rate']}/{spec['tmp_sampling_rate']}/"
                        f"{spec['out_sampling_rate']} are not integer multiples")
    expected = layer_padding(spec)
    if spec["padding"] != expected:
        raise _SG3Error(f"{name}: its padding {spec['padding']} does not fit its sizes and filters "
                        f"(up_filter {spec['up_taps']} taps, down_filter {spec['down_taps']} taps: "
                        f"padding {expected} expected)")
    if name != f"L{idx}_{spec['out_size']}_{spec['out_channels']}":
        raise _SG3Error(f"layer {name} is stored where L{idx}_{spec['out_size']}_{spec['out_channels']} "
                        "was expected")
    return spec


def _stylegan3_config(rec: PersistentRecord, path: str) -> dict:
    """Rebuild `stylegan3.Generator(...)` arguments from attributes and tensor shapes: the layer
    geometry is read per layer, never from `_init_kwargs`, and no stored source is run."""
    try:
        if rec.class_name != "Generator":
            raise _SG3Error(f"the network is a {rec.class_name!r}, expected a 'Generator'")
        dims = {k: _sg3_attr(rec, k, "int") for k in ("z_dim", "c_dim", "w_dim", "img_resolution",
                                                       "img_channels")}
        mapping = _sg3_child(rec, "mapping")
        fc0 = _sg3_child(mapping, "fc0")
        activation = fc0.state.get("activation", "lrelu")
        if not isinstance(activation, str):
            raise _SG3Error(f"mapping activation is {activation!r}, expected a name")
        beta = _plain_number(mapping.state.get("w_avg_beta", 0.998))
        mapping_kwargs = dict(num_layers=_sg3_attr(mapping, "num_layers", "int"), activation=activation,
                              lr_multiplier=float(_plain_number(fc0.state.get("bias_gain", 0.01))),
                              w_avg_beta=None if beta is None else float(beta))

        synth = _sg3_child(rec, "synthesis")
        names = synth.state.get("layer_names")
        if names is None:
            names = sorted((n for n in _modules(synth) if re.match(r"L\d+_\d+_\d+$", str(n))),
                           key=lambda n: int(n[1:].split("_")[0]))
        if not isinstance(names, (list, tuple)) or not names or not all(isinstance(n, str) for n in names):
            raise _SG3Error(f"synthesis layer_names is {names!r}, expected a list of layer names")
        layers = [_stylegan3_layer_spec(_sg3_child(synth, n), n, i) for i, n in enumerate(names)]
        inp = _sg3_child(synth, "input")
        input_spec = dict(channels=int(_sg3_tensor(inp, "weight").shape[0]), size=_sg3_attr(inp, "size", "size"),
                          sampling_rate=_sg3_attr(inp, "sampling_rate", "float"),
                          bandwidth=_sg3_attr(inp, "bandwidth", "float"))
        critical = synth.state.get("num_critical")
        num_critical = _sg3_attr(synth, "num_critical", "int") if critical is not None else \
            sum(1 for s in layers[:-1] if s["is_critically_sampled"])
        synthesis_kwargs = dict(input=input_spec, layers=layers,
                                output_scale=_sg3_attr(synth, "output_scale", "float"),
                                margin_size=int(_plain_number(synth.state.get("margin_size", 10))),
                                num_critical=num_critical,
                                num_fp16_res=int(_plain_number(synth.state.get("num_fp16_res", 0)) or 0))
    except _SG3Error as e:
        raise ModelFileError(f"{path}: a StyleGAN3 network this loader cannot read: {e}") from None
    return dict(family="stylegan3", **dims, mapping_kwargs=mapping_kwargs, synthesis_kwargs=synthesis_kwargs)


def _open_stylegan3(rec, path, info, allow_unsupported=False):
    """Build our StyleGAN3 generator from the record and load its state strictly.

    With allow_unsupported (inspect_model), a record that cannot be rebuilt is still described."""
    from ..nets.stylegan3 import Generator as SG3Generator
    try:
        config = _stylegan3_config(rec, path)
    except ModelFileError as e:
        if not allow_unsupported:
            raise
        info.update(_stylegan3_info(rec, path), error=str(e))
        return None, info
    return _build_from_record(SG3Generator, config, rec, path, info, "a StyleGAN3 generator")


def _build_from_record(cls, config, rec, path, info, what):
    """Build cls(**config), check num_ws against the record and load the record's state strictly."""
    try:
        G = cls.from_config(config)
    except (TypeError, ValueError, KeyError) as e:
        raise ModelFileError(f"{path}: cannot build {what} from the stored network: {e}") from None
    stored_ws = rec.state.get("num_ws")
    if stored_ws is not None and _plain_number(stored_ws) != G.num_ws:
        raise ModelFileError(f"{path}: the network says num_ws={stored_ws} but its layers need {G.num_ws}")
    sd = _collect_state(rec, "", {}, path)
    _check_and_load(G, sd, path, where="the network's own settings")
    info.update(_model_info(G))
    return G, info


def _generator_from_config(config):
    """Our own files: the config's `family` picks the network (no key: StyleGAN2)."""
    family = config.get("family", "stylegan2") if isinstance(config, dict) else None
    if family == "stylegan3":
        from ..nets.stylegan3 import Generator as SG3Generator
        return SG3Generator.from_config(config)
    if family == "stylegan2" and isinstance(config, dict):
        return Generator.from_config({k: v for k, v in config.items() if k != "family"})
    raise ValueError(f"unknown generator family {family!r}")


def _stylegan3_model_info(G) -> dict:
    from ..nets.stylegan3 import variant
    syn = G.synthesis
    fb = syn.default_feature_block()
    return dict(family="stylegan3", supported=True, resolution=G.img_resolution,
                img_channels=G.img_channels, z_dim=G.z_dim, w_dim=G.w_dim, c_dim=G.c_dim,
                num_ws=G.num_ws, mapping_layers=G.mapping.num_layers, architecture=variant(G),
                layers=list(syn.layer_names), channels=list(syn.channels),
                conv_clamp=syn.layer_specs[0]["conv_clamp"],
                feature_layer=syn.layer_names[fb - 1] if fb > 0 else "input",
                params=count_params(G))


def _official_config(rec: PersistentRecord, path: str) -> dict:
    """Rebuild `Generator(...)` arguments from module attributes and tensor shapes."""
    if rec.class_name != "Generator":
        raise ModelFileError(f"{path}: the network is a {rec.class_name!r}, expected a StyleGAN2 'Generator'")
    z_dim = _as_int(_attr(rec, "z_dim", path), path, "z_dim")
    c_dim = _as_int(_attr(rec, "c_dim", path), path, "c_dim")
    w_dim = _as_int(_attr(rec, "w_dim", path), path, "w_dim")
    res = _as_int(_attr(rec, "img_resolution", path), path, "img_resolution")
    img_channels = _as_int(_attr(rec, "img_channels", path), path, "img_channels")
    if res < 4 or res & (res - 1):
        raise ModelFileError(f"{path}: img_resolution {res} is not a power of two >= 4")

    mapping = _child(rec, "mapping", path)
    num_layers = _as_int(_attr(mapping, "num_layers", path), path, "mapping.num_layers")
    fc0 = _child(mapping, "fc0", path)
    lr_multiplier = float(_plain_number(fc0.state.get("bias_gain", 0.01)))
    activation = fc0.state.get("activation", "lrelu")
    if not isinstance(activation, str):
        raise ModelFileError(f"{path}: mapping activation is {activation!r}, expected a name")
    beta = _plain_number(mapping.state.get("w_avg_beta", 0.995))
    mapping_kwargs = dict(num_layers=num_layers, activation=activation, lr_multiplier=lr_multiplier,
                          w_avg_beta=None if beta is None else float(beta))
    if num_layers > 1:
        mapping_kwargs["layer_features"] = int(_tensor(fc0, "weight", path).shape[0])
    if c_dim > 0:
        mapping_kwargs["embed_features"] = int(_tensor(_child(mapping, "embed", path), "weight", path).shape[0])

    synth = _child(rec, "synthesis", path)
    log2 = int(round(math.log2(res)))
    resolutions = [2 ** i for i in range(2, log2 + 1)]
    stored = synth.state.get("block_resolutions")
    if stored is not None and [_plain_number(r) for r in stored] != resolutions:
        raise ModelFileError(f"{path}: synthesis blocks {list(stored)} do not match resolution {res}")
    blocks = {r: _child(synth, f"b{r}", path) for r in resolutions}
    channels = {r: int(_tensor(_child(b, "conv1", path), "weight", path).shape[0]) for r, b in blocks.items()}
    archs = {b.state.get("architecture", "skip") for b in blocks.values()}
    if len(archs) != 1 or not archs <= {"skip", "resnet", "orig"}:
        raise ModelFileError(f"{path}: synthesis architecture {sorted(map(str, archs))} is not "
                             "one of 'skip', 'resnet', 'orig'")
    conv1 = _child(blocks[4], "conv1", path)
    layer_act = conv1.state.get("activation", "lrelu")
    if layer_act != "lrelu":
        raise ModelFileError(f"{path}: synthesis layers use activation {layer_act!r}; only 'lrelu' is supported")
    clamp = _plain_number(conv1.state.get("conv_clamp"))
    if clamp is not None and not isinstance(clamp, (int, float)):
        raise ModelFileError(f"{path}: conv_clamp is {clamp!r}, expected a number or None")
    use_noise = "noise_const" in (conv1.state.get("_buffers") or {})
    synthesis_kwargs = dict(channels=channels, architecture=archs.pop(), conv_clamp=clamp,
                            use_noise=use_noise,
                            resample_filter=_filter_spec(_tensor(blocks[4], "resample_filter", path)),
                            num_fp16_res=sum(1 for b in blocks.values() if b.state.get("use_fp16")))
    return dict(z_dim=z_dim, c_dim=c_dim, w_dim=w_dim, img_resolution=res, img_channels=img_channels,
                mapping_kwargs=mapping_kwargs, synthesis_kwargs=synthesis_kwargs)


def _open_official(path: str, allow_unsupported=False):
    rec, network = _read_official(path)
    info = dict(path=path, format="nvidia-pickle", network=network)
    if _is_stylegan3(rec):
        return _open_stylegan3(rec, path, info, allow_unsupported=allow_unsupported)
    return _build_from_record(Generator, _official_config(rec, path), rec, path, info, "a generator")


# --------------------------------------------------------------------------- own format

def _open_ours(path: str, describe_only=False):
    try:
        obj = torch.load(path, weights_only=True, map_location="cpu")
    except pickle.UnpicklingError as e:
        found = re.search(r"GLOBAL (\S+)", str(e))
        what = f"it asks for {found.group(1)}" if found else _short(e)
        raise ModelFileError(f"{path}: a PyTorch file holding more than plain weights ({what}); "
                             f"refused, as loading it could run code; {_EXPECTED}") from None
    except Exception as e:  # noqa: BLE001 - truncated zip, bad records, ...
        raise ModelFileError(f"{path}: a truncated or corrupt PyTorch/zip file: {_short(e)}") from None
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        from .rosinality import is_rosinality, open_rosinality
        if is_rosinality(obj):
            return open_rosinality(path, obj, describe_only=describe_only)
        found = f"format {obj.get('format')!r}" if isinstance(obj, dict) and "format" in obj else (
            "keys " + ", ".join(repr(k) for k in list(obj)[:6]) if isinstance(obj, dict) else
            f"a {type(obj).__name__}")
        raise ModelFileError(f"{path}: a PyTorch file, but not a dragedit generator (expected a dict "
                             f"with format={FORMAT!r}, or a rosinality checkpoint with 'g_ema'; found {found})")
    version = obj.get("version")
    if not isinstance(version, int) or version < 1:
        raise ModelFileError(f"{path}: bad format version {version!r}, expected {FORMAT_VERSION}")
    if version > FORMAT_VERSION:
        raise ModelFileError(f"{path}: written by a newer dragedit (format version {version}; "
                             f"this one reads up to {FORMAT_VERSION})")
    config, sd = obj.get("config"), obj.get("state_dict")
    if not isinstance(config, dict) or not isinstance(sd, dict):
        raise ModelFileError(f"{path}: a dragedit model file without a 'config' and 'state_dict'")
    try:
        G = _generator_from_config(config)
    except (TypeError, ValueError, KeyError, AttributeError) as e:
        raise ModelFileError(f"{path}: the stored config is not understood ({e})") from None
    for k, t in sd.items():
        if not isinstance(t, torch.Tensor):
            raise ModelFileError(f"{path}: state_dict entry {k!r} is a {type(t).__name__}, expected a tensor")
    _check_and_load(G, sd, path, where="the stored config")
    stored = {str(t.dtype).replace("torch.", "") for t in sd.values() if t.is_floating_point()}
    info = dict(path=path, format="dragedit", network=None,
                stored_dtype=obj.get("dtype") or (stored.pop() if len(stored) == 1 else sorted(stored)),
                extra={k: v for k, v in obj.items() if k not in _RESERVED_KEYS})
    info.update(_model_info(G))
    names = info["extra"].get("factor_names")
    info["factor_names"] = (list(names) if isinstance(names, (list, tuple)) and len(names) == G.z_dim
                            and all(isinstance(n, str) for n in names) else None)
    return G, info


def _open(path, allow_unsupported=False, describe_only=False):
    """describe_only: foreign formats skip building real weights (what `inspect_model` needs)."""
    path = os.fspath(path)
    kind = _sniff(path)
    try:
        if kind == "zip":
            # rosinality's train.py stores its argparse 'args'; plain data, allowed (torch >= 2.5)
            safe = getattr(torch.serialization, "safe_globals", None)
            with safe([argparse.Namespace]) if safe else contextlib.nullcontext():
                return _open_ours(path, describe_only=describe_only)
        try:
            return _open_official(path, allow_unsupported=allow_unsupported)
        except _TFPickleFound as found:
            from .tf_pickle import open_tf_pickle
            return open_tf_pickle(path, found.obj, allow_unsupported=allow_unsupported,
                                  describe_only=describe_only)
    except ModelFileError:
        raise
    except Exception as e:  # noqa: BLE001 - odd data in a file must not surface as a traceback
        raise ModelFileError(f"{path}: not a generator this loader understands "
                             f"({type(e).__name__}: {_short(e)})") from e


# --------------------------------------------------------------------------- public API

def load_generator(path, device="cpu") -> Generator:
    """Load a generator (eval mode, frozen) from an official StyleGAN2/3 pickle or a dragedit file.

    `G.source_info` says what was read (format, which network: 'G_ema' or the 'G' fallback).
    """
    G, info = _open(path)
    return _finish(G, info, device)


def inspect_model(path) -> dict:
    """Describe a model file (family, resolution, dims, num_ws, params) for `dragedit info`.

    A StyleGAN3 pickle whose layers cannot be rebuilt is described (supported=False, with
    the reason in 'error') rather than refused.
    """
    G, info = _open(path, allow_unsupported=True, describe_only=True)
    return info


def _check_plain(value, where="extra"):
    """Refuse values that `torch.load(weights_only=True)` could not read back."""
    if value is None or isinstance(value, (bool, int, float, str, bytes, torch.Tensor,
                                            torch.dtype, torch.Size)):
        return
    if isinstance(value, (list, tuple, set)):
        for v in value:
            _check_plain(v, where)
        return
    if isinstance(value, dict):
        for k, v in value.items():
            _check_plain(k, where)
            _check_plain(v, where)
        return
    raise ValueError(f"{where} holds a {type(value).__name__}; only numbers, strings, tensors, "
                     "lists, tuples and dicts can be stored (the file is read with weights_only)")


def save_generator(G: Generator, path, half=False, factor_names=None, **extra):
    """Write G in dragedit's format atomically (temp file + rename); half=True stores fp16.

    factor_names: one name per z coordinate, for a model whose z coordinates mean something
    (the default model's are the renderer's factors); the app offers them as named sliders."""
    if not isinstance(G, torch.nn.Module) or not hasattr(G, "config"):
        raise TypeError("save_generator needs a dragedit Generator (with a .config)")
    if factor_names is not None:
        names = list(factor_names)
        if len(names) != G.z_dim or not all(isinstance(n, str) and n for n in names):
            raise ValueError(f"factor_names must be {G.z_dim} non-empty strings (one per z coordinate), "
                             f"got {len(names)} item(s)")
        extra["factor_names"] = names
    clash = _RESERVED_KEYS & set(extra)
    if clash:
        raise ValueError(f"extra keys {sorted(clash)} are reserved by the file format")
    config = G.config
    _check_plain(config, "config")
    _check_plain(extra, "extra")
    sd = {}
    for k, t in G.state_dict().items():
        t = t.detach().to("cpu")
        t = t.to(torch.float16) if half and t.is_floating_point() else t.clone()
        sd[k] = t.contiguous()
    payload = dict(format=FORMAT, version=FORMAT_VERSION, config=config,
                   dtype="float16" if half else "float32", state_dict=sd, **extra)
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    except OSError as e:
        raise ModelFileError(f"{path}: cannot write the model file: {e.strerror or e}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise ModelFileError(f"{path}: cannot write the model file: {e.strerror or e}") from None
        raise
    return path
