"""Reading a user's photo into the generator's frame: any common format, EXIF orientation,
RGBA / greyscale / 16-bit, non-square (centre crop or pad), resized with a good filter."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import DragEditError

MAX_PIXELS = 100_000_000  # larger images are refused rather than risking memory


def load_photo(path, size: int, fit: str = "crop", background=(255, 255, 255)) -> np.ndarray:
    """-> uint8 [size, size, 3]. fit='crop' takes the centre square, 'pad' letterboxes with the edge colour."""
    if fit not in ("crop", "pad"):
        raise DragEditError(f"fit must be 'crop' or 'pad', got {fit!r}")
    path = Path(path)
    if not path.exists():
        raise DragEditError(f"image file {path} does not exist")
    if path.is_dir():
        raise DragEditError(f"{path} is a folder: expected an image file (PNG, JPEG, ...)")
    old_limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with Image.open(path) as im:
            if im.width * im.height > MAX_PIXELS:
                raise DragEditError(f"image {path} is {im.width}x{im.height}: larger than "
                                    f"{MAX_PIXELS // 1_000_000} megapixels")
            im = ImageOps.exif_transpose(im)
            im.load()
            rgb = _to_rgb(im, background)
    except DragEditError:
        raise
    except Image.DecompressionBombError:
        raise DragEditError(f"image {path} is too large to open safely") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise DragEditError(f"{path} is not a readable image: expected PNG, JPEG, WebP, BMP or TIFF") from None
    finally:
        Image.MAX_IMAGE_PIXELS = old_limit
    w, h = rgb.size
    if fit == "crop":
        side = min(w, h)
        rgb = rgb.crop(((w - side) // 2, (h - side) // 2, (w - side) // 2 + side, (h - side) // 2 + side))
    else:
        side = max(w, h)
        arr = np.asarray(rgb)
        edge = np.median(np.concatenate([arr[0], arr[-1], arr[:, 0], arr[:, -1]]), axis=0).astype(np.uint8)
        canvas = Image.new("RGB", (side, side), tuple(int(v) for v in edge))
        canvas.paste(rgb, ((side - w) // 2, (side - h) // 2))
        rgb = canvas
    if rgb.size != (size, size):
        rgb = rgb.resize((size, size), Image.LANCZOS, reducing_gap=3.0)
    return np.asarray(rgb, dtype=np.uint8).copy()


def _to_rgb(im: Image.Image, background) -> Image.Image:
    """8-bit RGB from any mode: 16-bit greyscale scaled down, alpha composited over `background`."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(im, dtype=np.float64)
        peak = 65535.0 if arr.max() > 255 else 255.0
        im = Image.fromarray(np.clip(arr / peak * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    elif im.mode == "F":
        arr = np.asarray(im, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        im = Image.fromarray(((arr - lo) / max(hi - lo, 1e-12) * 255).astype(np.uint8), "L")
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        im = im.convert("RGBA")
        base = Image.new("RGBA", im.size, tuple(background) + (255,))
        return Image.alpha_composite(base, im).convert("RGB")
    return im.convert("RGB")
