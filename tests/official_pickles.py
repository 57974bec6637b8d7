"""Write network pickles in the exact shape of NVIDIA's official releases, for tests.

NVIDIA's networks are pickled through `torch_utils.persistence`: each module's
`__reduce__` returns `(torch_utils.persistence._reconstruct_persistent_obj,
(meta,))` with `meta = dict(type='class', version=6, module_src=<source>,
class_name=..., state=<module __dict__>)`. We cannot ship NVIDIA's code or
weights, so this module rebuilds that byte layout from one of OUR generators:
fake `torch_utils`/`dnnlib` modules are put in `sys.modules` only while
pickling (pickle stores functions and classes by module + name) and removed
afterwards, and the record tree mirrors NVIDIA's module tree, attribute names
and attribute types (numpy float64 gains, EasyDict init kwargs, ...).
Also writes malicious pickles to prove the loader never runs code.
"""
from __future__ import annotations

import contextlib
import os
import pickle
import shlex
import sys
import types
from collections import OrderedDict

import numpy as np
import torch

from dragedit.nets import stylegan3 as sg3
from dragedit.nets.stylegan2 import Generator

FAKE_MODULES = ("torch_utils", "torch_utils.persistence", "dnnlib", "dnnlib.util")
PERSISTENCE_VERSION = 6
NETWORKS_SRC = (
    "# Stand-in for training/networks.py; the loader must never execute this.\n"
    "import numpy as np\nimport torch\nfrom torch_utils import persistence\n"
    "from torch_utils.ops import conv2d_resample, upfirdn2d, bias_act, fma\n"
)
STYLEGAN3_SRC = (
    "# Stand-in for training/networks_stylegan3.py; never executed.\n"
    "from torch_utils import persistence\nfrom torch_utils.ops import filtered_lrelu\n"
)


# --------------------------------------------------------------------------- fake NVIDIA modules

@contextlib.contextmanager
def fake_nvidia_modules():
    """Install fake `torch_utils.persistence` and `dnnlib.util` just while pickling."""
    clash = [n for n in FAKE_MODULES if n in sys.modules]
    if clash:
        raise RuntimeError(f"modules {clash} already imported; refusing to shadow them")
    tu = types.ModuleType("torch_utils")
    tu.__path__ = []  # a package, as in NVIDIA's tree
    pers = types.ModuleType("torch_utils.persistence")
    dn = types.ModuleType("dnnlib")
    dn.__path__ = []
    du = types.ModuleType("dnnlib.util")

    def _reconstruct_persistent_obj(meta):  # stored by reference only; never called by the loader
        raise RuntimeError("fake torch_utils.persistence: must not be called")

    _reconstruct_persistent_obj.__module__ = "torch_utils.persistence"
    _reconstruct_persistent_obj.__qualname__ = "_reconstruct_persistent_obj"
    pers._reconstruct_persistent_obj = _reconstruct_persistent_obj
    pers._version = PERSISTENCE_VERSION
    tu.persistence = pers

    class EasyDict(dict):
        """dnnlib.util.EasyDict: a dict with attribute access."""

        def __getattr__(self, name):
            try:
                return self[name]
            except KeyError:
                raise AttributeError(name) from None

        def __setattr__(self, name, value):
            self[name] = value

        def __delattr__(self, name):
            del self[name]

    EasyDict.__module__ = "dnnlib.util"
    EasyDict.__qualname__ = "EasyDict"
    du.EasyDict = EasyDict
    dn.util = du
    dn.EasyDict = EasyDict
    mods = {"torch_utils": tu, "torch_utils.persistence": pers, "dnnlib": dn, "dnnlib.util": du}
    sys.modules.update(mods)
    try:
        yield types.SimpleNamespace(persistence=pers, EasyDict=EasyDict)
    finally:
        for name in FAKE_MODULES:
            sys.modules.pop(name, None)


class Persistent:
    """A persistent object as NVIDIA's `persistence.persistent_class` Decorator pickles it."""

    def __init__(self, class_name, state, module_src=NETWORKS_SRC):
        self.class_name = class_name
        self.state = state
        self.module_src = module_src

    def __reduce__(self):
        pers = sys.modules["torch_utils.persistence"]
        meta = dict(type="class", version=PERSISTENCE_VERSION, module_src=self.module_src,
                    class_name=self.class_name, state=self.state)
        return (pers._reconstruct_persistent_obj, (meta,), None, None, None)


# --------------------------------------------------------------------------- record tree from our G

def _param(t):
    return torch.nn.Parameter(t.detach().clone(), requires_grad=False)


def _state(params=(), buffers=(), modules=(), attrs=None, init_args=(), init_kwargs=None):
    """A torch-1.8-style nn.Module __dict__ plus persistence's _init_args/_init_kwargs."""
    st = {
        "training": False,
        "_parameters": OrderedDict((k, _param(v) if v is not None else None) for k, v in params),
        "_buffers": OrderedDict((k, v.detach().clone() if v is not None else None) for k, v in buffers),
        "_non_persistent_buffers_set": set(),
        "_backward_hooks": OrderedDict(),
        "_is_full_backward_hook": None,
        "_forward_hooks": OrderedDict(),
        "_forward_pre_hooks": OrderedDict(),
        "_state_dict_hooks": OrderedDict(),
        "_load_state_dict_pre_hooks": OrderedDict(),
        "_modules": OrderedDict(modules),
    }
    st.update(attrs or {})
    st["_init_args"] = tuple(init_args)
    st["_init_kwargs"] = dict(init_kwargs or {})
    return st


def _fc(m, **init_kwargs):
    in_f, out_f = m.weight.shape[1], m.weight.shape[0]
    params = [("weight", m.weight)] + ([("bias", m.bias)] if m.bias is not None else [])
    attrs = dict(activation=m.activation, weight_gain=m.lr_multiplier / np.sqrt(in_f),
                 bias_gain=m.lr_multiplier)
    if m.bias is None:
        attrs["bias"] = None
    return Persistent("FullyConnectedLayer", _state(params, attrs=attrs, init_args=(in_f, out_f),
                                                     init_kwargs=init_kwargs))


def _mapping(mp, ez):
    mods = []
    if mp.c_dim > 0:
        mods.append(("embed", _fc(mp.embed)))
    for i in range(mp.num_layers):
        fc = getattr(mp, f"fc{i}")
        mods.append((f"fc{i}", _fc(fc, activation=fc.activation, lr_multiplier=fc.lr_multiplier)))
    attrs = dict(z_dim=mp.z_dim, c_dim=mp.c_dim, w_dim=mp.w_dim, num_ws=mp.num_ws,
                 num_layers=mp.num_layers, w_avg_beta=mp.w_avg_beta)
    return Persistent("MappingNetwork", _state(buffers=[("w_avg", mp.w_avg)], modules=mods, attrs=attrs,
                                                init_kwargs=ez(z_dim=mp.z_dim, c_dim=mp.c_dim, w_dim=mp.w_dim,
                                                               num_ws=mp.num_ws, num_layers=mp.num_layers)))


def _layer(ly, w_dim):
    params = [("weight", ly.weight)]
    buffers = [("resample_filter", ly.resample_filter)]
    if ly.use_noise:
        buffers.append(("noise_const", ly.noise_const))
        params.append(("noise_strength", ly.noise_strength))
    params.append(("bias", ly.bias))
    attrs = dict(resolution=ly.resolution, up=ly.up, use_noise=ly.use_noise, activation=ly.activation,
                 conv_clamp=ly.conv_clamp, padding=ly.padding, act_gain=np.sqrt(2))
    out_c, in_c = ly.weight.shape[:2]
    return Persistent("SynthesisLayer", _state(params, buffers, [("affine", _fc(ly.affine, bias_init=1))],
                                                attrs, init_args=(in_c, out_c),
                                                init_kwargs=dict(w_dim=w_dim, resolution=ly.resolution,
                                                                 up=ly.up, conv_clamp=ly.conv_clamp,
                                                                 channels_last=False)))


def _torgb(t, w_dim):
    out_c, in_c = t.weight.shape[:2]
    attrs = dict(conv_clamp=t.conv_clamp, weight_gain=1 / np.sqrt(in_c * 1 ** 2))
    return Persistent("ToRGBLayer", _state([("weight", t.weight), ("bias", t.bias)],
                                            modules=[("affine", _fc(t.affine, bias_init=1))], attrs=attrs,
                                            init_args=(in_c, out_c),
                                            init_kwargs=dict(w_dim=w_dim, conv_clamp=t.conv_clamp,
                                                             channels_last=False)))


def _skip(s):
    out_c, in_c = s.weight.shape[:2]
    attrs = dict(activation="linear", up=2, down=1, conv_clamp=None, padding=0,
                 weight_gain=1 / np.sqrt(in_c * 1 ** 2), act_gain=1, bias=None)
    return Persistent("Conv2dLayer", _state([("weight", s.weight)], [("resample_filter", s.resample_filter)],
                                             attrs=attrs, init_args=(in_c, out_c, 1),
                                             init_kwargs=dict(bias=False, up=2, resample_filter=[1, 3, 3, 1],
                                                              channels_last=False)))


def _block(b, w_dim, use_fp16):
    params, mods = [], []
    if b.in_channels == 0:
        params.append(("const", b.const))
    else:
        mods.append(("conv0", _layer(b.conv0, w_dim)))
    mods.append(("conv1", _layer(b.conv1, w_dim)))
    if hasattr(b, "torgb"):
        mods.append(("torgb", _torgb(b.torgb, w_dim)))
    if hasattr(b, "skip"):
        mods.append(("skip", _skip(b.skip)))
    attrs = dict(in_channels=b.in_channels, w_dim=w_dim, resolution=b.resolution,
                 img_channels=b.img_channels, is_last=b.is_last, architecture=b.architecture,
                 use_fp16=use_fp16, channels_last=False, num_conv=b.num_conv, num_torgb=b.num_torgb)
    return Persistent("SynthesisBlock", _state(params, [("resample_filter", b.resample_filter)], mods, attrs,
                                                init_args=(b.in_channels, b.out_channels),
                                                init_kwargs=dict(w_dim=w_dim, resolution=b.resolution,
                                                                 img_channels=b.img_channels,
                                                                 is_last=b.is_last, use_fp16=use_fp16,
                                                                 architecture=b.architecture)))


def generator_record(G: Generator, ez, num_fp16_res=0) -> Persistent:
    """NVIDIA's Generator record tree (real tensors and key layout) for one of our generators."""
    syn = G.synthesis
    log2 = int(np.log2(G.img_resolution))
    fp16_res = max(2 ** (log2 + 1 - num_fp16_res), 8)
    blocks = [(f"b{r}", _block(getattr(syn, f"b{r}"), G.w_dim, r >= fp16_res)) for r in syn.block_resolutions]
    syn_attrs = dict(w_dim=G.w_dim, img_resolution=G.img_resolution, img_resolution_log2=log2,
                     img_channels=G.img_channels, block_resolutions=list(syn.block_resolutions),
                     num_ws=syn.num_ws)
    cfg = G.config
    skw = dict(cfg["synthesis_kwargs"])
    skw.pop("channels", None)
    synthesis = Persistent("SynthesisNetwork", _state(modules=blocks, attrs=syn_attrs,
                                                      init_kwargs=dict(w_dim=G.w_dim, img_resolution=G.img_resolution,
                                                                       img_channels=G.img_channels,
                                                                       channel_base=32768, channel_max=512,
                                                                       **skw)))
    # _init_kwargs deliberately say the *default* channel_base/max (like a real config would):
    # the loader must read channels from the weights, not from here.
    g_attrs = dict(z_dim=G.z_dim, c_dim=G.c_dim, w_dim=G.w_dim, img_resolution=G.img_resolution,
                   img_channels=G.img_channels, num_ws=G.num_ws)
    mapping_kwargs = ez(**cfg["mapping_kwargs"])
    synthesis_kwargs = ez(channel_base=32768, channel_max=512, num_fp16_res=num_fp16_res,
                          conv_clamp=skw.get("conv_clamp"), architecture=skw.get("architecture", "skip"))
    return Persistent("Generator", _state(modules=[("synthesis", synthesis), ("mapping", _mapping(G.mapping, ez))],
                                          attrs=g_attrs,
                                          init_kwargs=dict(z_dim=G.z_dim, c_dim=G.c_dim, w_dim=G.w_dim,
                                                           img_resolution=G.img_resolution,
                                                           img_channels=G.img_channels,
                                                           mapping_kwargs=mapping_kwargs,
                                                           synthesis_kwargs=synthesis_kwargs)))


def _discriminator(G: Generator) -> Persistent:
    """A small D record; it holds a plain torch module too, which the loader must skip over."""
    gen = torch.Generator().manual_seed(1)
    fromrgb = Persistent("Conv2dLayer", _state([("weight", torch.randn(8, G.img_channels, 1, 1, generator=gen)),
                                                ("bias", torch.zeros(8))],
                                               [("resample_filter", torch.ones(4, 4) / 16)],
                                               attrs=dict(activation="lrelu", up=1, down=1, conv_clamp=None,
                                                          padding=0, weight_gain=np.float64(1 / np.sqrt(3)),
                                                          act_gain=np.sqrt(2))))
    return Persistent("Discriminator", _state(modules=[("fromrgb", fromrgb), ("extra", torch.nn.Identity())],
                                              attrs=dict(c_dim=G.c_dim, img_resolution=G.img_resolution,
                                                         img_channels=G.img_channels,
                                                         block_resolutions=[G.img_resolution])))


def _augment_pipe() -> Persistent:
    """AugmentPipe-like record with numpy arrays and scalars among its attributes."""
    return Persistent("AugmentPipe", _state(buffers=[("p", torch.zeros([]))],
                                            attrs=dict(xflip=np.float64(1.0), rotate90=1, brightness_std=0.2,
                                                       imgfilter_bands=np.array([1, 1, 1, 1], dtype=np.float32),
                                                       Hz_geom_taps=np.arange(6, dtype=np.float64))))


def make_generator(resolution=16, architecture="skip", c_dim=0, conv_clamp=None, mapping_layers=2,
                   channels=None, seed=0, use_noise=True) -> Generator:
    """A tiny generator with random weights and a non-trivial w_avg / noise_strength."""
    torch.manual_seed(seed)
    if channels is None:
        channels = {r: (32 if r <= 8 else 16) for r in (2 ** i for i in range(2, int(np.log2(resolution)) + 1))}
    G = Generator(z_dim=32, c_dim=c_dim, w_dim=32, img_resolution=resolution, img_channels=3,
                  mapping_kwargs=dict(num_layers=mapping_layers),
                  synthesis_kwargs=dict(channels=channels, architecture=architecture,
                                        conv_clamp=conv_clamp, use_noise=use_noise))
    with torch.no_grad():
        G.mapping.w_avg.normal_()
        for name, p in G.named_parameters():
            if name.endswith("noise_strength"):
                p.fill_(0.3)
            elif name.endswith(".bias") and ".affine." not in name:
                p.normal_(std=0.1)
    return G.eval().requires_grad_(False)


def write_official_pickle(G: Generator, path, *, with_g_ema=True, num_fp16_res=0, protocol=4,
                          mutate=None, module_src=NETWORKS_SRC):
    """Pickle `{'G', 'D', 'G_ema', 'training_set_kwargs', 'augment_pipe'}` like training_loop.py.

    `mutate(data)` may tamper with the record tree before writing (for error tests).
    """
    with fake_nvidia_modules() as fake:
        g = generator_record(G, fake.EasyDict, num_fp16_res=num_fp16_res)
        data = dict(G=g, D=_discriminator(G))
        if with_g_ema:
            data["G_ema"] = generator_record(G, fake.EasyDict, num_fp16_res=num_fp16_res)
        data["training_set_kwargs"] = fake.EasyDict(
            class_name="training.dataset.ImageFolderDataset", path="/data/tiny.zip", use_labels=G.c_dim > 0,
            max_size=1000, xflip=False, resolution=G.img_resolution)
        data["augment_pipe"] = _augment_pipe()
        for net in (data["G"], data.get("G_ema"), data["D"], data["augment_pipe"]):
            for rec in _walk(net) if net is not None else ():
                rec.module_src = module_src
        if mutate is not None:
            mutate(data)
        with open(path, "wb") as f:
            pickle.dump(data, f, protocol=protocol)
    return path


def _walk(rec):
    """Every persistent record in a tree (plain torch modules are skipped)."""
    yield rec
    for child in rec.state.get("_modules", {}).values():
        if isinstance(child, Persistent):
            yield from _walk(child)


def write_stylegan3_pickle(path):
    """An incomplete StyleGAN3-style pickle (an input and one layer, most attributes missing): the
    loader must describe it (inspect_model) and refuse it with a clear error."""
    with fake_nvidia_modules() as fake:
        def rec(name, params=(), modules=(), attrs=None):
            return Persistent(name, _state(params, modules=modules, attrs=attrs), module_src=STYLEGAN3_SRC)

        syn = rec("SynthesisNetwork", modules=[
            ("input", rec("SynthesisInput", params=[("weight", torch.randn(4, 2))],
                          attrs=dict(w_dim=32, channels=4, size=np.array([36, 36])))),
            ("L0_36_4", rec("SynthesisLayer", params=[("weight", torch.randn(4, 4, 3, 3))])),
        ], attrs=dict(w_dim=32, img_resolution=16, img_channels=3, num_ws=4))
        mapping = rec("MappingNetwork", modules=[("fc0", rec("FullyConnectedLayer",
                                                             params=[("weight", torch.randn(32, 32))]))],
                      attrs=dict(z_dim=32, c_dim=0, w_dim=32, num_ws=4, num_layers=1, w_avg_beta=0.998))
        g = rec("Generator", modules=[("synthesis", syn), ("mapping", mapping)],
                attrs=dict(z_dim=32, c_dim=0, w_dim=32, img_resolution=16, img_channels=3, num_ws=4))
        with open(path, "wb") as f:
            pickle.dump(dict(G=g, G_ema=g, D=None, augment_pipe=None,
                             training_set_kwargs=fake.EasyDict(resolution=16)), f, protocol=4)
    return path


# --------------------------------------------------------------------------- StyleGAN3 pickles

def make_stylegan3_generator(resolution=32, variant="t", c_dim=0, seed=0, num_layers=6, channel_max=16,
                             margin_size=10) -> sg3.Generator:
    """A tiny StyleGAN3-T or -R generator (random weights, NVIDIA's layer geometry) with non-trivial
    magnitude_ema, biases, w_avg and input affine, so every term of the math shows in the image."""
    torch.manual_seed(seed)
    geometry = dict(channel_base=512, channel_max=channel_max, num_layers=num_layers, num_critical=2,
                    margin_size=margin_size, num_fp16_res=2)
    if variant == "r":  # NVIDIA's train.py for stylegan3-r: 1x1 convs, radial filters, twice the channels
        geometry.update(conv_kernel=1, use_radial_filters=True, channel_base=1024, channel_max=2 * channel_max)
    G = sg3.Generator(z_dim=32, c_dim=c_dim, w_dim=32, img_resolution=resolution, img_channels=3,
                      synthesis_kwargs=geometry)
    with torch.no_grad():
        G.mapping.w_avg.normal_()
        G.synthesis.input.affine.weight.normal_(std=0.5)
        for name, t in list(G.named_parameters()) + list(G.named_buffers()):
            if name.endswith("magnitude_ema"):
                t.uniform_(0.3, 3.0)
            elif name.endswith(".bias") and ".affine." not in name:
                t.normal_(std=0.2)
    return G.eval().requires_grad_(False)


def _fc3(m, **init_kwargs):
    """networks_stylegan3.FullyConnectedLayer (it also stores in/out_features)."""
    in_f, out_f = m.weight.shape[1], m.weight.shape[0]
    attrs = dict(in_features=in_f, out_features=out_f, activation=m.activation,
                 weight_gain=m.lr_multiplier / np.sqrt(in_f), bias_gain=m.lr_multiplier)
    return Persistent("FullyConnectedLayer", _state([("weight", m.weight), ("bias", m.bias)], attrs=attrs,
                                                     init_args=(in_f, out_f), init_kwargs=init_kwargs),
                      module_src=STYLEGAN3_SRC)


def _size(v):
    return np.broadcast_to(np.asarray(v), [2])  # what NVIDIA stores for sizes


def _sg3_input(inp, w_dim):
    attrs = dict(w_dim=w_dim, channels=inp.channels, size=_size(inp.size),
                 sampling_rate=np.float64(inp.sampling_rate), bandwidth=np.float64(inp.bandwidth))
    return Persistent("SynthesisInput", _state(
        [("weight", inp.weight)], [("transform", inp.transform), ("freqs", inp.freqs), ("phases", inp.phases)],
        [("affine", _fc3(inp.affine, weight_init=0, bias_init=[1, 0, 0, 0]))], attrs,
        init_kwargs=dict(w_dim=w_dim, channels=inp.channels, size=inp.size,
                         sampling_rate=np.float64(inp.sampling_rate), bandwidth=np.float64(inp.bandwidth))),
        module_src=STYLEGAN3_SRC)


def _sg3_layer(ly, w_dim):
    attrs = dict(w_dim=w_dim, is_torgb=ly.is_torgb, is_critically_sampled=ly.is_critically_sampled,
                 use_fp16=np.bool_(ly.use_fp16), in_channels=ly.in_channels, out_channels=ly.out_channels,
                 in_size=_size(ly.in_size), out_size=_size(ly.out_size),
                 in_sampling_rate=ly.in_sampling_rate, out_sampling_rate=ly.out_sampling_rate,
                 tmp_sampling_rate=ly.tmp_sampling_rate, in_cutoff=np.float64(ly.in_cutoff),
                 out_cutoff=np.float64(ly.out_cutoff), in_half_width=np.float64(ly.in_half_width),
                 out_half_width=np.float64(ly.out_half_width), conv_kernel=ly.conv_kernel,
                 conv_clamp=ly.conv_clamp, magnitude_ema_beta=ly.magnitude_ema_beta,
                 up_factor=ly.up_factor, up_taps=ly.up_taps, down_factor=ly.down_factor,
                 down_taps=ly.down_taps, down_radial=ly.down_radial, padding=list(ly.padding))
    buffers = [("magnitude_ema", ly.magnitude_ema), ("up_filter", ly.up_filter), ("down_filter", ly.down_filter)]
    # _init_kwargs hold NVIDIA's hyper-parameters; deliberately wrong here: the loader must not use them
    return Persistent("SynthesisLayer", _state(
        [("weight", ly.weight), ("bias", ly.bias)], buffers, [("affine", _fc3(ly.affine, bias_init=1))], attrs,
        init_kwargs=dict(w_dim=w_dim, is_torgb=ly.is_torgb, in_channels=999, out_channels=999,
                         conv_kernel=3, filter_size=6, use_radial_filters=False, conv_clamp=256)),
        module_src=STYLEGAN3_SRC)


def stylegan3_record(G: sg3.Generator, ez) -> Persistent:
    """NVIDIA's StyleGAN3 Generator record tree (module names, attributes and their types)."""
    syn = G.synthesis
    mods = [("input", _sg3_input(syn.input, G.w_dim))]
    mods += [(name, _sg3_layer(getattr(syn, name), G.w_dim)) for name in syn.layer_names]
    syn_attrs = dict(w_dim=G.w_dim, num_ws=syn.num_ws, img_resolution=G.img_resolution,
                     img_channels=G.img_channels, num_layers=syn.num_layers, num_critical=syn.num_critical,
                     margin_size=syn.margin_size, output_scale=syn.output_scale, num_fp16_res=syn.num_fp16_res,
                     layer_names=list(syn.layer_names))
    synthesis = Persistent("SynthesisNetwork", _state(modules=mods, attrs=syn_attrs, init_kwargs=dict(
        w_dim=G.w_dim, img_resolution=G.img_resolution, img_channels=G.img_channels,
        channel_base=32768, channel_max=512, num_layers=14, magnitude_ema_beta=0.999)),
        module_src=STYLEGAN3_SRC)
    mp = G.mapping
    mmods = [("embed", _fc3(mp.embed))] if mp.c_dim > 0 else []
    mmods += [(f"fc{i}", _fc3(getattr(mp, f"fc{i}"), activation="lrelu", lr_multiplier=0.01))
              for i in range(mp.num_layers)]
    mattrs = dict(z_dim=mp.z_dim, c_dim=mp.c_dim, w_dim=mp.w_dim, num_ws=mp.num_ws, num_layers=mp.num_layers,
                  w_avg_beta=mp.w_avg_beta)
    if mp.c_dim == 0:
        mattrs["embed"] = None
    mapping = Persistent("MappingNetwork", _state(buffers=[("w_avg", mp.w_avg)], modules=mmods, attrs=mattrs,
                                                  init_kwargs=dict(z_dim=mp.z_dim, c_dim=mp.c_dim, w_dim=mp.w_dim,
                                                                   num_ws=mp.num_ws)),
                         module_src=STYLEGAN3_SRC)
    attrs = dict(z_dim=G.z_dim, c_dim=G.c_dim, w_dim=G.w_dim, img_resolution=G.img_resolution,
                 img_channels=G.img_channels, num_ws=G.num_ws)
    return Persistent("Generator", _state(modules=[("synthesis", synthesis), ("mapping", mapping)], attrs=attrs,
                                          init_kwargs=dict(z_dim=G.z_dim, c_dim=G.c_dim, w_dim=G.w_dim,
                                                           img_resolution=G.img_resolution,
                                                           img_channels=G.img_channels,
                                                           mapping_kwargs=ez(num_layers=2),
                                                           channel_base=32768, channel_max=512,
                                                           magnitude_ema_beta=0.999)),
                      module_src=STYLEGAN3_SRC)


def write_stylegan3_official_pickle(G: sg3.Generator, path, *, protocol=4, mutate=None):
    """A StyleGAN3 network pickle in the layout of NVIDIA's stylegan3 release (training_loop.py)."""
    with fake_nvidia_modules() as fake:
        data = dict(G=stylegan3_record(G, fake.EasyDict), D=_discriminator(G),
                    G_ema=stylegan3_record(G, fake.EasyDict))
        data["training_set_kwargs"] = fake.EasyDict(
            class_name="training.dataset.ImageFolderDataset", path="/data/tiny.zip", use_labels=G.c_dim > 0,
            max_size=1000, xflip=False, resolution=G.img_resolution)
        data["augment_pipe"] = _augment_pipe()
        if mutate is not None:
            mutate(data)
        with open(path, "wb") as f:
            pickle.dump(data, f, protocol=protocol)
    return path


# --------------------------------------------------------------------------- malicious pickles

class _Reduce:
    def __init__(self, func, args):
        self.func, self.args = func, args

    def __reduce__(self):
        return (self.func, self.args)


def write_reduce_pickle(path, func, args, wrap=True):
    """A pickle that calls `func(*args)` when loaded by an ordinary unpickler."""
    obj = _Reduce(func, args)
    with open(path, "wb") as f:
        pickle.dump({"G_ema": obj} if wrap else obj, f, protocol=4)
    return path


def write_os_system_pickle(path, marker):
    """The classic attack: `os.system('touch <marker>')` (stored as posix.system on Linux)."""
    return write_reduce_pickle(path, os.system, ("touch " + shlex.quote(os.fspath(marker)),))


def marker_source(marker) -> str:
    """Module source that, if exec'd as NVIDIA's loader would, creates `marker`."""
    return (f"open({os.fspath(marker)!r}, 'w').write('module_src was executed')\n" + NETWORKS_SRC)


def write_exec_src_pickle(G: Generator, path, marker):
    """A valid official-format pickle whose G_ema module_src writes `marker` when exec'd."""
    return write_official_pickle(G, path, module_src=marker_source(marker))
