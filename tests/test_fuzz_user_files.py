"""Fuzzing the readers of users' files with generated corruptions, from a fixed seed.

Each case starts from a valid file (session .json + .npz, latent .npz / .npy, mask PNG, photo PNG /
JPEG) and damages it: bit flips (anywhere, or in the header), truncations, splices from another
file, zeroed or inserted ranges, or crafted content (wrong JSON types, non-finite numbers, deep
nesting, arrays of the wrong dtype, shape or size, headers declaring huge sizes). Every public
reader and the `dragedit edit` / `invert` commands must then succeed or raise DragEditError (the
commands: exit 2 with one line), leave the input file unchanged, and stay within time and memory.

A seeded generator of our own, not hypothesis: the inputs are byte-level and format-aware
corruptions that we build by hand anyway, a fixed list is reproducible from the case number in
the failure message, and no shrinking is needed to read a one-line file description."""
import hashlib
import io
import json
import math
import time
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from dragedit.cli import main
from dragedit.edit.session_file import read_session
from dragedit.errors import DragEditError
from dragedit.io.images import load_mask, load_photo
from dragedit.io.latents import load_latent

SEED = 20_2026
MAX_SECONDS_PER_READ = 3.0
MAX_TRACED_BYTES = 64 << 20   # numpy and Python allocations of one read of a small file
CRAFTED_VALUES = [None, True, False, 0, -1, 3.5, 1e30, -1e30, math.inf, -math.inf, math.nan, 2 ** 64, 10 ** 30,
                  "", "x", "1", "a\x00b", "w+", [], [1], [1, 2, 3, 4], {}, {"a": 1}, "é" * 5000, [[[[[]]]]]]


# ----- valid starting files ---------------------------------------------------------------------
def npz_bytes(**arrays):
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def npy_bytes(arr):
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def image_bytes(arr, fmt, **kw):
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, fmt, **kw)
    return buf.getvalue()


RNG0 = np.random.default_rng(0)
WS = RNG0.standard_normal((1, 8, 32)).astype(np.float32)
SESSION_DOC = dict(format="dragedit-session", version=1, model="/nowhere/model.pt", seed=3,
                   params=dict(lr=0.003, lambda_mask=20.0, r1=None, r2=None, stop_distance=None, space="w+",
                               num_layers=6, feature_block=None, truncation_psi=0.7, tracker="patch",
                               stall_patience=None, preview="auto"),
                   pairs=[[10.0, 12.0, 20.0, 12.0], [30.0, 30.0, 34.0, 40.0]], mask_mode="fixed", size=[64, 64],
                   data="s.npz", settings=dict(steps=20, fps=15, overlay=True, brush=8))
SESSION_NPZ = npz_bytes(ws=WS, ws_initial=WS, mask=RNG0.random((64, 64)) > 0.5)
LATENT_NPZ = npz_bytes(ws=WS, meta=np.array(json.dumps(dict(seed=3, model="m.pt"))))
LATENT_NPY = npy_bytes(WS)
MASK_PNG = image_bytes(((RNG0.random((64, 64)) > 0.5) * 255).astype(np.uint8), "PNG")
PHOTO = RNG0.integers(0, 255, (40, 48, 3), dtype=np.uint8)
PHOTO_PNG = image_bytes(PHOTO, "PNG")
PHOTO_JPEG = image_bytes(PHOTO, "JPEG", quality=80)
DONORS = [SESSION_NPZ, LATENT_NPZ, LATENT_NPY, MASK_PNG, PHOTO_PNG, PHOTO_JPEG, json.dumps(SESSION_DOC).encode()]


# ----- corruptions ----------------------------------------------------------------------------------
def corrupt_bytes(rng, data: bytes) -> tuple[bytes, str]:
    """One byte-level corruption and its description."""
    data = bytearray(data)
    n = len(data)
    op = rng.choice(["flip", "flip_header", "truncate", "splice", "zero", "insert", "duplicate", "empty", "donor"])
    if op in ("flip", "flip_header"):
        hi = min(n, 96) if op == "flip_header" else n
        k = int(rng.integers(1, 9))
        for _ in range(k):
            data[int(rng.integers(0, hi))] ^= 1 << int(rng.integers(0, 8))
        return bytes(data), f"{op} x{k}"
    if op == "truncate":
        at = int(rng.integers(0, n))
        return bytes(data[:at]), f"truncate at {at}"
    if op == "splice":
        donor = DONORS[int(rng.integers(0, len(DONORS)))]
        a, b = sorted(int(v) for v in rng.integers(0, len(donor), 2))
        at = int(rng.integers(0, n))
        return bytes(data[:at] + donor[a:b] + data[at + (b - a):]), f"splice {b - a} bytes at {at}"
    if op == "zero":
        a = int(rng.integers(0, n))
        b = min(n, a + int(rng.integers(1, 256)))
        data[a:b] = bytes(b - a)
        return bytes(data), f"zero {a}:{b}"
    if op == "insert":
        at = int(rng.integers(0, n))
        junk = rng.integers(0, 256, int(rng.integers(1, 64)), dtype=np.uint8).tobytes()
        return bytes(data[:at] + junk + data[at:]), f"insert {len(junk)} at {at}"
    if op == "duplicate":
        a, b = sorted(int(v) for v in rng.integers(0, n, 2))
        return bytes(data[:b] + data[a:b] + data[b:]), f"duplicate {a}:{b}"
    if op == "empty":
        return b"", "empty"
    donor = DONORS[int(rng.integers(0, len(DONORS)))]
    return donor, "another kind of file"


def json_paths(doc, prefix=()):
    yield prefix
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from json_paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from json_paths(v, prefix + (i,))


def corrupt_session_json(rng) -> tuple[bytes, str]:
    """A crafted value at a random place of a valid session, a key deleted, or deep nesting."""
    doc = json.loads(json.dumps(SESSION_DOC))
    paths = [p for p in json_paths(doc) if p]
    path = paths[int(rng.integers(0, len(paths)))]
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    op = rng.choice(["value", "value", "value", "delete", "nest"])
    if op == "delete" and isinstance(parent, dict):
        del parent[path[-1]]
        return json.dumps(doc).encode(), f"delete {path}"
    if op == "nest":
        depth = int(rng.choice([50, 5000, 200_000]))
        parent[path[-1]] = "NEST"
        return json.dumps(doc).replace('"NEST"', "[" * depth + "]" * depth).encode(), f"nest {depth} at {path}"
    value = CRAFTED_VALUES[int(rng.integers(0, len(CRAFTED_VALUES)))]
    parent[path[-1]] = value
    return json.dumps(doc).encode(), f"{path} = {value!r:.40}"


def crafted_array(rng) -> tuple[np.ndarray, str]:
    """An array a latent or session could hold that is wrong in dtype, shape or values."""
    choice = int(rng.integers(0, 12))
    if choice == 0:
        return np.full((1, 8, 32), 1e39), "float64 beyond float32"
    if choice == 1:
        a = WS.copy()
        a.flat[int(rng.integers(0, a.size))] = rng.choice([np.nan, np.inf, -np.inf])
        return a, "one non-finite value"
    if choice == 2:
        return np.zeros((1, 8, 32), np.int64), "integers"
    if choice == 3:
        return np.zeros((1, 8, 32), bool), "bools"
    if choice == 4:
        return np.zeros((1, 8, 32), np.complex64), "complex"
    if choice == 5:
        return np.zeros(int(rng.integers(0, 4)) * (1,), np.float32), "0-d or 1-D"
    if choice == 6:
        return np.zeros((1, 0, 32), np.float32), "empty"
    if choice == 7:
        return np.zeros((2, 8, 32), np.float32), "batch of 2"
    if choice == 8:
        return np.zeros((1, 8, 32), dtype=[("a", "<f4")]), "structured"
    if choice == 9:
        return np.asfortranarray(WS.astype(">f4")), "big-endian, Fortran order"
    if choice == 10:
        return np.zeros((1, 1, 8, 32), np.float32), "4-D"
    return np.zeros((1, 2048, 2048), np.float32), "16 MiB of zeros (inflates from a small file)"


def header_declaring(shape, descr="<f4") -> bytes:
    """A .npy whose header declares `shape` but which carries almost no data."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, dict(descr=descr, fortran_order=False, shape=shape))
    return buf.getvalue() + bytes(64)


def npz_with_member(name, payload: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(name + ".npy", payload)
    return buf.getvalue()


def corrupt_npz(rng, base_arrays: dict, key: str) -> tuple[bytes, str]:
    op = int(rng.integers(0, 4))
    if op == 0:
        arr, what = crafted_array(rng)
        return npz_bytes(**{**base_arrays, key: arr}), f"{key}: {what}"
    if op == 1:
        shape = [(1, 10 ** 9, 512), (1, 2 ** 62, 2 ** 62), (10 ** 12,), (1, 8, 32)][int(rng.integers(0, 4))]
        return npz_with_member(key, header_declaring(shape)), f"{key} header declares {shape}"
    if op == 2:
        return npz_with_member(key, b"\x93NUMPY\x01\x00" + b"{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"
                               .ljust(118) + b"\n" + b"\x80\x04K\x01."), f"{key} as a pickled object array"
    return npz_bytes(**{k: v for k, v in base_arrays.items() if k != key}), f"no {key}"


# ----- the harness -------------------------------------------------------------------------------
def digest(path: Path):
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def check_reader(read, files: list[Path], label: str, failures: list, trace=True):
    """Run one read; record anything but success or DragEditError, a changed input, or a slow or
    memory-hungry read."""
    before = [digest(p) for p in files]
    if trace:
        tracemalloc.start()
    start = time.perf_counter()
    outcome = "failed"
    try:
        read()
        outcome = "read"
    except DragEditError as exc:
        outcome = "refused"
        if not str(exc).strip():
            failures.append(f"{label}: empty message")
    except Exception as exc:  # noqa: BLE001 - that is what the test looks for
        failures.append(f"{label}: {type(exc).__name__}: {str(exc)[:120]}")
    finally:
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1] if trace else 0
        if trace:
            tracemalloc.stop()
    if seconds > MAX_SECONDS_PER_READ:
        failures.append(f"{label}: took {seconds:.1f} s")
    if peak > MAX_TRACED_BYTES:
        failures.append(f"{label}: used {peak / 2 ** 20:.0f} MiB")
    if [digest(p) for p in files] != before:
        failures.append(f"{label}: the input file changed")
    return outcome


def report(failures, outcomes=None):
    assert not failures, f"{len(failures)} bad outcomes:\n" + "\n".join(failures[:40])
    if outcomes is not None:   # the corpus must reach both sides, or the readers are not really tested
        assert outcomes.count("read") >= 5 and outcomes.count("refused") >= 5, \
            f"{outcomes.count('read')} read, {outcomes.count('refused')} refused"


# ----- the readers -----------------------------------------------------------------------------
def test_fuzz_session_files(tmp_path):
    rng = np.random.default_rng(SEED)
    failures, outcomes = [], []
    for case in range(260):
        folder = tmp_path / f"c{case}"
        folder.mkdir()
        json_bytes, npz = json.dumps(SESSION_DOC).encode(), SESSION_NPZ
        kind = case % 4
        if kind == 0:
            json_bytes, what = corrupt_session_json(rng)
        elif kind == 1:
            json_bytes, what = corrupt_bytes(rng, json_bytes)
        elif kind == 2:
            npz, what = corrupt_bytes(rng, npz)
        else:
            base = dict(ws=WS, ws_initial=WS, mask=np.zeros((64, 64), bool))
            npz, what = corrupt_npz(rng, base, ["ws", "ws_initial", "mask"][int(rng.integers(0, 3))])
        (folder / "s.json").write_bytes(json_bytes)
        (folder / "s.npz").write_bytes(npz)
        outcomes.append(check_reader(lambda: read_session(folder / "s.json"), [folder / "s.json", folder / "s.npz"],
                                     f"session case {case} ({what})", failures))
    report(failures, outcomes)


def test_fuzz_latent_files(tmp_path):
    rng = np.random.default_rng(SEED + 1)
    failures, outcomes = [], []
    for case in range(240):
        kind = case % 3
        if kind == 0:
            data, what = corrupt_bytes(rng, LATENT_NPZ)
        elif kind == 1:
            data, what = corrupt_bytes(rng, LATENT_NPY)
        else:
            data, what = corrupt_npz(rng, dict(ws=WS), ["ws", "meta"][int(rng.integers(0, 2))])
        path = tmp_path / f"c{case}{rng.choice(['.npz', '.npy'])}"
        path.write_bytes(data)
        expect = None if case % 2 else (8, 32)
        outcomes.append(check_reader(lambda: load_latent(path, expect=expect), [path], f"latent case {case} ({what})",
                                     failures))
    report(failures, outcomes)


def corrupt_image(rng, data: bytes, header_odds=0.25) -> tuple[bytes, str]:
    """Byte corruptions, or a PNG header that declares a huge size (with a correct CRC)."""
    if data[:4] == b"\x89PNG" and rng.random() < header_odds:
        import struct
        import zlib
        w, h = [(60000, 60000), (1, 10 ** 6), (2 ** 31 - 1, 1), (0, 64), (30000, 300)][int(rng.integers(0, 5))]
        raw = bytearray(data)
        ihdr = b"IHDR" + struct.pack(">II", w, h) + bytes(raw[24:29])
        raw[12:29] = ihdr
        raw[29:33] = struct.pack(">I", zlib.crc32(ihdr))
        return bytes(raw), f"PNG declaring {w}x{h}"
    return corrupt_bytes(rng, data)


def test_fuzz_masks_and_photos(tmp_path):
    rng = np.random.default_rng(SEED + 2)
    failures, outcomes = [], []
    for case in range(300):
        kind = case % 3
        data, what = corrupt_image(rng, [MASK_PNG, PHOTO_PNG, PHOTO_JPEG][kind])
        path = tmp_path / f"c{case}{['.png', '.png', '.jpg'][kind]}"
        path.write_bytes(data)
        if kind == 0:
            outcomes.append(check_reader(lambda: load_mask(path, (64, 64)), [path], f"mask case {case} ({what})",
                                         failures, trace=False))
        else:
            fit = "pad" if case % 2 else "crop"
            outcomes.append(check_reader(lambda: load_photo(path, 64, fit=fit), [path],
                                         f"photo case {case} ({what}, {fit})", failures, trace=False))
    report(failures, outcomes)


def test_fuzz_readers_on_names_that_are_not_files(tmp_path):
    (tmp_path / "folder.npz").mkdir()
    (tmp_path / "empty.npz").write_bytes(b"")
    names = [tmp_path / "folder.npz", tmp_path / "empty.npz", tmp_path / "missing.npz", tmp_path / ("x" * 5000),
             tmp_path / "not-a-folder.npz" / "x.npz", "a\x00b.npz"]
    (tmp_path / "not-a-folder.npz").write_bytes(LATENT_NPZ)
    failures = []
    for name in names:
        for read in (read_session, load_latent, lambda p: load_mask(p, (64, 64)), lambda p: load_photo(p, 64)):
            check_reader(lambda: read(name), [], f"{str(name)[-40:]!r} through {getattr(read, '__name__', 'image')}",
                         failures, trace=False)
    report(failures)


# ----- the command line, in process --------------------------------------------------------------
def check_cli(argv, files, label, failures, capsys):
    before = [digest(p) for p in files]
    try:
        rc = main(argv)
    except BaseException as exc:  # noqa: BLE001 - an escaping exception is the failure looked for
        failures.append(f"{label}: {type(exc).__name__} escaped: {str(exc)[:120]}")
        return
    err = capsys.readouterr().err.strip().splitlines()
    if rc not in (0, 2) or rc == 2 and not (err and err[-1].startswith("dragedit: error: ")):
        failures.append(f"{label}: exit {rc}, stderr {err[-3:]}")
    if any("Traceback" in line for line in err):
        failures.append(f"{label}: a traceback")
    if [digest(p) for p in files] != before:
        failures.append(f"{label}: the input file changed")


def test_fuzz_edit_and_invert_commands(tiny_model_file, tmp_path, capsys):
    from dragedit.io.checkpoint import load_generator
    G = load_generator(tiny_model_file)
    ws = np.random.default_rng(1).standard_normal((1, G.num_ws, G.w_dim)).astype(np.float32)
    latent_npz = npz_bytes(ws=ws)
    mask_png = image_bytes(np.zeros((64, 64), np.uint8), "PNG")
    rng = np.random.default_rng(SEED + 3)
    failures = []
    edit = ["edit", "--model", str(tiny_model_file), "--pair", "20,30:24,30", "--steps", "1", "--quiet",
            "--threads", "1"]
    for case in range(24):
        if case % 2:
            data, what = corrupt_bytes(rng, latent_npz) if case % 4 == 1 else corrupt_npz(rng, dict(ws=ws), "ws")
            path = tmp_path / f"l{case}{rng.choice(['.npz', '.npy'])}"
            path.write_bytes(data)
            check_cli(edit + ["--latent", str(path)], [path], f"edit --latent case {case} ({what})", failures, capsys)
        else:
            data, what = corrupt_image(rng, mask_png, header_odds=0.5)
            path = tmp_path / f"m{case}.png"
            path.write_bytes(data)
            check_cli(edit + ["--mask", str(path)], [path], f"edit --mask case {case} ({what})", failures, capsys)
    for case in range(10):
        data, what = corrupt_image(rng, PHOTO_PNG, header_odds=0.5)
        path = tmp_path / f"p{case}.png"
        path.write_bytes(data)
        check_cli(["invert", str(path), "--model", str(tiny_model_file), "--steps", "1", "--out",
                   str(tmp_path / f"out{case}.npz"), "--quiet", "--threads", "1"], [path],
                  f"invert case {case} ({what})", failures, capsys)
    report(failures)
