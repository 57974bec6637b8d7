"""TensorFlow-era StyleGAN2 pickles (NVIDIA's original StyleGAN2 / StyleGAN2-ADA TF releases).

Such a file is `pickle.dump((G, D, Gs), f)` of three `dnnlib.tflib.network.Network`
objects. Unpickling one normally `exec`s its `build_module_src` and builds a TF
graph; `safe_pickle` turns each into a `TFNetworkRecord` holding only the state
dict (`version`, `name`, `static_kwargs`, `components`, `variables` as numpy
arrays), so no TensorFlow and no code from the file is needed. We take `Gs`
(the moving-average generator) and convert its variables to our parameter names:

* kernels `[kh, kw, in, out]` -> `[out, in, kh, kw]`; dense `[in, out]` -> `[out, in]`;
* up-conv (`Conv0_up`) and resnet `Skip` kernels are flipped `[::-1, ::-1]` first,
  because TF's `upsample_conv_2d` flips them before its `conv2d_transpose` and
  our transposed conv does not;
* `mod_bias + 1` (TF adds the 1 at run time, we store it in the affine bias);
* `synthesis/noise{i}` `[1, 1, R, R]` -> `noise_const` `[R, R]`;
* `dlatent_avg` -> `mapping.w_avg`.

The config comes from the variable shapes (resolution, channels, mapping depth,
architecture, label size) plus `static_kwargs` for what shapes cannot tell
(mapping lr multiplier, conv_clamp, resample kernel).
"""
from __future__ import annotations

import math
import re

import numpy as np
import torch

from ..errors import ModelFileError
from .safe_pickle import TFNetworkRecord
from .strict import build_converted, model_info

__all__ = ["FORMAT_NAME", "is_tf_pickle", "open_tf_pickle", "tf_config", "tf_state_dict"]

FORMAT_NAME = "nvidia-tf-pickle"
_KNOWN_VERSIONS = (2, 3, 4)
_DEFAULT_KERNEL = (1, 3, 3, 1)


def is_tf_pickle(obj) -> bool:
    """True for a TF Network record, or a tuple holding some (the `(G, D, Gs)` layout)."""
    if isinstance(obj, TFNetworkRecord):
        return True
    return isinstance(obj, (tuple, list)) and any(isinstance(o, TFNetworkRecord) for o in obj)


# --------------------------------------------------------------------------- reading the records

def _pick_generator(obj, path):
    """Gs from `(G, D, Gs)`; a lone Network is taken as it is."""
    if isinstance(obj, TFNetworkRecord):
        return obj, str(obj.state.get("name") or "Gs")
    nets = [o for o in obj if isinstance(o, TFNetworkRecord)]
    if len(obj) == 3 and len(nets) == 3:
        return obj[2], "Gs"
    gens = [o for o in nets if isinstance(o.state.get("components"), dict) and "synthesis" in o.state["components"]]
    if gens:
        return gens[-1], str(gens[-1].state.get("name") or "Gs")
    raise ModelFileError(f"{path}: a TensorFlow network pickle without a generator (expected the "
                         f"(G, D, Gs) tuple of NVIDIA's StyleGAN2 release; found {len(obj)} items)")


def _check_state(rec, path, where):
    st = rec.state
    version = st.get("version")
    if version not in _KNOWN_VERSIONS:
        raise ModelFileError(f"{path}: {where} is a TensorFlow network of unknown pickle version {version!r} "
                             f"(known: {', '.join(map(str, _KNOWN_VERSIONS))})")
    if not isinstance(st.get("variables"), (list, tuple)):
        raise ModelFileError(f"{path}: {where} has no variable list; not a TensorFlow StyleGAN network")
    for key in ("static_kwargs", "components"):
        if not isinstance(st.get(key, {}), dict):
            raise ModelFileError(f"{path}: {where} has a malformed {key!r}")
    return st


def _collect(rec, path):
    """All variables as `{'mapping/Dense0/weight': ndarray, ...}` plus the merged static kwargs."""
    out, kwargs = {}, {}

    seen = set()

    def walk(r, prefix, where):
        if id(r) in seen:  # shared or cyclic components would make this walk exponential or endless
            raise ModelFileError(f"{path}: {where} appears twice in the network tree; not a TensorFlow "
                                 "StyleGAN network")
        seen.add(id(r))
        st = _check_state(r, path, where)
        for item in st["variables"]:
            if not (isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[0], str)):
                raise ModelFileError(f"{path}: {where} has a malformed variable entry")
            name, value = item
            if not isinstance(value, (np.ndarray, np.generic, int, float)):
                raise ModelFileError(f"{path}: variable {prefix}{name} is a {type(value).__name__}, "
                                     "expected a numpy array")
            arr = np.asarray(value)
            if arr.dtype.kind not in "fiub":
                raise ModelFileError(f"{path}: variable {prefix}{name} has dtype {arr.dtype}, expected numbers")
            out[prefix + name] = arr
        for key, value in (st.get("static_kwargs") or {}).items():
            kwargs.setdefault(key, value)  # the outer network's kwargs win
        for cname, comp in (st.get("components") or {}).items():
            if not isinstance(comp, TFNetworkRecord):
                raise ModelFileError(f"{path}: component {prefix}{cname} is a {type(comp).__name__}, "
                                     "expected a TensorFlow network")
            walk(comp, f"{prefix}{cname}/", f"component {prefix}{cname}")

    walk(rec, "", "the generator")
    return out, kwargs


def _var(tfv, name, path, ndim=None):
    if name not in tfv:
        raise ModelFileError(f"{path}: the TensorFlow generator has no variable {name!r}; "
                             "not a StyleGAN2 generator this loader knows")
    arr = tfv[name]
    if ndim is not None and arr.ndim != ndim:
        raise ModelFileError(f"{path}: variable {name!r} has shape {list(arr.shape)}, expected {ndim} dimensions")
    return arr


def _is_stylegan1(tfv) -> bool:
    return "synthesis/4x4/Conv/mod_weight" not in tfv and any("StyleMod" in k for k in tfv)


def _stylegan1_info(tfv, kwargs) -> dict:
    """What `dragedit info` can say about a StyleGAN (v1) TF pickle, which we cannot run."""
    dense = sorted(int(m.group(1)) for k in tfv for m in [re.fullmatch(r"mapping/Dense(\d+)/weight", k)] if m)
    res = [int(m.group(1)) for k in tfv for m in [re.match(r"synthesis/(\d+)x\1/", k)] if m]
    params = sum(int(a.size) for k, a in tfv.items()
                 if not re.search(r"(^|/)(lod|dlatent_avg|noise\d+)$", k))
    avg = tfv.get("dlatent_avg")
    return dict(family="stylegan1", supported=False, resolution=max(res) if res else kwargs.get("resolution"),
                z_dim=int(tfv["mapping/Dense0/weight"].shape[0]) if dense else kwargs.get("latent_size"),
                w_dim=int(avg.shape[-1]) if avg is not None else kwargs.get("dlatent_size"),
                c_dim=int(kwargs.get("label_size") or 0), mapping_layers=len(dense), params=params)


# --------------------------------------------------------------------------- config and weights

def _kernel_spec(value, path):
    if value is None:
        return (1, 1)  # TF's resample_kernel=None means the box filter
    try:
        taps = [float(v) for v in np.asarray(value, dtype=np.float64).reshape(-1)]
    except (TypeError, ValueError):
        raise ModelFileError(f"{path}: resample_kernel {value!r} is not a list of numbers") from None
    if np.asarray(value).ndim != 1 or not taps:
        raise ModelFileError(f"{path}: resample_kernel {value!r} is not a 1-D list of taps")
    as_int = tuple(int(t) for t in taps)
    return as_int if all(t == i for t, i in zip(taps, as_int)) else tuple(taps)


def tf_config(tfv: dict, kwargs: dict, path: str) -> dict:
    """`Generator(...)` arguments from TF variable shapes and static kwargs."""
    syn = {k[len("synthesis/"):]: v for k, v in tfv.items() if k.startswith("synthesis/")}
    scopes = sorted({int(m.group(1)) for k in syn for m in [re.match(r"(\d+)x\1/", k)] if m})
    if not scopes or scopes[0] != 4:
        raise ModelFileError(f"{path}: the TensorFlow generator has no 4x4 synthesis block; "
                             "not a StyleGAN2 generator this loader knows")
    res = scopes[-1]
    log2 = int(round(math.log2(res)))
    if res != 2 ** log2 or scopes != [2 ** i for i in range(2, log2 + 1)]:
        raise ModelFileError(f"{path}: synthesis blocks {scopes} are not the powers of two from 4 up")
    stated = kwargs.get("resolution")
    if stated is not None and stated != res:
        raise ModelFileError(f"{path}: static_kwargs say resolution {stated} but the variables hold {res} px")

    if kwargs.get("nonlinearity", "lrelu") != "lrelu":
        raise ModelFileError(f"{path}: synthesis nonlinearity {kwargs.get('nonlinearity')!r}; only 'lrelu' "
                             "is supported")
    if kwargs.get("normalize_latents", True) is False:
        raise ModelFileError(f"{path}: normalize_latents=False is not supported")
    if "mapping/LabelConcat/weight" in tfv:
        raise ModelFileError(f"{path}: conditional generator with StyleGAN2's 'LabelConcat' label input is not "
                             "supported (only the StyleGAN2-ADA 'LabelEmbed' layout)")

    channels = {4: int(_var(tfv, "synthesis/4x4/Conv/weight", path, 4).shape[3])}
    for r in scopes[1:]:
        channels[r] = int(_var(tfv, f"synthesis/{r}x{r}/Conv1/weight", path, 4).shape[3])
    if any(f"{r}x{r}/Skip/weight" in syn for r in scopes):
        architecture = "resnet"
    elif "4x4/ToRGB/weight" in syn:
        architecture = "skip"
    else:
        architecture = "orig"
    torgb = syn.get(f"{res}x{res}/ToRGB/weight", syn.get("ToRGB_lod0/weight"))
    if torgb is None:
        raise ModelFileError(f"{path}: the TensorFlow generator has no ToRGB layer at {res}x{res}")
    img_channels = int(torgb.shape[-1])

    dense = 0
    while f"mapping/Dense{dense}/weight" in tfv:
        dense += 1
    if dense == 0:
        raise ModelFileError(f"{path}: the TensorFlow generator has no variable 'mapping/Dense0/weight'; "
                             "not a StyleGAN2 generator this loader knows")
    d0 = _var(tfv, "mapping/Dense0/weight", path, 2)
    w_dim = int(_var(tfv, f"mapping/Dense{dense - 1}/weight", path, 2).shape[1])
    c_dim, embed = 0, 0
    if "mapping/LabelEmbed/weight" in tfv:
        lw = _var(tfv, "mapping/LabelEmbed/weight", path, 2)
        c_dim, embed = int(lw.shape[0]), int(lw.shape[1])
    z_dim = int(d0.shape[0]) - embed
    if kwargs.get("latent_size") is not None and kwargs["latent_size"] != z_dim:
        raise ModelFileError(f"{path}: static_kwargs say latent_size {kwargs['latent_size']} but the "
                             f"mapping network takes {z_dim}")
    activation = kwargs.get("mapping_nonlinearity", "lrelu")
    if activation not in ("lrelu", "relu", "linear"):
        raise ModelFileError(f"{path}: mapping nonlinearity {activation!r} is not supported")
    beta = kwargs.get("dlatent_avg_beta", 0.995)
    mapping_kwargs = dict(num_layers=dense, activation=activation,
                          lr_multiplier=float(kwargs.get("mapping_lrmul", 0.01)),
                          w_avg_beta=None if beta is None else float(beta))
    if dense > 1:
        mapping_kwargs["layer_features"] = int(d0.shape[1])
    if c_dim:
        mapping_kwargs["embed_features"] = embed

    clamp = kwargs.get("conv_clamp")
    if clamp is not None and (isinstance(clamp, bool) or not isinstance(clamp, (int, float, np.number))):
        raise ModelFileError(f"{path}: conv_clamp is {clamp!r}, expected a number or None")
    synthesis_kwargs = dict(channels=channels, architecture=architecture,
                            conv_clamp=None if clamp is None else float(clamp),
                            use_noise="4x4/Conv/noise_strength" in syn,
                            resample_filter=_kernel_spec(kwargs.get("resample_kernel", list(_DEFAULT_KERNEL)), path),
                            num_fp16_res=int(kwargs.get("num_fp16_res") or 0))
    return dict(z_dim=z_dim, c_dim=c_dim, w_dim=w_dim, img_resolution=res, img_channels=img_channels,
                mapping_kwargs=mapping_kwargs, synthesis_kwargs=synthesis_kwargs)


def _t(a) -> torch.Tensor:
    """A float32 copy (0-d arrays stay 0-d); float64 values beyond float32 become inf, which
    `strict.check_finite` then refuses with the tensor's name."""
    with np.errstate(over="ignore"):
        return torch.from_numpy(np.array(a, dtype=np.float32, order="C"))


def tf_state_dict(tfv: dict, config: dict, path: str) -> dict:
    """Our state dict from TF variables (no resample_filter buffers: they are not in the file).

    Raises on variables that are left over, so an unknown variant is refused rather than half-loaded.
    """
    used = set()

    def get(name, ndim=None):
        used.add(name)
        return _var(tfv, name, path, ndim)

    syn = config["synthesis_kwargs"]
    use_noise = syn["use_noise"]
    res = config["img_resolution"]
    sd = {"mapping.w_avg": _t(get("dlatent_avg").reshape(-1))}
    for i in range(config["mapping_kwargs"]["num_layers"]):
        sd[f"mapping.fc{i}.weight"] = _t(get(f"mapping/Dense{i}/weight", 2).T)
        sd[f"mapping.fc{i}.bias"] = _t(get(f"mapping/Dense{i}/bias"))
    if config["c_dim"]:
        sd["mapping.embed.weight"] = _t(get("mapping/LabelEmbed/weight", 2).T)
        sd["mapping.embed.bias"] = _t(get("mapping/LabelEmbed/bias"))

    def modulated(prefix, scope, up=False, noise_idx=None):
        w = get(f"{scope}/weight", 4)
        if up:
            w = w[::-1, ::-1]  # TF flips up-conv kernels inside upsample_conv_2d; our transposed conv does not
        sd[f"{prefix}.weight"] = _t(w.transpose(3, 2, 0, 1))
        sd[f"{prefix}.bias"] = _t(get(f"{scope}/bias"))
        sd[f"{prefix}.affine.weight"] = _t(get(f"{scope}/mod_weight", 2).T)
        sd[f"{prefix}.affine.bias"] = _t(get(f"{scope}/mod_bias") + 1)  # TF adds the 1 at run time
        if noise_idx is not None and use_noise:
            sd[f"{prefix}.noise_strength"] = _t(get(f"{scope}/noise_strength").reshape(()))
            noise = get(f"synthesis/noise{noise_idx}", 4)
            sd[f"{prefix}.noise_const"] = _t(noise[0, 0])

    const = get("synthesis/4x4/Const/const", 4)
    sd["synthesis.b4.const"] = _t(const[0])
    modulated("synthesis.b4.conv1", "synthesis/4x4/Conv", noise_idx=0)
    log2 = int(round(math.log2(res)))
    for i in range(3, log2 + 1):
        r = 2 ** i
        modulated(f"synthesis.b{r}.conv0", f"synthesis/{r}x{r}/Conv0_up", up=True, noise_idx=2 * i - 5)
        modulated(f"synthesis.b{r}.conv1", f"synthesis/{r}x{r}/Conv1", noise_idx=2 * i - 4)
        if syn["architecture"] == "resnet":
            sd[f"synthesis.b{r}.skip.weight"] = _t(get(f"synthesis/{r}x{r}/Skip/weight", 4)[::-1, ::-1]
                                                    .transpose(3, 2, 0, 1))
    for i in range(2, log2 + 1):
        r = 2 ** i
        if syn["architecture"] == "skip" or r == res:
            scope = f"synthesis/{r}x{r}/ToRGB"
            if f"{scope}/weight" not in tfv and r == res and "synthesis/ToRGB_lod0/weight" in tfv:
                scope = "synthesis/ToRGB_lod0"  # StyleGAN2 configs B-D name it by level of detail
            modulated(f"synthesis.b{r}.torgb", scope)

    ignorable = re.compile(r"(.*/)?lod|synthesis/ToRGB_lod[1-9]\d*/.*")  # progressive-growing leftovers
    left = sorted(k for k in tfv if k not in used and not ignorable.fullmatch(k))
    if left:
        raise ModelFileError(f"{path}: the TensorFlow generator has variables this loader does not know: "
                             + ", ".join(left[:6]) + (" ..." if len(left) > 6 else ""))
    return sd


# --------------------------------------------------------------------------- entry point

def open_tf_pickle(path: str, obj, allow_unsupported=False, describe_only=False):
    """(G, info) for a TF-era pickle already read by the safe unpickler.

    StyleGAN (v1) pickles share the container; they are described (supported=False) for
    `dragedit info` and refused for loading.
    """
    rec, network = _pick_generator(obj, path)
    tfv, kwargs = _collect(rec, path)
    info = dict(path=path, format=FORMAT_NAME, network=network,
                tf_build_func=str(rec.state.get("build_func_name")))
    if not any(k.startswith("synthesis/") for k in tfv):
        raise ModelFileError(f"{path}: the TensorFlow network {network!r} is not a generator "
                             "(it has no synthesis network)")
    if _is_stylegan1(tfv):
        if allow_unsupported:
            info.update(_stylegan1_info(tfv, kwargs))
            return None, info
        raise ModelFileError(f"{path}: StyleGAN (v1) TensorFlow pickles are not supported (AdaIN layers, "
                             "no weight demodulation); use a StyleGAN2 pickle")
    config = tf_config(tfv, kwargs, path)
    sd = tf_state_dict(tfv, config, path)
    G = build_converted(config, sd, path, "the TensorFlow network's variables", describe_only=describe_only)
    info.update(model_info(G))
    return (None if describe_only else G), info
