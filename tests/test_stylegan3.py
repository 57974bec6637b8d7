"""StyleGAN3: the generator against a plain reference written here, official-layout pickles,
our own format, the drag engine and `dragedit edit` on tiny T and R networks."""
import json
import math
import os
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dragedit.cli import main
from dragedit.edit.drag import DragParams, DragSession
from dragedit.errors import ModelFileError
from dragedit.io.checkpoint import inspect_model, load_generator, save_generator
from dragedit.nets import stylegan3 as sg3

sys.path.insert(0, os.path.dirname(__file__))
import official_pickles as op


@pytest.fixture(scope="module", params=["t", "r"])
def G(request):
    return op.make_stylegan3_generator(variant=request.param)


def _ws(G, n=2, seed=0, psi=0.7):
    z = torch.from_numpy(np.random.RandomState(seed).randn(n, G.z_dim).astype(np.float32))
    c = torch.eye(G.c_dim)[:n] if G.c_dim else None
    with torch.no_grad():
        return G.mapping(z, c, truncation_psi=psi)


# --------------------------------------------------------------------------- a plain reference (float64)

def ref_upfirdn(x, f, up, down, pad, gain):
    """Zero insertion, zero padding (negative = crop), full 2-D convolution, decimation.
    (float32: torch's float64 CPU convolution is too slow for large 2-D kernels.)"""
    dtype = x.dtype
    x = x.float()
    n, c, h, w = x.shape
    u = x.new_zeros(n, c, h * up, w * up)
    u[:, :, ::up, ::up] = x
    px0, px1, py0, py1 = pad
    u = F.pad(u, [max(px0, 0), max(px1, 0), max(py0, 0), max(py1, 0)])
    u = u[:, :, max(-py0, 0):u.shape[2] - max(-py1, 0), max(-px0, 0):u.shape[3] - max(-px1, 0)]
    if f is None:
        f2 = torch.ones(1, 1, dtype=x.dtype)
    else:
        f = f.to(x.dtype)
        f2 = torch.outer(f, f) if f.ndim == 1 else f
    k = f2.flip([0, 1])  # a true convolution
    out = F.conv2d(u.reshape(n * c, 1, *u.shape[2:]), k[None, None]).reshape(n, c, *[s - t + 1 for s, t in
                                                                                   zip(u.shape[2:], k.shape)])
    return (out[:, :, ::down, ::down] * gain).to(dtype)


def ref_input(inp, w):
    """Fourier features written out per sample in numpy, from the paper's definition."""
    w = w.double()
    t = (w @ (inp.affine.weight.double() * inp.affine.weight_gain).t() + inp.affine.bias.double()).numpy()
    freqs0, phases0 = inp.freqs.double().numpy(), inp.phases.double().numpy()
    size, sr, bw = inp.size, inp.sampling_rate, inp.bandwidth
    coords = (np.arange(size) + 0.5 - size / 2) / sr
    out = []
    for tc, ts, tx, ty in t:
        r = math.hypot(tc, ts)
        c, s, tx, ty = tc / r, ts / r, tx / r, ty / r
        rot = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
        shift = np.array([[1, 0, -tx], [0, 1, -ty], [0, 0, 1]])
        m = rot @ shift @ inp.transform.double().numpy()
        freqs = freqs0 @ m[:2, :2]
        phases = phases0 + freqs0 @ m[:2, 2]
        amp = np.clip(1 - (np.linalg.norm(freqs, axis=1) - bw) / (sr / 2 - bw), 0, 1)
        arg = coords[None, None, :] * freqs[:, 0, None, None] + coords[None, :, None] * freqs[:, 1, None, None]
        feat = np.sin(2 * np.pi * (arg + phases[:, None, None])) * amp[:, None, None]
        weight = inp.weight.double().numpy() / np.sqrt(inp.channels)
        out.append(np.einsum("oc,chw->ohw", weight, feat))
    return torch.from_numpy(np.stack(out))


def ref_layer(ly, x, w):
    """Modulated conv per sample (no pre-normalisation: it cancels in demodulation), then the
    filtered leaky ReLU as explicit up-sampling, bias, activation, clamp and down-sampling."""
    x, w = x.double(), w.double()
    styles = w @ (ly.affine.weight.double() * ly.affine.weight_gain).t() + ly.affine.bias.double()
    k = ly.conv_kernel
    outs = []
    for i in range(x.shape[0]):
        wt = ly.weight.double() * styles[i].reshape(1, -1, 1, 1)
        if ly.is_torgb:
            wt = wt / math.sqrt(ly.in_channels * k * k)
        else:
            wt = wt / (wt.square().sum(dim=[1, 2, 3], keepdim=True) + 1e-8).sqrt()
        wt = wt / ly.magnitude_ema.double().sqrt()
        outs.append(F.conv2d(x[i:i + 1], wt, padding=k - 1))
    y = torch.cat(outs) + ly.bias.double().reshape(1, -1, 1, 1)
    up = ly.tmp_sampling_rate // ly.in_sampling_rate
    down = ly.tmp_sampling_rate // ly.out_sampling_rate
    fu_taps = 1 if ly.up_filter is None else ly.up_filter.shape[0]
    fd_taps = 1 if ly.down_filter is None else ly.down_filter.shape[0]
    total = (ly.out_size - 1) * down + 1 - (ly.in_size + k - 1) * up + fu_taps + fd_taps - 2
    lo = (total + up) // 2
    y = ref_upfirdn(y, ly.up_filter, up, 1, [lo, total - lo, lo, total - lo], up * up)
    if not ly.is_torgb:
        y = torch.where(y >= 0, y, 0.2 * y) * math.sqrt(2)
    if ly.conv_clamp is not None:
        y = y.clamp(-ly.conv_clamp, ly.conv_clamp)
    y = ref_upfirdn(y, ly.down_filter, 1, down, [0, 0, 0, 0], 1)
    assert y.shape[2:] == (ly.out_size, ly.out_size)
    return y


def ref_synthesis(syn, ws):
    x = ref_input(syn.input, ws[:, 0])
    for i, name in enumerate(syn.layer_names):
        x = ref_layer(getattr(syn, name), x, ws[:, i + 1])
    return x * 0.25


# --------------------------------------------------------------------------- the math

def test_layer_geometry_matches_nvidias_ffhq_1024_networks():
    """Layer names of the released stylegan3-t/r-ffhq-1024x1024 generators follow from the rules."""
    _, t = sg3.layer_specs(1024, 3)
    names = [f"L{i}_{s['out_size']}_{s['out_channels']}" for i, s in enumerate(t)]
    assert names == ["L0_36_512", "L1_36_512", "L2_52_512", "L3_52_512", "L4_84_512", "L5_148_512",
                     "L6_148_512", "L7_276_323", "L8_276_203", "L9_532_128", "L10_1044_81", "L11_1044_51",
                     "L12_1044_32", "L13_1024_32", "L14_1024_3"]
    _, r = sg3.layer_specs(1024, 3, channel_base=65536, channel_max=1024, conv_kernel=1, use_radial_filters=True)
    assert [s["out_channels"] for s in r][:3] == [1024, 1024, 1024] and r[0]["down_radial"]
    assert not r[12]["down_radial"] and (r[0]["up_taps"], r[0]["down_taps"], r[2]["up_taps"]) == (12, 12, 24)


def test_filters_are_lowpass_and_match_scipy_when_available():
    f = sg3.design_lowpass_filter(12, 4.0, 5.0, 32)
    assert f.shape == (12,) and torch.allclose(f, f.flip(0)) and abs(f.sum().item() - 1) < 1e-6
    fr = sg3.design_lowpass_filter(12, 4.0, 5.0, 32, radial=True)
    assert fr.shape == (12, 12) and torch.allclose(fr, fr.t()) and abs(fr.sum().item() - 1) < 1e-6
    assert sg3.design_lowpass_filter(1, 4.0, 5.0, 32) is None
    signal = pytest.importorskip("scipy.signal")
    special = pytest.importorskip("scipy.special")
    for taps, cutoff, width, fs in ((12, 2.0, 4.6, 32), (24, 11.3, 9.0, 64), (13, 60.0, 30.0, 256)):
        assert np.abs(sg3.firwin_lowpass(taps, cutoff, width, fs) -
                      signal.firwin(numtaps=taps, cutoff=cutoff, width=width, fs=fs)).max() < 1e-12
    x = np.linspace(0, 50, 301)
    assert np.abs(sg3.bessel_j1(x) - special.j1(x)).max() < 1e-12


@pytest.mark.parametrize("up", [2, 4])
@pytest.mark.parametrize("taps", [12, 24, 7])
def test_polyphase_upfirdn_matches_zero_stuffing(up, taps):
    """The up-sampling pass skips the inserted zeros; padding and cropping must still line up."""
    gen = torch.Generator().manual_seed(up * 100 + taps)
    for pad in ([0, 0, 0, 0], [11, 12, 11, 12], [-3, 5, 2, -4], [-5, -6, -5, -4], [30, 2, 1, 30]):
        if 11 * up + pad[0] + pad[1] < taps or 13 * up + pad[2] + pad[3] < taps:
            continue  # nothing left to filter (NVIDIA's op refuses this too)
        x = torch.randn(2, 3, 13, 11, generator=gen)
        f = torch.rand(taps, generator=gen)
        ours = sg3.upfirdn2d(x, f, up=up, padding=pad, gain=up * up)
        ref = ref_upfirdn(x, f, up, 1, pad, up * up)
        assert ours.shape == ref.shape, pad
        assert (ours - ref).abs().max() < 1e-5 * ref.abs().max(), pad


def test_input_matches_reference(G):
    syn = G.synthesis
    ws = _ws(G, n=3)
    with torch.no_grad():
        ours = syn.input(ws[:, 0])
        assert (ours.double() - ref_input(syn.input, ws[:, 0])).abs().max() < 1e-5
        # a user transform that scales frequencies past the band limit exercises the fade-out
        old = syn.input.transform.clone()
        syn.input.transform.copy_(torch.tensor([[1.6, 0.3, 0.1], [-0.2, 1.5, 0.05], [0, 0, 1]]))
        try:
            ours = syn.input(ws[:, 0])
            ref = ref_input(syn.input, ws[:, 0])
        finally:
            syn.input.transform.copy_(old)
    assert (ours.double() - ref).abs().max() < 1e-5


def test_layers_match_reference_one_by_one(G):
    syn = G.synthesis
    ws = _ws(G, n=2, seed=1)
    with torch.no_grad():
        x = syn.input(ws[:, 0])
        for i, name in enumerate(syn.layer_names):
            ly = getattr(syn, name)
            y = ly(x, ws[:, i + 1])
            ref = ref_layer(ly, x, ws[:, i + 1])
            scale = ref.abs().max().item()
            assert (y.double() - ref).abs().max().item() < 1e-4 * max(scale, 1), name
            x = y


def test_whole_generator_matches_reference(G):
    ws = _ws(G, n=2, seed=2)
    with torch.no_grad():
        img = G.synthesis(ws)
    ref = ref_synthesis(G.synthesis, ws)
    assert img.shape == (2, 3, G.img_resolution, G.img_resolution)
    assert img.std() > 1e-3  # not a blank image
    assert (img.double() - ref).abs().max().item() < 1e-4
    # batch members are independent (up to the epsilon of NVIDIA's batch-wide style normalisation)
    with torch.no_grad():
        one = G.synthesis(ws[1:])
    assert (one - img[1:]).abs().max().item() < 1e-5


def test_clamp_and_magnitude_ema_are_used():
    G = op.make_stylegan3_generator(variant="t", seed=3)
    ws = _ws(G, n=1)
    with torch.no_grad():
        base = G.synthesis(ws)
        ly = getattr(G.synthesis, G.synthesis.layer_names[2])
        ly.magnitude_ema.mul_(4)
        assert (G.synthesis(ws) - base).abs().max() > 1e-4
        ly.magnitude_ema.div_(4)
        for name in G.synthesis.layer_names:
            getattr(G.synthesis, name).conv_clamp = 0.05
        clamped = G.synthesis(ws)
        assert (clamped - base).abs().max() > 1e-4 and (clamped - ref_synthesis(G.synthesis, ws)).abs().max() < 1e-4


# --------------------------------------------------------------------------- blocks for the drag engine

def test_blocks_give_the_same_image_and_image_aligned_features(G):
    syn = G.synthesis
    ws = _ws(G, n=1, seed=4)
    with torch.no_grad():
        img, feats = syn(ws, return_features=True)
        x = out = None
        for i, (block, bw) in enumerate(zip(syn.blocks(), syn.block_ws(ws))):
            x, out = block(x, out, bw)
            assert x.shape[-1] == syn.block_resolutions[i]
            assert torch.equal(x, feats[i])
            if i == 2:
                x = x.detach()  # a detached view still finds its margin
    assert torch.equal(out, img)
    assert len(syn.blocks()) == G.num_ws and sum(b.num_conv + b.num_torgb for b in syn.blocks()) == G.num_ws - 1
    fb = syn.default_feature_block()
    assert 1 <= fb < len(syn.blocks()) - 1 and not syn.blocks()[fb].layer.is_critically_sampled
    assert syn.supports_low_res_preview is False
    with pytest.raises(ValueError, match="margin"):
        syn.blocks()[fb + 1].forward_features(feats[fb].clone(), ws[:, :1])


def test_default_feature_layer_of_nvidias_networks():
    """L5 for the 14-layer release networks: what DragGAN's code uses, at 128 px for 1024 px."""
    inp, layers = sg3.layer_specs(1024, 3)
    syn = sg3.SynthesisNetwork.__new__(sg3.SynthesisNetwork)  # only the index rule, no weights
    syn.num_layers, syn.num_critical = len(layers) - 1, 2
    fb = sg3.SynthesisNetwork.default_feature_block(syn)
    assert fb == 6 and layers[fb - 1]["out_sampling_rate"] == 128


def test_gradient_through_cropped_features_matches_direct_path(G):
    syn = G.synthesis
    ws = _ws(G, n=1, seed=5)
    fb = syn.default_feature_block()
    probe = torch.randn(1, syn.channels[fb + 1], syn.block_resolutions[fb + 1], syn.block_resolutions[fb + 1])

    w1 = ws.clone().requires_grad_(True)
    x = None
    for block, bw in list(zip(syn.blocks(), syn.block_ws(w1)))[:fb + 2]:
        x = block.forward_features(x, bw)
    (x * probe).sum().backward()

    w2 = ws.clone().requires_grad_(True)
    _, feats = syn(w2, return_features=True)
    (feats[fb + 1] * probe).sum().backward()
    assert w1.grad.abs().max() > 0
    assert torch.allclose(w1.grad, w2.grad, atol=1e-6, rtol=1e-4)


# --------------------------------------------------------------------------- files

def test_official_pickle_loads_to_the_same_images(G, tmp_path):
    path = op.write_stylegan3_official_pickle(G, tmp_path / "stylegan3-tiny.pkl")
    assert not any(m.split(".")[0] in ("torch_utils", "dnnlib") for m in sys.modules)
    G2 = load_generator(path)
    assert isinstance(G2, sg3.Generator) and G2.source_info["network"] == "G_ema"
    assert G2.config == G.config
    assert not G2.training and not any(p.requires_grad for p in G2.parameters())
    ws = _ws(G, n=2)
    with torch.no_grad():
        assert torch.equal(G2.synthesis(ws), G.synthesis(ws))
    for name, buf in G.named_buffers():  # filters come from the file
        assert torch.equal(dict(G2.named_buffers())[name], buf), name
    info = inspect_model(path)
    variant = "stylegan3-r" if G.synthesis.layer_specs[0]["conv_kernel"] == 1 else "stylegan3-t"
    assert (info["family"], info["supported"], info["format"], info["architecture"]) == \
        ("stylegan3", True, "nvidia-pickle", variant)
    assert (info["resolution"], info["z_dim"], info["w_dim"], info["c_dim"], info["num_ws"]) == (32, 32, 32, 0, 8)
    assert info["params"] == sum(p.numel() for p in G.parameters())
    assert info["feature_layer"] == G.synthesis.layer_names[G.synthesis.default_feature_block() - 1]
    json.dumps(info)  # `dragedit info --json` must be able to print it


def test_conditional_official_pickle(tmp_path):
    G = op.make_stylegan3_generator(c_dim=3, seed=6)
    G2 = load_generator(op.write_stylegan3_official_pickle(G, tmp_path / "c.pkl", protocol=2))
    z = torch.randn(3, G.z_dim)
    c = torch.eye(3)
    with torch.no_grad():
        assert torch.equal(G2(z, c, truncation_psi=0.5), G(z, c, truncation_psi=0.5))


def test_module_src_is_never_run_and_init_kwargs_are_ignored(tmp_path):
    marker = tmp_path / "EXECUTED"
    G = op.make_stylegan3_generator(seed=7)

    def plant(data):
        for rec in op._walk(data["G_ema"]):
            rec.module_src = op.marker_source(marker)

    G2 = load_generator(op.write_stylegan3_official_pickle(G, tmp_path / "src.pkl", mutate=plant))
    assert not marker.exists()
    assert G2.config == G.config  # the records' _init_kwargs say 14 layers, 512 channels


def test_broken_stylegan3_pickles_give_clear_errors(tmp_path):
    G = op.make_stylegan3_generator(seed=8)

    def drop_filter(data):
        layer = data["G_ema"].state["_modules"]["synthesis"].state["_modules"][G.synthesis.layer_names[1]]
        layer.state["_buffers"]["up_filter"] = torch.ones(5)

    path = op.write_stylegan3_official_pickle(G, tmp_path / "bad.pkl", mutate=drop_filter)
    with pytest.raises(ModelFileError, match=r"bad\.pkl.*up_filter"):
        load_generator(path)
    path = op.write_stylegan3_pickle(tmp_path / "incomplete.pkl")
    with pytest.raises(ModelFileError, match=r"incomplete\.pkl: a StyleGAN3 network this loader cannot read"):
        load_generator(path)
    info = inspect_model(path)
    assert info["family"] == "stylegan3" and info["supported"] is False and "cannot read" in info["error"]


def test_own_format_round_trip(G, tmp_path):
    path = save_generator(G, tmp_path / "sg3.pt", note="pti")
    G2 = load_generator(path)
    assert isinstance(G2, sg3.Generator) and G2.config == G.config and G2.config["family"] == "stylegan3"
    ws = _ws(G)
    with torch.no_grad():
        assert torch.equal(G2.synthesis(ws), G.synthesis(ws))
    info = inspect_model(path)
    assert info["family"] == "stylegan3" and info["format"] == "dragedit"
    # official pickle -> our format -> same images
    G3 = load_generator(save_generator(load_generator(op.write_stylegan3_official_pickle(G, tmp_path / "a.pkl")),
                                       tmp_path / "a.pt"))
    with torch.no_grad():
        assert torch.equal(G3.synthesis(ws), G.synthesis(ws))


def test_pti_output_of_a_stylegan3_model_round_trips(tmp_path):
    from dragedit.imaging import to_uint8
    from dragedit.edit.inversion import invert
    G = op.make_stylegan3_generator(seed=11)
    with torch.no_grad():
        target = to_uint8(G.synthesis(_ws(G, n=1, seed=12)))
    res = invert(G, target, steps=2, pti_steps=2)
    assert isinstance(res.G, sg3.Generator)
    path = save_generator(res.G, tmp_path / "pti.pt", latent=res.ws)
    G2 = load_generator(path)
    with torch.no_grad():
        assert torch.equal(G2.synthesis(res.ws), res.G.synthesis(res.ws))


# --------------------------------------------------------------------------- drag editing

def test_drag_session_runs_on_stylegan3():
    G = op.make_stylegan3_generator(seed=9)
    s = DragSession(G, seed=1, params=DragParams(preview="low"))  # no low-res preview exists: full frames
    s.add_pair((12.0, 16.0), (20.0, 16.0))
    opts = s.options()
    assert opts["feature_block"] == G.synthesis.default_feature_block()
    assert opts["feature_block_resolution"] == G.synthesis.block_resolutions[opts["feature_block"]]
    before = s.render()
    results = [s.step() for _ in range(4)]
    for r in results:
        assert r.frame.shape == (32, 32, 3) and r.frame.dtype == np.uint8
        assert math.isfinite(r.loss) and not r.low_res
    assert results[0].loss > 0
    assert not torch.equal(s.ws, s.ws_initial)  # the latent moved
    assert np.abs(s.render().astype(int) - before.astype(int)).max() > 0
    with torch.no_grad():  # the frame of a step is the full image of the latent that step used
        expected = s._frame(G.synthesis(s.history[-1]["ws"]))
    assert np.abs(results[-1].frame.astype(int) - expected.astype(int)).max() <= 1


def test_cli_edit_accepts_a_stylegan3_pickle(tmp_path, capsys):
    G = op.make_stylegan3_generator(seed=10)
    path = op.write_stylegan3_official_pickle(G, tmp_path / "tiny_sg3.pkl")
    rc = main(["edit", "--model", str(path), "--seed", "1", "--pair", "12,16:18,16", "--steps", "3",
               "--json", str(tmp_path / "r.json"), "--out", str(tmp_path / "out.png"), "--quiet"])
    assert rc == 0, capsys.readouterr().err
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["iterations"] == 3 and report["targets"] == [[18.0, 16.0]]
    assert (tmp_path / "out.png").is_file()
    capsys.readouterr()
    assert main(["info", str(path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["family"], info["supported"], info["resolution"]) == ("stylegan3", True, 32)
