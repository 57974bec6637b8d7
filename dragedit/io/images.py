"""Reading a user's photo into the generator's frame: any common format, EXIF orientation,
RGBA / greyscale / 16-bit, non-square (centre crop or pad), resized with a good filter; and the mask
images `dragedit edit --mask` reads. Every failure is a DragEditError naming the file."""
from __future__ import annotations

import struct
import warnings
from contextlib import contextmanager

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import DragEditError
from .userfile import check_user_file, short_name

MAX_PIXELS = 100_000_000  # larger images are refused rather than risking memory
MIN_PHOTO_SIDE = 16       # a smaller photo holds too little to invert: it would only be a flat blur
MAX_IMAGE_FILE_BYTES = 1 << 30
# Pillow's own reading errors: a broken PNG chunk raises SyntaxError, a short file EOFError or
# OSError, odd headers ValueError / struct.error; a huge declared size DecompressionBombError.
_PIL_ERRORS = (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError, struct.error, IndexError,
               TypeError, ZeroDivisionError)


@contextmanager
def _open_image(path, what: str, expected: str, max_pixels: int):
    """Image.open with the pixel limit set and every Pillow failure turned into one DragEditError."""
    path = check_user_file(path, what, MAX_IMAGE_FILE_BYTES, expected)
    name = short_name(path)
    old_limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                if im.width * im.height > max_pixels:
                    raise DragEditError(f"image {name} is {im.width}x{im.height}: larger than "
                                        f"{max_pixels / 1_000_000:g} megapixels")
                yield path, im
    except DragEditError:
        raise
    except Image.DecompressionBombError:
        raise DragEditError(f"image {name} declares a size too large to open safely "
                            f"(over {max_pixels / 1_000_000:g} megapixels)") from None
    except MemoryError:
        raise DragEditError(f"image {name} is too large for the memory available") from None
    except _PIL_ERRORS:
        raise DragEditError(f"{name} is not a readable image: expected {expected}") from None
    finally:
        Image.MAX_IMAGE_PIXELS = old_limit


def load_photo(path, size: int, fit: str = "crop", background=(255, 255, 255)) -> np.ndarray:
    """-> uint8 [size, size, 3]. fit='crop' takes the centre square, 'pad' letterboxes with the edge colour
    (resized first, so a tall photo never becomes a full-resolution square canvas)."""
    if fit not in ("crop", "pad"):
        raise DragEditError(f"fit must be 'crop' or 'pad', got {fit!r}")
    with _open_image(path, "image file", "PNG, JPEG, WebP, BMP or TIFF", MAX_PIXELS) as (path, im):
        im = ImageOps.exif_transpose(im)
        im.load()
        rgb = _to_rgb(im, background)
    w, h = rgb.size
    if min(w, h) < MIN_PHOTO_SIDE:
        raise DragEditError(f"image {short_name(path)} is {w}x{h}: too small to invert (the short side must be "
                            f"at least {MIN_PHOTO_SIDE} px)")
    if fit == "crop":
        side = min(w, h)
        rgb = rgb.crop(((w - side) // 2, (h - side) // 2, (w - side) // 2 + side, (h - side) // 2 + side))
    else:
        arr = np.asarray(rgb)
        edge = np.median(np.concatenate([arr[0], arr[-1], arr[:, 0], arr[:, -1]]), axis=0).astype(np.uint8)
        scale = size / max(w, h)
        inner = (max(1, round(w * scale)), max(1, round(h * scale)))
        if inner != (w, h):
            rgb = rgb.resize(inner, Image.LANCZOS, reducing_gap=3.0)
        canvas = Image.new("RGB", (size, size), tuple(int(v) for v in edge))
        canvas.paste(rgb, ((size - inner[0]) // 2, (size - inner[1]) // 2))
        rgb = canvas
    if rgb.size != (size, size):
        rgb = rgb.resize((size, size), Image.LANCZOS, reducing_gap=3.0)
    return np.asarray(rgb, dtype=np.uint8).copy()


def load_mask(path, size) -> np.ndarray:
    """A mask image: painted (non-black) pixels are True. Must match the generator's (H, W) size,
    which is checked from the header, before any pixel is decoded."""
    h, w = (int(v) for v in size)
    with _open_image(path, "mask file", "a black-and-white PNG", MAX_PIXELS) as (path, im):
        if im.size != (w, h):
            raise DragEditError(f"mask {short_name(path)} is {im.width}x{im.height} but the image is {w}x{h}")
        m = np.asarray(im.convert("L")) > 127
    if m.shape != (h, w):
        raise DragEditError(f"mask {short_name(path)} decodes to {m.shape[1]}x{m.shape[0]}, expected {w}x{h}")
    return m


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
