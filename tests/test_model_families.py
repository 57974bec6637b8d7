"""Other projects' model files: TensorFlow-era NVIDIA pickles and rosinality checkpoints.

Each format is checked against an independent re-implementation of that project's own forward
pass, written here from its layout (NumPy for TF's networks_stylegan2.py, torch for
rosinality's model.py), on random weights in the real layout; and round-trips from our own
generators. Loading never runs code from the file.
"""
import json
import math
import os
import sys
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dragedit.cli import main
from dragedit.errors import ModelFileError
from dragedit.io import rosinality as ros_mod
from dragedit.io.checkpoint import inspect_model, load_generator, save_generator

sys.path.insert(0, os.path.dirname(__file__))
import foreign_models as fm
import official_pickles as op

SQRT2 = math.sqrt(2.0)
PSI = 0.7


def _z(z_dim, n=2, seed=0):
    return np.random.RandomState(seed).randn(n, z_dim)


def _c(c_dim, n=2):
    c = np.zeros((n, c_dim))
    if c_dim:
        c[np.arange(n), np.arange(n) % c_dim] = 1
    return c


def _ours(G, z, c=None):
    with torch.no_grad():
        ct = torch.from_numpy(c).float() if c is not None and G.c_dim else None
        return G(torch.from_numpy(z).float(), ct, truncation_psi=PSI, noise_mode="const").double().numpy()


def _no_foreign_modules():
    return not any(m == name or m.startswith(name + ".") for m in sys.modules
                   for name in ("dnnlib", "torch_utils", "tensorflow", "training"))


# =========================================================================== TF reference (NumPy)
# Written from networks_stylegan2.py / the ADA TF networks.py and dnnlib/tflib/ops/upfirdn_2d.py's
# reference paths: kernels [kh, kw, in, out], up-conv = flip + conv2d_transpose + FIR blur.

def _setup_kernel(k):
    k = np.asarray(k, dtype=np.float64)
    k = np.outer(k, k) if k.ndim == 1 else k
    return k / k.sum()


def _upfirdn(x, k, up=1, pad0=0, pad1=0):
    """_upfirdn_2d_ref on [C, H, W]: insert zeros, pad, conv2d VALID with k[::-1, ::-1]."""
    c, h, w = x.shape
    if up > 1:
        y = np.zeros((c, h * up, w * up))
        y[:, ::up, ::up] = x
        x = y
    x = np.pad(x, ((0, 0), (pad0, pad1), (pad0, pad1)))
    kf = k[::-1, ::-1]
    kh, kw = k.shape
    oh, ow = x.shape[1] - kh + 1, x.shape[2] - kw + 1
    out = np.zeros((c, oh, ow))
    for a in range(kh):
        for b in range(kw):
            out += x[:, a:a + oh, b:b + ow] * kf[a, b]
    return out


def _conv2d_same(x, w):
    """tf.nn.conv2d(padding='SAME'), a cross-correlation, with w [k, k, in, out]."""
    k = w.shape[0]
    p = k // 2
    _, h, wd = x.shape
    xp = np.pad(x, ((0, 0), (p, p), (p, p)))
    out = np.zeros((w.shape[3], h, wd))
    for a in range(k):
        for b in range(k):
            out += np.einsum("ihw,io->ohw", xp[:, a:a + h, b:b + wd], w[a, b])
    return out


def _conv2d_transpose(x, wt, s=2):
    """tf.nn.conv2d_transpose(VALID, stride s) with filter [kh, kw, out, in]: scatter each input pixel."""
    kh, kw = wt.shape[:2]
    _, h, w = x.shape
    out = np.zeros((wt.shape[2], (h - 1) * s + kh, (w - 1) * s + kw))
    for a in range(kh):
        for b in range(kw):
            out[:, a:a + (h - 1) * s + 1:s, b:b + (w - 1) * s + 1:s] += np.einsum("ihw,oi->ohw", x, wt[a, b])
    return out


def _upsample_conv_2d(x, w, k):
    kk = _setup_kernel(k) * 4
    conv_w = w.shape[1]
    p = (kk.shape[0] - 2) - (conv_w - 1)
    wt = w[::-1, ::-1].transpose(0, 1, 3, 2)  # dnnlib flips, then [kh, kw, out, in]
    return _upfirdn(_conv2d_transpose(x, wt), kk, pad0=(p + 1) // 2 + 1, pad1=p // 2 + 1)


def _upsample_2d(x, k):
    kk = _setup_kernel(k) * 4
    p = kk.shape[0] - 2
    return _upfirdn(x, kk, up=2, pad0=(p + 1) // 2 + 1, pad1=p // 2)


def _bias_act(x, b, act, clamp):
    x = x + b.reshape(-1, 1, 1)
    if act == "lrelu":
        x = np.where(x < 0, 0.2 * x, x) * SQRT2
    if clamp is not None:
        x = np.clip(x, -clamp, clamp)
    return x


def tf_reference(v, kw, z, c=None, psi=PSI):
    """Gs.run(z, c, truncation_psi=psi, randomize_noise=False) in float64, from the TF variables."""
    v = {k: np.asarray(a, dtype=np.float64) for k, a in v.items()}
    lrmul = kw.get("mapping_lrmul", 0.01)
    kernel = kw.get("resample_kernel", [1, 3, 3, 1])
    clamp = kw.get("conv_clamp")
    res = kw["resolution"]
    log2 = int(math.log2(res))
    arch = kw.get("architecture", "skip")

    def norm(x):
        return x / np.sqrt(np.mean(x ** 2, axis=1, keepdims=True) + 1e-8)

    x = norm(z)
    if "mapping/LabelEmbed/weight" in v:
        lw = v["mapping/LabelEmbed/weight"]
        y = c @ (lw / np.sqrt(lw.shape[0])) + v["mapping/LabelEmbed/bias"]
        x = np.concatenate([x, norm(y)], axis=1)
    i = 0
    while f"mapping/Dense{i}/weight" in v:
        w = v[f"mapping/Dense{i}/weight"]
        x = x @ (w * lrmul / np.sqrt(w.shape[0])) + v[f"mapping/Dense{i}/bias"] * lrmul
        x = np.where(x < 0, 0.2 * x, x) * SQRT2
        i += 1
    avg = v["dlatent_avg"]
    w_all = avg + (x - avg) * psi  # tflib.lerp(dlatent_avg, dlatents, psi), all layers
    w_dim = w_all.shape[1]

    def modconv(x, wv, scope, demod=True, up=False):
        w = v[f"synthesis/{scope}/weight"]
        w = w / np.sqrt(np.prod(w.shape[:-1]))
        s = wv @ (v[f"synthesis/{scope}/mod_weight"] / np.sqrt(w_dim)) + v[f"synthesis/{scope}/mod_bias"] + 1
        ww = w * s[None, None, :, None]
        if demod:
            ww = ww / np.sqrt(np.sum(ww ** 2, axis=(0, 1, 2)) + 1e-8)
        return _upsample_conv_2d(x, ww, kernel) if up else _conv2d_same(x, ww)

    def layer(x, wv, idx, scope, up=False):
        x = modconv(x, wv, scope, up=up)
        if f"synthesis/noise{idx}" in v:
            x = x + v[f"synthesis/noise{idx}"][0] * v[f"synthesis/{scope}/noise_strength"]
        return _bias_act(x, v[f"synthesis/{scope}/bias"], "lrelu", clamp)

    def torgb(x, wv, scope):
        return _bias_act(modconv(x, wv, scope, demod=False), v[f"synthesis/{scope}/bias"], "linear", clamp)

    images = []
    for n in range(z.shape[0]):
        wn = w_all[n]
        x = v["synthesis/4x4/Const/const"][0]
        x = layer(x, wn, 0, "4x4/Conv")
        y = torgb(x, wn, "4x4/ToRGB") if arch == "skip" else None
        for r in range(3, log2 + 1):
            R = 2 ** r
            t = x
            x = layer(x, wn, r * 2 - 5, f"{R}x{R}/Conv0_up", up=True)
            x = layer(x, wn, r * 2 - 4, f"{R}x{R}/Conv1")
            if arch == "resnet":
                sw = v[f"synthesis/{R}x{R}/Skip/weight"]
                t = _upsample_conv_2d(t, sw / np.sqrt(np.prod(sw.shape[:-1])), kernel)
                x = (x + t) / SQRT2
            if arch == "skip":
                y = _upsample_2d(y, kernel)
            if arch == "skip" or r == log2:
                scope = f"{R}x{R}/ToRGB" if f"synthesis/{R}x{R}/ToRGB/weight" in v else "ToRGB_lod0"
                t = torgb(x, wn, scope)
                y = t if y is None else y + t
        images.append(y)
    return np.stack(images)


TF_VARIANTS = {
    "skip": dict(gen=dict(), kw=dict()),
    "resnet": dict(gen=dict(architecture="resnet"), kw=dict(architecture="resnet")),
    "orig": dict(gen=dict(architecture="orig"), kw=dict(architecture="orig")),
    "revised-lod-torgb": dict(gen=dict(architecture="orig", lod_torgb=True), kw=dict(architecture="orig")),
    "ada-conditional-clamp-nonoise": dict(gen=dict(c_dim=3, label_fmaps=16, use_noise=False, mapping_layers=3),
                                          kw=dict(c_dim=3, mapping_layers=3, conv_clamp=0.6, use_noise=False,
                                                  num_fp16_res=2, mapping_lrmul=0.01)),
    "32px-proto2-lrmul": dict(gen=dict(resolution=32, channels={4: 16, 8: 16, 16: 8, 32: 8}),
                              kw=dict(resolution=32, mapping_lrmul=0.02), protocol=2),
}


def _tf_case(name):
    spec = TF_VARIANTS[name]
    gen = dict(spec["gen"])
    res = gen.get("resolution", 16)
    v = fm.random_tf_variables(**gen)
    kw_extra = dict(spec["kw"])
    kwargs = fm.tf_static_kwargs(kw_extra.pop("resolution", res), **kw_extra)
    return v, kwargs, spec.get("protocol", 4)


@pytest.mark.parametrize("name", list(TF_VARIANTS))
def test_tf_pickle_matches_tf_reference(tmp_path, name):
    v, kwargs, protocol = _tf_case(name)
    marker = tmp_path / "EXECUTED"
    path = fm.write_tf_pickle(tmp_path / f"{name}.pkl", v, kwargs, protocol=protocol, src=fm.marker_src(marker))
    assert str(marker) in path.read_bytes().decode("latin1")  # the payload is in the file
    G = load_generator(path)
    assert not marker.exists() and _no_foreign_modules()
    c_dim = kwargs["label_size"]
    z, c = _z(G.z_dim), _c(c_dim)
    ref = tf_reference(v, kwargs, z, c)
    ours = _ours(G, z, c)
    assert ours.shape == ref.shape == (2, 3, kwargs["resolution"], kwargs["resolution"])
    assert np.abs(ref).max() > 0.1  # a real signal, not all zeros
    assert np.abs(ours - ref).max() < 1e-4, np.abs(ours - ref).max()
    info = G.source_info
    assert (info["format"], info["network"], info["family"]) == ("nvidia-tf-pickle", "Gs", "stylegan2")
    assert (G.c_dim, G.mapping.num_layers) == (c_dim, kwargs["mapping_layers"])
    if kwargs.get("conv_clamp") is not None:  # the clamp must actually bite in this test
        unclamped = dict(kwargs, conv_clamp=None)
        assert np.abs(tf_reference(v, unclamped, z, c) - ref).max() > 1e-3


def test_tf_upconv_flip_is_needed(tmp_path):
    """Loading the up-conv kernels unflipped gives a visibly different image: the flip is checked."""
    v, kwargs, _ = _tf_case("skip")
    ref = tf_reference(v, kwargs, _z(32))
    bad = {k: (a[::-1, ::-1].copy() if "Conv0_up/weight" in k else a) for k, a in v.items()}
    G = load_generator(fm.write_tf_pickle(tmp_path / "flipped.pkl", bad, kwargs))
    assert np.abs(_ours(G, _z(32)) - ref).max() > 1e-2


TF_ROUND_TRIP = {
    "skip": dict(),
    "resnet": dict(architecture="resnet"),
    "orig-nonoise": dict(architecture="orig", use_noise=False),
    "conditional-clamp": dict(c_dim=4, conv_clamp=0.5, mapping_layers=3),
}


@pytest.mark.parametrize("name", list(TF_ROUND_TRIP))
def test_tf_round_trip_from_our_generator(tmp_path, name):
    G = op.make_generator(**TF_ROUND_TRIP[name])
    v, kwargs = fm.tf_variables_from_generator(G)
    G2 = load_generator(fm.write_tf_pickle(tmp_path / "rt.pkl", v, kwargs))
    z, c = _z(G.z_dim), _c(G.c_dim)
    assert np.abs(_ours(G2, z, c) - _ours(G, z, c)).max() < 1e-5
    for part in ("mapping_kwargs", "synthesis_kwargs"):
        for key, value in G.config[part].items():
            assert G2.config[part][key] == value, (part, key)
    # and TF's own math agrees with our generator on its own weights
    assert np.abs(tf_reference(v, kwargs, z, _c(G.c_dim)) - _ours(G, z, c)).max() < 1e-4
    # converted once, saved in our format: the same images
    G3 = load_generator(save_generator(G2, tmp_path / "rt.pt"))
    assert np.array_equal(_ours(G3, z, c), _ours(G2, z, c))


def test_tf_single_network_and_inspect(tmp_path):
    v, kwargs, _ = _tf_case("resnet")
    path = fm.write_tf_pickle(tmp_path / "gs.pkl", v, kwargs, layout="single")
    G = load_generator(path)
    info = inspect_model(path)
    for key in ("format", "family", "supported", "resolution", "z_dim", "w_dim", "c_dim", "num_ws",
                "mapping_layers", "architecture", "channels", "params"):
        assert info[key] == G.source_info[key], key
    assert info["params"] == sum(p.numel() for p in G.parameters())
    assert (info["architecture"], info["resolution"], info["num_ws"]) == ("resnet", 16, 6)
    json.dumps(info)


def test_tf_stylegan1_is_described_not_loaded(tmp_path):
    rs = np.random.RandomState(0)
    v = {"lod": np.float32(0), "dlatent_avg": rs.randn(32).astype(np.float32),
         "mapping/Dense0/weight": rs.randn(32, 32).astype(np.float32), "mapping/Dense0/bias": np.zeros(32, np.float32),
         "synthesis/4x4/Const/const": rs.randn(1, 32, 4, 4).astype(np.float32),
         "synthesis/4x4/Const/StyleMod/weight": rs.randn(32, 64).astype(np.float32),
         "synthesis/noise0": rs.randn(1, 1, 4, 4).astype(np.float32)}
    path = fm.write_tf_pickle(tmp_path / "karras2019stylegan-tiny.pkl", v, fm.tf_static_kwargs(4), version=3)
    info = inspect_model(path)
    assert (info["family"], info["supported"], info["format"]) == ("stylegan1", False, "nvidia-tf-pickle")
    with pytest.raises(ModelFileError, match="StyleGAN \\(v1\\)"):
        load_generator(path)


def _tf_bad(tmp_path, case):
    v, kwargs, _ = _tf_case("skip")
    p = tmp_path / f"tf-{case}.pkl"
    if case == "d-only":
        return fm.write_tf_pickle(p, v, kwargs, layout="d-only"), "is not a generator"
    if case == "missing-variable":
        del v["synthesis/8x8/Conv1/mod_weight"]
        return fm.write_tf_pickle(p, v, kwargs), "no variable 'synthesis/8x8/Conv1/mod_weight'"
    if case == "unknown-variable":
        v["synthesis/8x8/Extra/weight"] = np.zeros(3, np.float32)
        return fm.write_tf_pickle(p, v, kwargs), "does not know: synthesis/8x8/Extra/weight"
    if case == "wrong-shape":
        v["synthesis/8x8/Conv1/bias"] = np.zeros(5, np.float32)
        return fm.write_tf_pickle(p, v, kwargs), "synthesis.b8.conv1.bias is [5] in the file"
    if case == "version":
        return fm.write_tf_pickle(p, v, kwargs, version=9), "unknown pickle version 9"
    if case == "label-concat":
        v["mapping/LabelConcat/weight"] = np.zeros((3, 32), np.float32)
        return fm.write_tf_pickle(p, v, dict(kwargs, label_size=3)), "LabelConcat"
    if case == "evil-global":
        marker = tmp_path / "PWNED"

        def plant(states):
            states["Gs"][0]["static_kwargs"]["evil"] = op._Reduce(os.system, (f"touch {marker}",))
        return fm.write_tf_pickle(p, v, kwargs, mutate=plant), "system"
    if case == "not-a-network":
        def plant(states):
            states["Gs"][0]["components"] = {"synthesis": [1, 2], "mapping": None}
            states["Gs"] = (states["Gs"][0], None, None)
        return fm.write_tf_pickle(p, v, kwargs, mutate=plant), "expected a TensorFlow network"
    raise AssertionError(case)


TF_BAD = ["d-only", "missing-variable", "unknown-variable", "wrong-shape", "version", "label-concat",
          "evil-global", "not-a-network"]


def _assert_clear_error(path, expected):
    """load_generator and inspect_model both refuse the file with a short message naming it."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ModelFileError) as err:
            load_generator(path)
    msg = str(err.value)
    assert path.name in msg and expected in msg, msg
    assert "Traceback" not in msg and len(msg) < 800
    with pytest.raises(ModelFileError):
        inspect_model(path)


@pytest.mark.parametrize("case", TF_BAD)
def test_bad_tf_pickles_give_clear_errors(tmp_path, case):
    _assert_clear_error(*_tf_bad(tmp_path, case))
    assert not (tmp_path / "PWNED").exists()
    assert _no_foreign_modules()


# =========================================================================== rosinality reference (torch)
# Written from rosinality's model.py: EqualLinear (lr_mul), PixelNorm, fused_leaky_relu (bias, sqrt 2),
# ModulatedConv2d (transposed-conv upsample on the transposed weight + Blur), NoiseInjection, ToRGB.

def _ros_upfirdn(x, kernel, up, pad0, pad1):
    """upfirdn2d_native for up >= 1, down 1, non-negative pads: zero-insert, pad, true convolution."""
    n, c, h, w = x.shape
    if up > 1:
        y = x.new_zeros(n, c, h * up, w * up)
        y[:, :, ::up, ::up] = x
        x = y
    x = F.pad(x, [pad0, pad1, pad0, pad1])
    k = torch.flip(kernel, [0, 1]).to(x)[None, None].repeat(c, 1, 1, 1)
    return F.conv2d(x, k, groups=c)


def rosinality_reference(sd, z, truncation=1.0, truncation_latent=None, lr_mul=0.01):
    sd = {k: v.double() for k, v in sd.items()}
    z = torch.as_tensor(z, dtype=torch.float64)
    n_mlp = sum(1 for k in sd if k.startswith("style.") and k.endswith(".weight"))
    style_dim = sd["style.1.weight"].shape[1]
    x = z * torch.rsqrt(torch.mean(z ** 2, dim=1, keepdim=True) + 1e-8)
    for i in range(1, n_mlp + 1):
        x = F.linear(x, sd[f"style.{i}.weight"] * (1 / math.sqrt(style_dim)) * lr_mul)
        x = F.leaky_relu(x + sd[f"style.{i}.bias"] * lr_mul, 0.2) * SQRT2
    if truncation < 1:
        x = truncation_latent + truncation * (x - truncation_latent)
    n_rgb = sum(1 for k in sd if k.startswith("to_rgbs.") and k.endswith(".conv.weight"))
    log_size = n_rgb + 2
    latent = x[:, None].repeat(1, log_size * 2 - 2, 1)
    batch = z.shape[0]

    def modconv(inp, style, prefix, demodulate=True, upsample=False):
        weight5 = sd[f"{prefix}.conv.weight"]
        _, out_c, in_c, k, _ = weight5.shape
        s = F.linear(style, sd[f"{prefix}.conv.modulation.weight"] * (1 / math.sqrt(style_dim)),
                     bias=sd[f"{prefix}.conv.modulation.bias"])
        weight = (1 / math.sqrt(in_c * k * k)) * weight5 * s.view(batch, 1, in_c, 1, 1)
        if demodulate:
            weight = weight * torch.rsqrt(weight.pow(2).sum([2, 3, 4]) + 1e-8).view(batch, out_c, 1, 1, 1)
        h, w = inp.shape[2:]
        if upsample:
            weight = weight.transpose(1, 2).reshape(batch * in_c, out_c, k, k)
            out = F.conv_transpose2d(inp.reshape(1, batch * in_c, h, w), weight, padding=0, stride=2, groups=batch)
            out = out.view(batch, out_c, *out.shape[2:])
            p = (4 - 2) - (k - 1)
            return _ros_upfirdn(out, sd[f"{prefix}.conv.blur.kernel"], 1, (p + 1) // 2 + 1, p // 2 + 1)
        out = F.conv2d(inp.reshape(1, batch * in_c, h, w), weight.reshape(batch * out_c, in_c, k, k),
                       padding=k // 2, groups=batch)
        return out.view(batch, out_c, h, w)

    def styled(inp, style, prefix, noise, upsample=False):
        out = modconv(inp, style, prefix, upsample=upsample)
        out = out + sd[f"{prefix}.noise.weight"] * noise
        return F.leaky_relu(out + sd[f"{prefix}.activate.bias"].view(1, -1, 1, 1), 0.2) * SQRT2

    def to_rgb(inp, style, prefix, skip):
        out = modconv(inp, style, prefix, demodulate=False) + sd[f"{prefix}.bias"]
        if skip is not None:
            out = out + _ros_upfirdn(skip, sd[f"{prefix}.upsample.kernel"], 2, 2, 1)
        return out

    noise = [sd[f"noises.noise_{i}"] for i in range((log_size - 2) * 2 + 1)]
    out = sd["input.input"].repeat(batch, 1, 1, 1)
    out = styled(out, latent[:, 0], "conv1", noise[0])
    skip = to_rgb(out, latent[:, 1], "to_rgb1", None)
    i = 1
    for k in range(n_rgb):
        out = styled(out, latent[:, i], f"convs.{2 * k}", noise[2 * k + 1], upsample=True)
        out = styled(out, latent[:, i + 1], f"convs.{2 * k + 1}", noise[2 * k + 2])
        skip = to_rgb(out, latent[:, i + 2], f"to_rgbs.{k}", skip)
        i += 2
    return skip.numpy()


def _documented_mean_w(sd, n=ros_mod.W_AVG_SAMPLES, seed=ros_mod.W_AVG_SEED):
    """The w_avg source_info promises: mapping mean over n z drawn in batches of 1000 from torch seed."""
    g = torch.Generator().manual_seed(seed)
    zs = torch.cat([torch.randn([min(1000, n - s), sd["style.1.weight"].shape[1]], generator=g)
                    for s in range(0, n, 1000)])
    n_mlp = sum(1 for k in sd if k.startswith("style.") and k.endswith(".weight"))
    x = zs.double() * torch.rsqrt(torch.mean(zs.double() ** 2, dim=1, keepdim=True) + 1e-8)
    for i in range(1, n_mlp + 1):
        x = F.linear(x, sd[f"style.{i}.weight"].double() * (0.01 / math.sqrt(x.shape[1])))
        x = F.leaky_relu(x + sd[f"style.{i}.bias"].double() * 0.01, 0.2) * SQRT2
    return x.mean(0)


@pytest.mark.parametrize("kind", ["train", "convert", "bare"])
def test_rosinality_matches_reference(tmp_path, kind):
    sd = fm.random_rosinality_state_dict(size=16, style_dim=32, n_mlp=3)
    latent_avg = torch.randn(1, 32) if kind == "convert" else None
    path = fm.write_rosinality(tmp_path / f"{kind}.pt", sd, kind=kind, latent_avg=latent_avg, n_mlp=3)
    G = load_generator(path)
    info = G.source_info
    assert (info["format"], info["family"], info["resolution"], info["mapping_layers"]) == \
        ("rosinality", "stylegan2", 16, 3)
    if kind == "convert":
        assert torch.equal(G.mapping.w_avg, latent_avg.reshape(-1))
        assert info["w_avg"] == "stored (latent_avg)"
    else:
        assert "computed" in info["w_avg"] and "10000" in info["w_avg"]
        assert (G.mapping.w_avg.double() - _documented_mean_w(sd)).abs().max() < 1e-4
    z = _z(32, n=3)
    ref = rosinality_reference(sd, z, truncation=PSI, truncation_latent=G.mapping.w_avg.double())
    ours = _ours(G, z)
    assert np.abs(ref).max() > 0.1
    assert np.abs(ours - ref).max() < 1e-4, np.abs(ours - ref).max()
    # without truncation too (w_avg plays no part)
    with torch.no_grad():
        plain = G(torch.from_numpy(z).float(), noise_mode="const").double().numpy()
    assert np.abs(plain - rosinality_reference(sd, z)).max() < 1e-4
    # describing the file does not compute w_avg, and says the same as loading it
    desc = inspect_model(path)
    for key in ("format", "network", "w_avg", "resolution", "z_dim", "w_dim", "num_ws", "params", "channels"):
        assert desc[key] == info[key], key
    json.dumps(desc)


def test_rosinality_round_trip_from_our_generator(tmp_path):
    G = op.make_generator(resolution=32, mapping_layers=3, channels={4: 32, 8: 16, 16: 16, 32: 8})
    sd = fm.rosinality_state_dict_from_generator(G)
    path = fm.write_rosinality(tmp_path / "rt.pt", sd, kind="convert", latent_avg=G.mapping.w_avg.clone())
    G2 = load_generator(path)
    z = _z(G.z_dim)
    assert np.abs(_ours(G2, z) - _ours(G, z)).max() < 1e-5
    assert G2.synthesis.channels == G.synthesis.channels
    assert np.abs(rosinality_reference(sd, z, PSI, G.mapping.w_avg.double()) - _ours(G, z)).max() < 1e-4
    G3 = load_generator(save_generator(G2, tmp_path / "rt-ours.pt"))
    assert np.array_equal(_ours(G3, z), _ours(G2, z))


def test_rosinality_without_stored_noise_draws_fixed_noise(tmp_path):
    sd = fm.random_rosinality_state_dict(with_noises=False)
    path = fm.write_rosinality(tmp_path / "old.pt", sd, kind="bare")
    G1, G2 = load_generator(path), load_generator(path)
    assert "not stored" in G1.source_info["noise_const"]
    assert torch.equal(G1.synthesis.b8.conv0.noise_const, G2.synthesis.b8.conv0.noise_const)


def test_rosinality_early_layout_bias_on_styledconv(tmp_path):
    """Early rosinality versions: StyledConv.bias [1, C, 1, 1] + ScaledLeakyReLU, no activate.bias."""
    sd = fm.random_rosinality_state_dict()
    old = {(k[:-len("activate.bias")] + "bias" if k.endswith(".activate.bias") else k):
           (v.reshape(1, -1, 1, 1) if k.endswith(".activate.bias") else v) for k, v in sd.items()}
    G_new = load_generator(fm.write_rosinality(tmp_path / "new.pt", sd, kind="bare"))
    G_old = load_generator(fm.write_rosinality(tmp_path / "old.pt", old, kind="bare"))
    assert np.array_equal(_ours(G_old, _z(32)), _ours(G_new, _z(32)))


def test_rosinality_g_only_falls_back_with_warning(tmp_path):
    sd = fm.random_rosinality_state_dict()
    path = tmp_path / "g.pt"
    torch.save({"g": sd, "latent_avg": torch.zeros(32)}, path)
    with pytest.warns(UserWarning, match="no g_ema"):
        G = load_generator(path)
    assert G.source_info["network"] == "g"


def _ros_bad(tmp_path, case):
    p = tmp_path / f"ros-{case}.pt"
    sd = fm.random_rosinality_state_dict()
    if case == "other-tensors":
        torch.save({"g_ema": {"fc.weight": torch.zeros(2, 2)}, "step": 3}, p)
        return p, "not a dragedit generator"
    if case == "missing-conv":
        del sd["convs.1.conv.weight"]
        fm.write_rosinality(p, sd, kind="bare")
        return p, "do not make whole blocks"
    if case == "missing-modulation":
        del sd["convs.1.conv.modulation.bias"]
        fm.write_rosinality(p, sd, kind="bare")
        return p, "no tensor 'convs.1.conv.modulation.bias'"
    if case == "unknown-tensor":
        sd["convs.1.extra.weight"] = torch.zeros(3)
        fm.write_rosinality(p, sd, kind="bare")
        return p, "does not know: convs.1.extra.weight"
    if case == "swagan":
        for k in [k for k in sd if k.startswith("to_rgb") and k.endswith("conv.weight")]:
            sd[k] = torch.zeros(1, 12, *sd[k].shape[2:])
        fm.write_rosinality(p, sd, kind="bare")
        return p, "SWAGAN"
    if case == "bad-latent-avg":
        fm.write_rosinality(p, sd, kind="convert", latent_avg=torch.zeros(7))
        return p, "latent_avg is not a tensor of 32 values"
    if case == "unsafe-global":
        torch.save({"g_ema": sd, "args": op._Reduce(os.system, ("true",))}, p)
        return p, "refused"
    raise AssertionError(case)


ROS_BAD = ["other-tensors", "missing-conv", "missing-modulation", "unknown-tensor", "swagan", "bad-latent-avg",
           "unsafe-global"]


@pytest.mark.parametrize("case", ROS_BAD)
def test_bad_rosinality_files_give_clear_errors(tmp_path, case):
    _assert_clear_error(*_ros_bad(tmp_path, case))


# =========================================================================== the command line

def _cli_files(tmp_path):
    G = op.make_generator(resolution=32, channels={4: 32, 8: 16, 16: 16, 32: 8})
    v, kwargs = fm.tf_variables_from_generator(G)
    tf_path = fm.write_tf_pickle(tmp_path / "stylegan2-tiny-config-f.pkl", v, kwargs)
    ros_path = fm.write_rosinality(tmp_path / "550000.pt", fm.rosinality_state_dict_from_generator(G),
                                   kind="train", size=32)
    return {"tf": tf_path, "rosinality": ros_path}


@pytest.mark.parametrize("kind", ["tf", "rosinality"])
def test_cli_edit_and_info_accept_foreign_files(tmp_path, kind, capsys):
    path = _cli_files(tmp_path)[kind]
    out = tmp_path / "out.json"
    rc = main(["edit", "--model", str(path), "--seed", "1", "--pair", "8,10:14,10", "--steps", "3",
               "--json", str(out), "--quiet", "--threads", "1"])
    assert rc == 0
    report = json.loads(out.read_text())
    assert report["iterations"] <= 3 and report["targets"] == [[14.0, 10.0]]
    capsys.readouterr()
    assert main(["info", str(path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["format"] == {"tf": "nvidia-tf-pickle", "rosinality": "rosinality"}[kind]
    assert (info["family"], info["resolution"], info["z_dim"]) == ("stylegan2", 32, 32)
