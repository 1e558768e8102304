"""live.js's number formatters under Node: every number the board writes (header stats, legends, chart ticks
on the canvases, which a browser test cannot read) is short however huge or tiny. A critic score was shown
as 6.814674232815912e+28 (issue 14): toFixed gives up on fixed notation past 1e21."""

import json
import shutil
import subprocess

import numpy as np
import pytest

from tests.browser import ROOT

NODE = shutil.which("node")
HARNESS = """
const fs = require("fs");
let src = fs.readFileSync(process.argv[1], "utf8").replace("export default function", "function mount");
globalThis.window = {};
// before issue 14 the header stats were written with toFixed, which is what `fixed` stands for then
eval(src + "; globalThis.api = { fmt, fmtSig, niceTicks, fixed: typeof fixed === 'function' ? fixed"
  + " : (v, d) => (Number.isFinite(v) ? v.toFixed(d) : '–') };");
const values = JSON.parse(process.argv[2]).map((v) => (v === "nan" ? NaN : v === "inf" ? Infinity : v));
const safe = (f) => { try { return f(); } catch (error) { return `throws ${error.message}`; } };
const out = values.map((v) => [safe(() => api.fmt(v)), safe(() => api.fmtSig(v)), safe(() => api.fixed(v, 3))]);
const ticks = api.niceTicks(-6.814674232815912e28, 6.814674232815912e28, 3).map(api.fmt);
console.log(JSON.stringify({ out, ticks }));
"""
VALUES = [6.814674232815912e28, -3.2e30, 1.5e33, 1234567.0, 12345.0, 0.25, 3.5e-5, 0, None, "nan", "inf"]


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_every_number_on_the_board_is_written_short():
    run = subprocess.run(
        [NODE, "-e", HARNESS, str(ROOT / "dashboard/components/live.js"), json.dumps(VALUES)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result = json.loads(run.stdout)
    written = dict(zip(map(str, VALUES), result["out"], strict=True))
    assert written[str(6.814674232815912e28)] == ["6.8e+28", "6.81e+28", "6.8e+28"]
    assert written[str(-3.2e30)] == ["-3.2e+30", "-3.20e+30", "-3.2e+30"]
    assert written["1234567.0"] == ["1.2e+6", "1.23e+6", "1.2e+6"]
    assert written["12345.0"][0] == "12k" and written["0.25"] == ["0.25", "0.25", "0.250"]
    assert written["3.5e-05"][:2] == ["3.5e-5", "3.5e-5"]
    assert written["None"] == written["nan"] == written["inf"] == ["–", "–", "–"]  # no number: a dash
    assert all(len(text) <= 9 for row in result["out"] for text in row), result["out"]
    assert result["ticks"] and all(len(t) <= 8 for t in result["ticks"]), result["ticks"]  # e.g. -5.0e+28


POLYLINE = """
const fs = require("fs");
let src = fs.readFileSync(process.argv[1], "utf8").replace("export default function", "function mount");
globalThis.window = {};
eval(src + "; globalThis.polyline = polyline;");
const { xs, ys, width } = JSON.parse(process.argv[2]);
const path = [];
const ctx = { moveTo: (x, y) => path.push(["M", x, y]), lineTo: (x, y) => path.push(["L", x, y]) };
const values = ys.map((y) => (y === null ? NaN : y));
polyline(ctx, xs, values, xs.length, (x) => (x / xs.length) * width, (y) => 100 - 40 * y);
console.log(JSON.stringify(path));
"""


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_a_long_curve_is_stroked_through_each_pixel_columns_extremes():
    """2,048 history points on a 300-pixel plot: every column keeps its lowest and highest point (the picture),
    at most 4 points a column are stroked, and a missing value still breaks the line."""
    rng = np.random.default_rng(0)
    n, width = 2048, 300
    ys = np.sin(np.arange(n) / 40) + rng.normal(0, 0.3, n)
    ys[1500] = np.nan
    values = [None if np.isnan(y) else float(y) for y in ys]
    run = subprocess.run(
        [NODE, "-e", POLYLINE, str(ROOT / "dashboard/components/live.js"),
         json.dumps(dict(xs=list(range(n)), ys=values, width=width))],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    path = json.loads(run.stdout)
    columns: dict[int, list[float]] = {}
    for i, y in enumerate(ys):
        if not np.isnan(y):
            columns.setdefault(round(i / n * width), []).append(100 - 40 * y)
    drawn: dict[int, list[float]] = {}
    for _, x, y in path:
        drawn.setdefault(round(x), []).append(y)
    assert drawn.keys() == columns.keys()
    for column, screen in columns.items():
        assert min(drawn[column]) == pytest.approx(min(screen)) and max(drawn[column]) == pytest.approx(max(screen))
    assert len(path) <= 4 * len(columns) < n / 1.5
    assert [kind for kind, _, _ in path].count("M") == 2  # the gap at the missing value: a second start
