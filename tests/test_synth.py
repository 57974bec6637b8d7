"""Tests for the synthetic face renderer and the landmark detector.

The renderer is both training data and ground truth for drag edits, so the
tests pin down what matters downstream: determinism, landmarks sitting on the
features they name, factors moving geometry the right way, and the detector's
accuracy on fresh renders.
"""
import numpy as np
import pytest
import torch

from dragedit.synth import faces
from dragedit.synth.faces import FACTOR_INDEX, LANDMARK_INDEX, render



def _with(f, **kw):
    f = np.array(f, np.float32)
    for k, v in kw.items():
        f[FACTOR_INDEX[k]] = v
    return f


def _lm(f, name):
    return faces.landmarks_of(f)[LANDMARK_INDEX[name]]


def test_names_and_counts():
    assert len(faces.FACTOR_NAMES) == faces.NUM_FACTORS and 25 <= faces.NUM_FACTORS <= 32
    assert len(set(faces.LANDMARK_NAMES)) == faces.NUM_LANDMARKS
    flip = faces.LANDMARK_FLIP
    assert all(flip[flip[i]] == i for i in range(faces.NUM_LANDMARKS))
    assert faces.LANDMARK_NAMES[flip[LANDMARK_INDEX["l_pupil"]]] == "r_pupil"
    assert faces.LANDMARK_NAMES[flip[LANDMARK_INDEX["mouth_left"]]] == "mouth_right"


def test_deterministic_bytes():
    f = faces.random_factors(2, seed=11)
    a, la = render(f[0])
    b, lb = render(f[0].copy())
    assert a.dtype == np.uint8 and a.shape == (128, 128, 3)
    assert a.tobytes() == b.tobytes() and la.tobytes() == lb.tobytes()
    imgs, lms = faces.render_batch(f)
    assert imgs[0].tobytes() == a.tobytes()
    assert lms.shape == (2, faces.NUM_LANDMARKS, 2) and lms.dtype == np.float32
    assert not np.array_equal(imgs[0], imgs[1])


def test_random_factors_seeded_uniform():
    a = faces.random_factors(500, seed=3)
    assert a.shape == (500, faces.NUM_FACTORS) and a.dtype == np.float32
    assert np.array_equal(a, faces.random_factors(500, seed=3))
    assert 0 <= a.min() and a.max() <= 1 and abs(a.mean() - 0.5) < 0.02


def test_pupil_landmarks_are_dark_and_nose_tip_on_skin():
    fs = faces.random_factors(10, seed=5)
    for f in fs:
        img, lm = render(f)
        g = faces.FaceGeometry(f)
        for name in ("l_pupil", "r_pupil"):
            x, y = np.round(lm[LANDMARK_INDEX[name]]).astype(int)
            assert img[y, x].astype(float).mean() < 100, (name, img[y, x])
        x, y = lm[LANDMARK_INDEX["nose_tip"]]
        # inside the drawn face outline (same implicit function) ...
        xr, yr = g.to_rot((x + 0.5) * faces.CANVAS / 128, (y + 0.5) * faces.CANVAS / 128)
        assert g.head_sdf(np.float64(xr), np.float64(yr)) < -3.0
        # ... and the pixel there is skin coloured (the nose is shaded skin)
        pix = img[int(round(y)), int(round(x))] / 255.0
        assert np.abs(pix - g.skin).max() < 0.3, (pix, g.skin)


def test_outline_landmarks_lie_on_the_face_outline():
    """Cheek, jaw and chin points are zeros of the drawn head outline."""
    for f in faces.random_factors(5, seed=8):
        g = faces.FaceGeometry(f)
        lm = faces.landmarks_of(f)
        for name in ("chin", "l_jaw", "r_jaw", "l_cheek", "r_cheek"):
            x, y = lm[LANDMARK_INDEX[name]].astype(np.float64) + 0.5   # 128 px -> canvas units
            assert abs(g.head_sdf(*g.to_rot(x, y))) < 1e-3, name


def test_mouth_width_moves_corners_apart():
    base = faces.default_factors()
    narrow = faces.landmarks_of(_with(base, mouth_width=0.1))
    wide = faces.landmarks_of(_with(base, mouth_width=0.9))
    def w(lm):
        return lm[LANDMARK_INDEX["mouth_right"], 0] - lm[LANDMARK_INDEX["mouth_left"], 0]
    assert w(wide) > w(narrow) + 5.0
    # and the rendered image changes where the mouth is
    a, _ = render(_with(base, mouth_width=0.1))
    b, _ = render(_with(base, mouth_width=0.9))
    assert np.abs(a.astype(int) - b.astype(int)).sum() > 0


def test_gaze_moves_pupils():
    base = faces.default_factors()
    for name in ("l_pupil", "r_pupil"):
        left, right = _lm(_with(base, gaze_x=0.0), name), _lm(_with(base, gaze_x=1.0), name)
        assert right[0] - left[0] > 1.5
        up, down = _lm(_with(base, gaze_y=0.0), name), _lm(_with(base, gaze_y=1.0), name)
        assert down[1] - up[1] > 0.8
    # eye corners do not move with gaze
    a = _lm(_with(base, gaze_x=0.0), "l_eye_outer")
    b = _lm(_with(base, gaze_x=1.0), "l_eye_outer")
    assert np.allclose(a, b)


def test_yaw_moves_nose_tip_sideways_and_squashes_far_side():
    base = faces.default_factors()
    lm0 = faces.landmarks_of(_with(base, yaw=0.1))
    lm1 = faces.landmarks_of(_with(base, yaw=0.9))
    n0, n1 = lm0[LANDMARK_INDEX["nose_tip"]], lm1[LANDMARK_INDEX["nose_tip"]]
    assert n1[0] - n0[0] > 8.0 and abs(n1[1] - n0[1]) < 0.5
    def ew(lm, s):
        return abs(lm[LANDMARK_INDEX[f"{s}_eye_outer"], 0] - lm[LANDMARK_INDEX[f"{s}_eye_inner"], 0])
    # turned towards +x: the right (far) eye narrows, the left one widens
    assert ew(lm1, "r") < ew(lm1, "l")


def test_factors_move_geometry_continuously():
    """Small factor steps give small landmark steps (no discrete jumps)."""
    rng = np.random.default_rng(0)
    f = faces.random_factors(1, seed=21)[0]
    for i in rng.choice(faces.NUM_FACTORS, 8, replace=False):
        ts = np.linspace(0, 1, 21)
        lms = np.stack([faces.landmarks_of(_with(f, **{faces.FACTOR_NAMES[i]: t})) for t in ts])
        step = np.abs(np.diff(lms, axis=0)).max()
        assert step < 3.0, (faces.FACTOR_NAMES[i], step)


def test_landmarks_inside_image():
    fs = np.concatenate([faces.random_factors(60, seed=9),
                         np.zeros((1, faces.NUM_FACTORS), np.float32),
                         np.ones((1, faces.NUM_FACTORS), np.float32)])
    lm = faces.landmarks_of(fs)
    assert np.isfinite(lm).all()
    assert lm.min() >= 0.0 and lm.max() <= 127.0


def test_other_sizes_scale_landmarks():
    f = faces.random_factors(1, seed=2)[0]
    img, lm = render(f, size=64, supersample=2)
    assert img.shape == (64, 64, 3)
    lm128 = faces.landmarks_of(f, 128)
    assert np.allclose((lm + 0.5) * 2 - 0.5, lm128, atol=1e-4)


def test_factors_from_z_numpy_and_torch():
    z = np.random.default_rng(0).standard_normal((2000, faces.NUM_FACTORS)).astype(np.float32)
    u = faces.factors_from_z(z)
    assert u.shape == z.shape and 0 <= u.min() and u.max() <= 1
    assert abs(u.mean() - 0.5) < 0.02 and abs(u.std() - (1 / 12) ** 0.5) < 0.02
    ut = faces.factors_from_z(torch.from_numpy(z))
    assert isinstance(ut, torch.Tensor)
    assert np.allclose(ut.numpy(), u, atol=1e-5)
    assert float(faces.factors_from_z(np.array(0.0))) == pytest.approx(0.5)
    ext = faces.factors_from_z(np.array([-40.0, 40.0]))
    assert ext[0] >= 0 and ext[1] <= 1


def test_dataset_roundtrip(tmp_path):
    p = faces.render_dataset(3, seed=4, path=tmp_path / "d.npz")
    d = faces.load_dataset(p)
    assert d["images"].shape == (3, 128, 128, 3) and d["images"].dtype == np.uint8
    assert d["landmarks"].shape == (3, faces.NUM_LANDMARKS, 2)
    assert np.array_equal(d["factors"], faces.random_factors(3, seed=4))
    img, lm = render(d["factors"][1])
    assert np.array_equal(img, d["images"][1]) and np.allclose(lm, d["landmarks"][1])


def test_detector_roundtrip_format(tmp_path):
    from dragedit.synth import landmarks as L
    m = L.LandmarkDetector(width=12).eval()
    p = tmp_path / "det.pt"
    L.save_detector(m, p)
    obj = torch.load(p, weights_only=True)
    assert obj["format"] == "dragedit-landmarks" and obj["version"] == 1
    m2 = L.load_detector(p)
    x = torch.zeros(2, 3, 128, 128)
    out = m2(x)
    assert out.shape == (2, faces.NUM_LANDMARKS, 2)
    img, _ = render(faces.default_factors())
    assert L.detect(img, m2).shape == (faces.NUM_LANDMARKS, 2)
    assert L.detect(img[None], m2).shape == (1, faces.NUM_LANDMARKS, 2)


def test_detector_accuracy_on_fresh_renders():
    from dragedit.synth import landmarks as L
    path = L.default_path()
    if not path.exists():
        pytest.skip(f"no trained detector at {path} (train: python -m dragedit.synth.landmarks)")
    model = L.load_detector(path)
    imgs, lms = faces.render_batch(faces.random_factors(32, seed=424242))
    pred = L.detect(imgs, model)
    err = np.linalg.norm(pred - lms, axis=-1).mean()
    assert err <= 1.5, f"mean landmark error {err:.3f}px"
    # float input in [-1, 1] (the generator's convention) gives the same answer
    x = torch.from_numpy(imgs).permute(0, 3, 1, 2).float() / 127.5 - 1
    assert np.allclose(L.detect(x, model), pred, atol=1e-4)
