"""Exported frames decode with the right frame count; latents round-trip; bad paths are clear errors."""
import cv2
import numpy as np
import pytest
from PIL import Image

from dragedit.errors import DragEditError
from dragedit.io import export
from dragedit.io.latents import load_latent, save_latent


def frames(n=7, size=32):
    rng = np.random.default_rng(0)
    return [rng.integers(0, 255, (size, size, 3), dtype=np.uint8) for _ in range(n)]


def test_gif_has_every_frame(tmp_path):
    path = export.save_video(frames(7), tmp_path / "edit.gif", fps=10)
    with Image.open(path) as im:
        assert im.n_frames == 7
        assert im.size == (32, 32)


def test_mp4_decodes_with_every_frame(tmp_path):
    path = export.save_video(frames(9, 31), tmp_path / "edit.mp4", fps=12)
    cap = cv2.VideoCapture(str(path))
    count = 0
    while True:
        ok, f = cap.read()
        if not ok:
            break
        count += 1
        assert f.shape == (32, 32, 3)  # padded to even size
    cap.release()
    assert count == 9


def test_png_sequence(tmp_path):
    paths = export.save_png_sequence(frames(4), tmp_path / "seq")
    assert [p.name for p in paths] == [f"frame_{i:04d}.png" for i in range(4)]
    assert np.array_equal(np.asarray(Image.open(paths[2])), frames(4)[2])


def test_overlay_draws_points_and_upscales():
    f = np.zeros((64, 64, 3), np.uint8)
    out = export.draw_points(f, [(10, 10)], [(50, 40)])
    assert out.shape == (512, 512, 3)
    assert (out[..., 0] > 200).any() and (out[..., 2] > 200).any()  # red handle, blue target


def test_unknown_video_extension_is_a_clear_error(tmp_path):
    with pytest.raises(DragEditError, match="gif or .mp4"):
        export.save_video(frames(2), tmp_path / "edit.avi")
    with pytest.raises(DragEditError, match="no frames"):
        export.save_video([], tmp_path / "edit.gif")


def test_latent_round_trip_and_bad_files(tmp_path):
    ws = np.random.default_rng(1).standard_normal((1, 12, 16)).astype(np.float32)
    p = save_latent(tmp_path / "w.npz", ws, seed=5)
    back, meta = load_latent(p, with_meta=True)
    assert np.array_equal(back, ws) and meta["seed"] == 5
    (tmp_path / "bad.npz").write_text("not numpy")
    with pytest.raises(DragEditError, match="bad.npz"):
        load_latent(tmp_path / "bad.npz")
    with pytest.raises(DragEditError, match="does not exist"):
        load_latent(tmp_path / "missing.npz")
    np.save(tmp_path / "nan.npy", np.full((1, 16), np.nan, np.float32))
    with pytest.raises(DragEditError, match="NaN"):
        load_latent(tmp_path / "nan.npy")


def test_image_grid_tiles_frames_row_by_row():
    from dragedit.io.export import image_grid
    frames = [np.full((8, 6, 3), i * 20, np.uint8) for i in range(5)]
    grid = image_grid(frames, cols=2)
    assert grid.shape == (24, 12, 3)
    assert (grid[8:16, 6:12] == 60).all() and (grid[16:24, 0:6] == 80).all() and (grid[16:24, 6:] == 0).all()
    with pytest.raises(DragEditError):
        image_grid([])
