"""A run as one .npz file with no pickle inside: its config as JSON text, its samples, its curves.

`python -m core evaluate` reads the samples back and scores them against the config's own mixture;
anyone can read them with np.load(path, allow_pickle=False).

Reading is bounded before anything is allocated: a .npy header (a file's or a zip member's) is read and
its declared shape and dtype checked before its data, so a header declaring 10^12 rows or a deflate bomb
costs nothing; the zip's central directory is checked before zipfile parses it.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import zipfile
import zlib

import numpy as np

from .config import TYPES, ConfigError, TrainConfig

MAX_ROWS = 10_000_000  # rows a sample file or a run archive may hold: 160 MB as float64
MAX_CONFIG_CHARS = 65_536  # a run's config as JSON text (a config with 64 components is ~6,000)
MAX_CONFIG_DEPTH = 4  # JSON nesting: an object holding the list of rows of components is 3 deep
MAX_CENTRAL_DIRECTORY = 1 << 20  # bytes: ~10,000 members; a run archive holds a few dozen
ZIP_ERRORS = (OSError, EOFError, zipfile.BadZipFile, zlib.error, RuntimeError, NotImplementedError)


def run_archive(
    config: TrainConfig, samples: np.ndarray, history: dict | None = None, eval_history: dict | None = None
) -> bytes:
    arrays = {
        "config": np.array(json.dumps(dataclasses.asdict(config))),
        "samples": np.asarray(samples, dtype=np.float32),
    }
    for prefix, columns in (("history", history or {}), ("eval", eval_history or {})):
        arrays.update({f"{prefix}/{name}": np.asarray(values) for name, values in columns.items()})
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]  # numpy's stub lets **arrays fill allow_pickle: bool
    return buffer.getvalue()


def npy_header(fp) -> tuple[tuple[int, ...], bool, np.dtype]:
    """(shape, Fortran order, dtype) of the .npy array at fp's position, reading only its header (numpy
    bounds the header to 10,000 bytes); ValueError if it is not a .npy header."""
    try:
        version = np.lib.format.read_magic(fp)
    except ValueError:
        raise ValueError("not a .npy array (no NumPy magic string)") from None
    if version not in ((1, 0), (2, 0)):
        raise ValueError(f"a .npy file of version {version[0]}.{version[1]} is not read (only 1.0 and 2.0)")
    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    try:
        shape, fortran, dtype = read(fp)
    except Exception as error:  # numpy parses the (bounded) text with tokenize and ast: any of theirs
        raise ValueError(f"a bad .npy header ({type(error).__name__}: {str(error)[:80]})") from None
    if any(n < 0 for n in shape):
        raise ValueError(f"a bad .npy header (shape {shape})")
    return shape, fortran, dtype


def check_samples_header(shape: tuple[int, ...], dtype: np.dtype, columns: tuple[int, ...] = (2,)) -> None:
    """Refuse, before any data is read, what is not an n x c array of numbers (c in `columns`) with at most
    MAX_ROWS rows: the reason as a ValueError."""
    if dtype.hasobject:
        raise ValueError("it holds pickled Python objects; refusing to load them (allow_pickle=False)")
    if dtype.kind not in "fiu":
        raise ValueError(f"holds {dtype} values, not numbers")
    if math.prod(shape) == 0:
        raise ValueError("is empty")
    if len(shape) != 2 or shape[1] not in columns:
        raise ValueError(f"must be n x {' or '.join(map(str, columns))}, got shape {shape}")
    if shape[0] > MAX_ROWS:
        raise ValueError(f"declares {shape[0]:,} rows; at most {MAX_ROWS:,} are read")


def npy_data(fp, shape: tuple[int, ...], fortran: bool, dtype: np.dtype) -> np.ndarray:
    """The array whose header `npy_header` just read: exactly its declared bytes, no more (check the shape
    first: this allocates what it declares)."""
    size = math.prod(shape) * dtype.itemsize
    data = fp.read(size)
    if len(data) < size:
        raise ValueError(f"is truncated: its header declares {size:,} bytes of data, it holds {len(data):,}")
    return np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")


def _check_central_directory(fp) -> None:
    """Refuse a zip whose central directory (the list of members zipfile parses into memory at once, ~20
    times its size) exceeds MAX_CENTRAL_DIRECTORY. The size is read from the very end record ZipFile will
    trust, through zipfile's own reader of it: private, but a copy could disagree with it on a crafted file
    (tests/test_evaluation.py would fail if a Python dropped it)."""
    record = zipfile._EndRecData(fp)  # type: ignore[attr-defined]  # None if there is no end record
    if record is None:
        raise ValueError("not a zip archive (no end record: cut short, or not a run archive at all)")
    size = record[zipfile._ECD_SIZE]  # type: ignore[attr-defined]
    if size > MAX_CENTRAL_DIRECTORY:
        raise ValueError(
            f"its zip directory takes {size:,} bytes; a run archive's takes at most {MAX_CENTRAL_DIRECTORY:,}"
        )
    fp.seek(0)


def _member(archive: zipfile.ZipFile, name: str, check) -> np.ndarray:
    """Member `name`.npy, its header checked by check(shape, dtype) before its data is decompressed."""
    with archive.open(name + ".npy") as member:
        shape, fortran, dtype = npy_header(member)
        check(shape, dtype)
        return npy_data(member, shape, fortran, dtype)


def _check_config_header(shape: tuple[int, ...], dtype: np.dtype) -> None:
    if shape != () or dtype.kind != "U":
        raise ValueError("the run's config is not a JSON object")
    if dtype.itemsize // 4 > MAX_CONFIG_CHARS:
        raise ValueError(f"the run's config is longer than {MAX_CONFIG_CHARS:,} characters")


def _depth(value) -> int:
    """How deeply a JSON value nests (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        value, depth = stack.pop()
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        for child in children:
            stack.append((child, depth + 1))
        deepest = max(deepest, depth)
    return deepest


def _parse_config(text: str) -> dict:
    try:
        config = json.loads(text)
    except RecursionError:
        raise ValueError("the run's config is nested too deeply") from None
    except ValueError:  # not JSON, or an integer of more than 4,300 digits
        config = None
    if not isinstance(config, dict):
        raise ValueError("the run's config is not a JSON object")
    if _depth(config) > MAX_CONFIG_DEPTH:
        raise ValueError(f"the run's config nests deeper than {MAX_CONFIG_DEPTH} levels")
    return config


def read_arrays(path, checks: dict) -> dict[str, np.ndarray]:
    """The members named in `checks` that a .npz archive (a path or a binary file) holds, each one's header
    checked by checks[name](shape, dtype) before its data is decompressed; never unpickles. ValueError with the
    reason for anything else: not a zip, a zip directory over MAX_CENTRAL_DIRECTORY, a bad member."""
    fp = path if hasattr(path, "read") else open(path, "rb")  # noqa: SIM115  # closed below
    try:
        _check_central_directory(fp)
        with zipfile.ZipFile(fp) as archive:
            names = set(archive.namelist())
            return {name: _member(archive, name, check) for name, check in checks.items() if name + ".npy" in names}
    except ZIP_ERRORS as error:
        raise ValueError(f"cannot be read as a zip archive ({str(error).splitlines()[0][:80]})") from None
    finally:
        if fp is not path:
            fp.close()


def read_run(path) -> tuple[dict, np.ndarray]:
    """(config as a dict, {} if the archive has none; samples) from a run archive (a path or a binary file);
    never unpickles. Checked before anything is decompressed, ValueError with the reason otherwise: the
    config is a JSON object of at most MAX_CONFIG_CHARS characters nesting at most MAX_CONFIG_DEPTH levels;
    the samples an n x 1 or n x 2 array of numbers, 1 <= n <= MAX_ROWS. The config's keys and values are
    returned as stored: `run_config` checks them."""
    arrays = read_arrays(
        path,
        dict(samples=lambda shape, dtype: check_samples_header(shape, dtype, (1, 2)), config=_check_config_header),
    )
    if "samples" not in arrays:
        raise ValueError("a run archive needs a 'samples' array")
    config = _parse_config(str(arrays["config"][()])) if "config" in arrays else {}
    return config, arrays["samples"]


def run_config(stored: dict) -> TrainConfig:
    """The TrainConfig of a stored config, through core.config's one validation: a ConfigError names the
    first unknown key or bad value. Keys it lacks keep TrainConfig's defaults (or its data set's). A list
    or an object where a setting takes one value is refused first (`"dataset": []` reached a dict lookup)."""
    for name, value in stored.items():
        if name in TYPES and TYPES[name] is not tuple and isinstance(value, (list, dict)):
            kind = "list" if isinstance(value, list) else "object"
            raise ConfigError(name, f"expected {TYPES[name].__name__}, got a JSON {kind}")
    return TrainConfig().replace(**stored)
