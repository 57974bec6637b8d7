"""Named factors that do what they say: landmark signatures, fitted directions stored in the model
file, and the +2/-2 check on the shipped model measured with the shipped detector."""
import numpy as np
import pytest
import torch

from dragedit.edit import factor_check, factor_estimate
from dragedit.edit import factor_signatures as fsig
from dragedit.edit import semantics as S
from dragedit.errors import DragEditError
from dragedit.io.checkpoint import load_generator, save_generator
from dragedit.models import DEFAULT_GENERATOR
from dragedit.nets.stylegan2 import Generator, ws_from_seed
from dragedit.synth import faces


def _tiny_named(tmp_path, seed=0):
    torch.manual_seed(seed)
    G = Generator(faces.NUM_FACTORS, 0, 32, 32, 3, mapping_kwargs=dict(num_layers=2),
                  synthesis_kwargs=dict(channels={4: 32, 8: 32, 16: 16, 32: 16}))
    path = tmp_path / "tiny_named.pt"
    save_generator(G, path, factor_names=faces.FACTOR_NAMES)
    return path


def test_each_signature_follows_its_factor_in_the_renderer_and_ignores_the_others():
    """On exact landmarks, +-1/3 of a factor's range moves its signature the right way on every face
    and no other signature by half as much: the measure itself separates the factors."""
    rng = np.random.default_rng(0)
    base = np.clip(0.5 + 0.15 * rng.standard_normal((24, faces.NUM_FACTORS)), 0.05, 0.95).astype(np.float32)
    spread = fsig.renderer_spread()
    s0 = fsig.signatures(faces.landmarks_of(base))
    for i, name in enumerate(fsig.SIGNATURES):
        k = faces.FACTOR_INDEX[name]
        changes = []
        for step in (1 / 3, -1 / 3):
            f = base.copy()
            f[:, k] = np.clip(f[:, k] + step, 0, 1)
            changes.append((fsig.signatures(faces.landmarks_of(f)) - s0) / spread)
        up, down = changes
        assert (up[:, i] > 0).mean() >= 0.9 and (down[:, i] < 0).mean() >= 0.9, name
        own = 0.5 * (up[:, i].mean() - down[:, i].mean())
        other = 0.5 * (np.abs(up.mean(0)) + np.abs(down.mean(0)))
        other[i] = 0
        assert other.max() <= 0.5 * own, (name, fsig.SIGNATURES[int(other.argmax())])


def test_signatures_refuse_landmarks_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"\[N, 25, 2\]"):
        fsig.signatures(np.zeros((3, 7, 2)))
    one = fsig.signatures(faces.landmarks_of(faces.default_factors()))
    assert one.shape == (len(fsig.SIGNATURES),) and np.isfinite(one).all()


def test_stored_factor_directions_are_used_per_ws_and_validated(tmp_path):
    path = _tiny_named(tmp_path)
    G = load_generator(path)
    mean = {d.name: d for d in S.directions(G, k=0)}
    assert mean["yaw"].vector.shape == (G.w_dim,) and mean["yaw"].scale == pytest.approx(S.FACTOR_UNIT_Z)
    v = torch.zeros(G.num_ws, G.w_dim)
    v[1] = 1.0                                     # a move on ws 1 only
    factor_estimate.write_into(path, dict(method="test", directions={"yaw": v}))
    G2 = load_generator(path)
    assert torch.equal(G2.state_dict()["mapping.fc0.weight"], G.state_dict()["mapping.fc0.weight"])
    yaw = S.find_factor(G2, "yaw")
    assert yaw.vector.shape == (G.num_ws, G.w_dim) and yaw.scale == 1.0 and yaw.describe()["fitted"]
    ws = ws_from_seed(G2, 0)
    out = S.apply(G2, ws, [(yaw, 2.0)])
    assert [i for i in range(G.num_ws) if not torch.equal(out[0, i], ws[0, i])] == [1]
    assert torch.allclose(out[0, 1] - ws[0, 1], torch.full((G.w_dim,), 2.0))
    coarse = S.apply(G2, ws, [(yaw, 2.0, "fine")])          # a layer range picks those ws' vectors
    assert torch.equal(coarse, ws)                           # (zero there)
    assert S.find_factor(G2, "smile").vector.ndim == 1       # factors not stored keep their mean direction
    factor_estimate.write_into(path, dict(method="test", directions={"yaw": torch.zeros(3)}))
    with pytest.raises(DragEditError, match=r"factor direction 'yaw' is \[3\]; expected .*\[%d, %d\]"
                       % (G.num_ws, G.w_dim)):
        S.directions(load_generator(path), k=0)


def test_estimate_and_check_refuse_models_they_cannot_measure(tmp_path, capsys):
    with pytest.raises(DragEditError, match="128-px faces"):
        factor_estimate.estimate(load_generator(_tiny_named(tmp_path)))
    torch.manual_seed(0)
    plain = Generator(16, 0, 32, 32, 3, mapping_kwargs=dict(num_layers=2),
                      synthesis_kwargs=dict(channels={4: 32, 8: 32, 16: 16, 32: 16}))
    with pytest.raises(DragEditError, match="no named factors"):
        factor_estimate.estimate(plain)
    assert factor_estimate.main([str(tmp_path / "tiny_named.pt"), "--pairs", "10"]) == 2
    save_generator(plain, tmp_path / "plain.pt")
    assert factor_check.main([str(tmp_path / "plain.pt")]) == 2
    assert "no named factors" in capsys.readouterr().err


def test_amount_one_is_a_sixth_of_the_factor_range_in_the_renderer():
    r = factor_estimate.renderer_range()
    assert (r > 0).all()                                   # every signature grows with its factor
    # yaw: the eyes and nose move ~Rn sin(0.42) each way over the range; a sixth of that per unit
    assert 8 < r[fsig.SIGNATURES.index("yaw")] / 2 < 20


@pytest.mark.slow
def test_the_estimate_is_deterministic_and_leaves_the_weights_alone(tmp_path):
    path = tmp_path / "m.pt"
    save_generator(load_generator(DEFAULT_GENERATOR), path, half=True, factor_names=faces.FACTOR_NAMES)
    before = {k: v.clone() for k, v in torch.load(path, weights_only=True)["state_dict"].items()}
    G = load_generator(path)
    a = factor_estimate.estimate(G, pairs=64)
    b = factor_estimate.estimate(G, pairs=64)
    assert set(a["directions"]) == set(fsig.SIGNATURES)
    assert all(torch.equal(a["directions"][n], b["directions"][n]) for n in fsig.SIGNATURES)
    factor_estimate.write_into(path, a)
    after = torch.load(path, weights_only=True)
    assert after["state_dict"].keys() == before.keys()
    assert all(torch.equal(after["state_dict"][k], v) for k, v in before.items())
    assert torch.equal(after["factor_directions"]["directions"]["yaw"], a["directions"]["yaw"])


# Factors that pass the full check on the shipped model once its directions are fitted (measured on
# the default faces128.pt, fine-tune step 7,200: 14 of 18). The others (gaze_x, brow_height, brow_angle,
# smile) move the right way on average and on >= 71.9% of the seeds each way, but miss 90% or leak more than half.
SEPARATED = ("head_width", "head_height", "jaw_width", "roll", "eye_spacing", "eye_height", "eye_size",
             "eye_openness", "gaze_y", "yaw", "nose_length", "mouth_width", "mouth_openness",
             "mouth_height")


@pytest.mark.slow
def test_named_factors_of_the_shipped_model_do_what_they_say():
    """+2 and -2 of each factor with a landmark signature, 32 seeds, the shipped detector. Needs the
    fitted directions in the shipped file: `python -m dragedit.edit.factor_estimate models/faces128.pt
    --threads 1`."""
    G = load_generator(DEFAULT_GENERATOR)
    if not S.stored_factor_directions(G):
        pytest.fail(f"{DEFAULT_GENERATOR} stores no factor_directions: run "
                    f"python -m dragedit.edit.factor_estimate {DEFAULT_GENERATOR} --threads 1")
    rows = {r["factor"]: r for r in factor_check.check_model(G)}
    assert set(rows) == set(fsig.SIGNATURES)
    failed = [factor_check.format_row(rows[n]) for n in SEPARATED if not rows[n]["passed"]]
    assert not failed, "\n".join(failed)
    weak = [factor_check.format_row(r) for r in rows.values()
            if not (r["own"] > 0 and r["plus"] >= 0.7 and r["minus"] >= 0.7)]
    assert not weak, "\n".join(weak)
