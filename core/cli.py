"""python -m core: train headless and print the dashboard's numbers, list the presets, sweep seeds, explore a grid,
or reproduce a paper's table.

Every TrainConfig setting is a flag (`--lr-d 2e-3`); flags override the preset. --hidden, --depth and
--activation set both players' (core.config.BOTH_PLAYERS): --g-hidden or --d-hidden beside --hidden wins. Bad
input exits with status 2 and one line naming the flag.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import re
import stat
import sys
import time
from pathlib import Path

import numpy as np
import torch

from . import evaluation
from .config import BOTH_PLAYERS, DATA_FIELDS, FIELDS, SETTING_NAMES, TYPES, USED_WHEN, ConfigError, coerce
from .data import mixture_for
from .export import MAX_ROWS, check_samples_header, npy_data, npy_header, read_run, run_archive, run_config
from .history import BoundedHistory
from .metrics import MODE_RULES, generator_metrics
from .presets import PRESETS
from .snapshot import Probe
from .sweep import MAX_SEEDS, METRICS, run_sweep
from .training import GAN, divergence_text

SAMPLE_FORMATS = (".npy", ".csv")
READABLE_FORMATS = (".npy", ".csv", ".npz")
MAX_THREADS = 4 * (os.cpu_count() or 1)  # --threads: 2^31 overflowed inside torch; beyond a few per core, thrashing
MAX_NEIGHBOURS = 100  # --neighbours: precision/recall's work grows with k (the papers use 3 and 5)
MAX_ABS_VALUE = 1e9  # sample values beyond it are refused: FID squares them twice (1e300 gave NaN)
MAX_SAVED_EVALUATIONS = 2048  # train --save-run keeps at most this many evaluations, evenly spaced
MAX_CSV_LINE = 1000  # characters per line of a sample .csv
CLIP = 80  # characters of a value echoed in an error line
# flags that a config ignores unless a condition holds: given anyway, they exit 2 instead of being ignored
REPORT_KEYS = (
    "iteration",
    "loss_d",
    "loss_g",
    "d_real",
    "d_fake",
    "modes_captured",
    "modes_total",
    "high_quality",
    "reverse_kl",
    "jsd",
    "mode_width",
    "grad_norm_g",
    "its_per_s",
)


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


class Parser(argparse.ArgumentParser):
    train: Parser  # the subcommands' parsers, set on the top-level one by build_parser
    evaluate: Parser
    sweep: Parser
    explore: Parser
    reproduce: Parser

    def error(self, message):  # one line, no usage block, no long value echoed whole
        self.exit(2, f"{self.prog}: error: {one_line(message)}\n")


def clip(text: str, limit: int = CLIP) -> str:
    """text on one line (control characters escaped) and at most `limit` characters, cut with '…'."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def clip_path(path) -> str:
    """A file's path for an error line: its end (the file's name) is what says which file, so a long path
    loses its beginning, not its end."""
    text = clip(str(path), 10**6)
    return text if len(text) <= CLIP else "…" + text[-(CLIP - 1) :]


def one_line(message: str) -> str:
    """An error message as one line of at most 5 x CLIP characters whose echoed values (quoted, or any run
    without spaces) are clipped to CLIP."""
    message = "".join(c if c.isprintable() else repr(c)[1:-1] for c in message)
    quoted = r"(?<!\w)(['\"])((?:(?!\1).){" + str(CLIP + 1) + r",})\1(?!\w)"
    message = re.sub(quoted, lambda m: m[1] + clip(m[2]) + m[1], message)
    long_word = r"(?<!…)\S{" + str(CLIP + 3) + ",}"  # a path already cut to its end (…name) stays as it is
    return clip(re.sub(long_word, lambda m: clip(m[0]), message), 5 * CLIP)


ROW_FLAGS = {"components": "x,y,std,weight", "points": "x,y"}  # settings given as rows 'a,b;a,b'


def _rows(name: str):
    """An argparse type for a setting given as rows of numbers, ROW_FLAGS[name] each."""
    shape = ROW_FLAGS[name]

    def parse(text: str):
        try:
            rows = [tuple(float(v) for v in row.split(",")) for row in text.split(";") if row.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected rows '{shape};...', got {clip(repr(text))}") from None
        if not rows or any(len(r) != shape.count(",") + 1 for r in rows):
            raise argparse.ArgumentTypeError(f"expected rows '{shape};...', got {clip(repr(text))}")
        return tuple(rows)

    return parse


def _typed(name: str):
    """An argparse type: the setting's type and range (a flag read outside a config, such as evaluate's
    --seed, is checked here too: 2^64 overflowed in torch's manual_seed)."""
    meta = SETTING_NAMES[name].metadata

    def convert(text: str):
        try:
            value = coerce(name, text)
        except ConfigError as error:
            raise argparse.ArgumentTypeError(error.message) from None
        if meta["low"] is not None and not meta["low"] <= value <= meta["high"]:  # NaN fails too
            raise argparse.ArgumentTypeError(f"must be from {meta['low']:g} to {meta['high']:g}, got {clip(text)}")
        return value

    convert.__name__ = TYPES[name].__name__
    return convert


def _int_from(low: int, high: int):
    """An argparse type: an integer from low to high (ASCII digits only: int() also reads '١٢' and '1_0')."""

    def convert(text: str) -> int:
        digits = text.strip()
        if not (digits.isascii() and digits.isdigit() and len(digits) <= 12 and low <= int(digits) <= high):
            raise argparse.ArgumentTypeError(f"expected an integer from {low} to {high}, got {clip(repr(text))}")
        return int(digits)

    convert.__name__ = "int"
    return convert


def _sample_path(text: str) -> Path:
    path = Path(text)
    if path.suffix.lower() not in SAMPLE_FORMATS:
        raise argparse.ArgumentTypeError(f"the file must end in {' or '.join(SAMPLE_FORMATS)}, got {clip(repr(text))}")
    return path


def with_both_players(names) -> list[str]:
    """names, and the BOTH_PLAYERS names (hidden, depth, activation) whose players' settings are both among
    them, just before the first of those: the flags of a command, in the order its help lists them."""
    names = list(names)
    shared = [both for both, players in BOTH_PLAYERS.items() if set(players) <= set(names)]
    players = {player for both in shared for player in BOTH_PLAYERS[both]}
    first = next((i for i, name in enumerate(names) if name in players), len(names))
    return names[:first] + shared + names[first:]


def add_setting_flags(parser: argparse.ArgumentParser, names) -> None:
    """One flag per TrainConfig setting, with its range and its one line of theory; --hidden, --depth and
    --activation for both players' (`with_both_players`)."""
    for name in with_both_players(names):
        meta = SETTING_NAMES[name].metadata
        bounds = f" [{meta['low']:g}-{meta['high']:g}]" if meta["low"] is not None else ""
        if name in BOTH_PLAYERS:
            g, d = BOTH_PLAYERS[name]
            parser.add_argument(
                flag(name),
                type=_typed(name),
                choices=meta["choices"],
                metavar=name.upper(),
                help=f"Both players' at once: sets {flag(g)} and {flag(d)} (a player's own flag wins).{bounds}",
            )
        elif name in ROW_FLAGS:
            parser.add_argument(flag(name), type=_rows(name), help=meta["help"] + f" As '{ROW_FLAGS[name]};...'.")
        elif TYPES[name] is bool:
            parser.add_argument(flag(name), action=argparse.BooleanOptionalAction, default=None, help=meta["help"])
        else:
            parser.add_argument(
                flag(name),
                type=_typed(name),
                choices=meta["choices"],
                metavar=meta["metavar"] or name.upper(),
                help=meta["help"] + bounds,
            )


def build_parser() -> Parser:
    parser = Parser(prog="python -m core", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    train = commands.add_parser(
        "train",
        help="train headless and report metrics",
        description="Train a GAN on a 2-D mixture without a thread or a screen.",
    )
    train.add_argument("--preset", choices=PRESETS, default="ring8", help="start from this scenario (default ring8)")
    add_setting_flags(train, FIELDS)
    train.add_argument("--json", action="store_true", help="one JSON object per line per evaluation, then a final one")
    train.add_argument(
        "--save-samples",
        type=_sample_path,
        metavar="PATH",
        help="write the final evaluation samples (eval_samples x 2) to a .npy or .csv file",
    )
    train.add_argument(
        "--save-run",
        type=Path,
        metavar="PATH.npz",
        help="write the run (config, curves, final samples) as one .npz, no pickle inside",
    )
    train.add_argument(
        "--threads",
        type=_int_from(1, MAX_THREADS),
        default=os.cpu_count() or 1,
        help=f"torch intra-op threads, 1-{MAX_THREADS} (default: all cores)",
    )
    commands.add_parser("presets", help="list the lecture scenarios")
    evaluate_ = commands.add_parser(
        "evaluate",
        help="evaluate a sample file against a mixture",
        description="FID, Inception Score, precision/recall/F1, density/coverage, mode statistics and JSD of "
        "any n x 2 sample file (.npy, .csv or a run archive .npz) against a known mixture: a run archive's own "
        "(its stored config), else preset ring8's; any data flag or --preset replaces it with the preset's "
        "(ring8 unless given) and the flags. The report says which mixture it used.",
    )
    evaluate_.add_argument(
        "file",
        type=Path,
        help="samples, n x 2: a .npy array, a .csv file (x,y per row) or a "
        "run archive (.npz) written by train --save-run or the dashboard",
    )
    evaluate_.add_argument(
        "--preset", choices=PRESETS, help="take the mixture from this preset (default: the run's own, else ring8)"
    )
    add_setting_flags(evaluate_, DATA_FIELDS)
    evaluate_.add_argument(
        "--neighbours",
        type=_int_from(1, MAX_NEIGHBOURS),
        default=3,
        help=f"k of the k-nearest-neighbour balls of precision and recall, 1-{MAX_NEIGHBOURS} (default 3)",
    )
    evaluate_.add_argument(
        "--seed",
        type=_typed("seed"),
        default=0,
        metavar="SEED",
        help="seed of the exact samples of p_data that precision and recall compare with",
    )
    evaluate_.add_argument(
        "--mode-rule",
        choices=MODE_RULES,
        default="minimax",
        help="when a mode counts as captured: "
        + "; ".join(f"{name}: {rule.text}" for name, rule in MODE_RULES.items())
        + " (default minimax)",
    )
    evaluate_.add_argument("--json", action="store_true", help="print one JSON object")
    sweep_ = commands.add_parser(
        "sweep",
        help="train many seeds together and report mean, std and standard error",
        description="Train seeds SEED, SEED+1, ... of one config together (one batch of matrix products; seed by "
        "seed with spectral norm or a remedy) and report each metric's mean, standard deviation and "
        "standard error over seeds, with per-seed rows.",
    )
    sweep_.add_argument("--preset", choices=PRESETS, default="ring8", help="start from this scenario (default ring8)")
    sweep_.add_argument(
        "--seeds", type=_int_from(1, MAX_SEEDS), default=4, help=f"how many seeds, 1-{MAX_SEEDS} (default 4)"
    )
    add_setting_flags(sweep_, FIELDS)
    sweep_.add_argument("--json", action="store_true", help="print one JSON object")
    sweep_.add_argument(
        "--threads",
        type=_int_from(1, MAX_THREADS),
        default=os.cpu_count() or 1,
        help=f"torch intra-op threads, 1-{MAX_THREADS} (default: all cores)",
    )
    from . import explore_cli, reproduce_cli  # they build on this module's flags

    parser.explore = explore_cli.add_parser(commands)
    parser.reproduce = reproduce_cli.add_parser(commands)
    parser.train, parser.evaluate, parser.sweep = train, evaluate_, sweep_
    return parser


def _config(sub: Parser, args, names):
    """The preset's config with the flags given; a bad value, or a flag the config would ignore, exits 2."""
    given = with_both_players(names)
    overrides = {name: getattr(args, name) for name in given if getattr(args, name, None) is not None}
    try:
        config = PRESETS[args.preset or "ring8"].config.replace(**overrides)
    except ConfigError as error:
        sub.error(f"argument {flag(error.field)}: {error.message}")
    for name, (used, why) in USED_WHEN.items():
        if name in overrides and not used(config):
            sub.error(f"argument {flag(name)}: {why}")
    return config


def _open_regular(path: Path):
    """path opened for binary reading if it is a regular file; ValueError with the reason otherwise. Opened
    without blocking (a named pipe would wait forever for a writer), then checked on the open descriptor."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise ValueError("no such file") from None
    except (OSError, ValueError) as error:  # ValueError: a NUL character in the path
        raise ValueError(f"cannot be read ({clip(getattr(error, 'strerror', None) or str(error))})") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kinds = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"))
        kind = next((name for test, name in kinds if test(mode)), "a device")
        raise ValueError(f"is not a regular file but {kind}; refusing to read it")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def _read_csv(handle) -> np.ndarray:
    """x,y rows, streamed: at most MAX_ROWS rows of at most MAX_CSV_LINE characters, then it stops. A first
    line with letters (other than an exponent's e) is a header; blank lines and # comments are skipped."""
    blocks, block, rows = [], np.empty((65_536, 2)), 0
    for number, raw in enumerate(iter(lambda: handle.readline(MAX_CSV_LINE + 2), b""), start=1):
        if len(raw.rstrip(b"\r\n")) > MAX_CSV_LINE:
            raise ValueError(f"line {number} is longer than {MAX_CSV_LINE:,} characters")
        line = raw.decode("utf-8").split("#", 1)[0].strip()
        if not line or (number == 1 and any(c.isalpha() for c in line.replace("e", "").replace("E", ""))):
            continue
        values = line.split(",")
        if len(values) != 2:
            raise ValueError(f"must be n x 2, line {number} has {len(values)} values")
        if rows == MAX_ROWS:
            raise ValueError(f"holds more than {MAX_ROWS:,} rows")
        try:
            block[rows % len(block)] = float(values[0]), float(values[1])
        except ValueError:
            raise ValueError(f"not a numeric array (line {number}: {clip(repr(line))})") from None
        rows += 1
        if rows % len(block) == 0:
            blocks.append(block)
            block = np.empty_like(block)
    blocks.append(block[: rows % len(block)])
    return np.concatenate(blocks)


def load_samples(path: Path) -> tuple[np.ndarray, dict]:
    """An n x 2 float array from .npy (never unpickled), .csv or a run archive (.npz), with the archive's
    stored config ({} if none, and for the other formats); ValueError with the reason otherwise.

    Bounded before anything is allocated: only a regular file is opened; a .npy's declared shape and dtype
    are checked before its data is read (at most export.MAX_ROWS rows), a .csv is streamed with the same
    bound, a run archive is read by export.read_run. Values must be finite and at most MAX_ABS_VALUE."""
    suffix = path.suffix.lower()
    if suffix not in READABLE_FORMATS:
        raise ValueError(f"the file must end in {', '.join(READABLE_FORMATS)}")
    stored: dict = {}
    with _open_regular(path) as handle:
        try:
            if suffix == ".npz":
                stored, samples = read_run(handle)
            elif suffix == ".npy":
                shape, fortran, dtype = npy_header(handle)
                check_samples_header(shape, dtype)
                samples = npy_data(handle, shape, fortran, dtype)
            else:
                samples = _read_csv(handle)
        except UnicodeDecodeError as error:
            raise ValueError(f"is not UTF-8 text ({error.reason} at byte {error.start})") from None
        except OSError as error:
            raise ValueError(f"cannot be read ({clip(error.strerror or str(error))})") from None
    if samples.size == 0:
        raise ValueError("is empty")
    if samples.ndim != 2 or samples.shape[1] != 2:
        raise ValueError(f"must be n x 2, got shape {samples.shape}")
    samples = samples.astype(np.float64)
    if not np.isfinite(samples).all():
        raise ValueError("holds NaN or Inf")
    if np.abs(samples).max() > MAX_ABS_VALUE:
        raise ValueError(f"values must be finite and at most {MAX_ABS_VALUE:g} in absolute value")
    return samples, stored


def _writable(path: Path) -> str | None:
    """Why `path` cannot be written, or None. Its folder is made (as saving would) and the file opened for
    appending, then removed if it was not there: the only test that a run's end will not fail."""
    try:
        if path.exists() and not path.is_file():
            return "it exists and is not a regular file"
        existed, folder = path.exists(), path.parent
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        if not folder.is_dir():
            return f"{clip(str(folder))} is not a folder"
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NONBLOCK", 0), 0o644))
        if not existed:
            path.unlink()
    except (OSError, ValueError) as error:  # ValueError: a NUL character in the path
        return clip(getattr(error, "strerror", None) or str(error))
    return None


def train(config, *, json_lines: bool, save_samples: Path | None, save_run: Path | None = None, out=None) -> int:
    out = out or sys.stdout  # looked up per call, not bound at import: whoever redirects stdout gets the lines
    gan = GAN(config)
    probe = Probe(gan)
    trained = 0.0
    report: dict = {}
    # the evaluations' curves are kept only to be saved, and then in fixed memory, evenly spaced
    reports = BoundedHistory(REPORT_KEYS, MAX_SAVED_EVALUATIONS) if save_run is not None else None
    for iteration in range(1, config.steps + 1):
        evaluating = iteration % config.eval_every == 0 or iteration == config.steps
        started = time.perf_counter()
        # the weights (0.1 ms) with each evaluation, as the runner does with each frame
        problem = gan.advance(check_weights=evaluating)
        trained += time.perf_counter() - started
        if problem:
            print(divergence_text(iteration, problem, config), file=sys.stderr)
            return 1
        if evaluating:
            metrics, samples = generator_metrics(gan, probe.z_eval, probe.real_eval)
            report = dict(
                iteration=iteration,
                **{k: gan.last[k] for k in ("loss_d", "loss_g", "grad_norm_g")},
                d_real=metrics.d_real,
                d_fake=metrics.d_fake,
                modes_captured=metrics.modes_captured,
                modes_total=metrics.modes_total,
                high_quality=metrics.high_quality,
                reverse_kl=metrics.reverse_kl,
                jsd=metrics.jsd,
                mode_width=metrics.mode_width,
                its_per_s=iteration / trained,
            )
            if reports is not None:
                reports.append([report[key] for key in REPORT_KEYS])
            print(strict_json(report) if json_lines else _line(report, config.steps), file=out, flush=True)
    if save_samples is not None:
        _save(samples, save_samples)
    if save_run is not None and reports is not None:
        save_run.parent.mkdir(parents=True, exist_ok=True)
        save_run.write_bytes(run_archive(config, samples, eval_history=reports.arrays()))
    final = dict(report, final=True, d_is_probability=gan.loss.probability, config=dataclasses.asdict(config))
    print(
        strict_json(final) if json_lines else f"done: {config.steps} iterations in {trained:.1f} s of training",
        file=out,
        flush=True,
    )
    return 0


def _line(r: dict, steps: int) -> str:
    return (
        f"iteration {r['iteration']:>{len(str(steps))}}/{steps}  loss_d {r['loss_d']:.3f}  loss_g {r['loss_g']:.3f}  "
        f"D(x) {r['d_real']:.3f}  D(G(z)) {r['d_fake']:.3f}  modes {r['modes_captured']}/{r['modes_total']}  "
        f"high-quality {r['high_quality']:.3f}  reverse KL {r['reverse_kl']:.3f}  JSD {r['jsd']:.3f}  "
        f"mode width {r['mode_width']:.2f}  |grad G| {r['grad_norm_g']:.3g}  {r['its_per_s']:.0f} it/s"
    )


def _save(samples: np.ndarray, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".npy":
        np.save(path, samples.astype(np.float32), allow_pickle=False)
    else:
        np.savetxt(path, samples, delimiter=",", header="x,y", comments="", fmt="%.7g")


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "presets":
        for name, preset in PRESETS.items():
            print(f"{name}\n    {preset.watch}\n")
        return 0
    if args.command == "evaluate":
        return evaluate_file(parser.evaluate, args)
    if args.command == "sweep":
        return sweep_seeds(parser.sweep, args)
    if args.command == "explore":
        from . import explore_cli

        return explore_cli.main(parser.explore, args)
    if args.command == "reproduce":
        from . import reproduce_cli

        return reproduce_cli.main(parser.reproduce, args)
    config = _config(parser.train, args, FIELDS)
    if args.save_run is not None and args.save_run.suffix.lower() != ".npz":
        parser.train.error(f"argument --save-run: the file must end in .npz, got {clip(repr(str(args.save_run)))}")
    for name, path in (("--save-samples", args.save_samples), ("--save-run", args.save_run)):
        problem = None if path is None else _writable(path)
        if problem:
            parser.train.error(f"argument {name}: cannot write {clip(repr(str(path)))}: {problem}")
    torch.set_num_threads(args.threads)
    return train(config, json_lines=args.json, save_samples=args.save_samples, save_run=args.save_run)


def sweep_seeds(sub: Parser, args) -> int:
    config = _config(sub, args, [name for name in FIELDS if name != "spectral_norm"])
    torch.set_num_threads(args.threads)
    try:
        result = run_sweep(config, args.seeds)
    except ConfigError as error:
        sub.error(f"argument {flag(error.field)}: {error.message}")
    rows, summary = result.final(), result.summary()
    if args.json:
        print(
            strict_json(
                dict(
                    seeds=result.seeds,
                    steps=config.steps,
                    seconds=result.seconds,
                    rows=rows,
                    summary=summary,
                    config=dataclasses.asdict(config),
                )
            )
        )
        return 0
    print(f"{len(result.seeds)} seeds x {config.steps} steps in {result.seconds:.1f} s")
    print(f"{'seed':>6} " + " ".join(f"{m:>14}" for m in METRICS))
    for row in rows:
        print(f"{row['seed']:>6} " + " ".join(f"{row[m]:>14.4f}" for m in METRICS))
    for measure in ("mean", "std", "se"):
        print(f"{measure:>6} " + " ".join(f"{summary[m][measure]:>14.4f}" for m in METRICS))
    return 0


def _finite(value):
    """value with every non-finite float, at any depth, as None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(v) for key, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_finite(v) for v in value)
    return value


def strict_json(report: dict) -> str:
    """One line of strict JSON (json.dumps(allow_nan=False): never NaN or Infinity, which JSON parsers
    refuse): a non-finite float is printed as null and its top-level key listed in `non_finite`."""
    finite = _finite(report)
    bad = [key for key, value in report.items() if finite[key] != value]
    return json.dumps(finite | ({"non_finite": bad} if bad else {}), allow_nan=False)


def evaluate_file(sub: Parser, args) -> int:
    """Score the file against a run archive's own mixture unless a data flag or --preset is given; the
    report's `mixture` says which one (source: "the run's config", "flags" or "default")."""
    shown = clip_path(args.file)
    try:
        samples, stored = load_samples(args.file)
    except ValueError as error:
        sub.error(f"{shown}: {clip(str(error), 2 * CLIP)}")
    if len(samples) <= args.neighbours:
        sub.error(f"{shown}: needs more than --neighbours {args.neighbours} samples, got {len(samples)}")
    flags = args.preset is not None or any(getattr(args, name) is not None for name in DATA_FIELDS)
    if stored and not flags:
        try:
            config, source = run_config(stored), "the run's config"
        except ConfigError as error:
            sub.error(f"{shown}: the run's config: {clip(error.field)}: {error.message}")
    else:
        config, source = _config(sub, args, DATA_FIELDS), "flags" if flags else "default"
    mixture = mixture_for(config)
    if mixture.dim != 2:
        where = f"{shown}: the run's config: dataset" if source == "the run's config" else "argument --dataset"
        sub.error(f"{where}: {config.dataset} is a {mixture.dim}-D mixture; evaluate scores n x 2 samples")
    report = dict(
        mixture=dict(dataset=config.dataset, modes=mixture.modal.n_modes, source=source),
        **evaluation.sample_report(
            samples, mixture, k=args.neighbours, seed=args.seed, grid=config.grid_size, rule=args.mode_rule
        ),
    )
    if args.json:
        print(strict_json(report))
        return 0
    report.update(
        mixture=f"{config.dataset}, {mixture.modal.n_modes} modes ({source})",
        mode_rule=f"{args.mode_rule}: {MODE_RULES[args.mode_rule].text}",
    )
    if report["n_used"] < report["n"]:
        most = f"{evaluation.EVAL_MAX_SAMPLES:,}"
        report["n_used"] = f"{report['n_used']} (a seeded subsample: at most {most} rows are scored)"
    for key, value in report.items():
        print(f"{key:<20} {value:.4f}" if isinstance(value, float) else f"{key:<20} {value}")
    return 0
