"""Function-preserving widening of the generator (`dragedit train --adversarial --widen`)."""
import pytest
import torch

from dragedit.cli import main
from dragedit.errors import DragEditError
from dragedit.io.checkpoint import load_generator, save_generator
from dragedit.synth import faces
from dragedit.synth.train_adversarial import train_adversarial
from dragedit.synth.train_generator import build_generator
from dragedit.synth.widen import parse_widen, widen_generators

SMALL = dict(z_dim=8, c_dim=0, w_dim=32, img_resolution=32, img_channels=3, mapping_kwargs=dict(num_layers=2),
             synthesis_kwargs=dict(channel_base=128, channel_max=16, use_noise=False))


def trained_like(seed):
    """A small generator whose weights are not at their initial values (biases, styles all moved)."""
    torch.manual_seed(seed)
    G = build_generator(8, SMALL)
    with torch.no_grad():
        for p in G.parameters():
            p.add_(0.2 * torch.randn_like(p))
    return G


def test_widened_generator_draws_the_same_images():
    G, G_ema = trained_like(0), trained_like(1).eval().requires_grad_(False)
    assert G.synthesis.channels == {4: 16, 8: 16, 16: 8, 32: 4}
    (W, W_ema), config, grown = widen_generators([G, G_ema], G.config, {16: 24, 32: 12})
    assert grown == {16: (8, 24), 32: (4, 12)}
    assert W.synthesis.channels == config["synthesis_kwargs"]["channels"] == {4: 16, 8: 16, 16: 24, 32: 12}
    z = torch.randn(4, 8)
    with torch.no_grad():
        for old, new in ((G, W), (G_ema, W_ema)):
            assert (old(z, fused_modconv=False) - new(z, fused_modconv=False)).abs().max() < 1e-5
            assert (old(z[:1]) - new(z[:1])).abs().max() < 1e-5, "the batch-1 (drag) path too"
    new_rows = W.synthesis.b32.conv1.weight[4:]
    assert torch.equal(new_rows, W_ema.synthesis.b32.conv1.weight[4:]), "G and G_ema get the same new weights"
    assert new_rows.abs().sum() > 0 and torch.all(W.synthesis.b32.conv1.weight[:4, 4:] == 0)
    assert torch.all(W.synthesis.b32.conv1.affine.bias[4:] == 1), "new styles start like a fresh layer's"
    assert not W_ema.training and not any(p.requires_grad for p in W_ema.parameters())


def test_widening_to_the_current_width_changes_nothing():
    G = trained_like(0)
    (W,), config, grown = widen_generators([G], G.config, {32: 4})
    assert W is G and not grown and config == G.config


def test_widened_model_file_loads_with_its_channels(tmp_path):
    G = trained_like(2)
    (W,), _, _ = widen_generators([G], G.config, {32: 12})
    save_generator(W, tmp_path / "wide.pt")
    back = load_generator(tmp_path / "wide.pt")
    assert back.synthesis.channels[32] == 12
    z = torch.randn(2, 8)
    with torch.no_grad():
        assert (back(z, fused_modconv=False) - G(z, fused_modconv=False)).abs().max() < 1e-5


@pytest.mark.parametrize("text, message", [
    ("128", "'128' is not RESOLUTION:CHANNELS"),
    ("128:x", "'128:x' is not RESOLUTION:CHANNELS"),
    ("128:64,128:96", "resolution 128 named twice"),
    ("128:0", "channel count 0 must be positive"),
])
def test_malformed_widen_is_a_clear_error(text, message):
    with pytest.raises(DragEditError, match=message):
        parse_widen(text)


@pytest.mark.parametrize("widths, message", [
    ({32: 2}, "--widen 32:2: the 32-px block has 4 channels; widening cannot shrink it"),
    ({64: 16}, "--widen 64:16: the model has no 64-px block"),
])
def test_impossible_widening_names_the_value(widths, message):
    G = trained_like(0)
    with pytest.raises(DragEditError, match=message):
        widen_generators([G], G.config, widths)


def test_cli_refuses_a_bad_widen_before_rendering(tmp_path, capsys):
    data = tmp_path / "never.npz"
    rc = main(["train", "--adversarial", "--data", str(data), "--widen", "128-64", "--threads", "1"])
    err = capsys.readouterr().err
    assert rc == 2 and "'128-64' is not RESOLUTION:CHANNELS" in err and "Traceback" not in err
    assert not data.exists()


@pytest.mark.slow
def test_widened_run_checkpoints_the_wide_generator(tmp_path):
    tiny = dict(SMALL, z_dim=faces.NUM_FACTORS, img_resolution=128,
                synthesis_kwargs=dict(channel_base=256, channel_max=16, use_noise=False))
    faces.render_dataset(12, seed=5, path=tmp_path / "data.npz")
    torch.manual_seed(0)
    G = build_generator(faces.NUM_FACTORS, tiny)
    opt = torch.optim.Adam(G.parameters())
    G(torch.randn(2, faces.NUM_FACTORS), fused_modconv=False).square().mean().backward()
    opt.step()   # every tensor has Adam state at step 1
    torch.save(dict(G=G.state_dict(), G_ema=G.state_dict(), opt=opt.state_dict(), step=3, history=[],
                    config=G.config), tmp_path / "regression.pt")
    out = tmp_path / "run"
    kw = dict(resume_from=tmp_path / "regression.pt", threads=1, heldout=4, eval_every=1000, ckpt_every=1)
    train_adversarial(tmp_path / "data.npz", out, steps=1, widen="128:8", **kw)
    ck = torch.load(out / "checkpoint.pt", weights_only=True)
    assert ck["config"]["synthesis_kwargs"]["channels"][128] == 8
    assert ck["G"]["synthesis.b128.conv1.weight"].shape[:2] == (8, 8)
    assert ck["schedule"][-1]["widened"] == {128: [2, 8]}
    names = [n for n, _ in G.named_parameters()]
    adam_step = {names[i]: float(st["step"]) for i, st in ck["opt"]["state"].items()}
    assert adam_step["synthesis.b128.conv1.weight"] == 1, "a widened tensor's Adam state starts afresh"
    assert adam_step["synthesis.b64.conv1.weight"] == 2, "an unchanged tensor's Adam state is kept"
    # A resume that repeats --widen builds the wide generator from the checkpoint and grows nothing.
    train_adversarial(tmp_path / "data.npz", out, steps=2, widen="128:8", **kw)
    ck2 = torch.load(out / "checkpoint.pt", weights_only=True)
    assert ck2["adv_step"] == 2 and len(ck2["schedule"]) == len(ck["schedule"])
