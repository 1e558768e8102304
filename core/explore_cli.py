"""python -m core explore: a phase diagram over one or two settings, computed by local processes or Ray.

    python -m core explore --preset ring8 --x lr_d=1e-5:1e-2:7log --y lr_g=1e-5:1e-2:7log --seeds 2 --steps 1500
    python -m core explore --resume explore.npz          # computes only the runs the file is missing

Every run finished is saved at once (the file is rewritten whole, then renamed), so Ctrl-C or a lost worker
loses only the runs in progress; the line printed then says how to resume.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .cli import (
    MAX_THREADS,
    Parser,
    _config,
    _int_from,
    _typed,
    _writable,
    add_setting_flags,
    clip,
    flag,
    strict_json,
    with_both_players,
)
from .cli_progress import add_executor_flags, run_with_progress
from .config import FIELDS, ConfigError
from .executors import run_exploration
from .explore import MAX_SEEDS, MAX_STEPS, NOT_ON_AN_AXIS, OUTCOMES, Exploration, Grid, load, parse_axis
from .presets import PRESETS

DEFAULT_STEPS = 1500
GRID_FLAGS = (
    "preset",
    "x",
    "y",
    "seed",
    "seeds",
    "steps",
    *with_both_players(n for n in FIELDS if n not in NOT_ON_AN_AXIS),
)


def _axis(text: str):
    try:
        return parse_axis(text)
    except ConfigError as error:
        raise argparse.ArgumentTypeError(f"{error.field}: {error.message}") from None
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_parser(commands) -> Parser:
    sub = commands.add_parser(
        "explore",
        help="a phase diagram: a grid over one or two settings, several seeds per cell",
        description="Train every cell of a grid over one or two settings (--x, --y) for several seeds and record "
        "modes captured and held, high-quality share, reverse KL, JSD, D(x), D(G(z)) and an outcome "
        "(converged, collapsed, oscillating, stalled, diverged, failed) per run, in one .npz file.",
    )
    sub.add_argument("--preset", choices=PRESETS, help="the base configuration (default ring8)")
    sub.add_argument(
        "--x",
        type=_axis,
        metavar="SETTING=VALUES",
        help="the x axis: 'lr_d=1e-5:1e-2:7log', 'k=1:5:5' or 'loss=minimax,nonsaturating'",
    )
    sub.add_argument("--y", type=_axis, metavar="SETTING=VALUES", help="the y axis (optional), as --x")
    sub.add_argument(
        "--seeds",
        type=_int_from(1, MAX_SEEDS),
        help=f"seeds per cell: the base seed and the next ones (1-{MAX_SEEDS}, default 2)",
    )
    sub.add_argument(
        "--seed",
        type=_typed("seed"),
        help="the base seed (default the preset's, 0): a search keeps off the seeds it will be judged on",
    )
    sub.add_argument("--steps", type=_int_from(1, MAX_STEPS), help=f"iterations per run (default {DEFAULT_STEPS})")
    add_setting_flags(sub, [n for n in FIELDS if n not in NOT_ON_AN_AXIS])
    sub.add_argument(
        "--out",
        type=Path,
        default=Path("explore.npz"),
        metavar="PATH.npz",
        help="the result file, written after every run (default explore.npz)",
    )
    sub.add_argument(
        "--resume",
        type=Path,
        metavar="PATH.npz",
        help="finish the exploration in this file (its grid and settings; written back to it)",
    )
    add_executor_flags(sub, _int_from(1, MAX_THREADS), one_runs_here=False)
    sub.add_argument("--json", action="store_true", help="print the result as one JSON object at the end")
    return sub


def _exploration(sub: Parser, args) -> tuple[Exploration, Path]:
    """The exploration to compute and where it goes: read from --resume, or made from the flags."""
    if args.resume is not None:
        given = [name for name in GRID_FLAGS if getattr(args, name, None) is not None]
        if given:
            sub.error(f"argument {flag(given[0])}: not allowed with --resume (the file holds the grid)")
        try:
            return load(args.resume), args.resume
        except (OSError, ValueError) as error:  # ConfigError is a ValueError
            sub.error(f"argument --resume: cannot read {clip(repr(str(args.resume)))}: {clip(str(error), 200)}")
    if args.x is None:
        sub.error("argument --x: required (a setting and its values, e.g. --x lr_d=1e-5:1e-2:7log)")
    if args.out.suffix.lower() != ".npz":
        sub.error(f"argument --out: the file must end in .npz, got {clip(repr(str(args.out)))}")
    base = _config(sub, args, [n for n in FIELDS if n not in NOT_ON_AN_AXIS])
    first = base.seed if args.seed is None else args.seed
    seeds = tuple(first + i for i in range(args.seeds or 2))
    try:
        grid = Grid(base, args.x, args.y, seeds, args.steps or DEFAULT_STEPS)
    except ConfigError as error:
        sub.error(f"argument --y: {error.field} {error.message}")
    except ValueError as error:
        sub.error(f"argument --x: {error}")
    return Exploration(grid, args.preset or "ring8"), args.out


def main(sub: Parser, args) -> int:
    result, path = _exploration(sub, args)
    problem = _writable(path)
    if problem:
        sub.error(f"argument --out: cannot write {clip(repr(str(path)))}: {problem}")
    executor = "local" if args.ray is None else "ray"

    def run(progress) -> None:
        run_exploration(result, executor, workers=args.workers, address=args.ray or None, save_to=path, on_run=progress)

    saved = f"saved to {path}; python -m core explore --resume {path} computes the rest"
    code = run_with_progress(sub, "explore", result, lambda r: r.done, len(result.grid.runs()), result.grid.steps,
                             run, saved)  # fmt: skip
    if code:
        return code
    if args.json:
        print(strict_json(result.to_json()))
    else:
        _print_table(result, path)
    return 0


def _print_table(result: Exploration, path: Path) -> None:
    """Modes held (mean over seeds) and the majority outcome per cell, rows = y values, columns = x values."""
    g, s = result.grid, result.summary()
    held, majority = s["stats"]["modes_held"]["mean"], result.majority()
    print(f"{result.done} runs ({len(g.seeds)} seeds x {g.steps} steps per cell) saved to {path}")
    print(
        f"modes held over the second half (mean over seeds) and outcome; columns {g.x.name}, rows "
        f"{g.y.name if g.y else '-'}"
    )
    labels = g.x.labels()
    print(" " * 12 + "".join(f"{label:>16}" for label in labels))
    for r, row_label in enumerate(g.y.labels() if g.y else ["-"]):
        cells = [
            f"{held[r, c]:5.1f} {OUTCOMES[majority[r, c]] if majority[r, c] >= 0 else '-':>10}"
            for c in range(len(labels))
        ]
        print(f"{row_label:>12}" + "".join(f"{cell:>16}" for cell in cells))
