"""Fuzzing the model-file readers: seeded corruptions of every model file kind we read.

Each generated file goes through `load_generator` and `inspect_model`; each must either load
(with finite weights only) or raise a `DragEditError`, leave the input file as it was, and
finish in bounded time and memory. The generator is a seeded `random.Random` (no extra package): a failure prints the
kind, the mutation and its index, and the same run reproduces it.

Mutations: byte flips (one bit, or a burst of random bytes), truncation, splices from another
file kind, zeroed and 0xff ranges, duplicated ranges (half of them aimed at the first and last
4 KiB, where pickle opcodes and the zip directory live), crafted wrong types in our format's
dict and in NVIDIA records, plus an empty file, a folder, missing and over-long names.
"""
import hashlib
import os
import random
import resource
import sys
import time
import warnings

import numpy as np
import pytest
import torch

from dragedit.errors import DragEditError
from dragedit.io.checkpoint import inspect_model, load_generator, save_generator

sys.path.insert(0, os.path.dirname(__file__))
import foreign_models as fm
import official_pickles as op

SEED = 20
BYTE_MUTATIONS = 40        # per file kind
TYPE_MUTATIONS = 30        # per structured kind
CALL_LIMIT_S = 10.0        # one read of one tiny file
PEAK_RSS_GROWTH_MB = 1024  # over the whole module


def _write_kinds(folder):
    G = op.make_generator()
    G.eval()
    return {
        "ours-fp32": save_generator(G, os.path.join(folder, "ours32.pt"), latent=torch.zeros(1, G.num_ws, G.w_dim)),
        "ours-fp16": save_generator(G, os.path.join(folder, "ours16.pt"), half=True),
        "nvidia-sg2": str(op.write_official_pickle(G, os.path.join(folder, "nv.pkl"))),
        "nvidia-sg2-proto2": str(op.write_official_pickle(G, os.path.join(folder, "nv2.pkl"), protocol=2)),
        "nvidia-sg3": str(op.write_stylegan3_official_pickle(op.make_stylegan3_generator(variant="t"),
                                                             os.path.join(folder, "sg3.pkl"))),
        "tf-era": str(fm.write_tf_pickle(os.path.join(folder, "tf.pkl"), fm.random_tf_variables(),
                                         fm.tf_static_kwargs(16))),
        "rosinality": str(fm.write_rosinality(os.path.join(folder, "ros.pt"), fm.random_rosinality_state_dict(),
                                              kind="convert", latent_avg=torch.zeros(32))),
    }


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz-seeds")
    kinds = _write_kinds(str(folder))
    return {k: open(p, "rb").read() for k, p in kinds.items()}


@pytest.fixture(scope="module", autouse=True)
def bounded_memory():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    yield
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before
    assert grown < PEAK_RSS_GROWTH_MB, f"peak memory grew by {grown:.0f} MB while fuzzing"


# --------------------------------------------------------------------------- the generator

def _position(rng, n):
    if rng.random() < 0.5:  # the structure lives at the ends
        edge = rng.randrange(min(n, 4096))
        return edge if rng.random() < 0.5 else n - 1 - edge
    return rng.randrange(n)


def mutate_bytes(rng, data: bytes, other: bytes):
    """(description, corrupted bytes), all choices drawn from rng."""
    b = bytearray(data)
    kind = rng.choice(["bit", "burst", "truncate", "splice", "zero", "ff", "duplicate"])
    i = _position(rng, len(b))
    if kind == "bit":
        bit = rng.randrange(8)
        b[i] ^= 1 << bit
        return f"bit {bit} of byte {i}", bytes(b)
    if kind == "burst":
        spots = [_position(rng, len(b)) for _ in range(rng.randint(2, 24))]
        for j in spots:
            b[j] = rng.randrange(256)
        return f"random bytes at {spots[:4]}...", bytes(b)
    if kind == "truncate":
        return f"truncated to {i} bytes", bytes(b[:i])
    n = rng.randint(1, 4096)
    if kind == "splice":
        j = rng.randrange(len(other))
        return f"{n} bytes at {i} from the other file's {j}", bytes(b[:i] + other[j:j + n] + b[i + n:])
    if kind == "zero":
        b[i:i + n] = bytes(len(b[i:i + n]))
        return f"{n} zero bytes at {i}", bytes(b)
    if kind == "ff":
        b[i:i + n] = b"\xff" * len(b[i:i + n])
        return f"{n} 0xff bytes at {i}", bytes(b)
    return f"{n} bytes at {i} repeated", bytes(b[:i + n] + b[i:])


_WRONG_VALUES = [None, "x", "", -1, 0, 2 ** 70, 1e308, float("nan"), float("inf"), True, [], [1, "a"], {},
                 {"a": {"b": []}}, (1, 2), b"\x00", torch.zeros(0), torch.zeros(3, dtype=torch.int64),
                 torch.full((2,), float("nan")), torch.zeros(1, 1, 1, 1)]


def _wrong(rng):
    v = rng.choice(_WRONG_VALUES)
    return v.clone() if isinstance(v, torch.Tensor) else v


def _paths(obj, prefix=()):
    """Every (path, container) inside nested dicts and lists."""
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for k, v in items:
        yield prefix + (k,), obj
        if isinstance(v, (dict, list)):
            yield from _paths(v, prefix + (k,))


def mutate_ours(rng, raw: dict):
    """Our format: one value anywhere in the saved dict (config, state_dict, extras) of a wrong type."""
    spots = list(_paths(raw))
    path, container = spots[rng.randrange(len(spots))]
    container[path[-1]] = _wrong(rng)
    return "/".join(map(str, path))


def _records(rec, out):
    out.append(rec)
    for child in rec.state.get("_modules", {}).values():
        if isinstance(child, op.Persistent):
            _records(child, out)
    return out


def mutate_record(rng):
    """NVIDIA pickle: one attribute, parameter or submodule of a random G_ema record of a wrong type."""
    note = []

    def plant(data):
        recs = _records(data["G_ema"], [])
        rec = recs[rng.randrange(len(recs))]
        group = rng.choice(["attr", "_parameters", "_buffers", "_modules"])
        table = rec.state if group == "attr" else rec.state.get(group)
        keys = [k for k in table if not str(k).startswith("_")] if group == "attr" else list(table)
        if not keys:
            table, keys = rec.state, [k for k in rec.state if not str(k).startswith("_")] or ["extra"]
        key = keys[rng.randrange(len(keys))]
        table[key] = _wrong(rng)
        note.append(f"{rec.class_name}.{group}.{key}")
    return plant, note


# --------------------------------------------------------------------------- the checks

def _check(path, what, problems):
    """Both readers on path: a result or a DragEditError, the file untouched, in bounded time."""
    digest = hashlib.sha256(open(path, "rb").read()).hexdigest() if os.path.isfile(path) else None
    for read in (load_generator, inspect_model):
        t = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = read(path)
            if read is load_generator:
                tensors = dict(result.state_dict(), **{f"extra {k}": v for k, v in
                                                        result.source_info.get("extra", {}).items()
                                                        if isinstance(v, torch.Tensor)})
                bad = [k for k, t in tensors.items() if t.is_floating_point() and not torch.isfinite(t).all()]
                if bad:
                    problems.append(f"{what}: loaded with NaN/inf in {bad[:3]}")
        except DragEditError as e:
            if "\n" in str(e) or len(str(e).replace(path, "")) > 1000:  # the path itself may be long
                problems.append(f"{what}: {read.__name__}: message not one short line: {str(e)[:300]!r}")
        except BaseException as e:  # noqa: BLE001 - that is what this test looks for
            problems.append(f"{what}: {read.__name__}: {type(e).__name__}: {str(e)[:300]}")
        took = time.perf_counter() - t
        if took > CALL_LIMIT_S:
            problems.append(f"{what}: {read.__name__} took {took:.1f} s")
    if digest is not None and hashlib.sha256(open(path, "rb").read()).hexdigest() != digest:
        problems.append(f"{what}: the input file changed")


KINDS = ["ours-fp32", "ours-fp16", "nvidia-sg2", "nvidia-sg2-proto2", "nvidia-sg3", "tf-era", "rosinality"]


@pytest.mark.parametrize("kind", KINDS)
def test_corrupted_bytes(tmp_path, seeds, kind):
    rng = random.Random(f"{SEED}-{kind}")
    problems = []
    others = [k for k in KINDS if k != kind]
    for i in range(BYTE_MUTATIONS):
        what, data = mutate_bytes(rng, seeds[kind], seeds[rng.choice(others)])
        path = tmp_path / f"{kind}-{i}.bin"
        path.write_bytes(data)
        _check(str(path), f"{kind} #{i} ({what})", problems)
        path.unlink()
    assert not problems, "\n".join(problems)


def test_crafted_wrong_types_in_our_format(tmp_path, seeds):
    rng = random.Random(f"{SEED}-ours-types")
    src = tmp_path / "src.pt"
    src.write_bytes(seeds["ours-fp32"])
    problems = []
    for i in range(TYPE_MUTATIONS):
        raw = torch.load(src, weights_only=True)
        where = mutate_ours(rng, raw)
        path = tmp_path / f"typed-{i}.pt"
        torch.save(raw, path)
        _check(str(path), f"ours #{i} ({where})", problems)
        path.unlink()
    assert not problems, "\n".join(problems)


def test_crafted_wrong_types_in_nvidia_records(tmp_path):
    rng = random.Random(f"{SEED}-nvidia-types")
    G = op.make_generator()
    problems = []
    for i in range(TYPE_MUTATIONS):
        plant, note = mutate_record(rng)
        path = op.write_official_pickle(G, tmp_path / f"rec-{i}.pkl", mutate=plant)
        _check(str(path), f"nvidia #{i} ({note[0]})", problems)
        os.unlink(path)
    assert not problems, "\n".join(problems)


_WRONG_ARRAYS = [np.float64(np.nan), np.zeros((0,), np.float32), np.zeros((3, 3), np.float32), np.array(["a"]),
                 np.zeros((2,), np.complex64), np.full((4,), np.inf, np.float32), np.zeros((1,) * 5, np.float32)]


def test_crafted_wrong_types_in_tf_pickles(tmp_path):
    """A variable, a static kwarg or a Network state field of a wrong type or shape."""
    rng = random.Random(f"{SEED}-tf-types")
    tfv0, kwargs0 = fm.random_tf_variables(), fm.tf_static_kwargs(16)
    problems = []
    for i in range(TYPE_MUTATIONS // 2):
        tfv, kwargs, plant = dict(tfv0), dict(kwargs0), None
        choice = rng.random()
        if choice < 0.4:
            key = rng.choice(sorted(tfv))
            tfv[key] = rng.choice(_WRONG_ARRAYS + [_wrong(rng)])
        elif choice < 0.7:
            key = rng.choice(sorted(kwargs) + ["resample_kernel", "conv_clamp", "mapping_lrmul"])
            kwargs[key] = _wrong(rng)
        else:
            key, value, net = rng.choice(["version", "name", "static_kwargs", "components", "variables"]), \
                _wrong(rng), rng.choice(["G", "Gs", "D"])

            def plant(states, key=key, value=value, net=net):
                states[net][0][key] = value
        path = fm.write_tf_pickle(tmp_path / f"tf-{i}.pkl", tfv, kwargs, mutate=plant)
        _check(str(path), f"tf #{i} ({key})", problems)
        os.unlink(path)
    assert not problems, "\n".join(problems)


def test_crafted_wrong_types_in_rosinality_checkpoints(tmp_path):
    rng = random.Random(f"{SEED}-rosinality-types")
    problems = []
    for i in range(TYPE_MUTATIONS // 2):
        sd, latent_avg = fm.random_rosinality_state_dict(), torch.zeros(32)
        key = rng.choice(sorted(sd) + ["latent_avg"])
        value = _wrong(rng) if rng.random() < 0.7 else torch.from_numpy(rng.choice(_WRONG_ARRAYS[1:3]).copy())
        if key == "latent_avg":
            latent_avg = value
        else:
            sd[key] = value
        kind = rng.choice(["convert", "train", "bare"])
        if kind == "train" and not all(isinstance(v, torch.Tensor) for v in sd.values()):
            kind = "convert"  # train.py's layout copies every tensor (the writer needs tensors)
        path = fm.write_rosinality(tmp_path / f"ros-{i}.pt", sd, kind=kind, latent_avg=latent_avg)
        _check(str(path), f"rosinality #{i} ({kind}: {key})", problems)
        os.unlink(path)
    assert not problems, "\n".join(problems)


def test_empty_folder_missing_and_over_long_names(tmp_path):
    problems = []
    (tmp_path / "empty.pt").write_bytes(b"")
    (tmp_path / "folder.pkl").mkdir()
    cases = {
        "empty file": tmp_path / "empty.pt",
        "a folder": tmp_path / "folder.pkl",
        "missing": tmp_path / "missing.pkl",
        "missing folder": tmp_path / "no" / "such" / "model.pt",
        "over-long name": tmp_path / ("m" * 300 + ".pt"),
        "over-long path": tmp_path / "/".join(["d" * 200] * 30) / "model.pt",
        "NUL in the name": str(tmp_path / "a\x00b.pt"),
    }
    for what, path in cases.items():
        _check(str(path), what, problems)
    assert not problems, "\n".join(problems)


def test_the_generator_is_deterministic(seeds):
    a = [mutate_bytes(random.Random("x"), seeds["tf-era"], seeds["rosinality"]) for _ in range(3)]
    b = [mutate_bytes(random.Random("x"), seeds["tf-era"], seeds["rosinality"]) for _ in range(3)]
    assert a == b
