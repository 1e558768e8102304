"""python -m core: train headless and print the dashboard's numbers, or list the presets.

Every TrainConfig setting is a flag (`--lr-d 2e-3`); flags override the preset. Bad input exits with
status 2 and one line naming the flag.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

from .config import FIELDS, TYPES, ConfigError, coerce
from .metrics import evaluate
from .presets import PRESETS
from .snapshot import Probe
from .training import GAN

SAMPLE_FORMATS = (".npy", ".csv")
REPORT_KEYS = ("step", "loss_d", "loss_g", "d_real", "d_fake", "modes_captured", "modes_total", "high_quality",
               "reverse_kl", "jsd", "grad_norm_g", "its_per_s")


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


class Parser(argparse.ArgumentParser):
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


def build_parser() -> Parser:
    parser = Parser(prog="python -m core", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    train = commands.add_parser("train", help="train headless and report metrics",
                                description="Train a GAN on a 2-D mixture without a thread or a screen.")
    train.add_argument("--preset", choices=PRESETS, default="ring8", help="start from this scenario (default ring8)")
    for name, f in FIELDS.items():
        meta = f.metadata
        bounds = f" [{meta['low']:g}-{meta['high']:g}]" if meta["low"] is not None else ""
        if name == "components":
            train.add_argument(flag(name), type=_components, help=meta["help"] + " As 'x,y,std,weight;...'.")
        elif TYPES[name] is bool:
            train.add_argument(flag(name), action=argparse.BooleanOptionalAction, default=None, help=meta["help"])
        else:
            train.add_argument(flag(name), type=_typed(name), choices=meta["choices"], metavar=name.upper(),
                               help=meta["help"] + bounds)
    train.add_argument("--json", action="store_true", help="one JSON object per line per evaluation, then a final one")
    train.add_argument("--save-samples", type=_sample_path, metavar="PATH",
                       help="write the final evaluation samples (eval_samples x 2) to a .npy or .csv file")
    train.add_argument("--threads", type=_positive_int, default=os.cpu_count() or 1,
                       help="torch intra-op threads (default: all cores)")
    commands.add_parser("presets", help="list the lecture scenarios")
    parser.train = train
    return parser


def _config(parser: Parser, args):
    overrides = {name: getattr(args, name) for name in FIELDS if getattr(args, name) is not None}
    try:
        return PRESETS[args.preset].config.replace(**overrides)
    except ConfigError as error:
        parser.train.error(f"argument {flag(error.field)}: {error.message}")


def train(config, *, json_lines: bool, save_samples: Path | None, out=sys.stdout) -> int:
    gan = GAN(config)
    probe = Probe(gan)
    trained = 0.0
    report = {}
    for step in range(1, config.steps + 1):
        started = time.perf_counter()
        gan.train_iteration()
        trained += time.perf_counter() - started
        problem = gan.finite()
        if problem:
            print(f"diverged at step {step}: {problem}; lower the learning rates (lr_g {config.lr_g:g}, "
                  f"lr_d {config.lr_d:g})", file=sys.stderr)
            return 1
        if step % config.eval_every == 0 or step == config.steps:
            metrics, samples = evaluate(gan, probe.z_eval, probe.real_eval)
            report = dict(step=step, **{k: gan.last[k] for k in ("loss_d", "loss_g", "grad_norm_g")},
                          d_real=metrics.d_real, d_fake=metrics.d_fake, modes_captured=metrics.modes_captured,
                          modes_total=metrics.modes_total, high_quality=metrics.high_quality,
                          reverse_kl=metrics.reverse_kl, jsd=metrics.jsd, its_per_s=step / trained)
            print(json.dumps(report) if json_lines else _line(report, config.steps), file=out, flush=True)
    if save_samples is not None:
        _save(samples, save_samples)
    final = dict(report, final=True, d_is_probability=gan.loss.probability, config=dataclasses.asdict(config))
    print(json.dumps(final) if json_lines else f"done: {config.steps} steps in {trained:.1f} s of training",
          file=out, flush=True)
    return 0


def _line(r: dict, steps: int) -> str:
    return (f"step {r['step']:>{len(str(steps))}}/{steps}  loss_d {r['loss_d']:.3f}  loss_g {r['loss_g']:.3f}  "
            f"D(x) {r['d_real']:.3f}  D(G(z)) {r['d_fake']:.3f}  modes {r['modes_captured']}/{r['modes_total']}  "
            f"high-quality {r['high_quality']:.3f}  reverse KL {r['reverse_kl']:.3f}  JSD {r['jsd']:.3f}  "
            f"|grad G| {r['grad_norm_g']:.3g}  {r['its_per_s']:.0f} it/s")


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
    config = _config(parser, args)
    torch.set_num_threads(args.threads)
    return train(config, json_lines=args.json, save_samples=args.save_samples)
