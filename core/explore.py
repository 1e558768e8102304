"""Phase diagrams: where in a grid over one or two settings training finds every mode, collapses, oscillates,
stalls or diverges, over several seeds per cell.

A run of the grid is a pure function of (config, seed, steps) (`run_cell`): the same numbers whichever process
or machine computes it, so the grid's runs can go to any executor (`core.executors`) and an interrupted
grid can be finished later (`Exploration.missing`). Each run is evaluated at EVALUATIONS evenly spaced
iterations; the second half's evaluations say whether the modes were held (as the remedy presets measure it)
and give the outcome:

    diverged     training stopped on a NaN/Inf or a loss, G's gradient or a weight past core.training's bounds;
    oscillating  over the second half, modes captured swung by at least SWING of the modes (max - min >=
                 ceil(SWING x K), and at least 2): G hops between modes instead of holding them;
    converged    every evaluation of the second half captured all K modes;
    collapsed    G held some modes but not all, steadily: modes lost or never found (mode collapse);
    stalled      no evaluation of the second half captured any mode: G has not reached p_data (a learning
                 rate too small for this many steps, or a G stuck off the data);
    failed       the cell's settings are refused together (core.config.validate), or the run raised.

An Exploration is saved as one .npz (NumPy's own format, read back with allow_pickle=False, no new dependency:
Parquet would need pyarrow for a few arrays of a few KB), with the grid, the base config as JSON text and
every per-seed number, so a half-done file can be resumed and any cell's run repeated from its config and seed.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import os
import re
import threading
import time
import warnings
from dataclasses import dataclass

import numpy as np

from .config import BOTH_PLAYERS, ROW_DATASETS, SETTING_NAMES, TYPES, ConfigError, TrainConfig, coerce, validate
from .export import read_arrays, run_config
from .metrics import generator_metrics
from .presets import PRESETS
from .snapshot import Probe
from .training import GAN

FORMAT = "minimax-explore-1"
EVALUATIONS = 10  # per run, evenly spaced: the last EVALUATIONS // 2 are the second half's
SWING = 0.25  # oscillating: the second half's modes captured range over at least this share of the modes
OUTCOMES = ("converged", "collapsed", "oscillating", "stalled", "diverged", "failed")
METRICS = ("modes_captured", "modes_held", "high_quality", "reverse_kl", "jsd", "d_real", "d_fake")
MAX_VALUES = 32  # values on one axis
MAX_SEEDS = 64
MAX_STEPS = 1_000_000
MAX_RUNS = 20_000  # cells x seeds of one exploration (a 32 x 32 grid with 16 seeds is 16,384)
CANCEL_EVERY = 25  # iterations between two looks at a serial run's cancel event (~0.1 s of the default run)
MAX_MESSAGE = 200  # characters of a failed run's message that are kept
NOT_ON_AN_AXIS = ("seed", "steps", "eval_every", *ROW_DATASETS.values())  # --seeds and --steps give these
_RANGE = re.compile(r"^\s*([^:]+):([^:]+):(\d{1,3})(log)?\s*$")


@dataclass(frozen=True)
class Axis:
    """One setting and the values it takes across the grid (`log`: the values are log-spaced, so a diagram
    draws this axis in log scale)."""

    name: str
    values: tuple
    log: bool = False

    def labels(self) -> list[str]:
        return [f"{v:g}" if isinstance(v, float) else str(v) for v in self.values]


def parse_axis(text: str) -> Axis:
    """'name=v1,v2,...' or 'name=lo:hi:N' (N evenly spaced values) or 'name=lo:hi:Nlog' (log-spaced); the
    values checked against the setting's type and range. ConfigError naming the setting, or ValueError. A
    BOTH_PLAYERS name (hidden, depth, activation) is an axis over both players' setting (core.config)."""
    name, sep, spec = str(text).partition("=")
    name = name.strip().replace("-", "_")
    if not sep or not spec.strip():
        raise ValueError(f"an axis is 'setting=values', got {text!r}")
    if name not in SETTING_NAMES:
        raise ValueError(f"unknown setting {name!r} (python -m core train --help lists them)")
    if name in NOT_ON_AN_AXIS:
        raise ConfigError(name, "cannot be an axis (--seeds and --steps set seeds and length)")
    match = _RANGE.match(spec)
    log = False
    if match:
        if TYPES[name] not in (int, float):
            raise ConfigError(name, "takes a list of values, not a range")
        low, high = (coerce(name, v) for v in match.group(1, 2))
        n, log = int(match.group(3)), bool(match.group(4))
        if not 1 <= n <= MAX_VALUES:
            raise ConfigError(name, f"a range has 1 to {MAX_VALUES} values, got {n}")
        if log and not (low > 0 and high > 0):
            raise ConfigError(name, "a log range needs both ends above 0")
        raw = np.geomspace(low, high, n) if log else np.linspace(low, high, n)
        values = [coerce(name, round(float(v)) if TYPES[name] is int else float(f"{v:.6g}")) for v in raw]
    else:
        values = [coerce(name, v.strip()) for v in spec.split(",") if v.strip()]
    values = list(dict.fromkeys(values))  # an int range may round two values onto one
    if not values:
        raise ConfigError(name, "the axis has no values (an empty range)")
    if len(values) > MAX_VALUES:
        raise ConfigError(name, f"an axis has at most {MAX_VALUES} values, got {len(values)}")
    meta = SETTING_NAMES[name].metadata
    for v in values:
        if meta["choices"] is not None and v not in meta["choices"]:
            raise ConfigError(name, f"must be one of {', '.join(map(str, meta['choices']))}, got {str(v)[:40]!r}")
        if meta["low"] is not None and not meta["low"] <= v <= meta["high"]:
            raise ConfigError(name, f"must be from {meta['low']:g} to {meta['high']:g}, got {v:g}")
    return Axis(name, tuple(values), log)


@dataclass(frozen=True)
class Grid:
    """What to explore: `base` with x's values across and y's (if any) down, `seeds` per cell, `steps` each."""

    base: TrainConfig
    x: Axis
    y: Axis | None
    seeds: tuple[int, ...]
    steps: int

    def __post_init__(self):
        if not 1 <= len(self.seeds) <= MAX_SEEDS:
            raise ValueError(f"1 to {MAX_SEEDS} seeds, got {len(self.seeds)}")
        if not 1 <= self.steps <= MAX_STEPS:
            raise ValueError(f"steps from 1 to {MAX_STEPS:,}, got {self.steps}")
        if self.y is not None and self.y.name == self.x.name:
            raise ConfigError(self.y.name, "is already the x axis")
        if self.y is not None and _overlap(self.x.name, self.y.name):  # hidden and g_hidden: one would hide the other
            raise ConfigError(self.y.name, f"sets a player's setting that the x axis {self.x.name} sets too")
        if math.prod(self.shape) > MAX_RUNS:
            raise ValueError(f"{math.prod(self.shape):,} runs (cells x seeds); at most {MAX_RUNS:,}")

    @property
    def shape(self) -> tuple[int, int, int]:
        """(rows: y's values, columns: x's values, seeds)."""
        return (len(self.y.values) if self.y else 1, len(self.x.values), len(self.seeds))

    def config(self, row: int, column: int, seed_index: int) -> TrainConfig:
        """The run of one cell and seed (ConfigError if the cell's values are refused together)."""
        changes = {self.x.name: self.x.values[column], "seed": self.seeds[seed_index], "steps": self.steps}
        if self.y is not None:
            changes[self.y.name] = self.y.values[row]
        return self.base.replace(**changes)

    def runs(self) -> list[tuple[int, int, int]]:
        rows, columns, seeds = self.shape
        return [(r, c, s) for r in range(rows) for c in range(columns) for s in range(seeds)]


def _overlap(a: str, b: str) -> bool:
    """Whether settings a and b set the same player's setting: a BOTH_PLAYERS name and one of its players'."""
    return any(both in (a, b) and {a, b} & set(players) for both, players in BOTH_PLAYERS.items())


def outcome(modes: list[int], total: int, diverged: bool) -> str:
    """The run's class from the modes captured at the second half's evaluations (module docstring)."""
    if diverged:
        return "diverged"
    if max(modes) - min(modes) >= max(2, math.ceil(SWING * total)):
        return "oscillating"
    if min(modes) == total:
        return "converged"
    return "stalled" if max(modes) == 0 else "collapsed"


def failed(message: str) -> dict:
    """The report of a run that could not be trained."""
    return {m: math.nan for m in METRICS} | dict(
        outcome="failed", diverged_at=-1, message=message[:MAX_MESSAGE], seconds=0.0
    )


def run_cell(config: TrainConfig, cancel: threading.Event | None = None) -> dict:
    """Train `config` for config.steps iterations from config.seed and report the run (module docstring): a pure
    function of the config; one torch thread is the caller's to set. Never raises for a run that goes wrong:
    the outcome says it. `cancel` set: InterruptedError within CANCEL_EVERY iterations (nothing to record)."""
    started = time.perf_counter()
    report = failed("")
    try:
        gan = GAN(validate(config))
        probe = Probe(gan)
        marks = sorted({max(1, round(config.steps * (i + 1) / EVALUATIONS)) for i in range(EVALUATIONS)})
        second_half = [m for m in marks if m > config.steps / 2] or marks[-1:]
        modes, metrics = [], None
        while gan.iteration < config.steps:
            if cancel is not None and gan.iteration % CANCEL_EVERY == 0 and cancel.is_set():
                raise InterruptedError("cancelled")
            problem = gan.advance(check_weights=gan.iteration % 50 == 49)
            if problem:
                report.update(outcome="diverged", diverged_at=gan.iteration, message=problem[:MAX_MESSAGE])
                return report
            if gan.iteration in marks:
                metrics, _ = generator_metrics(gan, probe.z_eval, probe.real_eval)
                if gan.iteration in second_half:
                    modes.append(metrics.modes_captured)
        assert metrics is not None  # the last mark is config.steps
        report.update(
            modes_captured=metrics.modes_captured,
            modes_held=float(np.mean(modes)),
            high_quality=metrics.high_quality,
            reverse_kl=metrics.reverse_kl,
            jsd=metrics.jsd,
            d_real=metrics.d_real,
            d_fake=metrics.d_fake,
            outcome=outcome(modes, metrics.modes_total, diverged=False),
            # the last evaluation's high-quality samples per mode: any mode rule's count (core.metrics.MODE_RULES)
            mode_counts=[int(c) for c in metrics.mode_counts],
        )
    except InterruptedError:
        raise
    except Exception as error:  # a refused combination or a bug: recorded, the grid goes on
        report.update(outcome="failed", message=f"{type(error).__name__}: {error}"[:MAX_MESSAGE])
    finally:
        report["seconds"] = time.perf_counter() - started
    return report


class Exploration:
    """A grid and every per-seed number so far; NaN (and outcome -1) where a run is not done yet."""

    def __init__(self, grid: Grid, preset: str = ""):
        self.grid, self.preset = grid, preset
        self.values = {m: np.full(grid.shape, np.nan) for m in (*METRICS, "seconds")}
        self.outcome = np.full(grid.shape, -1, dtype=np.int8)  # index into OUTCOMES
        self.diverged_at = np.full(grid.shape, -1, dtype=np.int64)
        self.message = np.full(grid.shape, "", dtype=f"<U{MAX_MESSAGE}")

    def record(self, run: tuple[int, int, int], report: dict) -> None:
        for m in (*METRICS, "seconds"):
            self.values[m][run] = report[m]
        self.outcome[run] = OUTCOMES.index(report["outcome"])
        self.diverged_at[run] = report["diverged_at"]
        self.message[run] = report["message"]

    def missing(self) -> list[tuple[int, int, int]]:
        return [run for run in self.grid.runs() if self.outcome[run] < 0]

    @property
    def done(self) -> int:
        return int((self.outcome >= 0).sum())

    def summary(self) -> dict:
        """Per cell (rows of y, columns of x): each metric's mean and std over the seeds done, and the count
        of each outcome."""
        with warnings.catch_warnings():  # the mean of a cell with no seed done yet is NaN, and numpy warns
            warnings.simplefilter("ignore", RuntimeWarning)
            stats = {
                m: dict(mean=np.nanmean(self.values[m], axis=2), std=np.nanstd(self.values[m], axis=2)) for m in METRICS
            }
        counts = {name: (self.outcome == i).sum(axis=2) for i, name in enumerate(OUTCOMES)}
        return dict(stats=stats, counts=counts)

    def majority(self) -> np.ndarray:
        """(rows, columns): each cell's most frequent outcome among its seeds done (index into OUTCOMES; the
        worse on a tie, as OUTCOMES are ordered), -1 where no seed is done."""
        counts = np.stack([(self.outcome == i).sum(axis=2) for i in range(len(OUTCOMES))], axis=-1)
        best = counts.shape[-1] - 1 - np.argmax(counts[..., ::-1], axis=-1)
        return np.where(counts.sum(-1) > 0, best, -1)

    # ---- the file ----------------------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        g = self.grid
        axes = [dict(name=a.name, values=list(a.values), log=a.log) for a in (g.x, g.y) if a is not None]
        arrays = dict(
            format=np.array(FORMAT),
            config=np.array(json.dumps(dataclasses.asdict(g.base))),
            grid=np.array(json.dumps(dict(axes=axes, seeds=list(g.seeds), steps=g.steps, preset=self.preset))),
            outcome=self.outcome,
            diverged_at=self.diverged_at,
            message=self.message,
            **{f"values/{m}": v for m, v in self.values.items()},
        )
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]  # numpy's stub: **arrays vs allow_pickle
        return buffer.getvalue()

    def save(self, path) -> None:
        """Written whole to a temporary file beside `path`, then renamed: an interrupted save leaves the
        previous file, never half of one."""
        tmp = f"{path}.tmp{os.getpid()}"
        with open(tmp, "wb") as f:
            f.write(self.to_bytes())
        os.replace(tmp, path)

    def to_json(self) -> dict:
        g, s = self.grid, self.summary()
        cells = []
        for r, c, _ in [run for run in g.runs() if run[2] == 0]:
            cell = dict(x=g.x.values[c], seeds_done=int((self.outcome[r, c] >= 0).sum()))
            if g.y is not None:
                cell["y"] = g.y.values[r]
            cell.update(
                {m: dict(mean=_num(s["stats"][m]["mean"][r, c]), std=_num(s["stats"][m]["std"][r, c])) for m in METRICS}
            )
            cell["outcomes"] = {name: int(s["counts"][name][r, c]) for name in OUTCOMES}
            cell["runs"] = [
                dict(
                    seed=g.seeds[k],
                    outcome=OUTCOMES[self.outcome[r, c, k]] if self.outcome[r, c, k] >= 0 else None,
                    diverged_at=int(self.diverged_at[r, c, k]),
                    message=str(self.message[r, c, k]),
                    **{m: _num(self.values[m][r, c, k]) for m in (*METRICS, "seconds")},
                )
                for k in range(len(g.seeds))
            ]
            cells.append(cell)
        axes = {
            a_name: dict(name=a.name, values=list(a.values), log=a.log) for a_name, a in (("x", g.x), ("y", g.y)) if a
        }
        return dict(
            preset=self.preset,
            config=dataclasses.asdict(g.base),
            axes=axes,
            seeds=list(g.seeds),
            steps=g.steps,
            runs_done=self.done,
            runs=len(g.runs()),
            cells=cells,
        )


def _num(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _check_text(limit: int):
    def check(shape, dtype):
        if shape != () or dtype.kind != "U" or dtype.itemsize // 4 > limit:
            raise ValueError("is not an exploration file (a text member is not text of at most the expected size)")

    return check


def _check_cells(kinds: str, item: int | None = None):
    def check(shape, dtype):
        if len(shape) != 3 or math.prod(shape) > MAX_RUNS or dtype.kind not in kinds:
            raise ValueError("is not an exploration file (a per-run array of the wrong shape or type)")
        if item is not None and dtype.itemsize > item:
            raise ValueError("is not an exploration file (its messages are too long)")

    return check


def load(path) -> Exploration:
    """An exploration file read back (a path or a binary file), never unpickled and checked whole: ValueError
    with the reason (or ConfigError naming a bad setting) for anything that is not one this module wrote."""
    checks = dict(
        format=_check_text(64),
        config=_check_text(65_536),
        grid=_check_text(65_536),
        outcome=_check_cells("i"),
        diverged_at=_check_cells("i"),
        message=_check_cells("U", 4 * MAX_MESSAGE),
        **{f"values/{m}": _check_cells("f") for m in (*METRICS, "seconds")},
    )
    arrays = read_arrays(path, checks)
    if set(arrays) != set(checks) or str(arrays["format"][()]) != FORMAT:
        raise ValueError(f"is not an exploration file ({FORMAT}, written by python -m core explore)")
    try:
        stored = json.loads(str(arrays["config"][()]))
        spec = json.loads(str(arrays["grid"][()]))
        axes = [Axis(a["name"], tuple(a["values"]), bool(a["log"])) for a in spec["axes"]]
        seeds, steps, preset = tuple(int(s) for s in spec["seeds"]), int(spec["steps"]), str(spec["preset"])
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"is not an exploration file (its grid: {type(error).__name__})") from None
    if not isinstance(stored, dict) or not 1 <= len(axes) <= 2:
        raise ValueError("is not an exploration file (its config or axes)")
    if preset and preset not in PRESETS:  # shown on the page: only a name we know
        raise ValueError(f"is not an exploration file (unknown preset {preset[:40]!r})")
    for axis in axes:  # the same checks as a flag's
        if parse_axis(f"{axis.name}=" + ",".join(map(str, axis.values))).values != axis.values:
            raise ValueError(f"is not an exploration file (axis {axis.name}'s values)")
    grid = Grid(run_config(stored), axes[0], axes[1] if len(axes) == 2 else None, seeds, steps)
    result = Exploration(grid, preset)
    for name, array in arrays.items():
        if array.ndim == 3 and array.shape != grid.shape:
            raise ValueError(f"is not an exploration file ({name} has shape {array.shape}, the grid {grid.shape})")
    if not ((arrays["outcome"] >= -1) & (arrays["outcome"] < len(OUTCOMES))).all():
        raise ValueError("is not an exploration file (an outcome out of range)")
    result.outcome[...] = arrays["outcome"]
    result.diverged_at[...] = arrays["diverged_at"]
    result.message[...] = arrays["message"]
    for m in (*METRICS, "seconds"):
        result.values[m][...] = arrays[f"values/{m}"]
    return result
