"""The generator's ops and the whole synthesis network against plain references written here.

The references follow NVIDIA's generic (slow) code paths: upsampling by zero
insertion, padding and a full 2-D filter; up-convs as upfirdn2d followed by an
ordinary conv; modulated conv as a loop over samples with explicit per-sample
weights. Our fast paths (separable FIR, transposed conv, grouped or
activation-scaled modconv) must agree with them.
"""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dragedit.nets import ops
from dragedit.nets.stylegan2 import Generator



def ref_upfirdn2d(x, f, up=1, down=1, pad=(0, 0, 0, 0), gain=1.0):
    """Zero insertion, pad/crop, true convolution with the full 2-D filter, decimation."""
    n, c, h, w = x.shape
    if up > 1:
        z = torch.zeros(n, c, h * up, w * up, dtype=x.dtype)
        z[:, :, ::up, ::up] = x
        x = z
    x0, x1, y0, y1 = pad
    x = F.pad(x, [max(x0, 0), max(x1, 0), max(y0, 0), max(y1, 0)])
    x = x[:, :, max(-y0, 0): x.shape[2] - max(-y1, 0), max(-x0, 0): x.shape[3] - max(-x1, 0)]
    k = (f * gain).flip([0, 1])  # conv2d correlates: flip for a true convolution
    out = torch.zeros(n, c, x.shape[2] - k.shape[0] + 1, x.shape[3] - k.shape[1] + 1, dtype=x.dtype)
    for a in range(k.shape[0]):
        for b in range(k.shape[1]):
            out += k[a, b] * x[:, :, a:a + out.shape[2], b:b + out.shape[3]]
    return out[:, :, ::down, ::down]


def ref_conv_up2(x, w, f, padding=1):
    """NVIDIA's generic up-conv: upfirdn2d (up=2) then a plain conv with the flipped weight."""
    fw = f.shape[-1]
    p0 = padding + (fw + 1) // 2
    p1 = padding + (fw - 2) // 2
    x = ref_upfirdn2d(x, f, up=2, pad=(p0, p1, p0, p1), gain=4)
    return F.conv2d(x, w.flip([2, 3]))


def ref_modconv(x, weight, styles, up=1, f=None, demodulate=True):
    """Loop over samples with explicit per-sample modulated (and demodulated) weights."""
    outs = []
    for i in range(x.shape[0]):
        w = weight * styles[i].reshape(1, -1, 1, 1)
        if demodulate:
            w = w / (w.square().sum(dim=[1, 2, 3], keepdim=True) + 1e-8).sqrt()
        xi = x[i:i + 1]
        if up == 2:
            outs.append(ref_conv_up2(xi, w, f, padding=weight.shape[-1] // 2))
        else:
            outs.append(F.conv2d(xi, w, padding=weight.shape[-1] // 2))
    return torch.cat(outs)


def rel_err(a, b):
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-12))


@pytest.mark.parametrize("up,down,pad", [(1, 1, (1, 2, 0, 3)), (2, 1, (2, 1, 2, 1)), (1, 2, (1, 1, 1, 1)),
                                         (2, 1, (-1, 3, 0, -2))])
@pytest.mark.parametrize("separable", [True, False])
def test_upfirdn2d_matches_zero_insertion_reference(up, down, pad, separable):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 9, 11, generator=g, dtype=torch.float64)
    f = ops.setup_filter([1, 3, 3, 1]).double() if separable else torch.rand(4, 3, generator=g).double()
    got = ops.upfirdn2d(x, f, up=up, down=down, padding=list(pad), gain=1.7)
    ref = ref_upfirdn2d(x, f, up=up, down=down, pad=pad, gain=1.7)
    assert got.shape == ref.shape
    assert rel_err(got, ref) < 1e-10


def test_setup_filter_is_normalised_outer_product():
    f = ops.setup_filter([1, 3, 3, 1])
    assert f.shape == (4, 4)
    assert torch.allclose(f, torch.outer(torch.tensor([1., 3, 3, 1]), torch.tensor([1., 3, 3, 1])) / 64)


@pytest.mark.parametrize("kernel", [1, 3])
def test_upsampling_conv_matches_generic_path(kernel):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 5, 8, 8, generator=g, dtype=torch.float64)
    w = torch.randn(4, 5, kernel, kernel, generator=g, dtype=torch.float64)
    f = ops.setup_filter([1, 3, 3, 1]).double()
    got = ops.conv2d_resample(x, w, f=f, up=2, padding=kernel // 2, flip_weight=False)
    ref = ref_conv_up2(x, w, f, padding=kernel // 2)
    assert got.shape == (2, 4, 16, 16)
    assert rel_err(got, ref) < 1e-10


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("up", [1, 2])
@pytest.mark.parametrize("batch", [1, 3])
def test_modulated_conv_matches_per_sample_loop(fused, up, batch):
    g = torch.Generator().manual_seed(2)
    x = torch.randn(batch, 6, 8, 8, generator=g, dtype=torch.float64)
    weight = torch.randn(5, 6, 3, 3, generator=g, dtype=torch.float64)
    styles = torch.randn(batch, 6, generator=g, dtype=torch.float64) + 1
    f = ops.setup_filter([1, 3, 3, 1]).double()
    got = ops.modulated_conv2d(x, weight, styles, up=up, padding=1, resample_filter=f,
                               flip_weight=(up == 1), fused_modconv=fused)
    ref = ref_modconv(x, weight, styles, up=up, f=f)
    assert rel_err(got, ref) < 1e-10


def test_bias_act_lrelu_gain_and_clamp():
    x = torch.tensor([[-2.0, 0.5, 300.0]])
    y = ops.bias_act(x, torch.ones(3), act="lrelu", clamp=256)
    expected = torch.tensor([[-0.2 * math.sqrt(2), 1.5 * math.sqrt(2), 256.0]])
    assert torch.allclose(y, expected)


def ref_synthesis(G, ws):
    """The whole synthesis network from G's parameters, with the reference ops above."""
    syn = G.synthesis
    x = img = None
    idx = 0
    ws = ws.double()
    P = {k: v.double() for k, v in G.state_dict().items()}

    def fc(prefix, w):
        weight = P[prefix + ".weight"] / math.sqrt(w.shape[1])
        return w @ weight.t() + P[prefix + ".bias"]

    def layer(prefix, x, w, up, gain=1.0):
        styles = fc(prefix + ".affine", w)
        y = ref_modconv(x, P[prefix + ".weight"], styles, up=up, f=P[prefix + ".resample_filter"])
        if prefix + ".noise_const" in P:
            y = y + P[prefix + ".noise_const"] * P[prefix + ".noise_strength"]
        y = F.leaky_relu(y + P[prefix + ".bias"].reshape(1, -1, 1, 1), 0.2) * math.sqrt(2) * gain
        clamp = syn.b4.conv1.conv_clamp
        return y.clamp(-clamp * gain, clamp * gain) if clamp is not None else y

    for res in syn.block_resolutions:
        b = f"synthesis.b{res}"
        block = getattr(syn, f"b{res}")
        if res == 4:
            x = P[b + ".const"].unsqueeze(0).repeat(ws.shape[0], 1, 1, 1)
            x = layer(b + ".conv1", x, ws[:, idx], up=1)
            used = 1
        elif block.architecture == "resnet":
            skip_w = P[b + ".skip.weight"] / math.sqrt(P[b + ".skip.weight"].shape[1])
            y = ref_conv_up2(x, skip_w, P[b + ".resample_filter"], padding=0) * math.sqrt(0.5)
            x = layer(b + ".conv0", x, ws[:, idx], up=2)
            x = layer(b + ".conv1", x, ws[:, idx + 1], up=1, gain=math.sqrt(0.5))
            x = x + y
            used = 2
        else:
            x = layer(b + ".conv0", x, ws[:, idx], up=2)
            x = layer(b + ".conv1", x, ws[:, idx + 1], up=1)
            used = 2
        f = P[b + ".resample_filter"]
        if img is not None:
            img = ref_upfirdn2d(img, f, up=2, pad=(2, 1, 2, 1), gain=4)
        if block.is_last or block.architecture == "skip":
            wt = ws[:, idx + used]
            styles = fc(b + ".torgb.affine", wt) / math.sqrt(P[b + ".torgb.weight"].shape[1])
            y = ref_modconv(x, P[b + ".torgb.weight"], styles, demodulate=False)
            y = y + P[b + ".torgb.bias"].reshape(1, -1, 1, 1)
            clamp = block.torgb.conv_clamp
            y = y.clamp(-clamp, clamp) if clamp is not None else y
            img = y if img is None else img + y
        idx += used
    return img


@pytest.mark.parametrize("architecture", ["skip", "resnet"])
def test_generator_matches_reference_synthesis(architecture):
    torch.manual_seed(3)
    G = Generator(16, 0, 16, 32, 3, mapping_kwargs=dict(num_layers=2),
                  synthesis_kwargs=dict(channels={4: 16, 8: 16, 16: 8, 32: 8},
                                        architecture=architecture, conv_clamp=4)).eval()
    with torch.no_grad():
        for m in G.modules():
            if hasattr(m, "noise_strength"):
                m.noise_strength.fill_(0.3)
        ws = G.mapping(torch.randn(2, 16), None, truncation_psi=0.8)
        ws = ws + 0.3 * torch.randn_like(ws)  # distinct ws per layer, as in W+
        got = G.synthesis(ws, noise_mode="const")
        got_unfused = G.synthesis(ws, noise_mode="const", fused_modconv=False)
    ref = ref_synthesis(G, ws)
    assert got.shape == (2, 3, 32, 32)
    assert float((got.double() - ref).abs().max()) < 1e-4
    assert float((got_unfused.double() - ref).abs().max()) < 1e-4


def test_mapping_truncation_and_cutoff():
    torch.manual_seed(4)
    G = Generator(8, 0, 8, 16, 3, synthesis_kwargs=dict(channels={4: 8, 8: 8, 16: 8}))
    G.mapping.w_avg.normal_()
    z = torch.randn(3, 8)
    full = G.mapping(z, None)
    assert full.shape == (3, G.num_ws, 8)
    half = G.mapping(z, None, truncation_psi=0.5)
    assert torch.allclose(half, G.mapping.w_avg + 0.5 * (full - G.mapping.w_avg), atol=1e-6)
    cut = G.mapping(z, None, truncation_psi=0.5, truncation_cutoff=2)
    assert torch.allclose(cut[:, :2], half[:, :2]) and torch.allclose(cut[:, 2:], full[:, 2:])


def test_conditional_generator_needs_label():
    G = Generator(8, 4, 8, 16, 3, synthesis_kwargs=dict(channels={4: 8, 8: 8, 16: 8}))
    c = torch.eye(4)[:2]
    out = G(torch.randn(2, 8), c)
    assert out.shape == (2, 3, 16, 16) and torch.isfinite(out).all()
    with pytest.raises(ValueError, match="label"):
        G(torch.randn(2, 8), None)


def test_noise_modes_differ_as_expected():
    torch.manual_seed(5)
    G = Generator(8, 0, 8, 16, 3, synthesis_kwargs=dict(channels={4: 8, 8: 8, 16: 8}))
    for m in G.modules():
        if hasattr(m, "noise_strength"):
            m.noise_strength.data.fill_(1.0)
    ws = G.mapping(torch.randn(1, 8), None)
    with torch.no_grad():
        a, b = G.synthesis(ws, noise_mode="const"), G.synthesis(ws, noise_mode="const")
        r1, r2 = G.synthesis(ws, noise_mode="random"), G.synthesis(ws, noise_mode="random")
        n = G.synthesis(ws, noise_mode="none")
    assert torch.equal(a, b)
    assert not torch.allclose(r1, r2)
    assert not torch.allclose(a, n)
    with pytest.raises(ValueError):
        G.synthesis(ws, noise_mode="loud")


def test_return_features_gives_each_block_output():
    G = Generator(8, 0, 8, 32, 3, synthesis_kwargs=dict(channels={4: 8, 8: 8, 16: 6, 32: 4}))
    ws = G.mapping(torch.randn(1, 8), None)
    img, feats = G.synthesis(ws, return_features=True)
    assert [tuple(f.shape) for f in feats] == [(1, 8, 4, 4), (1, 8, 8, 8), (1, 6, 16, 16), (1, 4, 32, 32)]
    assert torch.equal(img, G.synthesis(ws))
    assert np.isfinite(img.detach().numpy()).all()


def test_single_sample_path_backpropagates_with_conv_clamp():
    """Drag editing backpropagates batch-1 layers that clamp (official 512-px models use conv_clamp)."""
    G = Generator(8, 0, 8, 16, 3, synthesis_kwargs=dict(channels={4: 8, 8: 8, 16: 8}, conv_clamp=0.5))
    ws = G.mapping(torch.randn(1, 8), None).detach().requires_grad_(True)
    G.synthesis(ws).square().mean().backward()
    assert torch.isfinite(ws.grad).all() and ws.grad.abs().sum() > 0
