"""Model files: official-format pickles load without running code, our format round-trips,
and every bad file gives a ModelFileError that names it."""
import os
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch

import dragedit
from dragedit.errors import ModelFileError
from dragedit.io.checkpoint import inspect_model, load_generator, save_generator
from dragedit.nets.stylegan2 import Generator

sys.path.insert(0, os.path.dirname(__file__))
import official_pickles as op



def _z(G, n=2, seed=0):
    return torch.from_numpy(np.random.RandomState(seed).randn(n, G.z_dim).astype(np.float32))


def _c(G, n=2):
    if G.c_dim == 0:
        return None
    c = torch.zeros(n, G.c_dim)
    c[torch.arange(n), torch.arange(n) % G.c_dim] = 1
    return c


def _images(G, n=2):
    with torch.no_grad():
        return G(_z(G, n), _c(G, n), truncation_psi=0.7, noise_mode="const")


def _no_nvidia_modules():
    return not any(m == name or m.startswith(name + ".") for m in sys.modules
                   for name in ("torch_utils", "dnnlib", "training"))


VARIANTS = {
    "skip": dict(gen=dict(), write=dict()),
    "resnet": dict(gen=dict(architecture="resnet"), write=dict()),
    "orig-nonoise": dict(gen=dict(architecture="orig", use_noise=False), write=dict()),
    "conditional-proto5": dict(gen=dict(c_dim=4), write=dict(protocol=5)),
    "proto2": dict(gen=dict(), write=dict(protocol=2)),
    "clamp-deep-fp16": dict(gen=dict(conv_clamp=0.5, mapping_layers=4, resolution=32,
                                     channels={4: 32, 8: 32, 16: 16, 32: 8}),
                            write=dict(num_fp16_res=2)),
}


@pytest.mark.parametrize("name", list(VARIANTS))
def test_official_pickle_matches_source(tmp_path, name):
    v = VARIANTS[name]
    G = op.make_generator(**v["gen"])
    path = op.write_official_pickle(G, tmp_path / f"{name}.pkl", **v["write"])
    assert _no_nvidia_modules()
    G2 = load_generator(path)
    assert _no_nvidia_modules()
    assert (_images(G2) - _images(G)).abs().max().item() < 1e-5
    for part in ("mapping_kwargs", "synthesis_kwargs"):  # what G was built with, read back from state
        for key, value in G.config[part].items():
            assert G2.config[part][key] == value, (part, key)
    assert {k: v for k, v in G2.config.items() if not k.endswith("_kwargs")} == \
        {k: v for k, v in G.config.items() if not k.endswith("_kwargs")}
    assert G2.mapping.num_layers == G.mapping.num_layers and G2.c_dim == G.c_dim
    assert not G2.training and not any(p.requires_grad for p in G2.parameters())
    assert G2.source_info["network"] == "G_ema"
    assert G2.config["synthesis_kwargs"]["num_fp16_res"] == v["write"].get("num_fp16_res", 0)


def test_clamp_is_read_from_the_weights_not_ignored(tmp_path):
    """conv_clamp=0.5 changes the image, so a loader that dropped it would fail the match."""
    G = op.make_generator(conv_clamp=0.5)
    G_free = Generator.from_config(
        {**G.config, "synthesis_kwargs": {**G.config["synthesis_kwargs"], "conv_clamp": None}})
    G_free.load_state_dict(G.state_dict())
    assert (_images(G_free) - _images(G)).abs().max() > 1e-3
    G2 = load_generator(op.write_official_pickle(G, tmp_path / "c.pkl"))
    assert G2.config["synthesis_kwargs"]["conv_clamp"] == 0.5


def test_falls_back_to_G_and_says_so(tmp_path):
    G = op.make_generator()
    path = op.write_official_pickle(G, tmp_path / "noema.pkl", with_g_ema=False)
    with pytest.warns(UserWarning, match="no G_ema"):
        G2 = load_generator(path)
    assert G2.source_info["network"] == "G"
    assert (_images(G2) - _images(G)).abs().max().item() < 1e-5


def test_own_format_round_trip(tmp_path):
    G = op.make_generator(architecture="resnet", c_dim=3)
    path = tmp_path / "model.pt"
    save_generator(G, path, note="trained on tiny data", step=7)
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]  # no temp file left behind
    G2 = dragedit.load_generator(path)
    assert G2.config == G.config
    assert torch.equal(_images(G2), _images(G))
    assert G2.source_info["extra"] == {"note": "trained on tiny data", "step": 7}
    assert not any(p.requires_grad for p in G2.parameters())
    info = inspect_model(path)
    assert (info["family"], info["format"], info["resolution"], info["c_dim"], info["num_ws"]) == \
        ("stylegan2", "dragedit", 16, 3, G.num_ws)
    assert info["params"] == sum(p.numel() for p in G.parameters())


def test_own_format_half(tmp_path):
    G = op.make_generator()
    path = save_generator(G, tmp_path / "half.pt", half=True)
    raw = torch.load(path, weights_only=True)
    assert raw["state_dict"]["synthesis.b4.const"].dtype == torch.float16
    G2 = load_generator(path)
    assert all(t.dtype == torch.float32 for t in G2.state_dict().values())
    assert (_images(G2) - _images(G)).abs().max().item() < 2e-2
    assert os.path.getsize(path) < os.path.getsize(save_generator(G, tmp_path / "full.pt"))


def test_official_to_own_format(tmp_path):
    G = op.make_generator(conv_clamp=0.5)
    G2 = load_generator(op.write_official_pickle(G, tmp_path / "a.pkl"))
    G3 = load_generator(save_generator(G2, tmp_path / "a.pt"))
    assert torch.equal(_images(G3), _images(G2))


def test_save_refuses_reserved_or_unreadable_extras(tmp_path):
    G = op.make_generator()
    with pytest.raises(ValueError, match="reserved"):
        save_generator(G, tmp_path / "x.pt", config={})
    with pytest.raises(ValueError, match="ndarray"):
        save_generator(G, tmp_path / "x.pt", stats=np.zeros(3))
    assert not list(tmp_path.iterdir())


# --------------------------------------------------------------------------- malicious files

@pytest.mark.parametrize("attack", ["os.system", "exec", "subprocess", "nested-in-official"])
def test_code_running_pickles_are_refused(tmp_path, attack):
    marker = tmp_path / "PWNED"
    path = tmp_path / f"evil-{attack}.pkl"
    if attack == "os.system":
        op.write_os_system_pickle(path, marker)
        names = ("posix.system", "os.system")
    elif attack == "exec":
        op.write_reduce_pickle(path, exec, (f"open({str(marker)!r}, 'w')",))
        names = ("builtins.exec",)
    elif attack == "subprocess":
        op.write_reduce_pickle(path, subprocess.call, (["touch", str(marker)],), wrap=False)
        names = ("subprocess.call",)
    else:
        def plant(data):
            data["augment_pipe"].state["evil"] = op._Reduce(os.system, (f"touch {marker}",))
        op.write_official_pickle(op.make_generator(), path, mutate=plant)
        names = ("posix.system", "os.system")
    with pytest.raises(ModelFileError) as err:
        load_generator(path)
    msg = str(err.value)
    assert any(n in msg for n in names) and path.name in msg
    assert not marker.exists()
    with pytest.raises(ModelFileError):
        inspect_model(path)
    assert not marker.exists()


def test_module_src_is_never_executed(tmp_path):
    marker = tmp_path / "EXECUTED"
    G = op.make_generator()
    path = op.write_exec_src_pickle(G, tmp_path / "src.pkl", marker)
    assert str(marker) in path.read_bytes().decode("latin1")  # the payload is in the file
    G2 = load_generator(path)
    assert not marker.exists()
    assert _no_nvidia_modules()
    assert (_images(G2) - _images(G)).abs().max().item() < 1e-5


# --------------------------------------------------------------------------- bad files

def open_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def _official_bytes(tmp_path):
    return op.write_official_pickle(op.make_generator(), tmp_path / "src.pkl").read_bytes()


def _bad_file(tmp_path, case):
    p = tmp_path / f"bad-{case}.pkl"
    if case == "missing":
        return p, "not found"
    if case == "directory":
        p.mkdir()
        return p, "directory"
    if case == "empty":
        p.write_bytes(b"")
        return p, "empty"
    if case == "truncated-pickle":
        p.write_bytes(_official_bytes(tmp_path)[:5000])
        return p, "truncated"
    if case == "truncated-zip":
        full = save_generator(op.make_generator(), tmp_path / "full.pt")
        p.write_bytes(open_bytes(full)[:3000])
        return p, "truncated or corrupt"
    if case == "png":
        p.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
        return p, "PNG image"
    if case == "jpeg":
        p.write_bytes(b"\xff\xd8\xff\xe0" + bytes(100))
        return p, "JPEG image"
    if case == "text":
        p.write_text("https://example.com/stylegan2-ffhq-1024x1024.pkl\n")
        return p, "text file"
    if case == "no-generator":
        p.write_bytes(pickle.dumps({"D": None, "training_set_kwargs": {"resolution": 16}}))
        return p, "no generator"
    if case == "list-pickle":
        p.write_bytes(pickle.dumps([1, 2, 3]))
        return p, "holds a list"
    if case == "torch-zip-not-ours":
        torch.save({"weight": torch.zeros(3)}, p)
        return p, "not a dragedit generator"
    if case == "torch-zip-module":
        torch.save(torch.nn.Linear(2, 2), p)
        return p, "torch.nn.modules.linear.Linear"
    if case == "own-shape-mismatch":
        G = op.make_generator()
        save_generator(G, p)
        raw = torch.load(p, weights_only=True)
        raw["config"]["synthesis_kwargs"]["channels"][8] = 24
        torch.save(raw, p)
        return p, "do not match"
    if case == "official-shape-mismatch":
        def more_layers(data):
            data["G_ema"].state["_modules"]["mapping"].state["num_layers"] = 3
        op.write_official_pickle(op.make_generator(), p, mutate=more_layers)
        return p, "missing mapping.fc2.weight"
    if case == "official-tensor-shape":
        def bad_const(data):
            b4 = data["G_ema"].state["_modules"]["synthesis"].state["_modules"]["b4"]
            b4.state["_parameters"]["const"] = torch.nn.Parameter(torch.zeros(32, 5, 5), requires_grad=False)
        op.write_official_pickle(op.make_generator(), p, mutate=bad_const)
        return p, "synthesis.b4.const is [32, 5, 5] in the file"
    if case == "legacy-torch-save":
        torch.save({"weight": torch.zeros(3)}, p, _use_new_zipfile_serialization=False)
        return p, "old-style (non-zip) torch.save"
    if case == "malformed-record":
        def bad_attr(data):
            data["G_ema"].state["_modules"]["synthesis"].state["_modules"]["b4"].state["_modules"]["conv1"] \
                .state["_parameters"]["weight"] = torch.nn.Parameter(torch.zeros([]), requires_grad=False)
        op.write_official_pickle(op.make_generator(), p, mutate=bad_attr)
        return p, "not a generator this loader understands"
    if case == "newer-version":
        save_generator(op.make_generator(), p)
        raw = torch.load(p, weights_only=True)
        raw["version"] = 99
        torch.save(raw, p)
        return p, "newer dragedit"
    if case == "stylegan3":
        op.write_stylegan3_pickle(p)
        return p, "a StyleGAN3 network this loader cannot read"  # incomplete record: see test_stylegan3
    raise AssertionError(case)


BAD_CASES = ["missing", "directory", "empty", "truncated-pickle", "truncated-zip", "png", "jpeg", "text",
             "no-generator", "list-pickle", "torch-zip-not-ours", "torch-zip-module", "own-shape-mismatch",
             "official-shape-mismatch", "official-tensor-shape", "legacy-torch-save", "malformed-record",
             "newer-version", "stylegan3"]


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_files_give_clear_errors(tmp_path, case):
    path, expected = _bad_file(tmp_path, case)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no stray warnings on bad input either
        with pytest.raises(ModelFileError) as err:
            load_generator(path)
    msg = str(err.value)
    assert path.name in msg, msg
    assert expected in msg, msg
    assert "Traceback" not in msg and len(msg) < 800, msg
    assert _no_nvidia_modules()


def test_inspect_describes_stylegan3_instead_of_failing(tmp_path):
    info = inspect_model(op.write_stylegan3_pickle(tmp_path / "sg3.pkl"))
    assert info["family"] == "stylegan3" and info["supported"] is False
    assert (info["resolution"], info["num_ws"], info["mapping_layers"]) == (16, 4, 1)


def test_inspect_official(tmp_path):
    G = op.make_generator(architecture="resnet", mapping_layers=3)
    info = inspect_model(op.write_official_pickle(G, tmp_path / "r.pkl"))
    assert info["format"] == "nvidia-pickle" and info["network"] == "G_ema"
    assert (info["architecture"], info["mapping_layers"], info["w_dim"], info["num_ws"]) == \
        ("resnet", 3, 32, G.num_ws)
    assert info["params"] == sum(p.numel() for p in G.parameters())
