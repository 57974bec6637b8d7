"""NVIDIA's PyTorch network pickles (stylegan2-ada-pytorch and the StyleGAN3 release), as records.

`safe_pickle` turns each persistent network into a `PersistentRecord` (class name + module
state, the stored source kept as text and never run). Here the generator record is picked
(`G_ema`, else `G`), its config is rebuilt from the stored attributes and tensor shapes (never
from `_init_kwargs`), and its state is walked into our parameter names, which follow
`training/networks.py` one-to-one. `stylegan3-t/r-*.pkl` become `nets.stylegan3.Generator`,
everything else the StyleGAN2 one.
"""
from __future__ import annotations

import math
import re
import warnings

import numpy as np
import torch

from ..errors import ModelFileError
from ..nets import stylegan3
from ..nets.stylegan2 import Generator
from .safe_pickle import PersistentRecord, PlainModuleRecord
from .strict import check_and_load, model_info

__all__ = ["FORMAT_NAME", "is_network_record", "open_official"]

FORMAT_NAME = "nvidia-pickle"


def is_network_record(obj) -> bool:
    """A bare persistent network, or NVIDIA's dict holding one as 'G_ema' or 'G'."""
    if isinstance(obj, PersistentRecord):
        return True
    return isinstance(obj, dict) and any(isinstance(obj.get(k), PersistentRecord) for k in ("G_ema", "G"))


def _pick_generator(obj, path):
    """The generator record and which one it is: G_ema, else G (with a warning)."""
    if isinstance(obj, PersistentRecord):
        return obj, "(whole file)"
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


def _collect_state(rec, prefix, out, path, seen=None):
    """Walk the record tree into a flat state dict (`synthesis.b8.conv0.weight`, ...).

    A module met twice (shared or cyclic, which NVIDIA's networks never are) is refused: a
    crafted file could otherwise make this walk exponential or endless."""
    seen = set() if seen is None else seen
    if id(rec) in seen:
        raise ModelFileError(f"{path}: network module {prefix.rstrip('.') or '(root)'} appears twice in the "
                             "tree (shared or cyclic); not a network this loader knows")
    seen.add(id(rec))
    st = getattr(rec, "state", None)
    if not isinstance(st, dict):
        return out
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
        _collect_state(child, f"{prefix}{name}.", out, path, seen)
    return out


def _count_record_params(rec, seen=None) -> int:
    """Parameters in the record tree, each module counted once (shared ones are not followed)."""
    seen = set() if seen is None else seen
    if id(rec) in seen:
        return 0
    seen.add(id(rec))
    total = 0
    for t in ((getattr(rec, "state", {}) or {}).get("_parameters") or {}).values():
        if isinstance(t, torch.Tensor):
            total += t.numel()
    return total + sum(_count_record_params(c, seen) for c in _modules(rec).values()
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
    if spec["tmp_sampling_rate"] % spec["in_sampling_rate"] or spec["tmp_sampling_rate"] % spec["out_sampling_rate"]:
        raise _SG3Error(f"{name}: sampling rates {spec['in_sampling_rate']}/{spec['tmp_sampling_rate']}/"
                        f"{spec['out_sampling_rate']} are not integer multiples")
    expected = stylegan3.layer_padding(spec)
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
    try:
        config = _stylegan3_config(rec, path)
    except ModelFileError as e:
        if not allow_unsupported:
            raise
        info.update(_stylegan3_info(rec, path), error=str(e))
        return None, info
    return _build_from_record(stylegan3.Generator, config, rec, path, info, "a StyleGAN3 generator")


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
    check_and_load(G, sd, path, where="the network's own settings")
    info.update(model_info(G))
    return G, info


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


def open_official(path: str, obj, allow_unsupported=False):
    """(G, info) for an NVIDIA pickle already read by the safe unpickler.

    allow_unsupported (`inspect_model`): a StyleGAN3 record that cannot be rebuilt is described."""
    rec, network = _pick_generator(obj, path)
    info = dict(path=path, format=FORMAT_NAME, network=network)
    if _is_stylegan3(rec):
        return _open_stylegan3(rec, path, info, allow_unsupported=allow_unsupported)
    return _build_from_record(Generator, _official_config(rec, path), rec, path, info, "a generator")
