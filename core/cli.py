"""python -m core: train headless and print the dashboard's numbers, or list the presets.

Every TrainConfig setting is a flag (`--lr-d 2e-3`); flags override the preset. Bad input exits with
status 2 and one line naming the flag.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np
import torch

from . import evaluation
from .config import FIELDS, TYPES, ConfigError, coerce
from .data import mixture_for
from .export import read_run, run_archive, run_config
from .metrics import MODE_RULES, evaluate
from .presets import PRESETS
from .snapshot import Probe
from .sweep import METRICS, run_sweep
from .training import GAN

SAMPLE_FORMATS = (".npy", ".csv")
READABLE_FORMATS = (".npy", ".csv", ".npz")
REPORT_KEYS = (
    "step",
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

    def error(self, message):  # one line, no usage block
        self.exit(2, f"{self.prog}: error: {message}\n")


def _components(text: str):
    try:
        rows = [tuple(float(v) for v in row.split(",")) for row in text.split(";") if row.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected rows 'x,y,std,weight;...', got {text!r}") from None
    if not rows or any(len(r) != 4 for r in rows):
        raise argparse.ArgumentTypeError(f"expected rows 'x,y,std,weight;...', got {text!r}")
    return tuple(rows)


def _typed(name: str):
    def convert(text: str):
        try:
            return coerce(name, text)
        except ConfigError as error:
            raise argparse.ArgumentTypeError(error.message) from None

    convert.__name__ = TYPES[name].__name__
    return convert


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return int(text)


def _sample_path(text: str) -> Path:
    path = Path(text)
    if path.suffix.lower() not in SAMPLE_FORMATS:
        raise argparse.ArgumentTypeError(f"the file must end in {' or '.join(SAMPLE_FORMATS)}, got {text!r}")
    return path


DATA_FIELDS = ("dataset", "modes", "radius", "spacing", "std", "components")


def add_setting_flags(parser: argparse.ArgumentParser, names) -> None:
    """One flag per TrainConfig setting, with its range and its one line of theory."""
    for name in names:
        meta = FIELDS[name].metadata
        bounds = f" [{meta['low']:g}-{meta['high']:g}]" if meta["low"] is not None else ""
        if name == "components":
            parser.add_argument(flag(name), type=_components, help=meta["help"] + " As 'x,y,std,weight;...'.")
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
        "--threads", type=_positive_int, default=os.cpu_count() or 1, help="torch intra-op threads (default: all cores)"
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
        type=_positive_int,
        default=3,
        help="k of the k-nearest-neighbour balls of precision and recall (default 3)",
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
    sweep_.add_argument("--seeds", type=_positive_int, default=4, help="how many seeds (default 4)")
    add_setting_flags(sweep_, FIELDS)
    sweep_.add_argument("--json", action="store_true", help="print one JSON object")
    sweep_.add_argument(
        "--threads", type=_positive_int, default=os.cpu_count() or 1, help="torch intra-op threads (default: all cores)"
    )
    parser.train, parser.evaluate, parser.sweep = train, evaluate_, sweep_
    return parser


def _config(sub: Parser, args, names):
    overrides = {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}
    try:
        return PRESETS[args.preset or "ring8"].config.replace(**overrides)
    except ConfigError as error:
        sub.error(f"argument {flag(error.field)}: {error.message}")


def load_samples(path: Path) -> tuple[np.ndarray, dict]:
    """An n x 2 float array from .npy (never unpickled), .csv or a run archive (.npz), with the archive's
    stored config ({} if none, and for the other formats); ValueError with the reason otherwise."""
    suffix = path.suffix.lower()
    if suffix not in READABLE_FORMATS:
        raise ValueError(f"the file must end in {', '.join(READABLE_FORMATS)}")
    stored: dict = {}
    try:
        if suffix == ".npz":
            stored, samples = read_run(path)
        elif suffix == ".npy":
            samples = np.load(path, allow_pickle=False)
        else:
            with open(path) as handle:
                first = handle.readline()
            header = any(c.isalpha() for c in first.replace("e", "").replace("E", ""))
            with warnings.catch_warnings():  # an empty file is reported below, in one line
                warnings.simplefilter("ignore")
                samples = np.loadtxt(path, delimiter=",", skiprows=1 if header else 0, ndmin=2)
    except FileNotFoundError:
        raise ValueError("no such file") from None
    except ValueError as error:
        message = str(error).splitlines()[0]
        if "allow_pickle" in message:
            raise ValueError("it holds pickled Python objects; refusing to load them (allow_pickle=False)") from None
        raise ValueError(message if suffix == ".npz" else f"not a numeric array ({message})") from None
    except (OSError, UnicodeDecodeError, KeyError, zipfile.BadZipFile) as error:
        raise ValueError(f"cannot be read ({error})") from None
    if samples.dtype.kind not in "fiu":
        raise ValueError(f"holds {samples.dtype} values, not numbers")
    if samples.size == 0:
        raise ValueError("is empty")
    if samples.ndim != 2 or samples.shape[1] != 2:
        raise ValueError(f"must be n x 2, got shape {samples.shape}")
    if not np.isfinite(samples).all():
        raise ValueError("holds NaN or Inf")
    return samples.astype(np.float64), stored


def train(config, *, json_lines: bool, save_samples: Path | None, save_run: Path | None = None, out=None) -> int:
    out = out or sys.stdout  # looked up per call, not bound at import: whoever redirects stdout gets the lines
    gan = GAN(config)
    probe = Probe(gan)
    trained = 0.0
    report, reports = {}, []
    for step in range(1, config.steps + 1):
        started = time.perf_counter()
        gan.train_iteration()
        trained += time.perf_counter() - started
        problem = gan.finite()
        if problem:
            print(
                f"diverged at step {step}: {problem}; lower the learning rates (lr_g {config.lr_g:g}, "
                f"lr_d {config.lr_d:g})",
                file=sys.stderr,
            )
            return 1
        if step % config.eval_every == 0 or step == config.steps:
            metrics, samples = evaluate(gan, probe.z_eval, probe.real_eval)
            report = dict(
                step=step,
                **{k: gan.last[k] for k in ("loss_d", "loss_g", "grad_norm_g")},
                d_real=metrics.d_real,
                d_fake=metrics.d_fake,
                modes_captured=metrics.modes_captured,
                modes_total=metrics.modes_total,
                high_quality=metrics.high_quality,
                reverse_kl=metrics.reverse_kl,
                jsd=metrics.jsd,
                mode_width=metrics.mode_width,
                its_per_s=step / trained,
            )
            reports.append(report)
            print(json.dumps(report) if json_lines else _line(report, config.steps), file=out, flush=True)
    if save_samples is not None:
        _save(samples, save_samples)
    if save_run is not None:
        curves = {key: np.array([r[key] for r in reports], dtype=np.float64) for key in REPORT_KEYS}
        save_run.parent.mkdir(parents=True, exist_ok=True)
        save_run.write_bytes(run_archive(config, samples, eval_history=curves))
    final = dict(report, final=True, d_is_probability=gan.loss.probability, config=dataclasses.asdict(config))
    print(
        json.dumps(final) if json_lines else f"done: {config.steps} steps in {trained:.1f} s of training",
        file=out,
        flush=True,
    )
    return 0


def _line(r: dict, steps: int) -> str:
    return (
        f"step {r['step']:>{len(str(steps))}}/{steps}  loss_d {r['loss_d']:.3f}  loss_g {r['loss_g']:.3f}  "
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
    config = _config(parser.train, args, FIELDS)
    torch.set_num_threads(args.threads)
    if args.save_run is not None and args.save_run.suffix.lower() != ".npz":
        parser.train.error(f"argument --save-run: the file must end in .npz, got '{args.save_run}'")
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
            json.dumps(
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
    for stat in ("mean", "std", "se"):
        print(f"{stat:>6} " + " ".join(f"{summary[m][stat]:>14.4f}" for m in METRICS))
    return 0


def evaluate_file(sub: Parser, args) -> int:
    """Score the file against a run archive's own mixture unless a data flag or --preset is given; the
    report's `mixture` says which one (source: "the run's config", "flags" or "default")."""
    try:
        samples, stored = load_samples(args.file)
    except ValueError as error:
        sub.error(f"{args.file}: {error}")
    if len(samples) <= args.neighbours:
        sub.error(f"{args.file}: needs more than --neighbours {args.neighbours} samples, got {len(samples)}")
    flags = args.preset is not None or any(getattr(args, name) is not None for name in DATA_FIELDS)
    if stored and not flags:
        try:
            config, source = run_config(stored), "the run's config"
        except ConfigError as error:
            sub.error(f"{args.file}: the run's config: {error.field}: {error.message}")
    else:
        config, source = _config(sub, args, DATA_FIELDS), "flags" if flags else "default"
    mixture = mixture_for(config)
    report = dict(
        mixture=dict(dataset=config.dataset, modes=mixture.n_modes, source=source),
        **evaluation.evaluate(
            samples, mixture, k=args.neighbours, seed=args.seed, grid=config.grid_size, rule=args.mode_rule
        ),
    )
    if args.json:
        print(json.dumps(report))
        return 0
    report.update(
        mixture=f"{config.dataset}, {mixture.n_modes} modes ({source})",
        mode_rule=f"{args.mode_rule}: {MODE_RULES[args.mode_rule].text}",
    )
    for key, value in report.items():
        print(f"{key:<20} {value:.4f}" if isinstance(value, float) else f"{key:<20} {value}")
    return 0
