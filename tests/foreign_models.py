"""Write model files of other projects' formats, for tests: TensorFlow-era NVIDIA pickles and
rosinality stylegan2-pytorch checkpoints.

We cannot ship real weights, so each writer produces the real byte layout with random
weights, in two ways:

* `random_tf_variables` / `random_rosinality_state_dict`: straight from the other project's
  naming and shape rules (networks_stylegan2.py, rosinality's model.py), without going
  through our converter; the tests run them through independent re-implementations of the
  other project's forward pass.
* `tf_variables_from_generator` / `rosinality_state_dict_from_generator`: the inverse of our
  converters, for round-trip tests from one of our generators.

TF pickles are `pickle.dump((G, D, Gs), f)` of `dnnlib.tflib.network.Network` objects whose
`__getstate__` is a dict (version, name, static_kwargs, components, build_module_src,
build_func_name, variables). A fake `dnnlib.tflib.network` module exists in `sys.modules`
only while pickling, as `official_pickles` does for NVIDIA's PyTorch modules.
"""
from __future__ import annotations

import argparse
import contextlib
import math
import os
import pickle
import sys
import types

import numpy as np
import torch

FAKE_TF_MODULES = ("dnnlib", "dnnlib.tflib", "dnnlib.tflib.network")
TF_NETWORK_SRC = (
    "# Stand-in for training/networks_stylegan2.py; the loader must never execute this.\n"
    "import numpy as np\nimport tensorflow as tf\nimport dnnlib\nimport dnnlib.tflib as tflib\n"
)


# --------------------------------------------------------------------------- fake TF modules

@contextlib.contextmanager
def fake_tf_modules():
    """Install a fake `dnnlib.tflib.network.Network` just while pickling."""
    clash = [n for n in FAKE_TF_MODULES if n in sys.modules]
    if clash:
        raise RuntimeError(f"modules {clash} already imported; refusing to shadow them")
    dn = types.ModuleType("dnnlib")
    dn.__path__ = []
    tflib = types.ModuleType("dnnlib.tflib")
    tflib.__path__ = []
    net = types.ModuleType("dnnlib.tflib.network")

    class Network:
        """Pickles like dnnlib's Network: NEWOBJ of the class, then BUILD with `__getstate__`."""

        def __init__(self, state):
            self._state = state

        def __getstate__(self):
            return self._state

    Network.__module__ = "dnnlib.tflib.network"
    Network.__qualname__ = "Network"
    net.Network = Network
    tflib.network = net
    dn.tflib = tflib
    sys.modules.update({"dnnlib": dn, "dnnlib.tflib": tflib, "dnnlib.tflib.network": net})
    try:
        yield net
    finally:
        for name in FAKE_TF_MODULES:
            sys.modules.pop(name, None)


def _f32(a):
    return np.array(a, dtype=np.float32, order="C")


def _scalar(v):
    """What a TF session returns for a 0-d variable: a numpy float32 scalar."""
    return np.float32(float(np.asarray(v).reshape(())))


def _state(name, func, variables, static_kwargs, components=None, src=TF_NETWORK_SRC, version=4):
    return dict(version=version, name=name, static_kwargs=dict(static_kwargs), components=dict(components or {}),
                build_module_src=src, build_func_name=func, variables=list(variables.items()))


def write_tf_pickle(path, tf_vars: dict, static_kwargs: dict, *, protocol=4, layout="tuple", version=4,
                    src=TF_NETWORK_SRC, mutate=None):
    """Write `(G, D, Gs)` (layout='tuple'), `Gs` alone ('single') or `D` alone ('d-only').

    tf_vars: flat names as `legacy.py` collects them ('dlatent_avg', 'mapping/Dense0/weight',
    'synthesis/4x4/Conv/weight', ...); split back into the three networks' own variables.
    `mutate(states)` may tamper with the {G, D, Gs} state dicts before writing.
    """
    top = {k: v for k, v in tf_vars.items() if "/" not in k}
    mapping = {k[len("mapping/"):]: v for k, v in tf_vars.items() if k.startswith("mapping/")}
    synthesis = {k[len("synthesis/"):]: v for k, v in tf_vars.items() if k.startswith("synthesis/")}
    d_vars = {"4x4/Dense1/weight": _f32(np.random.RandomState(5).randn(8, 1)), "4x4/Dense1/bias": _f32([0.0]),
              "lod": np.float32(0)}

    def gen_states(name):
        syn = _state("G_synthesis", "G_synthesis_stylegan2", synthesis, static_kwargs, src=src, version=version)
        res = static_kwargs.get("resolution") or 4
        mkw = dict(static_kwargs, dlatent_broadcast=int(math.log2(res)) * 2 - 2)
        mp = _state("G_mapping", "G_mapping", mapping, mkw, src=src, version=version)
        return syn, mp, dict(version=version, name=name, static_kwargs=dict(static_kwargs), components=None,
                             build_module_src=src, build_func_name="G_main", variables=list(top.items()))

    with fake_tf_modules() as net:
        states = {}
        for name in ("G", "Gs"):
            syn, mp, g = gen_states(name)
            states[name] = (g, syn, mp)
        states["D"] = (_state("D", "D_stylegan2", d_vars, dict(static_kwargs, architecture="resnet"),
                              src=src, version=version), None, None)
        if mutate is not None:
            mutate(states)
        nets = {}
        for name, (g, syn, mp) in states.items():
            if syn is not None:
                g["components"] = {"synthesis": net.Network(syn), "mapping": net.Network(mp)}
            elif g.get("components") is None:
                g["components"] = {}
            nets[name] = net.Network(g)
        data = {"tuple": (nets["G"], nets["D"], nets["Gs"]), "single": nets["Gs"], "d-only": nets["D"]}[layout]
        with open(path, "wb") as f:
            pickle.dump(data, f, protocol=protocol)
    return path


# --------------------------------------------------------------------------- TF variables

def tf_static_kwargs(resolution, z_dim=32, w_dim=32, c_dim=0, mapping_layers=2, architecture="skip", **extra):
    """static_kwargs as NVIDIA's run_training.py / dataset left them in Gs."""
    kw = dict(num_channels=3, resolution=resolution, label_size=c_dim, latent_size=z_dim, dlatent_size=w_dim,
              mapping_layers=mapping_layers, architecture=architecture, fmap_base=16 << 10,
              truncation_psi=0.5, resample_kernel=[1, 3, 3, 1])
    kw.update(extra)
    return kw


def random_tf_variables(resolution=16, channels=None, z_dim=32, w_dim=32, c_dim=0, mapping_layers=2,
                        mapping_fmaps=24, architecture="skip", use_noise=True, label_fmaps=None, seed=0,
                        lod_torgb=False):
    """TF StyleGAN2 generator variables with random values, named and shaped as networks_stylegan2.py
    (G_main / G_mapping / G_synthesis_stylegan2, or the ADA TF version's LabelEmbed) creates them.

    lod_torgb: name ToRGB layers 'ToRGB_lod{n}' at every level, as configs B-D do (orig only).
    """
    rs = np.random.RandomState(seed)
    log2 = int(math.log2(resolution))
    if channels is None:
        channels = {2 ** i: (32 if i <= 3 else 16) for i in range(2, log2 + 1)}
    v = {"lod": np.float32(0), "dlatent_avg": _f32(rs.randn(w_dim))}
    fin = z_dim
    if c_dim:
        label_fmaps = label_fmaps or z_dim
        v["mapping/LabelEmbed/weight"] = _f32(rs.randn(c_dim, label_fmaps))
        v["mapping/LabelEmbed/bias"] = _f32(rs.randn(label_fmaps) * 0.1)
        fin += label_fmaps
    for i in range(mapping_layers):
        fout = w_dim if i == mapping_layers - 1 else mapping_fmaps
        v[f"mapping/Dense{i}/weight"] = _f32(rs.randn(fin, fout) / 0.01)  # init_std = 1 / lrmul
        v[f"mapping/Dense{i}/bias"] = _f32(rs.randn(fout) * 10)
        fin = fout
    num_layers = log2 * 2 - 2
    if use_noise:
        for idx in range(num_layers - 1):
            r = 2 ** ((idx + 5) // 2)
            v[f"synthesis/noise{idx}"] = _f32(rs.randn(1, 1, r, r))

    def mod(scope, cin, cout, k):
        v[f"{scope}/weight"] = _f32(rs.randn(k, k, cin, cout))
        v[f"{scope}/mod_weight"] = _f32(rs.randn(w_dim, cin))
        v[f"{scope}/mod_bias"] = _f32(rs.randn(cin) * 0.2)

    def layer(scope, cin, cout):
        mod(scope, cin, cout, 3)
        if use_noise:
            v[f"{scope}/noise_strength"] = _scalar(rs.uniform(0.1, 0.5))
        v[f"{scope}/bias"] = _f32(rs.randn(cout) * 0.1)

    def torgb(scope, cin):
        mod(scope, cin, 3, 1)
        v[f"{scope}/bias"] = _f32(rs.randn(3) * 0.1)

    v["synthesis/4x4/Const/const"] = _f32(rs.randn(1, channels[4], 4, 4))
    layer("synthesis/4x4/Conv", channels[4], channels[4])
    if architecture == "skip":
        torgb("synthesis/4x4/ToRGB", channels[4])
    for i in range(3, log2 + 1):
        r = 2 ** i
        layer(f"synthesis/{r}x{r}/Conv0_up", channels[r // 2], channels[r])
        layer(f"synthesis/{r}x{r}/Conv1", channels[r], channels[r])
        if architecture == "resnet":
            v[f"synthesis/{r}x{r}/Skip/weight"] = _f32(rs.randn(1, 1, channels[r // 2], channels[r]))
        if architecture == "skip" or (r == resolution and not lod_torgb):
            torgb(f"synthesis/{r}x{r}/ToRGB", channels[r])
    if lod_torgb:
        for i in range(2, log2 + 1):
            torgb(f"synthesis/ToRGB_lod{log2 - i}", channels[2 ** i])
    return v


def tf_variables_from_generator(G):
    """The inverse of `dragedit.io.tf_pickle`: our generator's weights in TF's layout and names."""
    def a(t):
        return t.detach().cpu().numpy().astype(np.float32)

    syn = G.synthesis
    v = {"lod": np.float32(0), "dlatent_avg": a(G.mapping.w_avg)}
    for i in range(G.mapping.num_layers):
        fc = getattr(G.mapping, f"fc{i}")
        v[f"mapping/Dense{i}/weight"] = _f32(a(fc.weight).T)
        v[f"mapping/Dense{i}/bias"] = a(fc.bias)
    if G.c_dim:
        v["mapping/LabelEmbed/weight"] = _f32(a(G.mapping.embed.weight).T)
        v["mapping/LabelEmbed/bias"] = a(G.mapping.embed.bias)

    def mod(scope, layer, up=False, noise_idx=None):
        w = a(layer.weight).transpose(2, 3, 1, 0)  # [out, in, kh, kw] -> [kh, kw, in, out]
        v[f"{scope}/weight"] = _f32(w[::-1, ::-1] if up else w)
        v[f"{scope}/mod_weight"] = _f32(a(layer.affine.weight).T)
        v[f"{scope}/mod_bias"] = a(layer.affine.bias) - 1
        v[f"{scope}/bias"] = a(layer.bias)
        if noise_idx is not None and getattr(layer, "use_noise", False):
            v[f"{scope}/noise_strength"] = _scalar(a(layer.noise_strength))
            v[f"synthesis/noise{noise_idx}"] = _f32(a(layer.noise_const)[None, None])

    b4 = syn.b4
    v["synthesis/4x4/Const/const"] = a(b4.const)[None]
    mod("synthesis/4x4/Conv", b4.conv1, noise_idx=0)
    for res in syn.block_resolutions:
        b = getattr(syn, f"b{res}")
        i = int(math.log2(res))
        if res > 4:
            mod(f"synthesis/{res}x{res}/Conv0_up", b.conv0, up=True, noise_idx=2 * i - 5)
            mod(f"synthesis/{res}x{res}/Conv1", b.conv1, noise_idx=2 * i - 4)
            if hasattr(b, "skip"):
                v[f"synthesis/{res}x{res}/Skip/weight"] = _f32(a(b.skip.weight).transpose(2, 3, 1, 0)[::-1, ::-1])
        if hasattr(b, "torgb"):
            mod(f"synthesis/{res}x{res}/ToRGB", b.torgb)
    cfg = G.config
    skw = cfg["synthesis_kwargs"]
    f = skw.get("resample_filter", (1, 3, 3, 1))
    kwargs = tf_static_kwargs(G.img_resolution, G.z_dim, G.w_dim, G.c_dim, G.mapping.num_layers,
                              skw.get("architecture", "skip"), mapping_lrmul=G.mapping.fc0.lr_multiplier,
                              conv_clamp=skw.get("conv_clamp"), num_fp16_res=skw.get("num_fp16_res", 0),
                              resample_kernel=list(f), use_noise=skw.get("use_noise", True),
                              dlatent_avg_beta=G.mapping.w_avg_beta)
    return v, kwargs


# --------------------------------------------------------------------------- rosinality

def _make_kernel(k=(1, 3, 3, 1)):
    k = torch.tensor(k, dtype=torch.float32)
    k = k[None, :] * k[:, None]
    return k / k.sum()


def random_rosinality_state_dict(size=16, style_dim=32, n_mlp=2, channels=None, seed=0, with_noises=True):
    """A rosinality Generator state dict with random values, named and shaped as model.py makes it."""
    g = torch.Generator().manual_seed(seed)
    log_size = int(math.log2(size))
    if channels is None:
        channels = {2 ** i: (32 if i <= 3 else 16) for i in range(2, log_size + 1)}

    def rn(*shape, scale=1.0):
        return torch.randn(*shape, generator=g) * scale

    sd = {}
    for i in range(1, n_mlp + 1):  # style.0 is PixelNorm
        sd[f"style.{i}.weight"] = rn(style_dim, style_dim) / 0.01
        sd[f"style.{i}.bias"] = rn(style_dim, scale=10.0)
    sd["input.input"] = rn(1, channels[4], 4, 4)

    def styled(prefix, cin, cout, up):
        sd[f"{prefix}.conv.weight"] = rn(1, cout, cin, 3, 3)
        if up:
            sd[f"{prefix}.conv.blur.kernel"] = _make_kernel() * 4
        sd[f"{prefix}.conv.modulation.weight"] = rn(cin, style_dim)
        sd[f"{prefix}.conv.modulation.bias"] = 1 + rn(cin, scale=0.2)
        sd[f"{prefix}.noise.weight"] = rn(1).abs() * 0.3 + 0.1
        sd[f"{prefix}.activate.bias"] = rn(cout, scale=0.1)

    def to_rgb(prefix, cin, up):
        if up:
            sd[f"{prefix}.upsample.kernel"] = _make_kernel() * 4
        sd[f"{prefix}.conv.weight"] = rn(1, 3, cin, 1, 1)
        sd[f"{prefix}.conv.modulation.weight"] = rn(cin, style_dim)
        sd[f"{prefix}.conv.modulation.bias"] = 1 + rn(cin, scale=0.2)
        sd[f"{prefix}.bias"] = rn(1, 3, 1, 1, scale=0.1)

    styled("conv1", channels[4], channels[4], False)
    to_rgb("to_rgb1", channels[4], False)
    for k, i in enumerate(range(3, log_size + 1)):
        r = 2 ** i
        styled(f"convs.{2 * k}", channels[r // 2], channels[r], True)
        styled(f"convs.{2 * k + 1}", channels[r], channels[r], False)
    for k, i in enumerate(range(3, log_size + 1)):
        to_rgb(f"to_rgbs.{k}", channels[2 ** i], True)
    if with_noises:
        for idx in range((log_size - 2) * 2 + 1):
            r = 2 ** ((idx + 5) // 2)
            sd[f"noises.noise_{idx}"] = rn(1, 1, r, r)
    return sd


def rosinality_state_dict_from_generator(G):
    """The inverse of `dragedit.io.rosinality` for a skip-architecture, unconditional generator."""
    syn = G.synthesis
    sd = {}
    for i in range(G.mapping.num_layers):
        fc = getattr(G.mapping, f"fc{i}")
        sd[f"style.{i + 1}.weight"] = fc.weight.detach().clone()
        sd[f"style.{i + 1}.bias"] = fc.bias.detach().clone()
    sd["input.input"] = syn.b4.const.detach()[None].clone()

    def styled(prefix, layer, noise_idx, up):
        sd[f"{prefix}.conv.weight"] = layer.weight.detach()[None].clone()
        if up:
            sd[f"{prefix}.conv.blur.kernel"] = _make_kernel() * 4
        sd[f"{prefix}.conv.modulation.weight"] = layer.affine.weight.detach().clone()
        sd[f"{prefix}.conv.modulation.bias"] = layer.affine.bias.detach().clone()
        sd[f"{prefix}.noise.weight"] = layer.noise_strength.detach().reshape(1).clone()
        sd[f"{prefix}.activate.bias"] = layer.bias.detach().clone()
        sd[f"noises.noise_{noise_idx}"] = layer.noise_const.detach()[None, None].clone()

    def to_rgb(prefix, t, up):
        if up:
            sd[f"{prefix}.upsample.kernel"] = _make_kernel() * 4
        sd[f"{prefix}.conv.weight"] = t.weight.detach()[None].clone()
        sd[f"{prefix}.conv.modulation.weight"] = t.affine.weight.detach().clone()
        sd[f"{prefix}.conv.modulation.bias"] = t.affine.bias.detach().clone()
        sd[f"{prefix}.bias"] = t.bias.detach().reshape(1, 3, 1, 1).clone()

    styled("conv1", syn.b4.conv1, 0, False)
    to_rgb("to_rgb1", syn.b4.torgb, False)
    for k, res in enumerate(syn.block_resolutions[1:]):
        b = getattr(syn, f"b{res}")
        styled(f"convs.{2 * k}", b.conv0, 2 * k + 1, True)
        styled(f"convs.{2 * k + 1}", b.conv1, 2 * k + 2, False)
        to_rgb(f"to_rgbs.{k}", b.torgb, True)
    return sd


def _adam_state(tensors):
    return {"state": {i: {"step": torch.tensor(3.0), "exp_avg": torch.zeros_like(t), "exp_avg_sq": torch.zeros_like(t)}
                      for i, t in enumerate(tensors)},
            "param_groups": [{"lr": 0.002, "betas": (0.0, 0.99), "eps": 1e-8, "weight_decay": 0,
                              "amsgrad": False, "params": list(range(len(tensors)))}]}


def write_rosinality(path, g_ema: dict, kind="train", latent_avg=None, size=16, style_dim=32, n_mlp=2):
    """kind='train': what train.py saves (g, d, g_ema, optimisers, args Namespace, ada_aug_p);
    'convert': convert_weight.py's {'g_ema', 'latent_avg'}; 'bare': the state dict alone."""
    if kind == "train":
        d = {"convs.0.0.weight": torch.randn(8, 3, 1, 1), "final_linear.1.bias": torch.zeros(1)}
        args = argparse.Namespace(path="/data/lmdb", arch="stylegan2", iter=800000, batch=16, n_sample=64,
                                  size=size, r1=10, path_regularize=2, path_batch_shrink=2, d_reg_every=16,
                                  g_reg_every=4, mixing=0.9, ckpt=None, lr=0.002, channel_multiplier=2,
                                  wandb=False, local_rank=0, augment=False, augment_p=0, ada_target=0.6,
                                  ada_length=500000, ada_every=256, latent=style_dim, n_mlp=n_mlp,
                                  start_iter=0, distributed=False)
        obj = {"g": {k: v.clone() for k, v in g_ema.items()}, "d": d, "g_ema": g_ema,
               "g_optim": _adam_state(list(g_ema.values())[:3]), "d_optim": _adam_state(list(d.values())),
               "args": args, "ada_aug_p": 0.0}
    elif kind == "convert":
        obj = {"g_ema": g_ema, "latent_avg": latent_avg}
    elif kind == "bare":
        obj = g_ema
    else:
        raise ValueError(kind)
    torch.save(obj, path)
    return path


def marker_src(marker) -> str:
    """build_module_src that, if exec'd as dnnlib's Network.__setstate__ would, creates `marker`."""
    return f"open({os.fspath(marker)!r}, 'w').write('build_module_src was executed')\n" + TF_NETWORK_SRC
