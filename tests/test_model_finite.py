"""Model files with NaN / inf weights, buffers, w_avg or embedded latents are refused at load,
naming the file and the first bad tensor, in every format we read; so is an embedded latent
that is not a latent."""
import os
import sys

import numpy as np
import pytest
import torch

from dragedit.cli import main
from dragedit.errors import DragEditError, ModelFileError
from dragedit.io.checkpoint import inspect_model, load_generator, save_generator

sys.path.insert(0, os.path.dirname(__file__))
import foreign_models as fm
import official_pickles as op


def _poisoned(name, value, index=0):
    G = op.make_generator()
    with torch.no_grad():
        G.state_dict()[name].view(-1)[index] = value
    return G


def _refused(path, tensor_name, inspect=True):
    readers = (load_generator, inspect_model) if inspect else (load_generator,)
    for read in readers:
        with pytest.raises(ModelFileError) as err:
            read(path)
        msg = str(err.value)
        assert os.path.basename(str(path)) in msg and tensor_name in msg, msg
        assert "NaN or infinite" in msg and "\n" not in msg, msg
    return msg


@pytest.mark.parametrize("half", [False, True], ids=["fp32", "fp16"])
@pytest.mark.parametrize("name,value", [
    ("synthesis.b8.conv0.weight", float("nan")),
    ("mapping.fc0.weight", float("inf")),
    ("mapping.w_avg", float("nan")),
    ("synthesis.b16.conv1.noise_const", float("-inf")),   # a buffer
])
def test_own_format_with_non_finite_tensor_is_refused(tmp_path, name, value, half):
    path = save_generator(_poisoned(name, value, index=3), tmp_path / "nan.pt", half=half)
    _refused(path, name)


def test_own_format_fp16_overflow_is_refused(tmp_path):
    """A finite fp32 value beyond fp16's range becomes inf when saved half: the file is refused."""
    path = save_generator(_poisoned("synthesis.b8.torgb.weight", 1e6), tmp_path / "big.pt", half=True)
    _refused(path, "synthesis.b8.torgb.weight")


def test_first_bad_tensor_is_named(tmp_path):
    """Two bad tensors: the message names the one stored first, and only that one."""
    G = _poisoned("mapping.fc1.bias", float("nan"))
    with torch.no_grad():
        G.synthesis.b16.torgb.weight.view(-1)[0] = float("nan")
    order = list(G.state_dict())
    first, second = sorted(["mapping.fc1.bias", "synthesis.b16.torgb.weight"], key=order.index)
    msg = _refused(save_generator(G, tmp_path / "two.pt"), first)
    assert second not in msg


def test_non_finite_config_number_is_refused(tmp_path):
    path = save_generator(op.make_generator(), tmp_path / "cfg.pt")
    raw = torch.load(path, weights_only=True)
    raw["config"]["mapping_kwargs"]["lr_multiplier"] = float("nan")
    torch.save(raw, path)
    with pytest.raises(ModelFileError, match=r"cfg\.pt: config\.mapping_kwargs\.lr_multiplier is nan"):
        load_generator(path)


def test_huge_finite_weights_are_not_mistaken_for_inf(tmp_path):
    """The fast check sums each tensor; a sum that overflows from finite values is looked at again."""
    G = op.make_generator()
    with torch.no_grad():
        G.mapping.fc0.weight.fill_(3e38)
    G2 = load_generator(save_generator(G, tmp_path / "huge.pt"))
    assert torch.equal(G2.mapping.fc0.weight, G.mapping.fc0.weight)


def test_finite_files_still_load(tmp_path):
    G = op.make_generator()
    for half in (False, True):
        latent = torch.zeros(1, G.num_ws, 32)
        G2 = load_generator(save_generator(G, tmp_path / f"ok{half}.pt", half=half, latent=latent))
        assert all(torch.isfinite(t).all() for t in G2.state_dict().values())


# --------------------------------------------------------------------------- other formats

@pytest.mark.parametrize("name,value", [
    ("synthesis.b8.conv0.weight", float("nan")),
    ("mapping.fc0.weight", float("inf")),
    ("mapping.w_avg", float("nan")),
])
def test_nvidia_pickle_with_non_finite_tensor_is_refused(tmp_path, name, value):
    path = op.write_official_pickle(_poisoned(name, value), tmp_path / "nan.pkl")
    _refused(path, name)


def test_nvidia_pickle_with_non_finite_gain_is_refused(tmp_path):
    """A NaN stored as a plain attribute (the mapping's lr multiplier) ends up in the config."""
    def plant(data):
        data["G_ema"].state["_modules"]["mapping"].state["_modules"]["fc0"].state["bias_gain"] = np.float64("nan")
    path = op.write_official_pickle(op.make_generator(), tmp_path / "gain.pkl", mutate=plant)
    for read in (load_generator, inspect_model):
        with pytest.raises(ModelFileError, match=r"gain\.pkl: config\.mapping_kwargs\.lr_multiplier is nan"):
            read(path)


def test_stylegan3_pickle_with_non_finite_tensor_is_refused(tmp_path):
    G = op.make_stylegan3_generator(variant="t")
    name = next(k for k in G.state_dict() if k.startswith("synthesis.L") and k.endswith(".weight"))
    with torch.no_grad():
        G.state_dict()[name].view(-1)[0] = float("nan")
    _refused(op.write_stylegan3_official_pickle(G, tmp_path / "sg3nan.pkl"), name)


@pytest.mark.parametrize("tf_name,ours,value", [
    ("synthesis/8x8/Conv0_up/weight", "synthesis.b8.conv0.weight", np.nan),
    ("mapping/Dense0/weight", "mapping.fc0.weight", np.inf),
    ("dlatent_avg", "mapping.w_avg", np.nan),
    ("mapping/Dense1/bias", "mapping.fc1.bias", 1e300),   # float64 beyond float32: inf once converted
])
def test_tf_pickle_with_non_finite_variable_is_refused(tmp_path, tf_name, ours, value):
    tfv = fm.random_tf_variables()
    arr = np.array(tfv[tf_name], dtype=np.float64 if value == 1e300 else tfv[tf_name].dtype)
    arr.reshape(-1)[0] = value
    tfv[tf_name] = arr
    _refused(fm.write_tf_pickle(tmp_path / "tfnan.pkl", tfv, fm.tf_static_kwargs(16)), ours)


@pytest.mark.parametrize("kind", ["convert", "train"])
def test_rosinality_with_non_finite_tensor_is_refused(tmp_path, kind):
    sd = fm.random_rosinality_state_dict()
    sd["convs.0.conv.weight"].view(-1)[0] = float("nan")
    path = fm.write_rosinality(tmp_path / f"ros-{kind}.pt", sd, kind=kind, latent_avg=torch.zeros(32))
    _refused(path, "synthesis.b8.conv0.weight")


def test_rosinality_with_non_finite_latent_avg_is_refused(tmp_path):
    avg = torch.zeros(32)
    avg[5] = float("inf")
    path = fm.write_rosinality(tmp_path / "ros-avg.pt", fm.random_rosinality_state_dict(), kind="convert",
                               latent_avg=avg)
    _refused(path, "mapping.w_avg")


# --------------------------------------------------------------------------- embedded latents

@pytest.mark.parametrize("latent,expected", [
    ([1.0, 2.0, 3.0], "is a list"),
    ("not a latent", "is a str"),
    (torch.zeros(3, 7), "of shape [3, 7]"),
    (torch.zeros(1, 6, 32, dtype=torch.int64), "torch.int64"),
])
def test_embedded_latent_of_the_wrong_kind_is_refused(tmp_path, latent, expected):
    path = save_generator(op.make_generator(), tmp_path / "lat.pt", latent=latent)
    for read in (load_generator, inspect_model):
        with pytest.raises(ModelFileError) as err:
            read(path)
        msg = str(err.value)
        assert "lat.pt" in msg and "embedded latent" in msg and expected in msg, msg


def test_embedded_latent_with_nan_is_refused(tmp_path):
    G = op.make_generator()
    latent = torch.zeros(1, G.num_ws, G.w_dim)
    latent[0, 2, 3] = float("nan")
    _refused(save_generator(G, tmp_path / "latnan.pt", latent=latent), "latent")


def test_nested_extra_tensor_with_inf_is_refused(tmp_path):
    path = save_generator(op.make_generator(), tmp_path / "ex.pt",
                          training=dict(history=[dict(step=1, stats=torch.tensor([1.0, float("inf")]))]))
    _refused(path, "training.history[0].stats")


# --------------------------------------------------------------------------- command line

@pytest.mark.parametrize("what", ["nan-weight", "list-latent", "string-latent"])
def test_cli_edit_refuses_the_model_in_one_line(tmp_path, capsys, what):
    G = _poisoned("synthesis.b8.conv0.weight", float("nan")) if what == "nan-weight" else op.make_generator()
    extra = {"list-latent": dict(latent=[0.5] * 4), "string-latent": dict(latent="w+")}.get(what, {})
    path = save_generator(G, tmp_path / f"{what}.pt", **extra)
    out = tmp_path / "out.png"
    rc = main(["edit", "--model", str(path), "--pair", "4,4:8,4", "--steps", "1", "--out", str(out),
               "--threads", "1"])
    err = capsys.readouterr().err
    assert rc != 0 and not out.exists()
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and os.path.basename(path) in lines[0] and "Traceback" not in err, err
    assert issubclass(ModelFileError, DragEditError)
