"""rosinality/stylegan2-pytorch checkpoints (`.pt`), converted to our parameter names on load.

train.py writes `{'g', 'd', 'g_ema', 'g_optim', 'd_optim', 'args': argparse.Namespace, ...}`,
convert_weight.py writes `{'g_ema': state_dict, 'latent_avg': tensor}`; people also share a
bare `g_ema` state dict. The file is read by `checkpoint` with `torch.load(weights_only=True)`
(argparse.Namespace allowed as plain data); nothing here runs code from it.

The math is the same StyleGAN2 as NVIDIA's, with other names and a few layout differences:
EqualLinear keeps weight/bias raw and scales them at run time exactly like our
FullyConnectedLayer (weight * lr_mul / sqrt(in), bias * lr_mul), so they copy as they are;
conv weights are `[1, out, in, k, k]`; the up-conv is `conv_transpose2d` on the unflipped,
transposed weight followed by a [1,3,3,1] blur, which is what our transposed conv does too,
so no flip; noise strength is `[1]`, ToRGB bias `[1, 3, 1, 1]`. rosinality has no
`w_avg`: convert_weight.py files store `latent_avg`, otherwise we compute the mean of the
mapping over 10,000 fixed-seed z and say so in `source_info`.
"""
from __future__ import annotations

import math
import re
import warnings

import torch

from ..errors import ModelFileError
from .strict import build_converted, check_finite, model_info

__all__ = ["FORMAT_NAME", "is_rosinality", "rosinality_config", "rosinality_state_dict", "open_rosinality",
           "W_AVG_SAMPLES", "W_AVG_SEED"]

FORMAT_NAME = "rosinality"
LR_MLP = 0.01  # rosinality's Generator default; not stored in the file
W_AVG_SAMPLES = 10_000
W_AVG_SEED = 0
_MARKERS = ("style.1.weight", "input.input", "conv1.conv.weight")


def _is_state_dict(d) -> bool:
    return isinstance(d, dict) and all(k in d for k in _MARKERS)


def is_rosinality(obj) -> bool:
    """A train.py / convert_weight.py checkpoint, or a bare rosinality generator state dict."""
    if not isinstance(obj, dict):
        return False
    return _is_state_dict(obj) or _is_state_dict(obj.get("g_ema")) or _is_state_dict(obj.get("g"))


def _pick(obj, path):
    if _is_state_dict(obj.get("g_ema")):
        return obj["g_ema"], "g_ema"
    if _is_state_dict(obj.get("g")):
        warnings.warn(f"{path}: no g_ema in the checkpoint; using g (the non-averaged generator)",
                      UserWarning, stacklevel=6)
        return obj["g"], "g"
    return obj, "(state dict)"


def _tensor(sd, key, path, ndim=None):
    t = sd.get(key)
    if not isinstance(t, torch.Tensor):
        raise ModelFileError(f"{path}: the rosinality generator has no tensor {key!r}; "
                             "not a StyleGAN2 generator this loader knows")
    if ndim is not None and t.ndim != ndim:
        raise ModelFileError(f"{path}: {key} has shape {list(t.shape)}, expected {ndim} dimensions")
    return t


def _count(sd, pattern):
    n = 0
    while pattern.format(n) in sd:
        n += 1
    return n


def _blur_taps(sd, path):
    """The 1-D taps behind rosinality's blur kernel buffer (make_kernel(k) * 4), default [1,3,3,1]."""
    k = sd.get("convs.0.conv.blur.kernel")
    if not isinstance(k, torch.Tensor) or k.ndim != 2:
        return (1, 3, 3, 1)
    k = k.detach().to(torch.float64)
    row = k.sum(dim=0)
    if row.sum().abs() < 1e-12 or not torch.allclose(torch.outer(k.sum(dim=1), row) / k.sum(), k, atol=1e-7):
        raise ModelFileError(f"{path}: blur kernel {list(k.shape)} is not separable; not supported")
    taps = row / row.sum()
    default = torch.tensor([1.0, 3.0, 3.0, 1.0], dtype=torch.float64) / 8
    if taps.shape == default.shape and torch.allclose(taps, default, atol=1e-7):
        return (1, 3, 3, 1)
    return tuple(float(t) for t in taps)


def rosinality_config(sd: dict, path: str) -> dict:
    """`Generator(...)` arguments from tensor names and shapes (size, style_dim, n_mlp, channels)."""
    n_mlp = 0
    while f"style.{n_mlp + 1}.weight" in sd:
        n_mlp += 1
    style_dim = int(_tensor(sd, "style.1.weight", path, 2).shape[1])
    n_convs = _count(sd, "convs.{}.conv.weight")
    n_rgbs = _count(sd, "to_rgbs.{}.conv.weight")
    if n_convs % 2 or n_convs // 2 != n_rgbs:
        raise ModelFileError(f"{path}: {n_convs} convs and {n_rgbs} to_rgbs do not make whole blocks "
                             "(expected two convs per to_rgb)")
    log_size = 2 + n_rgbs
    size = 2 ** log_size
    rgb = _tensor(sd, "to_rgb1.conv.weight", path, 5)
    if rgb.shape[1] != 3:
        raise ModelFileError(f"{path}: to_rgb1 makes {rgb.shape[1]} channels; SWAGAN (wavelet) and other "
                             "non-RGB rosinality generators are not supported")
    channels = {4: int(_tensor(sd, "conv1.conv.weight", path, 5).shape[1])}
    for k in range(n_rgbs):
        channels[2 ** (k + 3)] = int(_tensor(sd, f"convs.{2 * k}.conv.weight", path, 5).shape[1])
    mapping_kwargs = dict(num_layers=n_mlp, activation="lrelu", lr_multiplier=LR_MLP, w_avg_beta=0.995)
    synthesis_kwargs = dict(channels=channels, architecture="skip", conv_clamp=None,
                            use_noise="conv1.noise.weight" in sd, resample_filter=_blur_taps(sd, path),
                            num_fp16_res=0)
    return dict(z_dim=style_dim, c_dim=0, w_dim=style_dim, img_resolution=size, img_channels=3,
                mapping_kwargs=mapping_kwargs, synthesis_kwargs=synthesis_kwargs)


def rosinality_state_dict(sd: dict, config: dict, path: str, latent_avg=None):
    """Our state dict (w_avg from latent_avg, or zeros to be computed) and notes for source_info."""
    used, notes = set(), {}

    def get(key, ndim=None):
        used.add(key)
        return _tensor(sd, key, path, ndim).detach()

    out = {}
    for i in range(config["mapping_kwargs"]["num_layers"]):
        out[f"mapping.fc{i}.weight"] = get(f"style.{i + 1}.weight", 2)
        out[f"mapping.fc{i}.bias"] = get(f"style.{i + 1}.bias", 1)
    use_noise = config["synthesis_kwargs"]["use_noise"]
    res = config["img_resolution"]
    log2 = int(round(math.log2(res)))
    num_noise = (log2 - 2) * 2 + 1
    have_noise = use_noise and all(f"noises.noise_{i}" in sd for i in range(num_noise))
    gen = torch.Generator().manual_seed(W_AVG_SEED)
    if use_noise and not have_noise:
        notes["noise_const"] = f"not stored; drawn with seed {W_AVG_SEED}"

    def styled(prefix, src, noise_idx):
        out[f"{prefix}.weight"] = get(f"{src}.conv.weight", 5)[0]  # no flip: same transposed conv as ours
        out[f"{prefix}.affine.weight"] = get(f"{src}.conv.modulation.weight", 2)
        out[f"{prefix}.affine.bias"] = get(f"{src}.conv.modulation.bias", 1)
        # early rosinality versions kept the bias on StyledConv ([1, C, 1, 1]) before a ScaledLeakyReLU
        bias_key = f"{src}.activate.bias" if f"{src}.activate.bias" in sd or f"{src}.bias" not in sd \
            else f"{src}.bias"
        out[f"{prefix}.bias"] = get(bias_key).reshape(-1)
        if use_noise:
            strength = get(f"{src}.noise.weight")
            if strength.numel() != 1:
                raise ModelFileError(f"{path}: {src}.noise.weight has shape {list(strength.shape)}, expected "
                                     "one noise strength per layer")
            out[f"{prefix}.noise_strength"] = strength.reshape(())
            r = 2 ** ((noise_idx + 5) // 2)
            out[f"{prefix}.noise_const"] = (get(f"noises.noise_{noise_idx}", 4)[0, 0] if have_noise
                                            else torch.randn([r, r], generator=gen))

    def to_rgb(prefix, src):
        out[f"{prefix}.weight"] = get(f"{src}.conv.weight", 5)[0]
        out[f"{prefix}.affine.weight"] = get(f"{src}.conv.modulation.weight", 2)
        out[f"{prefix}.affine.bias"] = get(f"{src}.conv.modulation.bias", 1)
        out[f"{prefix}.bias"] = get(f"{src}.bias").reshape(-1)

    out["synthesis.b4.const"] = get("input.input", 4)[0]
    styled("synthesis.b4.conv1", "conv1", 0)
    to_rgb("synthesis.b4.torgb", "to_rgb1")
    for k in range(log2 - 2):
        r = 2 ** (k + 3)
        styled(f"synthesis.b{r}.conv0", f"convs.{2 * k}", 2 * k + 1)
        styled(f"synthesis.b{r}.conv1", f"convs.{2 * k + 1}", 2 * k + 2)
        to_rgb(f"synthesis.b{r}.torgb", f"to_rgbs.{k}")
    if latent_avg is not None:
        if not isinstance(latent_avg, torch.Tensor) or latent_avg.numel() != config["w_dim"]:
            raise ModelFileError(f"{path}: latent_avg is not a tensor of {config['w_dim']} values")
        out["mapping.w_avg"] = latent_avg.detach().reshape(-1)
        notes["w_avg"] = "stored (latent_avg)"
    else:
        out["mapping.w_avg"] = torch.zeros(config["w_dim"])
        notes["w_avg"] = (f"not stored; computed as the mean of the mapping over {W_AVG_SAMPLES} z "
                          f"(seed {W_AVG_SEED})")
    ignorable = re.compile(r".*\.(blur|upsample)\.kernel|noises\.noise_\d+")
    left = sorted(k for k in sd if k not in used and not ignorable.fullmatch(str(k)))
    if left:
        raise ModelFileError(f"{path}: the rosinality generator has tensors this loader does not know: "
                             + ", ".join(map(str, left[:6])) + (" ..." if len(left) > 6 else ""))
    return out, notes


@torch.no_grad()
def mean_w(G, n=W_AVG_SAMPLES, seed=W_AVG_SEED, batch=1000) -> torch.Tensor:
    """Mean of the mapping output over n fixed-seed z (what rosinality's mean_latent estimates)."""
    gen = torch.Generator().manual_seed(seed)
    total = torch.zeros(G.w_dim, dtype=torch.float64)
    for start in range(0, n, batch):
        w = G.mapping(torch.randn([min(batch, n - start), G.z_dim], generator=gen))[:, 0]
        total += w.to(torch.float64).sum(dim=0)
    return (total / n).to(torch.float32)


def open_rosinality(path: str, obj: dict, describe_only=False):
    """(G, info) for a rosinality checkpoint read by `torch.load(weights_only=True)`."""
    sd, network = _pick(obj, path)
    for k, t in sd.items():
        if not isinstance(t, torch.Tensor):
            raise ModelFileError(f"{path}: {network} entry {k!r} is a {type(t).__name__}, expected a tensor")
    config = rosinality_config(sd, path)
    latent_avg = obj.get("latent_avg") if sd is not obj else None
    ours, notes = rosinality_state_dict(sd, config, path, latent_avg=latent_avg)
    G = build_converted(config, ours, path, "the rosinality generator's tensors", describe_only=describe_only)
    if latent_avg is None and not describe_only:
        G.mapping.w_avg.copy_(mean_w(G))
        check_finite({"mapping.w_avg": G.mapping.w_avg}, path, what="computed tensor")  # finite weights can overflow
    info = dict(path=path, format=FORMAT_NAME, network=network, **notes)
    info.update(model_info(G))
    return (None if describe_only else G), info
