"""python -m core reproduce TABLE: a paper's table run again with its protocol (core.papers), ours beside theirs.

    python -m core reproduce pacgan-table1 --seeds 10 --out pacgan.json     # local processes, one per core
    python -m core reproduce pacgan-table1 --resume pacgan.json             # only the runs the file is missing
    python -m core reproduce veegan-table1 --ray ADDRESS --json             # on a Ray cluster

Every run finished is saved at once to --out (or back to the --resume file), so Ctrl-C loses only the runs in
progress; the line printed then says how to resume.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .cli import MAX_THREADS, Parser, _int_from, _writable, clip, clip_path, strict_json
from .cli_progress import add_executor_flags, run_with_progress
from .config import ConfigError
from .explore import MAX_SEEDS, MAX_STEPS
from .papers import TABLES
from .reproduce import Reproduction, load, run_table, text


def add_parser(commands) -> Parser:
    sub = commands.add_parser(
        "reproduce",
        help="run a paper's table again (PacGAN's, VEEGAN's Table 1) and print ours beside theirs",
        description="Train every row of a paper's table on the ring and the grid with the paper's protocol (its "
        "released code's networks, optimiser, batch, noise and iterations: core/papers.py cites each), seeds "
        "0 to N-1, and print our mean ± standard error beside the published numbers, with † where the paper's "
        "mean lies outside our 95% interval.",
    )
    sub.add_argument("table", choices=TABLES, help="the table: " + ", ".join(TABLES))
    sub.add_argument(
        "--seeds", type=_int_from(1, MAX_SEEDS), help=f"seeds per row and data set, 1-{MAX_SEEDS} (default 10)"
    )
    sub.add_argument(
        "--iterations",
        type=_int_from(1, MAX_STEPS),
        help="iterations per run (default the paper's: "
        + ", ".join(f"{t.iterations:,} for {name}" for name, t in TABLES.items())
        + ")",
    )
    add_executor_flags(sub, _int_from(1, MAX_THREADS), one_runs_here=True)
    sub.add_argument("--json", action="store_true", help="print the result as one strict JSON object")
    sub.add_argument("--out", type=Path, metavar="FILE", help="the result file (JSON), written after every run")
    sub.add_argument(
        "--resume",
        type=Path,
        metavar="FILE",
        help="finish the table in this result file (same table, seeds and iterations; written back unless --out)",
    )
    return sub


def _reproduction(sub: Parser, args) -> Reproduction:
    """The table to compute: read from --resume (the flags, if given, must agree with it), or from the flags."""
    if args.resume is None:
        return Reproduction(args.table, args.seeds or 10, args.iterations)
    try:
        result = load(args.resume)
    except (OSError, ValueError) as error:  # ConfigError is a ValueError
        sub.error(f"argument --resume: cannot read {clip_path(args.resume)}: {clip(str(error), 200)}")
    for name, given, stored in (
        ("table", args.table, result.name),
        ("--seeds", args.seeds, result.seeds),
        ("--iterations", args.iterations, result.iterations),
    ):
        if given is not None and given != stored:
            sub.error(f"argument {name}: {given} differs from the --resume file's {stored}")
    return result


def main(sub: Parser, args) -> int:
    result = _reproduction(sub, args)
    path = args.out if args.out is not None else args.resume
    problem = None if path is None else _writable(path)
    if problem:
        which = "--out" if args.out is not None else "--resume"
        sub.error(f"argument {which}: cannot write {clip_path(path)}: {problem}")
    try:
        result.protocol()
    except ConfigError as error:  # the table asks for a setting this TrainConfig refuses
        print(f"reproduce: {result.name}'s protocol is refused: {error.field}: {error.message}", file=sys.stderr)
        return 1
    executor = "ray" if args.ray is not None else "serial" if args.workers == 1 else "local"
    saved = (
        f"saved to {path}; python -m core reproduce {result.name} --resume {path} computes the rest"
        if path is not None
        else "not saved (no --out)"
    )

    def run(progress) -> None:
        run_table(result, executor, workers=args.workers, address=args.ray or None, save_to=path, on_run=progress)

    code = run_with_progress(sub, "reproduce", result, lambda r: len(r.runs), len(result.keys()), result.iterations,
                             run, saved)  # fmt: skip
    if code:
        return code
    print(strict_json(result.to_json()) if args.json else text(result))
    return 0
