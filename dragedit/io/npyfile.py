"""Reading `.npy` arrays and `.npz` members with a byte limit decided before any data is read.

`np.load` on an `.npz` inflates a member completely before anyone can look at its shape, so a
small deflate bomb (a few KiB that expand to gigabytes) costs all the memory it asks for. Here
the `.npy` header of each member is parsed first (shape and dtype, at most a few KiB), the
array's size is checked against the caller's limit, and then exactly that many bytes are read.
Only plain numeric dtypes are accepted; nothing is ever unpickled."""
from __future__ import annotations

import math
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np

from ..errors import DragEditError
from .userfile import check_user_file, describe_os_error, short_name

NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
NUMERIC_KINDS = "biuf"     # bool, signed, unsigned, floating
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError,
               UnicodeDecodeError, OSError)


def sniff(path) -> str:
    """'npy', 'npz' or 'other', from the first bytes (the suffix may lie: an .npz named .npy)."""
    with open(path, "rb") as fh:
        head = fh.read(6)
    if head == NPY_MAGIC:
        return "npy"
    if head[:4] in ZIP_MAGICS:
        return "npz"
    return "other"


def read_array(fh, what: str, max_bytes: int, kinds: str = NUMERIC_KINDS) -> np.ndarray:
    """One `.npy` array from a binary stream, refused before reading its data when its dtype is not
    one of `kinds` or it would be larger than max_bytes."""
    try:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
        else:
            raise DragEditError(f"{what}: unsupported .npy format version {version[0]}.{version[1]}")
    except DragEditError:
        raise
    except Exception:  # noqa: BLE001 - a corrupt header raises ValueError, SyntaxError, TypeError, EOFError ...
        raise DragEditError(f"{what} is not a readable numpy array (bad .npy header)") from None
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None or dtype.kind not in kinds:
        raise DragEditError(f"{what}: arrays of dtype {dtype} are not accepted (expected numbers)")
    if not all(isinstance(n, int) and n >= 0 for n in shape):
        raise DragEditError(f"{what}: bad array shape {shape}")
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > max_bytes:
        raise DragEditError(f"{what} holds a {'x'.join(map(str, shape))} {dtype} array ({nbytes:,} bytes): "
                            f"larger than the {max_bytes:,} bytes expected here")
    data = _read_exactly(fh, nbytes)
    if len(data) < nbytes:
        raise DragEditError(f"{what} is truncated: its array needs {nbytes:,} bytes, found {len(data):,}")
    if fh.read(1):   # also makes a zip member check its CRC
        raise DragEditError(f"{what} has more data than its array header says")
    return np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C").copy()


def _read_exactly(fh, n: int) -> bytes:
    chunks, left = [], n
    while left > 0:
        chunk = fh.read(min(left, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def load_npy(path, what: str, max_bytes: int, kinds: str = NUMERIC_KINDS) -> np.ndarray:
    """A whole `.npy` file (its name already checked with `check_user_file`)."""
    try:
        with open(path, "rb") as fh:
            return read_array(fh, what, max_bytes, kinds)
    except OSError as exc:
        raise DragEditError(f"{what} {describe_os_error(exc)}") from None


def load_npz(path, what: str, limits: dict[str, int], max_file_bytes: int,
             kinds: str = NUMERIC_KINDS) -> dict[str, np.ndarray]:
    """The members named in `limits` (name -> byte limit) that the archive holds; others are not
    read. Raises DragEditError for anything that is not a readable archive of numeric arrays."""
    path = check_user_file(path, what, max_file_bytes)
    _check_zip_directory(path, f"{what} {short_name(path)}")
    out = {}
    try:
        with zipfile.ZipFile(path) as zf:
            members = {info.filename: info for info in zf.infolist()}
            for name, limit in limits.items():
                info = members.get(name + ".npy")
                if info is None:
                    continue
                if info.file_size > limit + 4096:   # the declared size; the read below is bounded anyway
                    raise DragEditError(f"{what} {short_name(path)}: member '{name}' declares "
                                        f"{info.file_size:,} bytes, more than the {limit:,} expected")
                with zf.open(info) as fh:
                    out[name] = read_array(fh, f"{what} {short_name(path)}, member '{name}',",
                                           limit, kinds)
    except DragEditError:
        raise
    except _ZIP_ERRORS:
        raise DragEditError(f"{what} {short_name(path)} is not a readable .npz archive "
                            "(corrupt or truncated)") from None
    return out


MAX_MEMBERS = 64
MAX_DIRECTORY_BYTES = 1 << 20
_EOCD = struct.Struct("<4s4H2LH")   # zip's end-of-central-directory record (APPNOTE 4.3.16)


def _check_zip_directory(path, what: str):
    """Refuse archives whose central directory is too large before `zipfile` parses it: it would
    build one object per entry, and a 16 MiB file can list hundreds of thousands of them."""
    with open(path, "rb") as fh:
        fh.seek(0, 2)
        size = fh.tell()
        fh.seek(max(0, size - (_EOCD.size + 0xFFFF)))
        tail = fh.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < _EOCD.size:
        return   # not a zip: zipfile says so below
    _sig, _disk, _cd_disk, _here, entries, cd_size, _cd_offset, _comment = _EOCD.unpack_from(tail, at)
    if entries > MAX_MEMBERS or cd_size > MAX_DIRECTORY_BYTES:
        raise DragEditError(f"{what} lists {entries} arrays in a {cd_size:,}-byte directory: more than an .npz "
                            f"of dragedit holds (at most {MAX_MEMBERS})")


def npz_member_names(path) -> list[str]:
    """The array names an `.npz` holds (for messages), or [] when it cannot be listed."""
    try:
        with zipfile.ZipFile(Path(path)) as zf:
            return [n[:-4] for n in zf.namelist() if n.endswith(".npy")][:20]
    except _ZIP_ERRORS:
        return []
