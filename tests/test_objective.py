"""The formulas under the board say what runs: the loss's objective with each active remedy's term and its
value (core/objective.py), composed in the order core/training.py applies them."""

import pytest

from core.config import TrainConfig
from core.losses import LOSSES
from core.objective import TERMS, objective_latex, terms
from core.remedies import REMEDIES

BASE = TrainConfig()


def game(**changes) -> tuple[str, str]:
    return objective_latex(BASE.replace(**changes))


def test_every_remedy_is_a_term_or_says_why_not():
    assert set(REMEDIES) <= set(TERMS)
    how_played_or_shown = {"k-steps", "ttur", "g-average"}
    assert {name for name, term in TERMS.items() if term.rewrite is None} == how_played_or_shown


@pytest.mark.parametrize("loss", list(LOSSES))
def test_without_remedies_each_loss_shows_its_own_pair(loss):
    d, g = game(loss=loss)
    assert LOSSES[loss].d_sense in d and all(term in d for term in terms(LOSSES[loss].d_body))
    assert g == LOSSES[loss].g_latex
    assert r"\varepsilon" not in d  # eps = 0: the paper's own form


def test_label_smoothing_shows_eps_and_its_value():
    d, _ = game(label_smoothing=0.2)
    assert r"(1-\varepsilon)\log D(x) + \varepsilon \log(1-D(x))" in d and r"\varepsilon = 0.2" in d
    d, _ = game(loss="lsgan", label_smoothing=0.15)
    assert r"(D(x) - (1-\varepsilon))^2" in d and r"\varepsilon = 0.15" in d


def test_feature_matching_mixes_the_adversarial_loss_as_training_does():
    _, g = game(feature_matching=0.25)  # (1 - W) x G's minimised loss + W x the feature distance
    assert r"\min_G\; & (1 - W)" in g
    assert r"(1 - W)\,\big(-\mathbb{E}_{z}\,[\log D(G(z))]\big)" in g
    assert r"W\,\lVert \mathbb{E}_{x}\, f(x) - \mathbb{E}_{z}\, f(G(z)) \rVert_2^2" in g and "W = 0.25" in g
    _, g = game(feature_matching=1.0)  # pure feature matching: no adversarial term at all
    assert r"\log D" not in g and "W = 1" in g
    _, g = game(loss="minimax", feature_matching=0.5)  # a minimised loss keeps its sign
    assert r"\big(\mathbb{E}_{z}\,[\log(1 - D(G(z)))]\big)" in g


def test_historical_averaging_penalises_both_players_with_the_right_sign():
    d, g = game(historical_averaging=0.01)  # D maximises, G (nonsaturating) maximises: minus the penalty
    assert r"- \lambda\,\lVert \theta_D - \bar\theta_D \rVert^2" in d and r"\lambda = 0.01" in d
    assert r"- \lambda\,\lVert \theta_G - \bar\theta_G \rVert^2" in g and r"\lambda = 0.01" in g
    d, g = game(loss="lsgan", historical_averaging=0.5)  # both minimise: plus the penalty
    assert r"+ \lambda\,\lVert \theta_D" in d and r"+ \lambda\,\lVert \theta_G" in g and r"\lambda = 0.5" in g


def test_unrolling_puts_d_k_in_gs_loss_only():
    d, g = game(unrolled=3)
    assert r"\log D_K(G(z))" in g and "K = 3" in g
    assert "D_K" not in d
    _, g = game(unrolled=3, feature_matching=1.0)  # no adversarial term: nothing to unroll (as in training)
    assert "D_K" not in g and "K = 3" not in g


@pytest.mark.parametrize(
    "m, x, gz", [(2, "x_1, x_2", "G(z_1), G(z_2)"), (4, r"x_1, \dots, x_4", r"G(z_1), \dots, G(z_4)")]
)
def test_packing_shows_d_judging_m_samples(m, x, gz):
    d, g = game(pack=m, unrolled=2)
    assert f"D({x})" in d and f"D({gz})" in d and f"m = {m}" in d
    assert f"D_K({gz})" in g and f"m = {m}" in g


def test_gradient_penalty_and_weight_clip_show_their_values():
    d, _ = game(loss="wgan-gp", gp_lambda=5.0)
    assert r"\lambda_{\mathrm{GP}}\,\mathbb{E}_{\hat x}" in d and r"\lambda_{\mathrm{GP}} = 5" in d
    d, _ = game(loss="wgan", clip=0.03)
    assert d.startswith(r"\begin{gathered}\max_{D:\,|w|\le c}") and "c = 0.03" in d


def test_the_d_only_remedies_say_what_d_sees():
    d, g = game(minibatch_discrimination=True, minibatch_kind="stddev", spectral_norm=True)
    assert "compares each sample with its batch (std-dev feature)" in d and "largest singular value" in d
    assert g == LOSSES["nonsaturating"].g_latex


def test_terms_split_at_the_top_level_only():
    assert terms(r"a + [b - c] - \lVert d - e \rVert + f(g + h)") == (
        "a",
        r"+ [b - c]",
        r"- \lVert d - e \rVert",
        "+ f(g + h)",
    )
    assert terms(r"-\mathbb{E}_{z}\,[D(G(z))]") == (r"-\mathbb{E}_{z}\,[D(G(z))]",)


def test_a_long_objective_is_set_one_term_per_line_and_a_short_one_on_one():
    d, _ = game()
    assert "aligned" not in d and "gathered" not in d  # the default fits a column
    d, _ = game(label_smoothing=0.2, historical_averaging=0.1)
    assert d.count(r"\\ & ") == 2 and r"\begin{aligned}\max_D\; & " in d  # three terms, three lines
    assert r"\small \varepsilon = 0.2 \\ \small \lambda = 0.1" in d  # then each setting on its own line


def test_everything_at_once_is_one_composition():
    d, g = game(label_smoothing=0.1, feature_matching=0.5, historical_averaging=0.1, unrolled=2, pack=2)
    for piece in (r"\varepsilon = 0.1", "D(x_1, x_2)", r"\theta_D", "m = 2"):
        assert piece in d
    for piece in ("W = 0.5", "D_K(G(z_1), G(z_2))", "f(G(z_1), G(z_2))", r"\theta_G", "K = 2", "m = 2"):
        assert piece in g
    assert d.count(r"\begin{gathered}") == d.count(r"\end{gathered}") == 1
    assert d.count("{") == d.count("}") and g.count("{") == g.count("}")
