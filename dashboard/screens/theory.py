"""Theory: the paper's results computed by core.theory, with the formula beside the plot that computes it.
These views change on demand, not at 10 Hz, so they are ordinary (interactive) Plotly charts."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from core.data import mixture_for
from core.grid import bandwidth, cell_centres, cell_size, data_mass, sample_mass
from core.losses import LOSSES
from core.runner import RUNNING
from core.theory import (
    LOG4,
    fit_gaussian,
    gaussian,
    generator_gradient,
    pure_nash_equilibria,
    saddle_path,
    value_report,
)

from ..session import line_runner, session_runner, training_slots

CURVES = {"minimax": "#8e44ad", "nonsaturating": "#0b6e4f"}


def saturation() -> None:
    st.markdown("#### Why the paper's loss saturates")
    left, right = st.columns([3, 2])
    with right:
        st.latex(r"\Big|\frac{\partial}{\partial \ell}\log(1 - D)\Big| = D(G(z))")
        st.latex(r"\Big|\frac{\partial}{\partial \ell}\,(-\log D)\Big| = 1 - D(G(z))")
        st.caption(
            "ℓ is D's logit. Early in training D rejects G's samples (D(G(z)) near 0): there the "
            "minimax objective's gradient vanishes and the non-saturating one's is largest. The histogram "
            "is where this tab's live run puts its samples now; switch the loss on Train to move them."
        )
    snap = session_runner().snapshot(touch=False)
    d = np.linspace(0, 1, 201)
    fig = go.Figure()
    if snap.surface_is_probability:
        fig.add_histogram(
            x=snap.d_samples,
            nbinsx=40,
            histnorm="probability",
            name="live D(G(z))",
            marker_color="rgba(232,89,12,0.45)",
            yaxis="y2",
        )
    for loss, colour in CURVES.items():
        fig.add_scatter(x=d, y=generator_gradient(d, loss), name=f"{loss}", line=dict(color=colour, width=3))
    fig.update_layout(
        height=360,
        margin=dict(l=40, r=40, t=20, b=40),
        xaxis_title="D(G(z))",
        yaxis_title="|gradient| w.r.t. D's logit",
        yaxis2=dict(overlaying="y", side="right", showgrid=False, title="share"),
        legend=dict(orientation="h", y=1.1),
    )
    with left:
        st.plotly_chart(fig, key="saturation")
        if not snap.surface_is_probability:
            st.caption(
                f"The live run uses {snap.config.loss}: D is a critic, not a probability, so there is no "
                "D(G(z)) in (0, 1) to place on these curves."
            )


UPDATES = {
    "simultaneous": dict(line=dict(color="#e8590c", width=6), opacity=0.45, marker=dict(size=6)),
    "alternating": dict(line=dict(color="#1f4e79", width=2, dash="dash"), marker=dict(size=3)),
}


def games() -> None:
    st.markdown("#### Games: a saddle, a cycle, and an equilibrium nobody likes")
    controls, views = st.columns([1, 3])
    with controls:
        lr = st.slider(
            "Learning rate",
            0.01,
            0.5,
            0.1,
            0.01,
            key="saddle_lr",
            help="Step size of gradient descent (x, minimising) and ascent (y, maximising).",
        )
        x0 = st.slider("Start x", -2.0, 2.0, 1.5, 0.1, key="saddle_x0")
        y0 = st.slider("Start y", -2.0, 2.0, 1.0, 0.1, key="saddle_y0")
        steps = st.slider("Steps", 10, 300, 80, 10, key="saddle_steps")
    axis = np.linspace(-2.5, 2.5, 60)
    xs, ys = np.meshgrid(axis, axis)
    with views:
        left, right = st.columns(2)
        for column, game, surface, formula in (
            (left, "x2-y2", xs**2 - ys**2, r"L = x^2 - y^2"),
            (right, "xy", xs * ys, r"L = x\,y"),
        ):
            with column:
                st.latex(formula + r",\quad \min_x \max_y L")
                fig = go.Figure(
                    go.Contour(
                        x=axis,
                        y=axis,
                        z=surface,
                        colorscale="RdBu",
                        showscale=False,
                        contours=dict(coloring="heatmap"),
                        opacity=0.6,
                    )
                )
                paths = {update: saddle_path(game, (x0, y0), lr, steps, update) for update in UPDATES}
                same = np.allclose(paths["simultaneous"], paths["alternating"])
                for update, style in UPDATES.items():  # alternating drawn thin and dashed over simultaneous
                    fig.add_scatter(
                        x=paths[update][:, 0],
                        y=paths[update][:, 1],
                        mode="lines+markers",
                        name=f"{update} (the same path)" if same and update == "alternating" else update,
                        **style,
                    )
                fig.add_scatter(
                    x=[0], y=[0], mode="markers", name="Nash (0, 0)", marker=dict(symbol="x", size=12, color="black")
                )
                fig.update_layout(
                    height=380,
                    margin=dict(l=30, r=10, t=10, b=30),
                    legend=dict(orientation="h"),
                    xaxis=dict(range=[-2.5, 2.5], title="x"),
                    yaxis=dict(range=[-2.5, 2.5], title="y", scaleanchor="x"),
                )
                st.plotly_chart(fig, key=f"game_{game}")
        st.caption(
            "On the saddle x² − y² the two updates take the very same path to (0, 0): x's gradient 2x does not "
            "depend on y, so answering the new x changes nothing for y (the dashed alternating path lies on "
            "the simultaneous one). On x·y each player's gradient is the other's position: simultaneous "
            "steps spiral outwards (the distance grows by √(1 + lr²) per step) and alternating steps circle "
            "for ever. Gradient play need not converge, which is why GAN training can oscillate."
        )
        surface3d = go.Figure(go.Surface(x=axis, y=axis, z=xs**2 - ys**2, colorscale="RdBu", showscale=False))
        path = saddle_path("x2-y2", (x0, y0), lr, steps, "simultaneous")
        surface3d.add_scatter3d(
            x=path[:, 0],
            y=path[:, 1],
            z=path[:, 0] ** 2 - path[:, 1] ** 2,
            mode="lines",
            line=dict(color="#e8590c", width=6),
            name="simultaneous",
        )
        surface3d.update_layout(height=380, margin=dict(l=0, r=0, t=0, b=0))
        st.plotly_chart(surface3d, key="saddle_3d")


def payoff_game() -> None:
    st.markdown("#### A 2 × 2 game and its pure Nash equilibria")
    st.caption(
        "Edit the payoffs (player 1, player 2). A cell is an equilibrium when neither player gains by "
        "changing their own action alone. The default is the seeds' example: the only equilibrium pays "
        "(5, 5) although both would get (8, 8) by moving together."
    )
    default = [
        dict(action="defect", defect="5, 5", cooperate="10, 0"),
        dict(action="cooperate", defect="0, 10", cooperate="8, 8"),
    ]
    table = st.data_editor(
        default, key="payoffs", hide_index=True, disabled=["action"], column_config={"action": "player 1 \\ player 2"}
    )
    try:
        cells = [[tuple(float(v) for v in str(row[c]).split(",")) for c in ("defect", "cooperate")] for row in table]
        if any(len(cell) != 2 for row in cells for cell in row):
            raise ValueError
    except ValueError:
        st.warning("Each cell needs two numbers, 'payoff to player 1, payoff to player 2'.")
        return
    a = np.array([[cell[0] for cell in row] for row in cells])
    b = np.array([[cell[1] for cell in row] for row in cells])
    found = pure_nash_equilibria(a, b)
    names = ("defect", "cooperate")
    if found:
        st.success(
            "Pure Nash equilibria: "
            + "; ".join(f"({names[i]}, {names[j]}) paying ({a[i, j]:g}, {b[i, j]:g})" for i, j in found)
        )
    else:
        st.info("No pure Nash equilibrium: every cell tempts a player to move (as in matching pennies).")


SHOWN_MASS = 1e-4  # D* is drawn where p_data or p_g holds at least this share of its busiest cell's mass


def optimal_discriminator_view() -> None:
    st.markdown("#### The optimal discriminator and the value of the game")
    snap = session_runner().snapshot(touch=False)
    if not snap.surface_is_probability:
        st.info(
            f"The live run uses {snap.config.loss}: its D is a critic, not a probability, so D* and V(D, G) "
            "of the paper do not apply. Pick minimax or non-saturating on Train."
        )
        return
    report = value_report(snap.surface, snap.samples, mixture_for(snap.config), snap.edges)
    m = snap.metrics
    left, right = st.columns([3, 2])
    with right:
        st.latex(r"D^*(x) = \frac{p_{data}(x)}{p_{data}(x) + p_g(x)}")
        st.latex(r"V(D^*, G) = -\log 4 + 2\,\mathrm{JSD}(p_{data} \,\|\, p_g)")
        st.markdown(
            f"At iteration **{snap.iteration}**: V(D, G) = **{report['value_d']:.4f}** with the learned D; "
            f"V(D\\*, G) = **{report['value_d_star']:.4f}** = −log 4 + 2·{report['jsd']:.4f} "
            f"= {-LOG4 + 2 * report['jsd']:.4f}."
        )
        st.markdown(
            f"D\\* averages **{report['d_star_real']:.2f}** on p_data and **{report['d_star_fake']:.2f}** on "
            f"p_g (both 1/2 when p_g = p_data); the learned D averages {m.d_real:.2f} on data and "
            f"{m.d_fake:.2f} on G's samples. Dark in D\\*: where G puts mass that p_data lacks (strays, "
            "bridges between modes), D* = 0."
        )
        # NaN while no sample is near a mode (core.metrics.mode_width): shown as the board shows it, "–"
        width = f"{m.mode_width:.2f}" if math.isfinite(m.mode_width) else "–"
        st.markdown(
            f"Beside the JSD, what the grid cannot see: mode width **{width}** × p_data's "
            f"(1 = as wide as p_data's modes) and high-quality share **{m.high_quality:.0%}**."
        )
        st.caption(
            f"p_g is a kernel density estimate of the {len(snap.samples):,} samples on screen and p_data is "
            f"seen through the same kernel (std one grid cell, {bandwidth(snap.edges):.3g}), both within the "
            "view's square: exact samples of p_data give JSD ≈ 0 and D* ≈ 1/2. This JSD sees nothing "
            "narrower than a cell (modes twice too wide still score ≈ 0.01), hence the mode width. No D does "
            "better than D*, so V(D, G) ≤ V(D*, G); V(D*, G) is at least −log 4, reached when p_g = p_data. "
            "D* is drawn where either density holds at least 1/10,000 of its peak cell; elsewhere it is "
            "undetermined (0/0) and left blank."
        )
    with left:
        columns = st.columns(3)
        x, y = cell_centres(snap.edges)
        cell = cell_size(snap.edges)
        p_mass, q_mass = report["p_data"] * cell, report["p_g"] * cell
        shown = (p_mass >= SHOWN_MASS * p_mass.max()) | (q_mass >= SHOWN_MASS * q_mass.max())
        d_star = np.where(shown, report["d_star"], np.nan)
        for column, (title, z, scale, zmid, zmin) in zip(
            columns,
            (
                ("learned D(x)", snap.surface, "PRGn", 0.5, 0.0),
                ("D*(x)", d_star, "PRGn", 0.5, 0.0),
                ("D − D*", snap.surface - d_star, "RdBu", 0.0, -1.0),
            ),
            strict=True,
        ):
            fig = go.Figure(
                go.Heatmap(x=x, y=y, z=z, colorscale=scale, zmid=zmid, zmin=zmin, zmax=1, colorbar=dict(thickness=8))
            )
            fig.update_layout(
                title=title,
                height=300,
                margin=dict(l=20, r=10, t=40, b=20),
                yaxis=dict(scaleanchor="x"),
                plot_bgcolor="#d9d9d9",
            )
            column.plotly_chart(fig, key=f"dstar_{title}")
        value_history(snap.eval_history, len(snap.samples), snap.config.eval_samples)


def value_history(h: dict, shown: int, evaluated: int) -> None:
    """V(D, G) and V(D*, G) over the run (recorded when the surface was fresh: the points are joined), and
    −log 4 + 2 JSD from the board's own JSD (other samples, mass off the view included): Theorem 1 says the
    two blue lines agree."""
    fig = go.Figure()
    for column, name, line in (
        ("value_d_star", f"V(D*, G) ({shown:,} samples on screen)", dict(color="#1f4e79", width=3)),
        ("value_d", "V(D, G), learned D", dict(color="#e8590c")),
    ):
        recorded = np.isfinite(h[column])
        fig.add_scatter(x=h["iteration"][recorded], y=h[column][recorded], name=name, line=line)
    fig.add_scatter(
        x=h["iteration"],
        y=-LOG4 + 2 * h["jsd"],
        name="−log 4 + 2 JSD (the board's JSD)",
        line=dict(color="#7fb3e6", width=2, dash="dot"),
    )
    fig.add_hline(
        y=-LOG4,
        line_dash="dash",
        annotation_text="−log 4: the least V(D*, G) can be (p_g = p_data)",
        annotation_position="bottom left",
    )
    fig.update_layout(
        height=280,
        margin=dict(l=40, r=10, t=20, b=40),
        xaxis_title="iteration",
        legend=dict(orientation="h", y=1.15),
    )
    st.plotly_chart(fig, key="value_history")
    st.caption(
        "The learned D's V(D, G) is below V(D*, G), and can be below −log 4: that floor bounds V(D*, G) only. "
        f"The dotted line uses the board's JSD ({evaluated:,} other samples, mass off the view counted), so its "
        "agreement with V(D*, G) is Theorem 1 seen through two independent estimates, not one formula twice."
    )


FRAMES = ("(a)", "(b)", "(c)", "(d)")
P_G_BANDWIDTH = 0.15  # the kernel both densities are drawn through: about half the modes' width


def figure_1(snap, height: int = 360, small: bool = False) -> go.Figure:
    """Goodfellow et al. (2014), Figure 1: p_data (black dots), p_g (green line), D (blue dashes), and
    below them the z line with arrows to x = G(z)."""
    lo, hi = (float(v) for v in snap.bounds[0])
    (x,), cell = cell_centres(snap.edges), cell_size(snap.edges)
    # like with like: p_g is known through samples, so both are seen through the same kernel
    p_g = sample_mass(snap.samples, snap.edges, P_G_BANDWIDTH) / cell
    p_data = data_mass(mixture_for(snap.config), snap.edges, P_G_BANDWIDTH) / cell
    top = max(float(p_data.max()), float(p_g.max()), 1.0)
    fig = go.Figure()
    fig.add_scatter(x=x[::3], y=p_data[::3], mode="markers", name="p_data", marker=dict(color="black", size=4))
    fig.add_scatter(x=x, y=p_g, name="p_g", line=dict(color="#2ca02c", width=3))
    fig.add_scatter(x=x, y=snap.surface, name="D(x)", line=dict(color="#1f77b4", width=2, dash="dash"))
    z_reach = 2.0 if snap.config.latent == "normal" else 1.0
    z = np.linspace(-z_reach, z_reach, snap.manifold.shape[1])
    z_shown = lo + (z + z_reach) / (2 * z_reach) * (hi - lo)  # the z line drawn under the x line
    gz = snap.manifold[0, :, 0]
    base = -0.35 * top
    for zs, xs in zip(z_shown, gz, strict=True):
        fig.add_annotation(
            x=xs,
            y=-0.04 * top,
            ax=zs,
            ay=base,
            xref="x",
            yref="y",
            axref="x",
            ayref="y",
            showarrow=True,
            arrowhead=2,
            arrowsize=1,
            arrowwidth=1,
            arrowcolor="rgba(0,0,0,0.45)",
        )
    fig.add_scatter(
        x=[lo, hi], y=[base, base], mode="lines", line=dict(color="black", width=1), showlegend=False, hoverinfo="skip"
    )
    fig.add_scatter(
        x=[lo, hi], y=[0, 0], mode="lines", line=dict(color="black", width=1), showlegend=False, hoverinfo="skip"
    )
    fig.update_layout(
        height=height,
        margin=dict(l=10, r=10, t=30 if small else 20, b=10),
        showlegend=not small,
        legend=dict(orientation="h", y=1.12),
        xaxis=dict(range=[lo, hi], showticklabels=not small),
        yaxis=dict(range=[base * 1.15, top * 1.1], showticklabels=False, zeroline=False),
        annotations=list(fig.layout.annotations)
        + ([dict(text="z", x=lo, y=base, showarrow=False, xanchor="right")] if not small else []),
    )
    return fig


def paper_picture() -> None:
    st.markdown("#### The paper's picture, live: a 1-D GAN")
    runner = line_runner()
    buttons = st.columns(4)
    if buttons[0].button("Pause" if runner.state == RUNNING else "Train the 1-D GAN", key="line_run", type="primary"):
        if runner.state == RUNNING:
            runner.pause(wait=True)
        else:
            session_runner().pause(wait=True)  # one training thread per tab
            position = training_slots().request(runner)
            if position:
                st.warning(f"Every training slot is busy: number {position} in line. Try again in a moment.")
        st.rerun()
    if buttons[1].button("Step 100", key="line_step", disabled=runner.state == RUNNING):
        runner.advance(100, wait=True, timeout=60)
        st.rerun()
    if buttons[2].button("Start over", key="line_reset"):
        runner.reset()
        runner.wait_parked(10)
        st.session_state.pop("line_frames", None)
        st.rerun()

    @st.fragment(run_every=0.5 if runner.state == RUNNING else None)
    def live():
        snap = runner.snapshot()
        frames = st.session_state.setdefault("line_frames", {})
        m = snap.metrics
        at_half = snap.iteration >= 300 and abs(m.d_real - 0.5) < 0.02 and abs(m.d_fake - 0.5) < 0.02
        dues = (snap.iteration == 0, snap.iteration >= 50, snap.iteration >= 150, at_half)
        for label, due in zip(FRAMES, dues, strict=True):
            if due and label not in frames:
                frames[label] = snap
        left, right = st.columns([3, 2])
        with left:
            st.plotly_chart(figure_1(snap), key="figure_1")
        with right:
            st.latex(r"D^*(x) = \frac{p_{data}(x)}{p_{data}(x) + p_g(x)} \;\to\; \tfrac12")
            st.markdown(f"Iteration **{snap.iteration}**: mean D on data {m.d_real:.3f}, on samples {m.d_fake:.3f}.")
            st.caption(
                "Black dots: p_data. Green: p_g, a kernel estimate of G's samples; both are drawn through the "
                f"same Gaussian kernel (std {P_G_BANDWIDTH}), so they coincide when p_g = p_data. Blue dashes: D. "
                "Below, the line of z with arrows to x = G(z): where the "
                "arrows crowd, G squeezes z and p_g is high. The strip keeps frames (a)-(d), from the start "
                "to D = 1/2 on data and samples."
            )
        strip = st.columns(4)
        for column, label in zip(strip, FRAMES, strict=True):
            if label in frames:
                fig = figure_1(frames[label], height=200, small=True)
                fig.update_layout(title=dict(text=f"{label} iteration {frames[label].iteration}", font=dict(size=12)))
                column.plotly_chart(fig, key=f"frame_{label}")
            else:
                column.caption(f"{label}: not reached yet")

    live()


FITS = {  # forward KL wide and pale, the others thin on top: where two fits agree both stay visible
    "kl": ("forward KL(p‖q): mean-seeking", dict(color="#1f77b4", width=7), 0.4),
    "reverse_kl": ("reverse KL(q‖p): mode-seeking", dict(color="#d62728", width=2.5, dash="dash"), 1.0),
    "js": ("JSD(p, q)", dict(color="#2ca02c", width=2.5, dash="dot"), 1.0),
}


def which_divergence() -> None:
    st.markdown("#### Which divergence? One Gaussian fitted to two modes")
    controls, view = st.columns([1, 3])
    with controls:
        separation = st.slider(
            "Distance between the modes",
            0.0,
            6.0,
            4.0,
            0.5,
            key="fit_separation",
            help="Two equal Gaussians of std 0.5 at ± half this distance.",
        )
        st.latex(r"\mathrm{KL}(p\,\|\,q) = \int p \log \frac{p}{q}")
    x = np.linspace(-8, 8, 1601)
    half = separation / 2
    p = 0.5 * gaussian(x, -half, 0.5) + 0.5 * gaussian(x, half, 0.5)
    p /= p.sum() * (x[1] - x[0])  # the grid's own normalisation: the fits compare with this p
    fig = go.Figure()
    fig.add_scatter(x=x, y=p, name="p (two modes)", line=dict(color="black", width=3))
    fits = {divergence: fit_gaussian(x, p, divergence) for divergence in FITS}
    for divergence, (label, line, opacity) in FITS.items():
        mean, std = fits[divergence]
        q = gaussian(x, mean, std)
        fig.add_scatter(x=x, y=q, name=f"{label}: mean {mean:.2f}, std {std:.2f}", line=line, opacity=opacity)
    fig.update_layout(
        height=320, margin=dict(l=30, r=10, t=10, b=30), legend=dict(orientation="h", y=1.2), xaxis=dict(range=[-6, 6])
    )
    with view:
        st.plotly_chart(fig, key="fits")
        js, kl, rkl = fits["js"], fits["kl"], fits["reverse_kl"]
        twin = (
            "forward KL's"
            if np.hypot(js[0] - kl[0], js[1] - kl[1]) < np.hypot(abs(js[0]) - abs(rkl[0]), js[1] - rkl[1])
            else "reverse KL's"
        )
        st.caption(
            f"At this distance JS's fit is close to {twin} (drawn on top of it). "
            "Forward KL punishes q for missing mass of p, so one wide bump covers both modes; reverse KL "
            "punishes q for mass where p has none, so it locks onto one mode; JS covers both modes while they "
            "are close and jumps onto one once they are far apart (between 4 and 4.5 here). "
            "The original GAN's G ends up minimising a JS-like divergence, but "
            "this fit says little by itself about mode collapse: a collapsed G is a failure of the game's "
            "dynamics (a G that a fixed D cannot push back), not the optimum of a divergence."
        )


def theory_page() -> None:
    st.markdown("### The theory behind the training")
    loss = LOSSES[session_runner().config.loss]
    st.caption(f"Live run: {session_runner().config.loss}. {loss.note}")
    running = session_runner().state == "running"

    @st.fragment(run_every=2.0 if running else None)
    def live_theory():  # follows the live run every 2 s: Plotly redraws are fine at that pace
        optimal_discriminator_view()
        saturation()

    live_theory()
    paper_picture()
    which_divergence()
    games()
    payoff_game()
