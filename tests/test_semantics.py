"""Semantic directions: SeFa from the weights alone, named factors of the default model measured with
the landmark detector, applying directions to W / W+ latents, factor names in model files, the CLI."""
import json
import os
import shutil
import sys

import numpy as np
import pytest
import torch

from dragedit.cli import main
from dragedit.edit import semantics as S
from dragedit.edit.drag import DragSession
from dragedit.errors import DragEditError
from dragedit.io.checkpoint import inspect_model, load_generator, save_generator
from dragedit.models import DEFAULT_GENERATOR
from dragedit.nets.stylegan2 import Generator, ws_from_seed
from dragedit.synth import faces, landmarks

sys.path.insert(0, os.path.dirname(__file__))
import official_pickles as op

LM = faces.LANDMARK_INDEX


@pytest.fixture(scope="module")
def G():
    return load_generator(DEFAULT_GENERATOR)


def _tiny(seed=0):
    torch.manual_seed(seed)
    return Generator(16, 0, 32, 32, 3, mapping_kwargs=dict(num_layers=2),
                     synthesis_kwargs=dict(channels={4: 32, 8: 32, 16: 16, 32: 16}))


def _frame(G, ws):
    with torch.no_grad():
        img = G.synthesis(ws)
    return (img[0].permute(1, 2, 0) * 127.5 + 128).clamp(0, 255).to(torch.uint8).numpy()


# --------------------------------------------------------------------------- SeFa

@pytest.mark.parametrize("layers", ["coarse", "middle", "fine", "all"])
def test_sefa_is_orthonormal_sorted_and_an_eigenbasis_of_the_stacked_affines(layers):
    G = _tiny()
    vecs, vals = S.sefa(G, layers, k=6)
    assert vecs.shape == (6, G.w_dim)
    assert torch.allclose(vecs @ vecs.T, torch.eye(6), atol=1e-5)
    assert (vals[:-1] >= vals[1:]).all()
    keep = set(S.layer_indices(G, layers))
    A = torch.cat([w.detach().double() for i, _, w in S._affines(G) if i in keep])
    A = A / A.norm(dim=1, keepdim=True)
    M = A.T @ A
    for v, lam in zip(vecs.double(), vals.double()):
        assert torch.allclose(M @ v, lam * v, atol=1e-4 * float(lam))
    # nothing larger exists: the top direction attains the largest Rayleigh quotient
    rand = torch.randn(200, G.w_dim, dtype=torch.float64)
    rand = rand / rand.norm(dim=1, keepdim=True)
    assert float(((rand @ M) * rand).sum(1).max()) <= float(vals[0]) + 1e-6


def test_sefa_is_deterministic_and_depends_on_the_style_weights_alone(tmp_path):
    G = _tiny(0)
    a, _ = S.sefa(G, "all", 5)
    b, _ = S.sefa(G, "all", 5)
    assert torch.equal(a, b)
    save_generator(G, tmp_path / "g.pt")
    c, _ = S.sefa(load_generator(tmp_path / "g.pt"), "all", 5)
    assert torch.equal(a, c)
    G2 = _tiny(1)  # other mapping and conv weights, the same style affines
    for (_, _, w1), (_, _, w2) in zip(S._affines(G2), S._affines(G)):
        w1.data.copy_(w2.data)
    assert torch.equal(S.sefa(G2, "all", 5)[0], a)
    # a per-layer gain (equalised learning rate) cancels out: rows are normalised first
    for _, _, w in S._affines(G2):
        w.data *= 7.0
    assert torch.allclose(S.sefa(G2, "all", 5)[0], a, atol=1e-5)


def test_layer_ranges_partition_the_ws_of_stylegan2_and_stylegan3():
    for G in (_tiny(), op.make_stylegan3_generator(variant="t")):
        parts = [S.layer_indices(G, r) for r in ("coarse", "middle", "fine")]
        assert all(parts) and sorted(sum(parts, [])) == list(range(G.num_ws))
        assert max(parts[0]) < min(parts[1]) and max(parts[1]) < min(parts[2])
        assert S.layer_indices(G, "all") == list(range(G.num_ws))
        vecs, _ = S.sefa(G, "middle", 4)
        assert torch.allclose(vecs @ vecs.T, torch.eye(4), atol=1e-5)
    with pytest.raises(DragEditError, match="coarse, middle, fine, all"):
        S.layer_indices(_tiny(), "medium")


def test_default_model_ranges_follow_block_resolutions(G):
    # 128 px: b4 conv1 -> ws 0, b8 -> 1, 2; b16, b32 -> 3..6; b64, b128 and the last toRGB -> 7..11
    assert S.layer_indices(G, "coarse") == [0, 1, 2]
    assert S.layer_indices(G, "middle") == [3, 4, 5, 6]
    assert S.layer_indices(G, "fine") == [7, 8, 9, 10, 11]


def test_apply_moves_only_the_chosen_layers_of_a_w_or_wplus_latent():
    G = _tiny()
    d = S.sefa_direction(G, 1, "coarse")
    w = ws_from_seed(G, 3)[:, 0]                              # a W latent [1, w_dim]
    out = S.apply(G, w, [(d, 2.0)])
    assert out.shape == (1, G.num_ws, G.w_dim)
    moved = [i for i in range(G.num_ws) if not torch.equal(out[0, i], w[0])]
    assert moved == S.layer_indices(G, "coarse")
    assert torch.allclose(out[0, 0] - w[0], 2.0 * d.scale * d.vector, atol=1e-5)
    fine = S.apply(G, out, [(d, -1.0, "fine")])               # another range on a W+ latent
    assert [i for i in range(G.num_ws) if not torch.equal(fine[0, i], out[0, i])] == S.layer_indices(G, "fine")
    with pytest.raises(DragEditError, match="finite"):
        S.apply(G, w, [(d, float("nan"))])
    with pytest.raises(DragEditError, match="latent has shape"):
        S.apply(G, torch.zeros(1, 3, G.w_dim), [(d, 1.0)])


# --------------------------------------------------------------------------- named factors

def test_factor_names_come_from_the_file_or_the_shipped_default(G, tmp_path):
    assert S.factor_names(G) == list(faces.FACTOR_NAMES)       # shipped file: recognised
    copy = tmp_path / "faces_copy.pt"
    shutil.copy(DEFAULT_GENERATOR, copy)
    plain = load_generator(copy)
    if plain.source_info.get("factor_names") is None:         # an old file elsewhere has no names
        assert S.factor_names(plain) is None
        assert all(d.kind == "sefa" for d in S.directions(plain))
    named = tmp_path / "named.pt"
    save_generator(plain, named, half=True, factor_names=faces.FACTOR_NAMES)
    G2 = load_generator(named)
    assert G2.source_info["factor_names"] == list(faces.FACTOR_NAMES)
    assert inspect_model(named)["factor_names"] == list(faces.FACTOR_NAMES)
    assert S.factor_names(G2) == list(faces.FACTOR_NAMES)
    with pytest.raises(ValueError, match="31 non-empty strings"):
        save_generator(plain, tmp_path / "bad.pt", factor_names=["a", "b"])


def test_factor_lookup_accepts_spaces_and_prefixes_and_names_the_choices(G):
    assert S.find_factor(G, "mouth open").name == "mouth_openness"
    assert S.find_factor(G, "Yaw").name == "yaw"
    with pytest.raises(DragEditError, match="several factors"):
        S.find_factor(G, "hair")
    with pytest.raises(DragEditError, match="expected one of head_width"):
        S.find_factor(G, "grin")
    with pytest.raises(DragEditError, match="no named factors"):
        S.find_factor(_tiny(), "smile")


def _measure(G, ws, name, amounts, fn):
    d = S.find_factor(G, name)
    frames = [_frame(G, S.apply(G, ws, [(d, a)])) for a in amounts]
    return [fn(lm) for lm in landmarks.detect(np.stack(frames))]


@pytest.mark.parametrize("seed", [0, 1])
def test_mouth_open_increases_the_lip_distance_and_yaw_moves_the_nose(G, seed):
    ws = ws_from_seed(G, seed, truncation_psi=0.7)
    amounts = [-3.0, 0.0, 3.0]                 # the sliders' span: each factor's whole range
    lips = _measure(G, ws, "mouth open", amounts, lambda lm: lm[LM["lower_lip"], 1] - lm[LM["upper_lip"], 1])
    assert lips[0] < lips[1] < lips[2] and lips[2] - lips[0] > 1.5, lips
    nose = _measure(G, ws, "yaw", amounts, lambda lm: lm[LM["nose_tip"], 0])
    assert nose[0] < nose[1] < nose[2] and nose[2] - nose[0] > 5, nose
    # yaw turns the head: the nose moves sideways far more than up or down
    ys = _measure(G, ws, "yaw", [amounts[0], amounts[2]], lambda lm: lm[LM["nose_tip"], 1])
    assert abs(ys[1] - ys[0]) < 0.5 * (nose[2] - nose[0])


def test_directions_are_cached_per_model_file(G):
    a = S.directions(G, "all", 8)
    assert a[0].vector is S.directions(G, "all", 8)[0].vector
    assert [d.kind for d in a].count("factor") == faces.NUM_FACTORS and [d.kind for d in a].count("sefa") == 8


def test_a_drag_after_a_factor_edit_reaches_its_target(G):
    ws = S.apply(G, ws_from_seed(G, 0), [(S.find_factor(G, "smile"), 1.5)])
    s = DragSession(G, ws=ws)
    nose = landmarks.detect(s.render())[LM["nose_tip"]]
    s.add_pair(tuple(nose), (nose[0] + 6, nose[1]))
    last = None
    for last in s.run(80):
        pass
    assert last.reached, last.distances


# --------------------------------------------------------------------------- CLI

def test_directions_command_lists_factors_and_sefa(capsys):
    assert main(["directions", "default", "--layers", "coarse", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    names = [d["name"] for d in out["directions"]]
    assert names[:faces.NUM_FACTORS] == list(faces.FACTOR_NAMES)
    sefa = [d for d in out["directions"] if d["kind"] == "sefa"]
    assert [d["index"] for d in sefa] == list(range(8)) and all(d["ws_indices"] == [0, 1, 2] for d in sefa)
    assert main(["directions", "default"]) == 0
    assert "eigenvalue" in capsys.readouterr().out


def test_edit_applies_factors_and_directions_before_writing(tmp_path, capsys):
    out = tmp_path / "o.png"
    assert main(["edit", "--factor", "mouth open:2", "--direction", "0:1:coarse", "--out", str(out),
                 "--save-latent", str(tmp_path / "l.npz"), "--threads", "1"]) == 0
    from dragedit.io.latents import load_latent
    G = load_generator(DEFAULT_GENERATOR)
    base = ws_from_seed(G, 0)
    want = S.apply(G, base, [(S.find_factor(G, "mouth_openness"), 2.0), (S.sefa_direction(G, 0, "coarse"), 1.0)])
    assert torch.allclose(torch.as_tensor(load_latent(tmp_path / "l.npz")).reshape(want.shape), want, atol=1e-5)
    assert out.is_file()


@pytest.mark.parametrize("argv, message", [
    (["--factor", "grin:1"], "not a factor"),
    (["--factor", "smile"], "NAME:AMOUNT"),
    (["--direction", "x:1"], "K:AMOUNT"),
    (["--direction", "0:1:medium"], "layers must be one of"),
    (["--direction", "999:1"], "does not exist"),
])
def test_edit_refuses_bad_semantic_options(argv, message, capsys):
    assert main(["edit", "--pair", "10,10:20,10"] + argv) == 2
    assert message in capsys.readouterr().err
