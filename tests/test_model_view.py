"""The model overview's labels (issue 16 §3, GAN Lab's graph): the active loss's objectives as plain text from
the same formulas the page typesets, each player's updates per iteration, and each remedy at its place."""

import pytest

from core.config import TrainConfig
from core.losses import LOSSES
from core.remedies import REMEDIES
from dashboard.payload import REMEDY_SLOTS, model_view, plain_formula


@pytest.mark.parametrize("loss", list(LOSSES))
@pytest.mark.parametrize("eps", [0.0, 0.2])
def test_every_objective_reads_as_plain_text(loss, eps):
    if eps and not LOSSES[loss].targets:
        pytest.skip("no targets to smooth")
    view = model_view(TrainConfig().replace(loss=loss, label_smoothing=eps))
    for text in (view["d_objective"], view["g_objective"]):
        assert not set("\\{}") & set(text) and "  " not in text
    assert view["d_objective"].startswith(("max_D", "min_D")) and view["g_objective"].startswith(("max_G", "min_G"))
    assert ("ε" in view["d_objective"]) == bool(eps)


def test_a_hand_converted_objective():
    assert plain_formula(LOSSES["nonsaturating"].d_sense + " " + LOSSES["nonsaturating"].d_body) == (
        "max_D E_x [log D(x)] + E_z [log(1 - D(G(z)))]"
    )
    assert plain_formula(r"\min_G \tfrac12\mathbb{E}_{z}\,[(D(G(z)) - 1)^2]") == "min_G ½E_z [(D(G(z)) - 1)²]"


def test_every_remedy_has_a_place_and_shows_there_when_on():
    assert set(REMEDY_SLOTS) == set(REMEDIES)
    view = model_view(TrainConfig().replace(pack=2, unrolled=3, feature_matching=1.0, label_smoothing=0.2, k=2))
    assert view["into_d"] == ["Packing (PacGAN): m = 2"]
    assert view["d"] == ["Unrolled GAN: K = 3"]
    assert view["g_loss"] == ["Feature matching: W = 1"]
    assert view["d_loss"] == ["One-sided label smoothing: ε = 0.2", "k D-steps per G-step: k = 2"]
    assert view["d_updates"] == 2
    plain = model_view(TrainConfig())
    assert not any(plain[slot] for slot in set(REMEDY_SLOTS.values()))


def test_each_player_s_own_layers_are_shown():
    assert (model_view(TrainConfig())["g_layers"], model_view(TrainConfig())["d_layers"]) == ("3 × 128 relu",) * 2
    assert model_view(TrainConfig())["g_when"] == "then"  # Algorithm 1: D's k updates, then G's
    assert model_view(TrainConfig().replace(simultaneous=True))["g_when"] == "at the same time"
    view = model_view(TrainConfig().replace(g_hidden=64, g_activation="tanh", d_depth=2, d_hidden=256))
    assert (view["g_layers"], view["d_layers"]) == ("3 × 64 tanh", "2 × 256 relu")
