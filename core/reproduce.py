"""A paper's table run again (core.papers): every row on every data set from seeds 0 … n − 1, each run
`core.explore.run_cell` on any executor of core.executors, and our mean ± standard error beside the published
numbers, with a marker where the paper's mean lies outside our 95 % interval.

Each run is scored on its last evaluation (config.eval_samples samples, 2,500 in both papers) with the table's
mode rule (core.metrics.MODE_RULES, "pacgan": a mode with at least one high-quality sample), applied to the
run's high-quality samples per mode; high quality and reverse KL do not depend on the rule. A run that diverged
or failed has no numbers: it is left out of the means and listed.

The result file is JSON: the table's name, seeds and iterations, every run's config (the protocol, checked on
resume: a file written with other settings or by another version of a table is refused) and every run
finished, rewritten whole after each (a temporary file, then renamed), so an interrupt loses only the runs in
progress and `--resume` computes the rest.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import stat
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.stats import t as student_t

from .config import SETTING_NAMES
from .executors import record_runs
from .explore import MAX_MESSAGE, MAX_SEEDS, MAX_STEPS, OUTCOMES
from .metrics import MODE_RULES
from .papers import DATASETS, METRICS, TABLES, Table

FORMAT = "minimax-reproduce-1"
MAX_FILE_BYTES = 8 * 2**20  # a result file of 4 rows x 2 data sets x 64 seeds is ~0.3 MB
MAX_EVAL_SAMPLES = int(SETTING_NAMES["eval_samples"].metadata["high"])  # a mode's count is at most this
CONFIDENCE = 0.95
OUTSIDE = "†"  # the paper's mean lies outside our CONFIDENCE interval
RUN_KEYS = ("row", "dataset", "seed", "outcome", "message", "seconds", *METRICS, "mode_counts")

Key = tuple[str, str, int]  # (row, data set, seed)


def run_record(table: Table, key: Key, report: dict, eval_samples: int) -> dict:
    """What the file keeps of one run_cell report: the table's metrics (modes under its mode rule), the
    high-quality samples per mode, and how the run went."""
    row, dataset, seed = key
    counts = report.get("mode_counts") if report["outcome"] not in ("diverged", "failed") else None
    trained = counts is not None
    minimum = MODE_RULES[table.mode_rule].minimum(eval_samples)
    return dict(
        row=row,
        dataset=dataset,
        seed=seed,
        outcome=report["outcome"],
        message=str(report["message"])[:MAX_MESSAGE],
        seconds=float(report["seconds"]),
        modes=int(sum(c >= minimum for c in counts)) if counts is not None else None,
        high_quality=float(report["high_quality"]) if trained else None,
        reverse_kl=float(report["reverse_kl"]) if trained else None,
        mode_counts=[int(c) for c in counts] if counts is not None else None,
    )


@dataclass(frozen=True)
class Cell:
    """Our numbers for one row, data set and metric beside the paper's, in the paper's unit."""

    n: int
    mean: float | None
    se: float | None  # None with fewer than 2 seeds
    low: float | None  # the CONFIDENCE interval, mean ± t(0.975, n − 1) x SE
    high: float | None
    paper: tuple[float, float | None] | None

    @property
    def outside(self) -> bool | None:
        """Whether the paper's mean lies outside our interval (None: no interval, or no published number)."""
        if self.low is None or self.high is None or self.paper is None:
            return None
        return not self.low <= self.paper[0] <= self.high


def cell(values: list[float], paper: tuple[float, float | None] | None = None) -> Cell:
    """Mean, standard error (sample std / sqrt n) and the two-sided t interval of `values`."""
    n = len(values)
    if n == 0:
        return Cell(0, None, None, None, None, paper)
    mean = float(np.mean(values))
    if n < 2:
        return Cell(n, mean, None, None, None, paper)
    se = float(np.std(values, ddof=1) / math.sqrt(n))
    half = float(student_t.ppf(0.5 + CONFIDENCE / 2, n - 1)) * se
    return Cell(n, mean, se, mean - half, mean + half, paper)


class Reproduction:
    """A table, its seeds and iterations, and every run finished so far (keyed by row, data set and seed)."""

    def __init__(self, name: str, seeds: int, iterations: int | None = None):
        if name not in TABLES:
            raise ValueError(f"no table {name!r}")
        if not 1 <= seeds <= MAX_SEEDS:
            raise ValueError(f"1 to {MAX_SEEDS} seeds, got {seeds}")
        self.name, self.table, self.seeds = name, TABLES[name], seeds
        self.iterations = self.table.iterations if iterations is None else iterations
        if not 1 <= self.iterations <= MAX_STEPS:
            raise ValueError(f"iterations from 1 to {MAX_STEPS:,}, got {self.iterations}")
        self.runs: dict[Key, dict] = {}

    def keys(self) -> list[Key]:
        t = self.table
        return [(row, ds, seed) for row in t.rows for ds in t.datasets for seed in range(self.seeds)]

    def config(self, key: Key):
        row, dataset, seed = key
        return self.table.config(row, dataset, seed, self.iterations)

    def missing(self) -> list[Key]:
        return [key for key in self.keys() if key not in self.runs]

    def record(self, key: Key, report: dict) -> None:
        self.runs[key] = run_record(self.table, key, report, self.config(key).eval_samples)

    def protocol(self) -> dict:
        """Every row's config on every data set (seed 0): what the runs were trained with, as JSON data."""
        configs = {
            row: {ds: dataclasses.asdict(self.config((row, ds, 0))) for ds in self.table.datasets}
            for row in self.table.rows
        }
        return json.loads(json.dumps(configs))

    def deviations(self) -> list[str]:
        """What was run that the paper did not: fewer seeds, other iterations, the table's own deviations."""
        t, found = self.table, []
        if self.iterations != t.iterations:
            found.append(f"{self.iterations:,} iterations per run instead of {t.iterations:,}")
        if self.seeds != t.trials:
            found.append(f"{self.seeds} seed{'s' * (self.seeds != 1)} instead of the paper's {t.trials} trials")
        return found + list(t.deviations)

    def cells(self) -> dict[tuple[str, str, str], Cell]:
        """(row, data set, metric) -> our numbers over the seeds done beside the paper's."""
        out = {}
        for row in self.table.rows:
            for ds in self.table.datasets:
                for metric in self.table.metrics:
                    scale = METRICS[metric].scale
                    values = [
                        r[metric] * scale
                        for (r_row, r_ds, _), r in sorted(self.runs.items())
                        if (r_row, r_ds) == (row, ds) and r[metric] is not None
                    ]
                    out[row, ds, metric] = cell(values, self.table.published[row][ds].get(metric))
        return out

    # ---- the file -------------------------------------------------------------------------------------------
    def to_json(self) -> dict:
        t = self.table
        summary = [
            dict(
                row=row,
                dataset=ds,
                metric=metric,
                ours=dict(n=c.n, mean=c.mean, se=c.se, low=c.low, high=c.high),
                paper=None if c.paper is None else dict(mean=c.paper[0], se=c.paper[1]),
                outside=c.outside,
            )
            for (row, ds, metric), c in self.cells().items()
        ]
        return dict(
            format=FORMAT,
            table=self.name,
            title=t.title,
            paper=t.paper,
            sources=[str(s) for s in t.sources],
            reading=t.reading,
            mode_rule=t.mode_rule,
            seeds=self.seeds,
            iterations=self.iterations,
            deviations=self.deviations(),
            protocol=self.protocol(),
            runs_done=len(self.runs),
            runs_total=len(self.keys()),
            summary=summary,
            runs=[self.runs[key] for key in self.keys() if key in self.runs],
        )

    def save(self, path) -> None:
        """Written whole to a temporary file beside `path`, then renamed: an interrupt leaves the previous file."""
        tmp = f"{path}.tmp{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(json.dumps(self.to_json(), allow_nan=False))
        os.replace(tmp, path)


# what to_json writes, in its order (tests/test_reproduce.py checks the two agree)
FILE_KEYS = (
    "format", "table", "title", "paper", "sources", "reading", "mode_rule", "seeds", "iterations", "deviations",
    "protocol", "runs_done", "runs_total", "summary", "runs",
)  # fmt: skip


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number in strict JSON")


def _number(value, low: float, high: float) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and low <= value <= high


def load(path) -> Reproduction:
    """A result file read back: at most MAX_FILE_BYTES, strict JSON, every field checked against this module's
    schema and the table's protocol. ValueError naming what is wrong (the file is data, never run)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a FIFO must not block the read
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError("is not a regular file")
        raw = f.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:
        raise ValueError(f"is larger than {MAX_FILE_BYTES / 2**20:g} MB: not a result file")
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as error:  # JSONDecodeError, UnicodeDecodeError; nesting too deep
        raise ValueError(f"is not JSON ({type(error).__name__})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"is not a result file ({FORMAT}, written by python -m core reproduce --out)")
    if set(data) != set(FILE_KEYS):
        raise ValueError("is not a result file (its fields)")
    name, seeds, iterations = data["table"], data["seeds"], data["iterations"]
    if not isinstance(name, str) or name not in TABLES:
        raise ValueError("is not a result file (an unknown table)")
    if not (_number(seeds, 1, MAX_SEEDS) and isinstance(seeds, int)):
        raise ValueError("is not a result file (its seeds)")
    if not (_number(iterations, 1, MAX_STEPS) and isinstance(iterations, int)):
        raise ValueError("is not a result file (its iterations)")
    result = Reproduction(name, seeds, iterations)
    if data["protocol"] != result.protocol():
        raise ValueError(f"was written with another protocol than {name}'s here (another version of the table)")
    runs = data["runs"]
    if not isinstance(runs, list) or len(runs) > len(result.keys()):
        raise ValueError("is not a result file (its runs)")
    for run in runs:
        key = _check_run(result, run)
        if key in result.runs:
            raise ValueError(f"is not a result file (run {key} twice)")
        result.runs[key] = run
    return result


def _check_run(result: Reproduction, run) -> Key:
    """The run's key, if every field of `run` is one this module writes; else ValueError."""
    if not isinstance(run, dict) or set(run) != set(RUN_KEYS):
        raise ValueError("is not a result file (a run's fields)")
    key = (run["row"], run["dataset"], run["seed"])
    typed = isinstance(key[0], str) and isinstance(key[1], str) and type(key[2]) is int
    if not typed or key not in set(result.keys()):
        raise ValueError("is not a result file (a run of no row, data set or seed of the table)")
    modes = DATASETS[run["dataset"]]["modes"]
    trained = run["outcome"] not in ("diverged", "failed")
    values = (run["modes"], run["high_quality"], run["reverse_kl"], run["mode_counts"])
    good = (
        run["outcome"] in OUTCOMES
        and isinstance(run["message"], str)
        and len(run["message"]) <= MAX_MESSAGE
        and _number(run["seconds"], 0, math.inf)
    )
    if good and trained:
        counts = run["mode_counts"]
        good = (
            type(run["modes"]) is int
            and _number(run["modes"], 0, modes)
            and _number(run["high_quality"], 0, 1)
            and _number(run["reverse_kl"], 0, math.inf)
            and isinstance(counts, list)
            and len(counts) == modes
            and all(type(c) is int and 0 <= c <= MAX_EVAL_SAMPLES for c in counts)
        )
    elif good:
        good = values == (None, None, None, None)
    if not good:
        raise ValueError(f"is not a result file (run {key}'s values)")
    return key


def run_table(
    result: Reproduction,
    executor: str = "serial",
    *,
    workers: int = 1,
    address: str | None = None,
    save_to=None,
    on_run: Callable[[Reproduction], None] | None = None,
    cancel: threading.Event | None = None,
) -> Reproduction:
    """Compute the runs `result` is missing with `executor` (core.executors), recording each as it finishes
    and saving `save_to` after each; `on_run(result)` after each. An interrupt or `cancel` stops it with what
    is done recorded and saved."""
    todo = result.missing()
    configs = [result.config(key) for key in todo]  # ConfigError here: the table's protocol is refused
    record_runs(result, todo, configs, executor, workers, address, save_to, on_run, cancel)
    return result


# ---- the text -----------------------------------------------------------------------------------------------
def _pm(mean: float, se: float | None, digits: int) -> str:
    return f"{mean:.{digits}f}" + ("" if se is None else f" ± {se:.{digits}f}")


def cell_text(c: Cell, digits: int) -> str:
    """'ours mean ± SE (n) | paper mean ± SE', OUTSIDE after it where the paper's mean is outside our interval."""
    ours = "—" if c.mean is None else f"{_pm(c.mean, c.se, digits)} ({c.n})"
    paper = "—" if c.paper is None else _pm(*c.paper, digits)
    return f"{ours} | {paper}" + (f" {OUTSIDE}" if c.outside else "")


def _dataset_text(name: str) -> str:
    d = DATASETS[name]
    where = f"radius {d['radius']:g}" if d["dataset"] == "ring" else f"spacing {d['spacing']:g}"
    return f"{name}: {d['modes']} modes, {where}, std {d['std']:g}"


def text(result: Reproduction) -> str:
    """Our table beside the paper's, one block per data set."""
    t, cells = result.table, result.cells()
    deviations = result.deviations()
    code = dict.fromkeys(f"{s.repo}@{s.commit[:8]}" for s in t.sources)
    lines = [f"{result.name}: {t.title}", f"paper: {t.paper}"]
    if t.reproduces:
        lines.append(f"protocol: the released code, {', '.join(code)} (core/papers.py cites each value)")
    else:
        lines.append("protocol: ours (core.papers.BEST, found by the searches of core.papers.BEST_SEARCH)")
    if t.reading:
        lines.append(f"note: {t.reading}")
    ran = f"{result.seeds} seeds, {result.iterations:,} iterations per run"
    if not t.reproduces:
        ran = f"ran: {len(result.runs)} of {len(result.keys())} runs; {ran}"
    elif deviations:
        ran = f"ran: {len(result.runs)} of {len(result.keys())} runs; deviates from the paper: " + "; ".join(deviations)
    else:
        ran = f"ran: {len(result.runs)} of {len(result.keys())} runs; as the paper: {ran}"
    lines.append(ran)
    interval = f"{OUTSIDE}: the paper's mean lies outside our {CONFIDENCE:.0%} interval, mean ± t(0.975, n − 1) × SE"
    if result.seeds < 2:
        interval = "1 seed: no standard error, no interval, no marker"
    lines.append(f"cells: ours mean ± SE (seeds) | {t.theirs} mean ± SE where published; {interval}")
    for ds in t.datasets:
        rows = [["row", *(METRICS[m].label for m in t.metrics)]]
        for row in t.rows:
            rows.append([row, *(cell_text(cells[row, ds, m], METRICS[m].digits) for m in t.metrics)])
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines += ["", _dataset_text(ds)]
        lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    left_out = [r for r in result.runs.values() if r["modes"] is None]
    if left_out:
        lines.append("")
        lines.append("not in the means:")
        for r in left_out:
            lines.append(f"  {r['row']} on {r['dataset']}, seed {r['seed']}: {r['outcome']} ({r['message']})")
    return "\n".join(lines)
