"""Users' own files (sessions, latents, photos, masks) that are broken, crafted or hostile: each is
refused with one DragEditError naming the file and the field, read whole before anything changes,
and never costs more memory than the model's own sizes allow. One test per fault found."""
import dataclasses
import io
import json
import struct
import tracemalloc
import zipfile
import zlib

import numpy as np
import pytest
from PIL import Image

from dragedit.cli import main
from dragedit.edit.drag import DragParams
from dragedit.edit.session_file import read_session
from dragedit.errors import DragEditError
from dragedit.io.images import load_mask, load_photo
from dragedit.io.latents import load_latent

LONG_NAME = "x" * 5000   # longer than any file system allows (ENAMETOOLONG)


# ----- sessions -------------------------------------------------------------------------------------
def good_session_doc():
    return dict(format="dragedit-session", version=1, model=None, seed=3,
                params=dict(lr=0.003, num_layers=6, tracker="patch"), pairs=[[10.0, 12.0, 20.0, 12.0]],
                mask_mode="fixed", size=[64, 64], data="s.npz", settings=dict(steps=20, fps=15, overlay=True))


def good_session_arrays():
    ws = np.random.default_rng(0).standard_normal((1, 8, 32)).astype(np.float32)
    return dict(ws=ws, ws_initial=ws.copy(), mask=np.zeros((64, 64), bool))


def write_session(folder, doc=None, arrays=None, text=None):
    path = folder / "s.json"
    path.write_text(text if text is not None else json.dumps(doc if doc is not None else good_session_doc()))
    np.savez_compressed(folder / "s.npz", **(arrays if arrays is not None else good_session_arrays()))
    return path


def test_a_good_session_reads_into_one_frozen_checked_object(tmp_path):
    s = read_session(write_session(tmp_path))
    assert s.seed == 3 and s.params.lr == 0.003 and s.pairs == (((10.0, 12.0), (20.0, 12.0)),)
    assert s.size == (64, 64) and s.mask.shape == (64, 64) and s.ws.dtype == np.float32
    assert dict(s.settings) == dict(steps=20, fps=15, overlay=True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.seed = 4
    with pytest.raises(ValueError):
        s.ws[0, 0, 0] = 1.0   # read-only: a reader cannot change what was validated


# what File > Save session wrote before the schema (dragedit 7baf923), byte for byte
SAVED_BEFORE_THE_SCHEMA = """{"format": "dragedit-session", "version": 1, "model": "/tmp/m.pt", "seed": 7, "params": {
"lr": null, "lambda_mask": 20.0, "r1": null, "r2": null, "stop_distance": null, "space": "w+", "num_layers": 6,
"feature_block": null, "truncation_psi": 0.7, "tracker": "patch", "stall_patience": null, "preview": "auto"},
"pairs": [[20.0, 30.0, 28.0, 30.0]], "mask_mode": "fixed", "size": [64, 64], "data": "s.npz",
"settings": {"steps": 50, "fps": 15, "overlay": false, "brush": 12}}"""


def test_sessions_saved_before_the_schema_still_open(tmp_path):
    s = read_session(write_session(tmp_path, text=SAVED_BEFORE_THE_SCHEMA))
    assert s.model == "/tmp/m.pt" and s.seed == 7 and s.params.lr is None and s.mask_mode == "fixed"
    assert dict(s.settings) == dict(steps=50, fps=15, overlay=False, brush=12)


def with_field(key, value):
    def mutate(doc):
        target = doc
        *parents, last = key.split(".")
        for p in parents:
            target = target[p]
        target[last] = value
        return doc
    return mutate


BAD_SESSION_FIELDS = [
    ("version", "1"), ("version", None), ("version", [1]),
    ("params", [1]), ("params", "fast"), ("params", 7),
    ("seed", float("inf")), ("seed", 1e30), ("seed", float("nan")), ("seed", True),
    ("size", [float("inf"), 64]), ("size", [64]),
    ("params.truncation_psi", "x"), ("params.num_layers", 3.5), ("params.feature_block", "b32"),
    ("model", 3), ("model", "a\x00b.pt"),
    ("settings", "fast"), ("settings.steps", float("inf")), ("settings.overlay", "yes"),
    ("pairs", [[1, 2, 3]]), ("pairs", [[1, 2, 3, float("nan")]]), ("pairs", "10,10:20,20"),
    ("data", "../../elsewhere.npz"),
]


@pytest.mark.parametrize("key,value", BAD_SESSION_FIELDS, ids=[f"{k}={v!r}" for k, v in BAD_SESSION_FIELDS])
def test_a_session_field_of_the_wrong_type_or_range_names_the_field(tmp_path, key, value):
    path = write_session(tmp_path, with_field(key, value)(good_session_doc()))
    with pytest.raises(DragEditError) as err:
        read_session(path)
    assert str(err.value).startswith(str(path)) and f"{key.split('.')[-1]}" in str(err.value)
    assert "expected" in str(err.value)


def test_a_point_outside_the_image_is_refused_when_reading(tmp_path):
    path = write_session(tmp_path, with_field("pairs", [[10, 12, 20, 64.5]])(good_session_doc()))
    with pytest.raises(DragEditError, match=r"pairs\[0\].*outside"):
        read_session(path)


def test_deeply_nested_json_is_not_a_session(tmp_path):
    nested = "[" * 100_000 + "]" * 100_000
    path = write_session(tmp_path, text='{"format": "dragedit-session", "pairs": ' + nested + "}")
    with pytest.raises(DragEditError, match="not a dragedit session"):
        read_session(path)


@pytest.mark.parametrize("name,arrays", [
    ("1-D mask", dict(mask=np.zeros(64, bool))),
    ("0-d mask", dict(mask=np.array(True))),
    ("mask of another size", dict(mask=np.zeros((32, 32), bool))),
    ("ws_initial of another shape", dict(ws_initial=np.zeros((1, 4, 32), np.float32))),
])
def test_session_arrays_of_the_wrong_shape_are_refused(tmp_path, name, arrays):
    path = write_session(tmp_path, arrays={**good_session_arrays(), **arrays})
    with pytest.raises(DragEditError, match="s.npz"):
        read_session(path)


def test_over_long_session_name_is_a_clear_error(tmp_path):
    with pytest.raises(DragEditError, match="too long"):
        read_session(tmp_path / LONG_NAME)


def test_session_fits_only_its_own_model(tmp_path, tiny_model_file):
    from dragedit.edit.drag import DragSession
    from dragedit.edit.session_file import save_session
    from dragedit.io.checkpoint import load_generator
    G = load_generator(tiny_model_file)
    s = DragSession(G, seed=5)
    s.add_pair((20, 30), (28, 30))
    path = save_session(tmp_path / "mine.json", s, tiny_model_file, dict(steps=30))
    back = read_session(path)
    back.check_fits(G)
    snap = back.snapshot_for(s)
    assert snap["seed"] == 5 and snap["pairs"] == [((20.0, 30.0), (28.0, 30.0))]
    other = dataclasses.replace(back, ws=np.zeros((1, 3, G.w_dim), np.float32))
    with pytest.raises(DragEditError, match="open the session's model first"):
        other.check_fits(G)


# ----- drag parameters ------------------------------------------------------------------------------
@pytest.mark.parametrize("field,value", [
    ("num_layers", 3.5), ("num_layers", True), ("feature_block", "b32"), ("feature_block", 2.0),
    ("truncation_psi", "x"), ("truncation_psi", float("inf")), ("r1", "3"), ("r2", True),
    ("lambda_mask", True), ("stall_patience", True),
])
def test_drag_params_validate_checks_type_and_range(field, value):
    with pytest.raises(DragEditError, match=field):
        DragParams(**{field: value}).validate()


# ----- latents --------------------------------------------------------------------------------------
def test_an_npz_named_npy_is_read_as_what_it_is(tmp_path):
    np.savez(tmp_path / "x.npz", ws=np.zeros((1, 8, 32), np.float32))
    (tmp_path / "x.npz").rename(tmp_path / "x.npy")
    assert load_latent(tmp_path / "x.npy").shape == (1, 8, 32)


def test_float64_latent_beyond_float32_is_refused(tmp_path):
    np.save(tmp_path / "big.npy", np.full((1, 8, 32), 1e39))
    with pytest.raises(DragEditError, match="float32 range"):
        load_latent(tmp_path / "big.npy")


def write_deflate_bomb(path, shape=(1, 2048, 8192)):
    """A valid .npz whose 'ws' member inflates to 64 MiB of zeros from about 64 KiB on disk."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, dict(descr="<f4", fortran_order=False, shape=shape))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf, zf.open("ws.npy", "w", force_zip64=True) as fh:
        fh.write(header.getvalue())
        zeros = bytes(1 << 20)
        for _ in range(int(np.prod(shape)) * 4 // len(zeros)):
            fh.write(zeros)
    return path


def test_latent_deflate_bomb_is_refused_without_inflating_it(tmp_path):
    path = write_deflate_bomb(tmp_path / "bomb.npz")
    assert path.stat().st_size < 1 << 20
    tracemalloc.start()
    try:
        with pytest.raises(DragEditError, match="expected"):
            load_latent(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, f"reading the bomb took {peak / 2 ** 20:.0f} MiB"


def test_an_npz_listing_many_members_is_refused_before_they_are_listed(tmp_path):
    with zipfile.ZipFile(tmp_path / "many.npz", "w") as zf:
        zf.writestr("ws.npy", npy_bytes(np.zeros((1, 8, 32), np.float32)))
        for i in range(20_000):
            zf.writestr(f"{i}.npy", b"")
    with pytest.raises(DragEditError, match="20001 arrays"):
        load_latent(tmp_path / "many.npz")


def npy_bytes(arr):
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def test_latent_read_is_capped_by_the_models_size(tmp_path):
    np.savez(tmp_path / "w.npz", ws=np.zeros((1, 16, 64), np.float32))
    assert load_latent(tmp_path / "w.npz").shape == (1, 16, 64)
    with pytest.raises(DragEditError, match="expected"):
        load_latent(tmp_path / "w.npz", expect=(8, 32))
    assert load_latent(tmp_path / "w.npz", expect=(16, 64)).shape == (1, 16, 64)


def test_over_long_latent_name_is_a_clear_error(tmp_path):
    with pytest.raises(DragEditError, match="too long"):
        load_latent(tmp_path / (LONG_NAME + ".npz"))


# ----- photos and masks -----------------------------------------------------------------------------
def test_a_photo_too_small_to_invert_is_refused(tmp_path):
    Image.new("RGB", (1, 1), (200, 10, 10)).save(tmp_path / "dot.png")
    with pytest.raises(DragEditError, match="too small"):
        load_photo(tmp_path / "dot.png", 64)


def test_a_tall_photo_is_resized_before_it_is_padded(tmp_path, monkeypatch):
    ramp = np.repeat(np.linspace(0, 255, 10_000).astype(np.uint8)[:, None], 100, axis=1)   # dark to light
    Image.fromarray(ramp).save(tmp_path / "tall.png")
    made = []
    real_new = Image.new

    def new(mode, size, *a, **kw):
        made.append(tuple(size))
        if size[0] * size[1] > 4096 * 4096:
            raise MemoryError(f"a {size[0]}x{size[1]} canvas")
        return real_new(mode, size, *a, **kw)

    monkeypatch.setattr(Image, "new", new)
    out = load_photo(tmp_path / "tall.png", 64, fit="pad")
    assert out.shape == (64, 64, 3) and max(w * h for w, h in made) <= 64 * 64
    column_std = out.astype(float).std(axis=(0, 2))
    assert column_std[0] == 0 and column_std[28:36].max() > 50   # flat padding at the sides, the ramp in the middle


def test_over_long_photo_name_is_a_clear_error(tmp_path):
    with pytest.raises(DragEditError, match="too long"):
        load_photo(tmp_path / (LONG_NAME + ".png"), 64)


def png_bytes(size=64):
    buf = io.BytesIO()
    Image.fromarray((np.random.default_rng(0).random((size, size)) * 255).astype(np.uint8)).save(buf, "PNG")
    return bytearray(buf.getvalue())


def png_declaring(width, height):
    """A small PNG whose header (with a correct CRC) declares width x height."""
    raw = png_bytes()
    ihdr = b"IHDR" + struct.pack(">II", width, height) + bytes(raw[24:29])
    raw[12:29] = ihdr
    raw[29:33] = struct.pack(">I", zlib.crc32(ihdr))
    return bytes(raw)


def png_with_short_idat():
    """A PNG whose IDAT length is halved, so Pillow's decoder runs into garbage (SyntaxError)."""
    raw = png_bytes()
    i = raw.find(b"IDAT")
    raw[i - 4:i] = struct.pack(">I", struct.unpack(">I", raw[i - 4:i])[0] // 2)
    return bytes(raw)


@pytest.mark.parametrize("data,expected", [(png_declaring(60000, 60000), "60000x60000|too large"),
                                           (png_with_short_idat(), "not a readable image")])
def test_bad_mask_images_are_clear_errors(tmp_path, data, expected):
    (tmp_path / "m.png").write_bytes(data)
    with pytest.raises(DragEditError, match=expected):
        load_mask(tmp_path / "m.png", (64, 64))


# ----- the command line -----------------------------------------------------------------------------
def one_line_error(capsys, rc):
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.startswith("dragedit: error: ") and "\n" not in err and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("kind", ["bomb", "broken"])
def test_edit_with_a_bad_mask_is_one_line(tiny_model_file, tmp_path, capsys, kind):
    (tmp_path / "m.png").write_bytes(png_declaring(60000, 60000) if kind == "bomb" else png_with_short_idat())
    rc = main(["edit", "--model", str(tiny_model_file), "--pair", "20,30:28,30", "--steps", "1", "--quiet",
               "--threads", "1", "--mask", str(tmp_path / "m.png")])
    assert "m.png" in one_line_error(capsys, rc)


def test_edit_with_an_npz_named_npy_and_with_an_over_long_latent_name(tiny_model_file, tmp_path, capsys):
    from dragedit.io.checkpoint import load_generator
    G = load_generator(tiny_model_file)
    np.savez(tmp_path / "w.npz", ws=np.zeros((1, G.num_ws, G.w_dim), np.float32))
    (tmp_path / "w.npz").rename(tmp_path / "w.npy")
    args = ["edit", "--model", str(tiny_model_file), "--pair", "20,30:28,30", "--steps", "1", "--quiet",
            "--threads", "1"]
    assert main(args + ["--latent", str(tmp_path / "w.npy")]) == 0
    capsys.readouterr()
    rc = main(args + ["--latent", str(tmp_path / (LONG_NAME + ".npz"))])
    assert "too long" in one_line_error(capsys, rc)


def test_invert_with_an_over_long_photo_name_is_one_line(tiny_model_file, tmp_path, capsys):
    rc = main(["invert", str(tmp_path / (LONG_NAME + ".png")), "--model", str(tiny_model_file), "--steps", "1",
               "--out", str(tmp_path / "w.npz"), "--quiet", "--threads", "1"])
    assert "too long" in one_line_error(capsys, rc)
