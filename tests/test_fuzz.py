"""Issue 14: property-based fuzzing (Hypothesis) of `python -m core`'s flags and of the sample-file reader.

Whatever the flags or the file's bytes, a command ends with status 0 (its report on stdout; with --json,
strict JSON), 1 (train only: a run that diverged, said in one line), or 2 with one line on stderr and
nothing on stdout: never a traceback, never a hang. Each example runs core.cli.main in this process, with
tiny networks and two training steps. The fast tier runs a small fixed budget, derandomized (the same
examples every run); the slow tier a budget ten times larger.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from core.cli import DATA_FIELDS, flag, main, with_both_players
from core.config import FIELDS, SETTING_NAMES, TYPES

GUARD_S = 60  # per example: a generous guard against a hang, not a speed test

# derandomized, no example database: the same examples on every run and machine; fixtures are shared by examples
FAST = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SLOW = settings(FAST, max_examples=1000)

# argv cannot hold NUL; anything else can arrive, surrogate escapes of undecodable bytes included
TEXT = st.text(st.characters(exclude_characters="\x00"), max_size=20)
SPECIAL = st.sampled_from(
    [
        *("", " ", "0", "-1", "1", "2.5", "1e308", "-1e308", "1e-320", "1e400", "nan", "inf", "-inf", "0x10"),
        *("1_000", "١٢", "2147483648", "9" * 30, "x" * 5000, "--steps", "-", "1\n2", "'", '"', "\\", "é", "\udcff"),
    ]
)
NUMBER = st.one_of(
    st.integers(-(10**6), 10**6).map(str), st.floats(allow_nan=True, allow_infinity=True).map(repr), SPECIAL
)

# the settings that make one example slow when large: always given again, cheap, after the fuzzed flags (argparse
# converts every occurrence, so a bad fuzzed value still fails; a good one is replaced)
CHEAP = {
    "steps": "2",
    "g_hidden": "8",
    "g_depth": "1",
    "d_hidden": "8",
    "d_depth": "1",
    "eval_samples": "100",
    "grid_size": "10",
    "samples_shown": "10",
    "arrow_grid": "2",
}


def value_for(name: str) -> st.SearchStrategy[str]:
    meta = SETTING_NAMES[name].metadata
    if name == "components":
        row = st.lists(NUMBER, min_size=3, max_size=5).map(",".join)
        good = st.lists(
            st.tuples(st.floats(-5, 5), st.floats(-5, 5), st.floats(1e-3, 2), st.floats(1e-3, 10)).map(
                lambda r: ",".join(map(repr, r))
            ),
            min_size=1,
            max_size=4,
        ).map(";".join)
        return st.one_of(good, st.lists(row, max_size=4).map(";".join), SPECIAL, TEXT)
    if meta["choices"] is not None:
        return st.one_of(st.sampled_from(meta["choices"]), SPECIAL, TEXT)
    if TYPES[name] in (int, float) and meta["low"] is not None:
        low, high = meta["low"], meta["high"]
        inside = st.integers(int(low), int(min(high, low + 64))) if TYPES[name] is int else st.floats(low, high)
        return st.one_of(inside.map(str), NUMBER, TEXT)
    return st.one_of(NUMBER, TEXT)


def flags_for(names) -> st.SearchStrategy[list[str]]:
    """A few flags among `names`, each with a fuzzed value (booleans as --x / --no-x)."""

    def one(name: str):
        if TYPES[name] is bool:
            return st.sampled_from([[flag(name)], ["--no-" + flag(name)[2:]]])
        return value_for(name).map(lambda value: [flag(name), value])

    return st.lists(st.sampled_from(list(names)).flatmap(one), max_size=5).map(
        lambda parts: [part for pair in parts for part in pair]
    )


def run(argv: list[str]) -> tuple[int, str, str, float]:
    out, err = io.StringIO(), io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exit_:
            code = exit_.code
    return code, out.getvalue(), err.getvalue(), time.perf_counter() - started


def check(argv: list[str], *, train: bool = False) -> None:
    code, out, err, seconds = run(argv)
    event(f"exit {code}")  # pytest --hypothesis-show-statistics: how many examples got through
    assert seconds < GUARD_S, (argv, seconds)
    if code == 0:
        if "--json" in argv:  # strict JSON: NaN or Infinity would fail here
            for line in out.splitlines():
                json.loads(line, parse_constant=lambda name: pytest.fail(f"{name} in the JSON: {argv}"))
        return
    assert code in ((1, 2) if train else (2,)), (argv, code, err)
    assert len(err.strip().splitlines()) == 1 and len(err) < 500, (argv, err)
    assert code == 1 or out == "", (argv, out)
    assert code == 2 or "diverged at iteration" in err, (argv, err)


def cheap(names) -> list[str]:
    return [part for name, value in CHEAP.items() if name in names for part in (flag(name), value)]


# a file name inside the test's folder (never "/": the fuzzer must not write elsewhere), maybe under a
# folder still to make, or under a regular file (unwritable), or too long for the file system
SAVE_NAME = st.tuples(
    st.sampled_from(["", "new/", "a file/", "x" * 300 + "/"]),
    st.text(st.characters(exclude_characters="\x00/"), min_size=1, max_size=12).filter(lambda t: t not in (".", "..")),
    st.sampled_from([".npy", ".csv", ".npz", ".NPZ", ".txt", ""]),
).map("".join)
TRAIN_EXTRA = st.lists(
    st.one_of(
        st.sampled_from([["--json"], ["--threads", "1"], ["--threads", "0"], ["--preset", "mode-collapse"]]),
        st.tuples(st.sampled_from(["--save-samples", "--save-run"]), SAVE_NAME).map(list),
    ),
    max_size=3,
).map(lambda parts: [part for pair in parts for part in pair])


def fuzz_train(folder: Path, args, extra):
    (folder / "a file").touch()
    saving = {"--save-samples", "--save-run"}
    extra = [str(folder / part) if i and extra[i - 1] in saving else part for i, part in enumerate(extra)]
    check(["train", *args, *extra, *cheap(FIELDS), "--threads", "1"], train=True)


def fuzz_sweep(args, seeds):
    check(["sweep", "--seeds", seeds, *args, *cheap(FIELDS), "--threads", "1", "--json"])


@pytest.fixture(scope="module")
def folder():
    with tempfile.TemporaryDirectory() as path:
        yield Path(path)


@pytest.fixture(scope="module")
def exact(folder):
    path = folder / "exact.npy"
    np.save(path, np.random.default_rng(0).standard_normal((300, 2)))
    return path


def fuzz_evaluate(exact, args, extra):
    check(["evaluate", str(exact), *args, *extra])


EVALUATE_EXTRA = st.lists(
    st.one_of(
        st.sampled_from([["--json"], ["--mode-rule", "pacgan"], ["--preset", "grid25"]]),
        st.tuples(st.sampled_from(["--neighbours", "--seed", "--mode-rule", "--preset"]), NUMBER).map(list),
    ),
    max_size=3,
).map(lambda parts: [part for pair in parts for part in pair])


TRAIN_FLAGS = with_both_players(FIELDS)  # --hidden, --depth, --activation too (both players')
SWEEP_FIELDS = with_both_players(name for name in FIELDS if name != "spectral_norm")


@FAST
@given(args=flags_for(TRAIN_FLAGS), extra=TRAIN_EXTRA)
def test_fuzz_train_flags(folder, args, extra, keep_torch_threads):
    fuzz_train(folder, args, extra)


@FAST
@given(args=flags_for(DATA_FIELDS), extra=EVALUATE_EXTRA)
def test_fuzz_evaluate_flags(exact, args, extra):
    fuzz_evaluate(exact, args, extra)


@settings(FAST, max_examples=10)
@given(args=flags_for(SWEEP_FIELDS), seeds=st.one_of(st.just("2"), NUMBER))
def test_fuzz_sweep_flags(args, seeds, keep_torch_threads):
    fuzz_sweep(args, seeds)


@pytest.mark.slow
@SLOW
@given(args=flags_for(TRAIN_FLAGS), extra=TRAIN_EXTRA)
def test_fuzz_train_flags_longer(folder, args, extra, keep_torch_threads):
    fuzz_train(folder, args, extra)


@pytest.mark.slow
@SLOW
@given(args=flags_for(DATA_FIELDS), extra=EVALUATE_EXTRA)
def test_fuzz_evaluate_flags_longer(exact, args, extra):
    fuzz_evaluate(exact, args, extra)


@pytest.mark.slow
@settings(FAST, max_examples=200)
@given(args=flags_for(SWEEP_FIELDS), seeds=st.one_of(st.just("2"), NUMBER))
def test_fuzz_sweep_flags_longer(args, seeds, keep_torch_threads):
    fuzz_sweep(args, seeds)


# --- the file reader: .npy, .csv and run archives built from fuzzed parts

DESCR = st.sampled_from(
    [
        *("<f8", "<f4", ">f8", "<f2", "<i4", ">i8", "|u1", "|b1", "<c16", "|O", "<U3", "|S4", "|V8", "<M8[s]"),
        [("x", "<f8"), ("y", "<f8")],
        ("<f8", (2,)),
    ]
)
SHAPE = st.lists(st.one_of(st.integers(0, 400), st.sampled_from([2, 10**7, 10**7 + 1, 10**12, 2**62])), max_size=3).map(
    tuple
)


@st.composite
def npy_bytes(draw) -> bytes:
    """A .npy: a well-formed header with a fuzzed dtype and shape and fuzzed data, or a raw header text."""
    if draw(st.booleans()):
        header = io.BytesIO()
        d = {"descr": draw(DESCR), "fortran_order": draw(st.booleans()), "shape": draw(SHAPE)}
        try:
            np.lib.format.write_array_header_1_0(header, d)
        except (ValueError, TypeError):
            return b"\x93NUMPY\x01\x00" + repr(d).encode()
        head = header.getvalue()
    else:
        text = draw(st.one_of(TEXT, st.just("{'descr': '<f8', 'fortran_order': False, 'shape': (-5, 2), }")))
        raw = text.encode("utf-8", "surrogatepass")
        head = draw(st.sampled_from([b"\x93NUMPY\x01\x00", b"\x93NUMPY\x02\x00", b"\x93NUMPY\x09\x00", b"NUMPY"]))
        head += len(raw).to_bytes(2 if head.endswith(b"\x01\x00") else 4, "little") + raw
    data = draw(
        st.one_of(
            st.binary(max_size=64),
            st.lists(st.floats(width=64), min_size=8, max_size=600).map(lambda v: np.array(v).tobytes()),
            st.lists(st.floats(-10, 10), min_size=8, max_size=600).map(lambda v: np.array(v).tobytes()),
        )
    )
    return head + data


CSV_LINE = st.one_of(
    st.tuples(NUMBER, NUMBER).map(",".join),
    st.tuples(st.floats(-5, 5), st.floats(-5, 5)).map(lambda r: f"{r[0]!r},{r[1]!r}"),
    st.lists(NUMBER, max_size=4).map(",".join),
    st.sampled_from(["x,y", "# a comment", "", "1,2 # note", "1" * 2000]),
    TEXT,
)


@st.composite
def csv_bytes(draw) -> bytes:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=200))
    lines = draw(st.lists(CSV_LINE, max_size=40))
    good = draw(st.lists(st.tuples(st.floats(-5, 5), st.floats(-5, 5)), max_size=200))
    lines += [f"{x!r},{y!r}" for x, y in good]
    return draw(st.sampled_from(["\n", "\r\n"])).join(lines).encode("utf-8", "surrogatepass")


JSON_VALUE = st.recursive(
    st.one_of(st.none(), st.booleans(), st.floats(), st.integers(), TEXT),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(TEXT, inner, max_size=4)),
    max_leaves=12,
)
CONFIG_TEXT = st.one_of(
    st.dictionaries(st.sampled_from([*SETTING_NAMES, "nope"]), JSON_VALUE, max_size=5).map(json.dumps),
    JSON_VALUE.map(json.dumps),
    TEXT,
    st.integers(1, 40_000).map(lambda n: "[" * n + "]" * n),
    st.just('{"modes": ' + "9" * 5000 + "}"),
    st.just("x" * 70_000),
)


def npy_of(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=False)
    return buffer.getvalue()


@st.composite
def npz_bytes(draw) -> bytes:
    buffer = io.BytesIO()
    method = draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2]))
    with zipfile.ZipFile(buffer, "w", method) as archive:
        if draw(st.integers(0, 5)):
            samples = draw(
                st.one_of(
                    npy_bytes(),
                    st.lists(st.floats(-5, 5), min_size=8, max_size=400).map(
                        lambda v: npy_of(np.array(v[: len(v) // 2 * 2], dtype=np.float32).reshape(-1, 2))
                    ),
                )
            )
            archive.writestr(draw(st.sampled_from(["samples.npy", "samples", "x.npy"])), samples)
        if draw(st.booleans()):
            config = draw(st.one_of(CONFIG_TEXT.map(lambda t: npy_of(np.array(t))), npy_bytes()))
            archive.writestr("config.npy", config)
        for i in range(draw(st.integers(0, 3))):
            archive.writestr(f"history/{i}.npy", draw(st.binary(max_size=50)))
    data = buffer.getvalue()
    cut = draw(st.one_of(st.none(), st.integers(0, len(data))))
    if cut is not None:
        data = data[:cut]
    flip = draw(st.one_of(st.none(), st.integers(0, max(0, len(data) - 1))))
    if flip is not None and data:
        data = data[:flip] + bytes([data[flip] ^ 0xFF]) + data[flip + 1 :]
    return data


# numbers that load: few or many, copies of one point, on a line, tiny or near the 1e9 bound
VALUE = st.one_of(st.floats(-10, 10), st.sampled_from([0.0, -0.0, 5e-324, 1e-300, 1e9, -1e9, 1e9 + 1, 3.0]))
SAMPLES = st.one_of(
    st.lists(st.tuples(VALUE, VALUE), min_size=1, max_size=300).map(np.array),
    st.tuples(st.integers(1, 400), VALUE, VALUE).map(lambda t: np.tile([t[1], t[2]], (t[0], 1))),
    st.tuples(st.integers(2, 300), VALUE).map(lambda t: np.stack([np.linspace(-1, 1, t[0]), np.full(t[0], t[1])], 1)),
)


def samples_file(array: np.ndarray, suffix: str) -> tuple[str, bytes]:
    if suffix == ".npy":
        return suffix, npy_of(array)
    return suffix, "\n".join(f"{x!r},{y!r}" for x, y in array.tolist()).encode()


FILES = st.one_of(
    st.tuples(SAMPLES, st.sampled_from([".npy", ".csv"])).map(lambda t: samples_file(*t)),
    npy_bytes().map(lambda b: (".npy", b)),
    csv_bytes().map(lambda b: (".csv", b)),
    npz_bytes().map(lambda b: (".npz", b)),
    st.tuples(st.sampled_from([".npy", ".csv", ".npz", ".NPY", ".txt", ""]), st.binary(max_size=300)),
)


def fuzz_file(folder: Path, suffix: str, data: bytes, args: list[str]) -> None:
    path = folder / f"fuzzed{suffix}"
    path.write_bytes(data)
    check(["evaluate", str(path), *args])


FILE_ARGS = st.sampled_from([["--json"], [], ["--json", "--neighbours", "1"], ["--json", "--preset", "grid25"]])


@settings(FAST, max_examples=100)
@given(file=FILES, args=FILE_ARGS)
def test_fuzz_the_file_reader(folder, file, args):
    fuzz_file(folder, *file, args)


@pytest.mark.slow
@settings(FAST, max_examples=3000)
@given(file=FILES, args=FILE_ARGS)
def test_fuzz_the_file_reader_longer(folder, file, args):
    fuzz_file(folder, *file, args)


def test_the_fuzzers_reach_both_outcomes(folder, exact):
    """The strategies are not all refusals: a good file and good flags get through (status 0)."""
    assert run(["evaluate", str(exact), "--json"])[0] == 0
    good = folder / "good.csv"
    rows = np.random.default_rng(1).random((50, 2))
    good.write_bytes(b"x,y\n" + b"\n".join(f"{x:.17g},{y:.17g}".encode() for x, y in rows))
    assert run(["evaluate", str(good)])[0] == 0
