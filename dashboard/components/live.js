// Minimax's live views, painted on canvases. Streamlit calls the default export with every new payload
// (the component is keyed, so it stays mounted): the DOM is built once, each call only redraws.
// Why canvases and not Plotly: Plotly.react needs 30-120 ms per update without a GPU and st.plotly_chart
// remounts on every change (docs/architecture.md); a canvas frame here costs 1-3 ms.

const FAKE = [142, 68, 173];   // D(x) -> 0: "generated"
const REAL = [27, 158, 119];   // D(x) -> 1: "real"
const SAMPLE = "#e8590c";
const MANIFOLD = "rgba(25, 70, 160, 0.55)";
const DPR = Math.min(window.devicePixelRatio || 1, 2);
const BOARD_TEXT = 11, PRESENT_TEXT = 16;  // the views' text in CSS px: on a laptop, and projected (present)
let TEXT = BOARD_TEXT;

function decode(b64, Type) {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return Type === Uint8Array ? bytes : new Type(bytes.buffer);
}

function unquantise(q, bounds) {  // uint16 0..65535 over the view's square -> x, y pairs
  const out = new Float32Array(q.length);
  for (let i = 0; i < q.length; i += 2) {
    out[i] = bounds[0] + (q[i] / 65535) * (bounds[1] - bounds[0]);
    out[i + 1] = bounds[2] + (q[i + 1] / 65535) * (bounds[3] - bounds[2]);
  }
  return out;
}

function lut(stops) {  // 256 RGB entries through evenly spaced colour stops
  const out = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) {
    const t = (i / 255) * (stops.length - 1), k = Math.min(Math.floor(t), stops.length - 2), f = t - k;
    for (let c = 0; c < 3; c++) out[i * 3 + c] = stops[k][c] + (stops[k + 1][c] - stops[k][c]) * f;
  }
  return out;
}
const DIVERGING = lut([FAKE, [196, 160, 214], [250, 250, 250], [150, 214, 190], REAL]);
const DENSITY = lut([[255, 255, 255], [226, 222, 240], [170, 160, 210], [110, 95, 170]]);
const PG = lut([[255, 255, 255], [253, 208, 162], [241, 105, 19], [166, 54, 3]]);
const SHARES = lut([[250, 250, 250], [198, 219, 239], [66, 146, 198], [8, 48, 107]]);

// Canvases kept between frames: a software-rendered page pays for every canvas it creates, so the per-frame
// images (the surface, p_g's density, the mode shares) are drawn into the same one each frame.
function scratch(state, name, w, h) {
  const canvas = (state.scratch[name] ||= document.createElement("canvas"));
  if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
  return canvas;
}

function gridImage(values, n, colours, alphaFromValue, canvas = document.createElement("canvas")) {  // values [y][x], row 0 = lowest y
  if (canvas.width !== n || canvas.height !== n) canvas.width = canvas.height = n;
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(n, n);
  for (let row = 0; row < n; row++) {
    const dst = (n - 1 - row) * n;
    for (let col = 0; col < n; col++) {
      const v = values[row * n + col], p = (dst + col) * 4;
      img.data[p] = colours[v * 3]; img.data[p + 1] = colours[v * 3 + 1]; img.data[p + 2] = colours[v * 3 + 2];
      img.data[p + 3] = alphaFromValue ? Math.min(255, v * 2) : 255;
    }
  }
  ctx.putImageData(img, 0, 0);
  return canvas;
}

function fit(canvas, aspect) {  // size the backing store to the element; true if it changed
  const w = Math.max(120, Math.round(canvas.clientWidth * DPR));
  const h = Math.round(w * aspect);
  if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  return ctx;
}

function niceTicks(lo, hi, count) {
  if (!(hi > lo)) return [lo];
  const step0 = (hi - lo) / count, mag = Math.pow(10, Math.floor(Math.log10(step0)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= step0) || step0;
  const ticks = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(+t.toPrecision(12));
  return ticks;
}

// Every number on screen goes through fmt, fmtSig or fixed: a huge or tiny value in exponent form (6.8e+28,
// 3.5e-5), never toFixed's raw 6.814674232815912e+28 (it gives up on fixed notation past 1e21), and "–" for
// no number (null in a frame, NaN, infinity).
const HUGE = 1e6;

function fmt(v) {  // axis ticks and legends: short
  if (!Number.isFinite(v)) return "–";
  const a = Math.abs(v);
  if (a >= HUGE) return v.toExponential(1);
  if (a >= 10000) return (v / 1000).toFixed(0) + "k";
  if (a >= 1000) return (v / 1000).toFixed(1) + "k";
  if (a >= 10 || v === 0) return v.toFixed(0);
  if (a >= 1) return v.toFixed(1);
  if (a >= 0.01) return v.toFixed(2);
  return fmtSig(v);
}

function fmtSig(v) {  // three significant digits for values spanning decades: 231, 4.55, 0.00623, 3.5e-5, 6.81e+28
  if (!Number.isFinite(v)) return "–";
  const a = Math.abs(v);
  if (a === 0) return "0";
  if (a >= HUGE) return v.toExponential(2);
  if (a >= 1000) return v.toFixed(0);
  if (a < 1e-3) return v.toExponential(1);
  return String(+v.toPrecision(3));
}

function fixed(v, digits) {  // a header stat: `digits` decimals while that reads well, else 6.8e+28
  if (!Number.isFinite(v)) return "–";
  return Math.abs(v) >= 1e5 ? v.toExponential(1) : v.toFixed(digits);
}

function niceCeil(v) {  // the smallest of 1, 2, 5 x 10^k at or above v
  const mag = Math.pow(10, Math.floor(Math.log10(v)));
  return +([1, 2, 5, 10].map((m) => m * mag).find((s) => s >= v * (1 - 1e-9)) || 10 * mag).toPrecision(6);
}

// ---- square views of the data plane -----------------------------------------------------------------
function plane(ctx, bounds) {
  const W = ctx.canvas.width, H = ctx.canvas.height;
  const [x0, x1, y0, y1] = bounds;
  return { W, H, px: (x) => ((x - x0) / (x1 - x0)) * W, py: (y) => H - ((y - y0) / (y1 - y0)) * H,
           ix: (p) => x0 + (p / W) * (x1 - x0), iy: (p) => y0 + ((H - p) / H) * (y1 - y0) };
}

function dots(ctx, P, xy, colour, size) {
  ctx.fillStyle = colour;
  const h = size / 2;
  for (let i = 0; i < xy.length; i += 2) ctx.fillRect(P.px(xy[i]) - h, P.py(xy[i + 1]) - h, size, size);
}

function tickLabel(v) { return String(+v.toPrecision(6)); }  // -5, 2.5, 0.25: no trailing ".0" on a whole number

function axesFrame(ctx, P, bounds) {
  ctx.strokeStyle = "rgba(0,0,0,0.25)";
  ctx.lineWidth = 1;
  ctx.strokeRect(0.5, 0.5, P.W - 1, P.H - 1);
  ctx.fillStyle = "rgba(0,0,0,0.55)";
  ctx.font = `${TEXT * DPR}px sans-serif`;
  const corner = 3 * TEXT * DPR;  // the x ticks along the bottom and the y ticks up the left side meet here
  for (const t of niceTicks(bounds[0], bounds[1], 4)) if (P.px(t) > corner) ctx.fillText(tickLabel(t), P.px(t) + 2, P.H - 4);
  for (const t of niceTicks(bounds[2], bounds[3], 4)) if (P.py(t) < P.H - corner) ctx.fillText(tickLabel(t), 3, P.py(t) - 2);
}

function modeNumbers(ctx, P, modes) {  // 1..K beside each mode, as the mode heatmap numbers its rows
  const K = modes.length / 2;
  if (K > 30) return;  // a 7 x 7 grid's numbers would hide its modes
  ctx.font = `${TEXT * DPR}px sans-serif`;
  ctx.fillStyle = "rgba(60,40,120,0.8)";
  for (let k = 0; k < K; k++) ctx.fillText(String(k + 1), P.px(modes[2 * k]) + 5 * DPR, P.py(modes[2 * k + 1]) - 5 * DPR);
}

function contour(ctx, P, values, n, level, bounds) {  // marching squares on the cell centres
  const cx = (i) => bounds[0] + ((i + 0.5) / n) * (bounds[1] - bounds[0]);
  const cy = (j) => bounds[2] + ((j + 0.5) / n) * (bounds[3] - bounds[2]);
  const v = (i, j) => values[j * n + i] - level;
  ctx.beginPath();
  for (let j = 0; j < n - 1; j++) {
    for (let i = 0; i < n - 1; i++) {
      const a = v(i, j), b = v(i + 1, j), c = v(i + 1, j + 1), d = v(i, j + 1);
      const pts = [];
      const edge = (p, q, x0, y0, x1, y1) => {
        if ((p < 0) !== (q < 0)) { const t = p / (p - q); pts.push([x0 + t * (x1 - x0), y0 + t * (y1 - y0)]); }
      };
      edge(a, b, cx(i), cy(j), cx(i + 1), cy(j));
      edge(b, c, cx(i + 1), cy(j), cx(i + 1), cy(j + 1));
      edge(d, c, cx(i), cy(j + 1), cx(i + 1), cy(j + 1));
      edge(a, d, cx(i), cy(j), cx(i), cy(j + 1));
      for (let k = 0; k + 1 < pts.length; k += 2) {
        ctx.moveTo(P.px(pts[k][0]), P.py(pts[k][1]));
        ctx.lineTo(P.px(pts[k + 1][0]), P.py(pts[k + 1][1]));
      }
    }
  }
  ctx.stroke();
}

function longestArrow(uv) {
  let most = 0;
  for (let i = 0; i < uv.length; i += 2) most = Math.max(most, Math.hypot(uv[i], uv[i + 1]));
  return most;
}

const ARROW_CAP = 2;  // cells: on a fixed scale, longer arrows are cut to this length and drawn in red

// unit: |grad_x| drawn one cell long (a fixed scale), or null: this frame's longest arrow is 0.45 cell.
// Returns how many arrows were cut.
function arrows(ctx, P, at, uv, perSide, unit) {
  const most = longestArrow(uv), cell = P.W / perSide;
  if (!(most > 0)) return 0;
  const perUnit = unit ? cell / unit : (0.45 * cell) / most, cap = ARROW_CAP * cell;
  const paths = [new Path2D(), new Path2D()];  // drawn to scale, cut
  let cut = 0;
  for (let i = 0; i < at.length; i += 2) {
    const x = P.px(at[i]), y = P.py(at[i + 1]);
    let u = uv[i] * perUnit, w = -uv[i + 1] * perUnit;  // screen y points down
    const len = Math.hypot(u, w), over = len > cap;
    if (over) { u *= cap / len; w *= cap / len; cut += 1; }
    if (Math.hypot(u, w) < 1) continue;
    const path = paths[over ? 1 : 0];
    path.moveTo(x, y); path.lineTo(x + u, y + w);
    const ang = Math.atan2(w, u), head = Math.min(5 * DPR, 0.4 * Math.hypot(u, w));
    path.moveTo(x + u, y + w); path.lineTo(x + u - head * Math.cos(ang - 0.5), y + w - head * Math.sin(ang - 0.5));
    path.moveTo(x + u, y + w); path.lineTo(x + u - head * Math.cos(ang + 0.5), y + w - head * Math.sin(ang + 0.5));
  }
  ctx.lineWidth = 1.2 * DPR;
  ctx.strokeStyle = "rgba(40,40,40,0.7)"; ctx.stroke(paths[0]);
  ctx.strokeStyle = "rgba(190,20,20,0.75)"; ctx.stroke(paths[1]);
  return cut;
}

function densityOfSamples(xy, bounds, n) {  // a 2-D histogram, blurred once: the density view of p_g
  const h = new Float32Array(n * n);
  for (let i = 0; i < xy.length; i += 2) {
    const c = Math.floor(((xy[i] - bounds[0]) / (bounds[1] - bounds[0])) * n);
    const r = Math.floor(((xy[i + 1] - bounds[2]) / (bounds[3] - bounds[2])) * n);
    if (c >= 0 && c < n && r >= 0 && r < n) h[r * n + c] += 1;
  }
  const out = new Uint8Array(n * n);
  let most = 0;
  const blurred = new Float32Array(n * n);
  for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) {
    let s = 0;
    for (let dr = -1; dr <= 1; dr++) for (let dc = -1; dc <= 1; dc++) {
      const rr = r + dr, cc = c + dc;
      if (rr >= 0 && rr < n && cc >= 0 && cc < n) s += h[rr * n + cc] * (dr && dc ? 0.5 : 1);
    }
    blurred[r * n + c] = s; most = Math.max(most, s);
  }
  for (let i = 0; i < n * n; i++) out[i] = most ? Math.round(255 * Math.sqrt(blurred[i] / most)) : 0;
  return out;
}

function manifold(ctx, P, mesh, rows, cols) {
  ctx.strokeStyle = MANIFOLD;
  ctx.lineWidth = 1 * DPR;
  ctx.beginPath();
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) {
    const i = (r * cols + c) * 2, x = P.px(mesh[i]), y = P.py(mesh[i + 1]);
    if (c === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
  }
  for (let c = 0; c < cols && rows > 1; c++) for (let r = 0; r < rows; r++) {
    const i = (r * cols + c) * 2, x = P.px(mesh[i]), y = P.py(mesh[i + 1]);
    if (r === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
  }
  ctx.stroke();
}

// ---- charts over iterations -------------------------------------------------------------------------
// A curve of n points on a plot a few hundred pixels wide: within one pixel column only its first, lowest,
// highest and last points can show (M4, Jugel et al. 2014), so those are all that is stroked; the picture is
// the same and a 2,048-point history costs about as much as the plot's width. A value that is not finite
// (a log axis's 0, a diverged loss) breaks the line, as before.
function polyline(ctx, xs, ys, n, sx, sy) {
  let column = null, kept = [], started = false;  // kept: [first, lowest, highest, last] of this column
  const flush = () => {
    const points = kept.sort((p, q) => p[0] - q[0]).filter((p, i, all) => i === 0 || p !== all[i - 1]);
    for (const [, x, y] of points) {
      if (!started) { ctx.moveTo(x, y); started = true; } else ctx.lineTo(x, y);
    }
    column = null; kept = [];
  };
  for (let i = 0; i < n; i++) {
    const y = sy(ys[i]);
    if (!Number.isFinite(y)) { flush(); started = false; continue; }
    const x = sx(xs[i]), point = [i, x, y];
    if (Math.round(x) !== column) {
      flush();
      column = Math.round(x); kept = [point, point, point, point];
    } else {  // screen y grows downwards: the lowest value has the largest y
      if (y > kept[1][2]) kept[1] = point;
      if (y < kept[2][2]) kept[2] = point;
      kept[3] = point;
    }
  }
  flush();
}

function chart(ctx, box, xs, series, opts) {
  const u = (TEXT / BOARD_TEXT) * DPR;  // spacing grows with the text
  const [X, Y, W, H] = box, pad = { l: 40 * u, r: 8 * DPR, t: 16 * u, b: 16 * u };
  const x0 = X + pad.l, x1 = X + W - pad.r, y0 = Y + pad.t, y1 = Y + H - pad.b;
  const n = xs.length;
  ctx.font = `${TEXT * DPR}px sans-serif`;
  ctx.fillStyle = "#333";
  ctx.fillText(opts.title, x0, Y + 11 * u);
  let legendX = x0 + ctx.measureText(opts.title).width + 12 * u;
  for (const s of series) {
    ctx.fillStyle = s.colour; ctx.fillRect(legendX, Y + 4 * u, 10 * u, 3 * u);
    ctx.fillStyle = "#555"; ctx.fillText(s.label, legendX + 13 * u, Y + 11 * u);
    legendX += ctx.measureText(s.label).width + 26 * u;
  }
  ctx.strokeStyle = "rgba(0,0,0,0.2)"; ctx.lineWidth = 1;
  ctx.strokeRect(x0 + 0.5, y0 + 0.5, x1 - x0, y1 - y0);
  if (n < 1) return;
  // logy: the values' log10 is drawn (values <= 0 are left out), the ticks are labelled with the values
  const ty = opts.logy ? (v) => (v > 0 ? Math.log10(v) : NaN) : (v) => v;
  let lo = opts.lo, hi = opts.hi;
  if (lo === undefined || hi === undefined) {
    lo = Infinity; hi = -Infinity;
    for (const s of series) for (const v0 of s.ys) {
      const v = ty(v0);
      if (Number.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    }
    if (!Number.isFinite(lo)) { lo = 0; hi = 1; }
    if (hi - lo < 1e-9) { hi += 0.5; lo -= 0.5; }
    const m = 0.06 * (hi - lo); lo -= m; hi += m;
  }
  // every chart's iteration axis runs from 0 (1 on a log axis) to the frame's iteration, so charts line up
  const xfirst = opts.logx ? 1 : 0, xlast = Math.max(opts.xmax ?? xs[n - 1], xs[n - 1], xfirst + 1);
  const xa = 0;  // log10(1) on a log axis
  const xb = opts.logx ? Math.log10(xlast) : xlast;
  const sx = (x) => x0 + (((opts.logx ? Math.log10(Math.max(1, x)) : x) - xa) / Math.max(xb - xa, 1e-9)) * (x1 - x0);
  const sy = (y) => y1 - ((y - lo) / (hi - lo)) * (y1 - y0);
  ctx.fillStyle = "rgba(0,0,0,0.55)";
  const ticks = opts.logy && hi - lo >= 2
    ? niceTicks(lo, hi, 3).map(Math.round).filter((t, i, all) => t >= lo && t <= hi && all.indexOf(t) === i)
    : niceTicks(lo, hi, 3);
  for (const t of ticks) {
    ctx.fillText(opts.logy ? fmtSig(Math.pow(10, t)) : fmt(t), X + 2, sy(t) + 4 * u);
    ctx.strokeStyle = "rgba(0,0,0,0.06)"; ctx.beginPath(); ctx.moveTo(x0, sy(t)); ctx.lineTo(x1, sy(t)); ctx.stroke();
  }
  const whole = (v) => (v < 1000 ? String(Math.round(v)) : fmt(v));  // iterations: 0, 1, 250, 1.2k, never "1.0"
  ctx.fillText(whole(xfirst), x0, y1 + 12 * u);
  const last = whole(xlast);
  ctx.fillText(last, x1 - ctx.measureText(last).width, y1 + 12 * u);
  const hline = opts.hline !== undefined && opts.hline !== null && opts.hline > lo && opts.hline < hi;
  if (hline) {
    ctx.setLineDash([4 * DPR, 4 * DPR]); ctx.strokeStyle = "rgba(0,0,0,0.5)";
    ctx.beginPath(); ctx.moveTo(x0, sy(opts.hline)); ctx.lineTo(x1, sy(opts.hline)); ctx.stroke();
    ctx.setLineDash([]);
  }
  ctx.save(); ctx.beginPath(); ctx.rect(x0, y0, x1 - x0, y1 - y0); ctx.clip();
  for (const s of series) {
    ctx.strokeStyle = s.colour; ctx.lineWidth = 1.6 * DPR; ctx.beginPath();
    polyline(ctx, xs, s.ys, n, sx, (y) => sy(ty(y)));
    ctx.stroke();
  }
  ctx.restore();
  if (hline) {  // the line's label on a white card over the curves
    const label = opts.hlineLabel || "", lw = ctx.measureText(label).width;
    ctx.fillStyle = "rgba(255,255,255,0.85)";
    // above the line, or under it when the line runs along the top of the plot (log 2 at JSD's ceiling)
    const below = sy(opts.hline) - 13 * u < y0, base = below ? sy(opts.hline) + 13 * u : sy(opts.hline) - 3 * u;
    ctx.fillRect(x1 - lw - 6 * DPR, base - 10 * u, lw + 4 * DPR, 12 * u);
    ctx.fillStyle = "rgba(0,0,0,0.7)";
    ctx.fillText(label, x1 - lw - 4 * DPR, base);
  }
}

// ---- the component ------------------------------------------------------------------------------------
const HTML = `
<div class="mm-stats">
  <div class="mm-stat"><span class="mm-label">Iteration</span><span class="mm-value" id="minimax-iteration">0</span></div>
  <div class="mm-stat"><span class="mm-label">D / G updates</span><span class="mm-value" data-stat="updates">0 / 0</span></div>
  <div class="mm-stat"><span class="mm-label">iterations/s</span><span class="mm-value" data-stat="its">0</span></div>
  <div class="mm-stat"><span class="mm-label">modes captured</span><span class="mm-value" data-stat="modes">0</span></div>
  <div class="mm-stat"><span class="mm-label">high quality</span><span class="mm-value" data-stat="hq">–</span></div>
  <div class="mm-stat" title="KL(q ‖ p) between G's high-quality samples per mode (q) and the modes' weights (p): 0 for the right proportions, log K for one mode of K"><span class="mm-label">reverse KL (nats)</span><span class="mm-value" data-stat="rkl">–</span></div>
  <div class="mm-stat"><span class="mm-label" data-stat="dreal-label">D(x), data</span><span class="mm-value" data-stat="dreal">–</span></div>
  <div class="mm-stat"><span class="mm-label" data-stat="dfake-label">D(G(z)), samples</span><span class="mm-value" data-stat="dfake">–</span></div>
  <div class="mm-stat" title="At the grid's resolution (both densities seen through a kernel one cell wide): it cannot see modes too wide or too narrow; the mode width can"><span class="mm-label">JSD (nats)</span><span class="mm-value" data-stat="jsd">–</span></div>
  <div class="mm-stat" title="How wide G's modes are against p_data's: median distance to the nearest mode in that mode's stds, over p_data's own median. 1 = as wide as p_data's modes, 2 = twice too wide"><span class="mm-label">mode width (× p<sub>data</sub>'s)</span><span class="mm-value" data-stat="width">–</span></div>
  <div class="mm-stat" title="The norm of the gradient of G's loss over G's weights at its last update: how hard G is being pushed"><span class="mm-label">|∇G|</span><span class="mm-value" data-stat="gradg">–</span></div>
  <div class="mm-state"><span class="mm-badge" data-stat="state">idle</span><span class="mm-message" data-stat="message"></span></div>
</div>
<div class="mm-grid">
  <figure class="mm-panel mm-area-data">
    <figcaption><b>p<sub>g</sub> vs p<sub>data</sub></b>
      <label><input type="checkbox" data-opt="density"> density of p<sub>g</sub></label>
      <label><input type="checkbox" data-opt="manifold"> manifold</label>
      <label title="Drag on this view to paint data points: they become the data set (painted data), and each stroke one mode for the metrics"><input type="checkbox" data-opt="paint"> paint data</label></figcaption>
    <canvas data-view="data" title="Click to add a mode to a custom mixture; tick 'paint data' and drag to paint points"></canvas>
    <div class="mm-legend"><span><i class="mm-sw mm-sw-data"></i> p<sub>data</sub></span>
      <span><i class="mm-dot mm-dot-real"></i> real samples</span><span><i class="mm-dot mm-dot-fake"></i> <span data-stat="samples-label">G(z), z fixed</span></span></div>
  </figure>
  <figure class="mm-panel mm-area-surface">
    <figcaption><b>Discriminator</b> <span data-stat="surface-title">D(x)</span>
      <label><input type="checkbox" data-opt="arrows" checked> G's gradient</label>
      <label title="Arrow length proportional to the gradient, on one scale kept from the moment you tick this (a new scale after a restart)"><input type="checkbox" data-opt="fixedArrows"> fixed scale</label></figcaption>
    <canvas data-view="surface"></canvas>
    <div class="mm-legend"><span data-stat="lo">0</span><i class="mm-bar"></i><span data-stat="hi">1</span>
      <span data-stat="boundary-note" title="The black line and the white of the colours: where D cannot tell data from samples, its optimum where p_g = p_data">— D = 1/2</span>
      <span class="mm-arrow-note" data-stat="arrow-note"></span></div>
  </figure>
  <figure class="mm-panel mm-area-convergence">
    <figcaption><b>Convergence</b> <label><input type="checkbox" data-opt="logx"> log iterations</label></figcaption>
    <canvas data-view="convergence"></canvas>
  </figure>
  <figure class="mm-panel mm-area-modes">
    <figcaption><b>Mode collapse</b> <span class="mm-note">share of samples per mode over time</span></figcaption>
    <canvas data-view="modes"></canvas>
    <table class="mm-remedies" data-stat="remedies" title="Remedies for mode collapse: set them in the sidebar's Remedies section"></table>
  </figure>
  <section class="mm-panel mm-area-watch">
    <figure class="mm-model" title="The model: who computes what, which objective each player follows, and which player updated last (highlighted)">
      <svg viewBox="0 0 460 150" role="img" aria-label="model overview">
        <defs><marker id="mm-arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M0,0 L8,4 L0,8 z"/></marker></defs>
        <g class="mm-flow">
          <circle cx="22" cy="35" r="14"/><text x="22" y="40">z</text>
          <path d="M36,35 L58,35"/>
          <rect class="mm-g" x="60" y="20" width="50" height="30" rx="5"/><text class="mm-g" x="85" y="40">G</text>
          <path d="M110,35 L134,35"/><circle cx="140" cy="35" r="4"/><text x="140" y="22">G(z)</text>
          <circle cx="140" cy="105" r="4"/><text x="140" y="125">x ~ p_data</text>
          <path d="M145,38 L198,62"/><path d="M145,102 L198,78"/>
          <rect class="mm-d" x="200" y="50" width="50" height="40" rx="5"/><text class="mm-d" x="225" y="75">D</text>
          <path d="M250,70 L278,70"/><text x="290" y="74">D(·)</text>
          <path d="M304,64 L320,40"/><path d="M304,76 L320,100"/>
          <rect class="mm-d" x="320" y="24" width="132" height="26" rx="5"/><text class="mm-d" x="386" y="41" data-model="d-box">D's objective</text>
          <rect class="mm-g" x="320" y="90" width="132" height="26" rx="5"/><text class="mm-g" x="386" y="107" data-model="g-box">G's objective</text>
          <path class="mm-d mm-back" d="M386,24 C386,4 225,4 225,48"/>
          <path class="mm-g mm-back" d="M386,116 C386,148 85,148 85,52"/>
          <circle class="mm-slot" data-slot="g_shown" cx="122" cy="35" r="5"/>
          <circle class="mm-slot" data-slot="into_d" cx="170" cy="70" r="5"/>
          <circle class="mm-slot" data-slot="d" cx="250" cy="50" r="5"/>
          <circle class="mm-slot" data-slot="d_loss" cx="320" cy="24" r="5"/>
          <circle class="mm-slot" data-slot="g_loss" cx="320" cy="90" r="5"/>
          <circle class="mm-slot" data-slot="both" cx="452" cy="70" r="5"/>
        </g>
      </svg>
      <figcaption>
        <div class="mm-objective mm-d"><b data-model="d-updates">D</b> <span data-model="d-objective"></span></div>
        <div class="mm-objective mm-g"><b data-model="g-updates">G</b> <span data-model="g-objective"></span></div>
        <div class="mm-slots" data-model="slots"></div>
      </figcaption>
    </figure>
    <div class="mm-scene" data-stat="scene" hidden>
      <p class="mm-scene-heading" data-stat="scene-heading"></p><p class="mm-scene-watch" data-stat="scene-watch"></p>
    </div>
  </section>
</div>`;

function setup(parent, setTriggerValue) {
  const root = document.createElement("div");
  root.className = "mm-root";
  root.innerHTML = HTML;
  parent.appendChild(root);
  const state = { root, opts: { arrows: true }, staticKey: null, pdataImage: null, last: null, setTriggerValue, scratch: {},
                  arrowUnit: null, arrowSince: 0 };
  root.querySelectorAll("[data-opt]").forEach((box) => {
    state.opts[box.dataset.opt] = box.checked;
    box.addEventListener("change", () => { state.opts[box.dataset.opt] = box.checked; if (state.last) draw(state, state.last); });
  });
  const dataCanvas = root.querySelector('[data-view="data"]');
  const at = (event) => {  // the event's point in the data plane's coordinates
    const rect = dataCanvas.getBoundingClientRect();
    const P = plane({ canvas: { width: rect.width, height: rect.height } }, state.last.bounds);
    return [P.ix(event.clientX - rect.left), P.iy(event.clientY - rect.top)];
  };
  dataCanvas.addEventListener("click", (event) => {
    if (!state.last || state.opts.paint || state.watch) return;
    const [x, y] = at(event);
    state.setTriggerValue("add_mode", { x, y });
  });
  // painting: a stroke's points, PAINT_STEP apart in the plane (closer than core.data.LINK: one stroke, one
  // mode), drawn as they come and sent when the button is released
  dataCanvas.addEventListener("pointerdown", (event) => {
    if (!state.last || !state.opts.paint || state.watch) return;
    dataCanvas.setPointerCapture(event.pointerId);
    state.stroke = [at(event)];
    paintStroke(state);
  });
  dataCanvas.addEventListener("pointermove", (event) => {
    if (!state.stroke) return;
    const p = at(event), q = state.stroke[state.stroke.length - 1];
    if (Math.hypot(p[0] - q[0], p[1] - q[1]) >= PAINT_STEP) { state.stroke.push(p); paintStroke(state); }
  });
  const release = () => {
    if (!state.stroke) return;
    const points = state.stroke.map(([x, y]) => [+x.toFixed(3), +y.toFixed(3)]);
    state.stroke = null;
    state.setTriggerValue("paint", { points });
  };
  dataCanvas.addEventListener("pointerup", release);
  dataCanvas.addEventListener("pointercancel", release);
  new ResizeObserver(() => { if (state.last) draw(state, state.last); }).observe(root);
  return state;
}

function stats(state, d) {
  const q = (name) => state.root.querySelector(`[data-stat="${name}"]`);
  const m = d.metrics, prob = d.probability;
  q("its").textContent = fixed(d.its, 0);
  q("updates").textContent = `${d.d_steps} / ${d.g_steps}`;  // counts: integers, always whole
  q("modes").textContent = `${m.modes_captured} / ${m.modes_total}`;
  q("hq").textContent = Number.isFinite(m.high_quality) ? `${fixed(100 * m.high_quality, 0)}%` : "–";
  q("dreal").textContent = fixed(m.d_real, 3);
  q("dfake").textContent = fixed(m.d_fake, 3);
  q("dreal-label").textContent = prob ? "D(x), data" : "D score, data";
  q("dfake-label").textContent = prob ? "D(G(z)), samples" : "D score, samples";
  q("samples-label").textContent = d.samples_label;
  q("jsd").textContent = fixed(m.jsd, 3);
  q("rkl").textContent = fixed(m.reverse_kl, 2);
  q("width").textContent = fixed(m.mode_width, 2);
  q("gradg").textContent = fmtSig(d.grad_norm_g);
  showStatus(state);
  const remedies = JSON.stringify(d.remedies || []);
  if (state.remedies !== remedies) {  // changes only with the settings: rebuild the small table then
    state.remedies = remedies;
    const table = q("remedies");
    table.replaceChildren();
    for (const r of d.remedies || []) {
      const row = table.insertRow();
      row.className = r.on ? "mm-on" : "mm-off";
      row.title = r.paper;
      row.insertCell().textContent = r.on ? "\u2713" : "\u2013";
      row.insertCell().textContent = r.name;
      row.insertCell().textContent = r.on ? r.value : "off";
    }
  }
}

// p_data and its real samples change only with the data set: drawn once at the view's size, then copied under
// each frame's samples (a copy costs a fraction of scaling the density and placing every real point again)
function dataBackdrop(state, P, bounds) {
  const key = `${state.staticKey} ${P.W}x${P.H} ${bounds}`;
  const canvas = scratch(state, "backdrop", P.W, P.H);
  if (state.backdropKey === key) return canvas;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, P.W, P.H);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(state.pdataImage, 0, 0, P.W, P.H);
  dots(ctx, P, state.real, "rgba(70,70,70,0.35)", 2 * DPR);
  state.backdropKey = key;
  return canvas;
}

function drawData(state, d, a) {
  const canvas = state.root.querySelector('[data-view="data"]');
  const ctx = fit(canvas, 1);
  const P = plane(ctx, d.bounds);
  ctx.drawImage(dataBackdrop(state, P, d.bounds), 0, 0);
  if (state.opts.density) {
    const density = gridImage(densityOfSamples(a.samples, d.bounds, 64), 64, PG, true, scratch(state, "density", 64, 64));
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(density, 0, 0, P.W, P.H);
  } else {
    dots(ctx, P, a.samples, SAMPLE, 3 * DPR);
  }
  if (state.opts.manifold) manifold(ctx, P, a.manifold, d.mesh[0], d.mesh[1]);
  axesFrame(ctx, P, d.bounds);
  modeNumbers(ctx, P, state.modes);
}

function drawSurface(state, d, a) {
  const canvas = state.root.querySelector('[data-view="surface"]');
  const ctx = fit(canvas, 1);
  const P = plane(ctx, d.bounds);
  const n = d.surface_grid;
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(gridImage(a.surface, n, DIVERGING, false, scratch(state, "surface", n, n)), 0, 0, P.W, P.H);
  const [lo, hi] = d.surface_range;
  if (d.boundary !== null && d.boundary !== undefined && hi > lo) {  // payload.py puts the level at 127.5
    ctx.strokeStyle = "rgba(20,20,20,0.85)"; ctx.lineWidth = 1.5 * DPR;
    contour(ctx, P, a.surface, n, 127.5, d.bounds);
  }
  dots(ctx, P, a.samples, "rgba(0,0,0,0.55)", 2 * DPR);
  const note = arrowScale(state, d, a);
  if (state.opts.arrows) {
    const cut = arrows(ctx, P, a.arrows_at, a.arrows, Math.round(Math.sqrt(a.arrows_at.length / 2)), state.arrowUnit);
    if (cut) note.push(`${cut} cut at ${ARROW_CAP} cells (red)`);
  }
  axesFrame(ctx, P, d.bounds);
  const q = (name) => state.root.querySelector(`[data-stat="${name}"]`);
  q("lo").textContent = fmt(lo); q("hi").textContent = fmt(hi);
  q("surface-title").textContent = d.surface_title;
  q("boundary-note").textContent = d.boundary === null ? "(no decision level: a critic ranks, it does not classify)"
    : `— D = ${d.boundary_label}`;
  q("arrow-note").textContent = state.opts.arrows ? note.join("; ") : "";
}

// The arrows' scale. Per frame: the longest arrow is drawn 0.45 cell long, whatever its size. Fixed: one
// cell stands for |grad_x| = unit, chosen (1, 2 or 5 x 10^k, at or above the longest arrow) on the first
// frame drawn with the box ticked and kept until it is unticked or the run restarts, so a shrinking
// gradient draws shrinking arrows.
function arrowScale(state, d, a) {
  const longest = longestArrow(a.arrows);
  if (!state.opts.fixedArrows || (state.arrowUnit && d.iteration < state.arrowSince)) state.arrowUnit = null;
  if (state.opts.fixedArrows && !state.arrowUnit && longest > 0) {
    state.arrowUnit = niceCeil(longest); state.arrowSince = d.iteration;
  }
  return state.arrowUnit
    ? [`arrows −∇x of G's loss, fixed scale: one cell = |∇x| ${fmtSig(state.arrowUnit)} (longest now ${fmtSig(longest)})`]
    : [`arrows −∇x of G's loss, scaled per frame (longest |∇x| = ${fmtSig(longest)})`];
}

function drawConvergence(state, d, a) {
  const canvas = state.root.querySelector('[data-view="convergence"]');
  const ctx = fit(canvas, 0.96);
  const W = ctx.canvas.width, H = ctx.canvas.height;
  ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, W, H);
  const h = a.history, e = a.evals, logx = state.opts.logx;
  const row = H / 4;
  chart(ctx, [0, 0, W, row], h.iteration, [
    { ys: h.d_real, colour: `rgb(${REAL})`, label: "data" }, { ys: h.d_fake, colour: `rgb(${FAKE})`, label: "samples" }],
    { title: d.probability ? "mean D(x)" : "mean D score", lo: d.probability ? 0 : undefined, hi: d.probability ? 1 : undefined,
      hline: d.boundary, hlineLabel: `Nash: ${d.boundary_label}`, logx, xmax: d.iteration });
  chart(ctx, [0, row, W, row], h.iteration, [
    { ys: h.loss_d, colour: "#1f4e79", label: "D loss" }, { ys: h.loss_g, colour: SAMPLE, label: "G loss" }],
    { title: "losses", logx, xmax: d.iteration });
  chart(ctx, [0, 2 * row, W, row], h.iteration, [{ ys: h.grad_norm_g, colour: SAMPLE, label: "|∇G|" }],
    { title: "G's gradient over its weights (log scale)", logx, logy: true, xmax: d.iteration });
  chart(ctx, [0, 3 * row, W, row], e.iteration, [{ ys: e.jsd, colour: "#444", label: "JSD" }],
    { title: "JSD(p_data, p_g)", lo: 0, hi: Math.log(2) * 1.02, logx, hline: Math.log(2), hlineLabel: "log 2", xmax: d.iteration });
}

function drawModes(state, d, a) {
  const canvas = state.root.querySelector('[data-view="modes"]');
  const ctx = fit(canvas, 0.62);
  const W = ctx.canvas.width, H = ctx.canvas.height;
  ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, W, H);
  const u = (TEXT / BOARD_TEXT) * DPR;
  const K = d.metrics.modes_total, T = d.share_columns, left = 40 * u, right = 8 * DPR;
  const top = 6 * DPR, heat = H * 0.55;
  ctx.font = `${TEXT * DPR}px sans-serif`;
  if (T > 0) {
    const img = scratch(state, "shares", T, K);
    const c2 = img.getContext("2d"), data = c2.createImageData(T, K);
    for (let k = 0; k < K; k++) for (let t = 0; t < T; t++) {
      // brightest at twice the fair share 1/K, so a balanced generator reads as mid-blue everywhere
      const v = Math.min(255, Math.round((a.shares[k * T + t] / 255) * K * 0.5 * 255));
      const p = (k * T + t) * 4;
      data.data[p] = SHARES[v * 3]; data.data[p + 1] = SHARES[v * 3 + 1]; data.data[p + 2] = SHARES[v * 3 + 2]; data.data[p + 3] = 255;
    }
    c2.putImageData(data, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(img, left, top, W - left - right, heat);
  }
  ctx.strokeStyle = "rgba(0,0,0,0.2)"; ctx.strokeRect(left + 0.5, top + 0.5, W - left - right, heat);
  ctx.fillStyle = "rgba(0,0,0,0.6)";
  const every = Math.max(1, Math.ceil(K / Math.max(1, heat / (12 * u))));  // mode k as numbered on the plane
  for (let k = 0; k < K; k += every) ctx.fillText(`${k + 1}`, 6 * DPR, top + ((k + 0.5) / K) * heat + 4 * u);
  const e = a.evals;
  chart(ctx, [0, top + heat + 4 * DPR, W, H - heat - top - 4 * DPR], e.iteration, [
    { ys: e.modes_captured.map((v) => v / K), colour: "#2166ac", label: "modes captured / K" },
    { ys: e.high_quality, colour: "#b2182b", label: "high-quality share" }], { title: "", lo: 0, hi: 1.02, logx: state.opts.logx, xmax: d.iteration });
}

function arraysOf(d) {
  const curves = (c, names) => Object.fromEntries(names.map((k) => [k, decode(c[k], Float32Array)]));
  return {
    samples: unquantise(decode(d.samples, Uint16Array), d.bounds), surface: decode(d.surface, Uint8Array),
    arrows_at: decode(d.arrows_at, Float32Array), arrows: decode(d.arrows, Float32Array),
    manifold: decode(d.manifold, Float32Array), shares: decode(d.shares, Uint8Array),
    history: curves(d.history, ["iteration", "d_real", "d_fake", "loss_d", "loss_g", "grad_norm_g"]),
    evals: curves(d.evals, ["iteration", "jsd", "modes_captured", "high_quality"]),
  };
}

function draw(state, d) {
  const started = performance.now();
  if (state.staticKey !== d.static_key) {  // the data set's layer comes only when it changes
    if (!d.p_data) return false;  // not in this frame: the next fetch says which one we hold
    state.pdataImage = gridImage(decode(d.p_data, Uint8Array), d.grid, DENSITY, false);
    state.real = decode(d.real, Float32Array);
    state.modes = decode(d.modes, Float32Array);
    state.staticKey = d.static_key;
  }
  if (state.last !== d || !state.arrays) state.arrays = arraysOf(d);
  state.last = d;
  const a = state.arrays;
  stats(state, d);
  showModel(state, d);
  drawData(state, d, a);
  drawSurface(state, d, a);
  drawConvergence(state, d, a);
  drawModes(state, d, a);
  state.drawnAt = performance.now();
  // the test hook: the iteration of the frame now on screen, written once the frame is drawn
  state.root.querySelector("#minimax-iteration").textContent = String(d.iteration);
  const cost = (window.__minimaxDraw ||= { frames: 0, ms: 0 });  // read by benchmarks/dashboard_live.py
  cost.frames += 1; cost.ms += performance.now() - started;
  return true;
}

// ---- the model overview (GAN Lab's graph): who computes what, which objective each player follows ---------
const SLOT_NAMES = { g_shown: "on the G shown", into_d: "into D", d: "on D", d_loss: "on D's objective", g_loss: "on G's objective", both: "on both players" };

function showModel(state, d) {
  const q = (name) => state.root.querySelector(`[data-model="${name}"]`);
  const m = d.model, svg = state.root.querySelector(".mm-model");
  // the player(s) that updated last stay highlighted until another update: stepping shows D's, then G's
  const prev = state.modelCounts || [d.d_steps, d.g_steps];
  const movedD = d.d_steps !== prev[0], movedG = d.g_steps !== prev[1];
  if (movedD || movedG) { svg.classList.toggle("mm-on-d", movedD); svg.classList.toggle("mm-on-g", movedG); }
  state.modelCounts = [d.d_steps, d.g_steps];
  const key = JSON.stringify(m);
  if (state.modelKey === key) return;  // the labels change only with the settings
  state.modelKey = key;
  q("d-updates").textContent = `D (${m.d_layers}), ${m.d_updates} update${m.d_updates > 1 ? "s" : ""} per iteration:`;
  q("g-updates").textContent = `G (${m.g_layers}), ${m.g_when} ${m.g_updates} update${m.g_updates > 1 ? "s" : ""}:`;
  q("d-objective").textContent = m.d_objective;
  q("g-objective").textContent = m.g_objective;
  q("d-box").textContent = `D's objective ×${m.d_updates}`;
  q("g-box").textContent = `G's objective ×${m.g_updates}`;
  const slots = q("slots");
  slots.replaceChildren();
  for (const [slot, where] of Object.entries(SLOT_NAMES)) {
    const on = (m[slot] || []).length > 0;
    state.root.querySelector(`[data-slot="${slot}"]`).classList.toggle("mm-slot-on", on);
    if (!on) continue;
    const line = document.createElement("div");
    line.textContent = `● ${where}: ${m[slot].join("; ")}`;
    slots.appendChild(line);
  }
}

// ---- painting data ------------------------------------------------------------------------------------------
const PAINT_STEP = 0.1;  // plane units between two painted points of a stroke

function paintStroke(state) {  // the stroke so far, over the view, until the page's next frame redraws it
  const canvas = state.root.querySelector('[data-view="data"]'), ctx = canvas.getContext("2d");
  const P = plane(ctx, state.last.bounds);
  ctx.fillStyle = "rgba(60, 40, 120, 0.85)";
  for (const [x, y] of state.stroke) { ctx.beginPath(); ctx.arc(P.px(x), P.py(y), 3 * DPR, 0, 2 * Math.PI); ctx.fill(); }
}

// ---- the scene and presentation mode ----------------------------------------------------------------------
function showScene(state, scene) {  // what to watch, under the square views: plain text (textContent), never HTML
  const q = (name) => state.root.querySelector(`[data-stat="${name}"]`);
  q("scene").hidden = !scene;
  q("scene-heading").textContent = scene ? scene.heading : "";
  q("scene-watch").textContent = scene ? scene.watch : "";
}

function present(state, on) {  // projector sizes: the views' text at 16 px, and the page's (live.css, .mm-presenting)
  TEXT = on ? PRESENT_TEXT : BOARD_TEXT;  // the caller draws the frame next, at these sizes
  state.root.classList.toggle("mm-present", on);
  document.body.classList.toggle("mm-presenting", on);
}

// ---- the frame route's health ---------------------------------------------------------------------------
// A frame that does not come is said on the page, never hidden behind the last one: the badge reads
// "connection lost" (the server did not answer), "no frame" (it answered an error, or something that is not
// JSON) or "session ended" (404: the run is gone); the message gives the error and the age of the frame still
// shown, and the views are dimmed. When frames come back, the message says so for a while.
const RECOVERED_NOTE_MS = 10000;

class FrameError extends Error {}  // the server answered, but not with a frame

function seconds(ms) { return `${Math.round(ms / 1000)} s`; }

function reason(text) {  // the route's JSON error ({"error": ...}), else the start of what came
  try { return JSON.parse(text).error || text; } catch (error) { return text.slice(0, 200) || "an empty answer"; }
}

async function getJSON(state, url, cache) {  // the body, or null for 404 (its error kept); throws TypeError or FrameError
  const response = await fetch(url, { cache });
  const text = await response.text();
  if (response.status === 404) { state.endedBecause = reason(text); return null; }
  if (!response.ok) throw new FrameError(`the frame route answered ${response.status}: ${reason(text)}`);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new FrameError(`a frame could not be read: ${error.message}`);
  }
}

async function fetchFrame(state) {  // a frame, or null for 404; throws TypeError (no answer) or FrameError
  if (!state.watch) return getJSON(state, `${state.url}?have=${encodeURIComponent(state.staticKey || "")}`, "no-store");
  // a watch link (dashboard/watch.py): the latest frame's number, then that frame by its number (a URL that
  // names one body forever: the browser and a proxy may keep it), and the data set's layer when it changed
  const now = await getJSON(state, `${state.url}/now`, "no-store");
  if (now === null) return null;
  if (JSON.stringify(now.scene) !== JSON.stringify(state.scene)) { state.scene = now.scene; showScene(state, now.scene); }
  if (now.frame === state.frameNumber && state.last) return state.last;
  const frame = await getJSON(state, `${state.url}/frame/${now.frame}`, "default");
  if (frame === null) return null;
  if (frame.static_key !== state.staticKey) {
    const layer = await getJSON(state, `${state.url}/static/${now.static}`, "default");
    if (layer === null) return null;
    Object.assign(frame, layer);
  }
  state.frameNumber = now.frame;
  return frame;
}

async function askPlace(state) {  // while queued: the place in line, asked of a tiny route (no script rerun)
  const answer = await getJSON(state, state.queueUrl, "no-store");
  if (answer === null) return null;
  state.queued = answer.place;
  return answer;
}

function trouble(state, kind, badge, message) {
  state.trouble = { kind, badge, message, since: state.trouble ? state.trouble.since : performance.now() };
  state.recovered = null;
  showStatus(state);
}

function showStatus(state) {  // the badge and the message: the frame's, or what keeps frames from coming
  const q = (name) => state.root.querySelector(`[data-stat="${name}"]`);
  const badge = q("state"), message = q("message"), d = state.last, t = state.trouble;
  state.root.classList.toggle("mm-stale", Boolean(t));
  if (t) {
    badge.textContent = t.badge;
    badge.className = `mm-badge mm-${t.kind}`;
    const shown = d && state.drawnAt !== undefined
      ? ` The views show the last frame received (iteration ${d.iteration}), ${seconds(performance.now() - state.drawnAt)} old`
      : " No frame has arrived yet";
    message.textContent = `${t.message}.${shown}${t.kind === "ended" ? "." : "; trying again every second."}`;
    return;
  }
  if (!d) return;
  if (state.queued && d.state !== "running") {  // waiting for a training slot: its place, not "idle"
    badge.textContent = `queued, number ${state.queued}`;
    badge.className = "mm-badge mm-queued";
    const before = state.queued - 1;
    message.textContent = before ? `${before} ${before === 1 ? "run waits" : "runs wait"} before this one` : "next to train";
    return;
  }
  badge.textContent = d.state;
  badge.className = `mm-badge mm-${d.state}`;
  const back = state.recovered && performance.now() < state.recovered.until ? ` (${state.recovered.note})` : "";
  message.textContent = `${d.message}${back}`;
}

// Frames come from their own route, at the refresh rate while training and once a second otherwise.
// When the run's state changes under us (it paused itself, diverged), Streamlit is told, so the controls
// follow.
async function tick(state, generation) {
  // one loop per mount: a fetch still in flight when Streamlit re-renders the component must not start
  // a second loop, so every step checks that its mount is still the current one
  if (generation !== state.generation) return;
  const started = performance.now();
  let state_ = state.lastState, failed = false;
  let frame, waiting = false;
  try {
    // queued: ask for the place (a freed slot starts the run there); a frame only once it trains or left the line
    const placed = state.queued && state.queueUrl ? await askPlace(state) : undefined;
    if (placed === null) frame = null;
    else if (placed && placed.place) waiting = true;
    else frame = await fetchFrame(state);
  } catch (error) {
    if (state.stopped || generation !== state.generation) return;
    failed = true;
    if (error instanceof FrameError) trouble(state, "lost", "no frame", error.message);
    else trouble(state, "lost", "connection lost", `the server did not answer (${error.message})`);
  }
  if (state.stopped || generation !== state.generation) return;
  if (frame === null) {  // 404: the session ended and its run with it; Streamlit reruns the page if it still can
    state.stopped = true;
    if (state.watch) trouble(state, "ended", "ended", state.endedBecause || "this live view is over");
    else trouble(state, "ended", "session ended",
      "this run is gone: its session ended (tab closed, connection dropped or server restarted); reload the page for a new run");
    if (state.pageState !== "ended") { state.pageState = "ended"; state.setTriggerValue("state", "ended"); }
    return;
  }
  if (waiting) { state.trouble = null; showStatus(state); }  // the place in line, as it moves
  if (frame) {
    if (state.trouble) {
      const t = state.trouble;
      state.trouble = null;
      state.recovered = { note: `frames again after ${seconds(performance.now() - t.since)} of ${t.badge}`,
                          until: performance.now() + RECOVERED_NOTE_MS };
    }
    try {
      if (frame !== state.last || state.recovered) draw(state, frame);  // a watch link's poll may bring no new frame
    } catch (error) {  // a bug, not the network: said on the page, and thrown on for the console and the tests
      failed = true;
      trouble(state, "lost", "no frame", `a frame could not be drawn: ${error.message}`);
      setTimeout(() => { throw error; });
    }
    state_ = frame.state;
    if (frame.state !== state.pageState) { state.pageState = frame.state; state.setTriggerValue("state", frame.state); }
  }
  state.lastState = state_;
  if (state.stopped || generation !== state.generation) return;
  const every = !failed && state_ === "running" ? state.refresh : 1.0;
  state.timer = setTimeout(() => tick(state, generation), Math.max(0, every * 1000 - (performance.now() - started)));
}

export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  if (!parentElement.__minimax) parentElement.__minimax = setup(parentElement, setTriggerValue);
  const state = parentElement.__minimax;
  state.setTriggerValue = setTriggerValue;
  if (!data) return undefined;
  state.url = data.url;
  state.queueUrl = data.queue_url;
  state.watch = Boolean(data.watch);
  state.root.classList.toggle("mm-watching", state.watch);
  state.refresh = data.refresh;
  state.queued = data.queued || 0;
  present(state, Boolean(data.present));
  showScene(state, data.scene);
  if (data.frame) {  // a watch link's page has none yet: its first comes from the route
    state.pageState = data.frame.state;  // the state the page's controls were drawn for
    state.lastState = data.frame.state;
    draw(state, data.frame);
  }
  state.stopped = false;
  clearTimeout(state.timer);
  const generation = (state.generation = (state.generation || 0) + 1);
  tick(state, generation);
  // Streamlit may call a mount's cleanup after the next mount has started (its call is asynchronous):
  // only the current mount's cleanup may stop the loop
  return () => { if (state.generation === generation) { state.stopped = true; clearTimeout(state.timer); } };
}
