"""`python -m core evaluate` on 10k, 100k and 1M rows: wall time and peak memory.

    python -m benchmarks.evaluate_scale [--rows 10000 100000 1000000] [--format npy csv]
                                        [--samples spread collapsed] [--root PATH] [--timeout 600]

Each size runs in its own process (peak RSS, ru_maxrss, is a high-water mark over a process's life):
it writes ring8's exact samples plus a little noise (or all of them one point: a collapsed generator, the
worst case of a KD-tree) as a .npy or .csv file, then times core.cli.main on it
(reading, checking, subsampling above core.evaluation.EVAL_MAX_SAMPLES, every metric). `setup MB` is
the RSS before the evaluation (Python, torch, NumPy, the samples just written); `peak MB` the most the
process ever held. `--root` measures another checkout, e.g. the code before a change; a size that runs
past `--timeout` seconds is reported as such. The machine is noisy: the seconds are one measurement each.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# run in the child, with the checkout under test as the working directory
CHILD = """
import contextlib, io, json, os, resource, sys, tempfile, time
import numpy as np, torch
from core.cli import main
from core.config import TrainConfig
from core.data import mixture_for

rows, fmt, kind = int(sys.argv[1]), sys.argv[2], sys.argv[3]
x = mixture_for(TrainConfig()).sample(rows, torch.Generator().manual_seed(1)).numpy().astype(np.float64)
x += 0.01 * np.random.default_rng(0).standard_normal(x.shape)  # a generator slightly off p_data
if kind == "collapsed":  # every sample one point: a generator collapsed to a single output
    x[:] = x[0]
with tempfile.TemporaryDirectory() as folder:
    path = os.path.join(folder, "samples." + fmt)
    if fmt == "npy":
        np.save(path, x.astype(np.float32))
    else:
        np.savetxt(path, x, delimiter=",", header="x,y", comments="", fmt="%.7g")
    del x
    setup = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(out):
        code = main(["evaluate", path, "--json"])
    seconds = time.perf_counter() - started
report = json.loads(out.getvalue())
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps(dict(code=code, seconds=seconds, setup_mb=setup / 1024, peak_mb=peak / 1024,
                      n_used=report.get("n_used", report["n"]), precision=report["precision"])))
"""


def measure(rows: int, fmt: str, kind: str, root: Path, timeout: float) -> dict | None:
    try:
        run = subprocess.run(
            [sys.executable, "-c", CHILD, str(rows), fmt, kind],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": str(root)},
        )
    except subprocess.TimeoutExpired:
        return None
    if run.returncode != 0:
        raise RuntimeError(run.stderr.strip().splitlines()[-1] if run.stderr.strip() else "the child failed")
    return json.loads(run.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--format", nargs="+", choices=("npy", "csv"), default=["npy", "csv"])
    parser.add_argument(
        "--samples",
        nargs="+",
        choices=("spread", "collapsed"),
        default=["spread"],
        help="ring8's samples with a little noise, or all of them one point (a collapsed generator)",
    )
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to measure (default: this one)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds before a size is given up")
    args = parser.parse_args(argv)
    print(f"python -m core evaluate FILE --json, ring8 samples, code in {args.root}")
    print(f"{'samples':>9} {'rows':>10} {'format':>6} {'seconds':>9} {'setup MB':>9} {'peak MB':>8} {'scored':>8}")
    for kind in args.samples:
        for rows in args.rows:
            for fmt in args.format:
                result = measure(rows, fmt, kind, args.root, args.timeout)
                head = f"{kind:>9} {rows:>10,} {fmt:>6}"
                if result is None:
                    print(f"{head} {'> ' + format(args.timeout, 'g') + ' s':>9}  (did not finish)", flush=True)
                    continue
                print(
                    f"{head} {result['seconds']:>9.1f} {result['setup_mb']:>9.0f} {result['peak_mb']:>8.0f} "
                    f"{result['n_used']:>8,}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
