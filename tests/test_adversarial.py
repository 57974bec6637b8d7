"""The adversarial fine-tune of the default model and the metrics that judge it."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dragedit.errors import DragEditError
from dragedit.io.checkpoint import load_generator
from dragedit.synth import faces
from dragedit.synth.discriminator import PatchDiscriminator, d_loss, r1_penalty
from dragedit.synth.model_eval import high_frequency_energy
from dragedit.synth.train_adversarial import train_adversarial
from dragedit.synth.train_generator import build_generator, images_to_tensor

TINY = dict(w_dim=32, img_resolution=128, img_channels=3, mapping_kwargs=dict(num_layers=2),
            synthesis_kwargs=dict(channel_base=256, channel_max=16, use_noise=False))


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A tiny regression checkpoint in the trainer's format and 40 renders to fine-tune on."""
    root = tmp_path_factory.mktemp("adv")
    faces.render_dataset(40, seed=5, path=root / "data" / "chunk.npz")
    torch.manual_seed(0)
    G = build_generator(faces.NUM_FACTORS, TINY)
    opt = torch.optim.Adam(G.parameters(), lr=1e-3, betas=(0.9, 0.99))
    torch.save(dict(G=G.state_dict(), G_ema=G.state_dict(), opt=opt.state_dict(), step=7, history=[],
                    config=G.config), root / "regression.pt")
    return root


@pytest.mark.slow
def test_fine_tune_checkpoints_resumes_and_exports(setup, tmp_path):
    out = tmp_path / "run"
    kw = dict(resume_from=setup / "regression.pt", export=tmp_path / "g.pt", threads=1, heldout=8,
              eval_every=1000, ckpt_every=1)
    train_adversarial(setup / "data", out, steps=2, adv_weight=0.3, **kw)
    ck = torch.load(out / "checkpoint.pt", weights_only=True)
    assert ck["adv_step"] == 2 and ck["step"] == 7, "the regression step is kept, adversarial steps counted apart"
    assert {"D", "opt_D", "opt"} <= set(ck)
    moments = [v for s in ck["opt"]["state"].values() for k, v in s.items() if k.startswith("exp_avg")]
    assert moments and all(m.dtype == torch.bfloat16 for m in moments), "optimiser moments stored compactly"
    assert ck["adv_history"][-1]["adv_step"] == 2 and "hf_ratio" in ck["adv_history"][-1]
    G = load_generator(tmp_path / "g.pt")
    assert G.img_resolution == 128

    # Resume from its own checkpoint (not the regression one) and continue to step 3.
    log = []

    class Log:
        def write(self, s):
            log.append(s)

        def flush(self):
            pass
    train_adversarial(setup / "data", out, steps=3, log=Log(), **kw)
    assert "resumed adversarial run" in "".join(log)
    ck2 = torch.load(out / "checkpoint.pt", weights_only=True)
    assert ck2["adv_step"] == 3
    assert ck2["settings"]["adv_weight"] == 0.3, "a resume keeps the run's settings"
    assert [e["adv_step"] for e in ck2["schedule"]] == [0]
    train_adversarial(setup / "data", out, steps=4, adv_weight=0.5, log=Log(), **kw)
    ck3 = torch.load(out / "checkpoint.pt", weights_only=True)
    assert [(e["adv_step"], e["settings"]["adv_weight"]) for e in ck3["schedule"]] == [(0, 0.3), (3, 0.5)]
    assert not torch.equal(ck2["D"]["from_rgb.weight"], ck["D"]["from_rgb.weight"]), "D kept training"


def test_missing_regression_checkpoint_is_a_clear_error(setup, tmp_path):
    with pytest.raises(DragEditError, match="nope.pt is missing"):
        train_adversarial(setup / "data", tmp_path / "run", steps=1, resume_from=tmp_path / "nope.pt")


@pytest.mark.slow
def test_discriminator_tells_sharp_from_blurred_after_a_few_steps():
    torch.manual_seed(0)
    real = images_to_tensor(faces.render_batch(faces.random_factors(8, seed=3))[0])
    blurred = F.avg_pool2d(F.interpolate(real, scale_factor=0.5, mode="bilinear"), 1)
    blurred = F.interpolate(blurred, size=real.shape[-2:], mode="bilinear")
    D = PatchDiscriminator(128)
    assert D(real).shape == (8, 1, 8, 8)
    opt = torch.optim.Adam(D.parameters(), lr=1e-3, betas=(0.5, 0.99))
    first = d_loss(D, real, blurred).item()
    for _ in range(150):
        loss = d_loss(D, real, blurred)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert d_loss(D, real, blurred).item() < 0.5 * first
    assert r1_penalty(D, real).item() >= 0


def test_high_frequency_energy_falls_with_blur():
    img = images_to_tensor(faces.render_batch(faces.random_factors(2, seed=9))[0])
    soft = F.interpolate(F.avg_pool2d(img, 2), scale_factor=2, mode="bilinear")
    sharp_e, soft_e = high_frequency_energy(img), high_frequency_energy(soft)
    assert (soft_e < 0.6 * sharp_e).all()
    assert np.allclose(high_frequency_energy(torch.zeros(1, 3, 16, 16)).numpy(), 0)


def test_local_detail_measures_detail_per_patch():
    from dragedit.synth.train_adversarial import local_detail
    img = images_to_tensor(faces.render_batch(faces.random_factors(1, seed=4))[0])
    soft = F.interpolate(F.avg_pool2d(img, 2), scale_factor=2, mode="bilinear")
    d_sharp, d_soft = local_detail(img, 8), local_detail(soft, 8)
    assert d_sharp.shape == (1, 3, 16, 16)
    assert d_soft.mean() < 0.7 * d_sharp.mean()
    flat = torch.zeros(1, 3, 32, 32)
    assert local_detail(flat, 8).max() < 1e-3
