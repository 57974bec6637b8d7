"""The shipped model as a user meets it: it loads, its faces have landmarks where faces have them,
and a drag moves a feature to where the user asked while the rest of the picture stays."""
import numpy as np
import pytest
import torch

import dragedit
from dragedit.edit.drag import DragParams, DragSession
from dragedit.models import DEFAULT_DETECTOR, DEFAULT_GENERATOR
from dragedit.synth import faces
from dragedit.synth.landmarks import detect, load_detector

L = faces.LANDMARK_INDEX


@pytest.fixture(scope="module")
def G():
    return dragedit.load_generator(DEFAULT_GENERATOR)


@pytest.fixture(scope="module")
def detector():
    return load_detector(DEFAULT_DETECTOR)


def test_default_model_is_small_and_128px(G):
    assert G.img_resolution == 128 and G.z_dim == faces.NUM_FACTORS
    assert DEFAULT_GENERATOR.stat().st_size < 30 * 2 ** 20


def test_samples_have_plausible_landmarks(G, detector):
    imgs = np.stack([DragSession(G, seed=s).render() for s in range(8)])
    lm = detect(imgs, detector)
    assert lm.shape == (8, faces.NUM_LANDMARKS, 2)
    assert (lm > -1).all() and (lm < 128).all()
    for p in lm:
        assert p[L["l_pupil"], 0] < p[L["r_pupil"], 0]                       # left eye on the left
        assert p[L["l_pupil"], 1] < p[L["nose_tip"], 1] < p[L["upper_lip"], 1]  # eyes, nose, mouth
        assert p[L["upper_lip"], 1] < p[L["chin"], 1]
        assert p[L["mouth_left"], 0] < p[L["mouth_right"], 0]


def test_model_matches_the_renderer_on_held_out_factors(G):
    f = faces.random_factors(12, seed=99)
    target = torch.from_numpy(faces.render_batch(f)[0]).permute(0, 3, 1, 2).float() / 127.5 - 1
    z = np.sqrt(2) * torch.erfinv(2 * torch.from_numpy(f).clamp(1e-4, 1 - 1e-4) - 1)
    with torch.no_grad():
        img = G(z).clamp(-1, 1)
    mse = ((img - target) / 2).square().mean(dim=[1, 2, 3])
    psnr = float((-10 * torch.log10(mse)).mean())
    print(f"held-out PSNR against the renderer: {psnr:.2f} dB")
    assert psnr > 20


def test_drag_moves_a_feature_12px_and_the_detector_agrees(G, detector):
    s = DragSession(G, seed=7)
    start = s.render()
    lm0 = detect(start, detector)
    handle = lm0[L["nose_tip"]]
    target = handle + np.array([12.0, 0.0])
    s.add_pair(tuple(handle), tuple(target))
    last = None
    for last in s.run(150):
        pass
    assert last.reached, f"handle stopped at {last.handles[0]} ({last.distances[0]:.1f} px away)"
    assert last.distances[0] <= 2.0
    found = detect(s.render(), detector)[L["nose_tip"]]
    before = np.linalg.norm(handle - target)
    after = np.linalg.norm(found - target)
    print(f"detected nose tip: {before:.1f} px -> {after:.1f} px from the target")
    assert after < before / 2


@pytest.mark.slow
def test_fixed_mask_keeps_the_rest_of_the_image(G, detector):
    s = DragSession(G, seed=11, params=DragParams())
    start = s.render()
    lm0 = detect(start, detector)
    mouth = lm0[L["mouth_right"]]
    target = mouth + np.array([0.0, 8.0])
    s.add_pair(tuple(mouth), tuple(target))
    editable = np.zeros((128, 128), bool)
    cx, cy = int(mouth[0]), int(mouth[1])
    editable[max(cy - 24, 0):cy + 28, max(cx - 28, 0):cx + 24] = True
    s.set_mask(editable, "flexible")
    for _ in s.run(100):
        pass
    final = s.render()
    keep = ~editable
    mse = ((final.astype(float) - start.astype(float)) ** 2)[keep].mean()
    psnr = 10 * np.log10(255 ** 2 / max(mse, 1e-10))
    print(f"PSNR outside the editable area: {psnr:.1f} dB")
    assert psnr >= 30


def test_restore_after_a_real_edit_is_exact(G):
    s = DragSession(G, seed=2)
    first = s.render()
    snap = s.snapshot()
    s.add_pair((60, 70), (70, 70))
    for _ in s.run(10):
        pass
    s.restore(snap)
    assert np.array_equal(s.render(), first)
