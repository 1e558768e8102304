"""The dashboard's widget logic under streamlit.testing.v1.AppTest: every control reaches the session's
runner, presets load, bad tables and bad links give a message and change nothing else."""

import pytest
from streamlit.testing.v1 import AppTest

from core.config import TrainConfig
from core.presets import PRESETS
from core.runner import PAUSED, RUNNING
from tests.conftest import APP, runner_of


def messages(at):
    return " ".join(str(e.value) for e in [*at.sidebar.warning, *at.sidebar.info, *at.warning, *at.info])


def test_the_app_runs_with_the_default_config(app):
    app.run()
    assert not app.exception
    assert runner_of(app).config == TrainConfig()
    assert (app.button(key="run_button").label, app.button(key="reset_button").label) == ("Start", "Reset")
    assert any("The game now: nonsaturating" in m.value for m in app.markdown) and len(app.latex) == 2


@pytest.mark.parametrize(
    "kind, key, value, field, expected",
    [
        ("slider", "w_k", 3, "k", 3),
        ("selectbox", "w_loss", "minimax", "loss", "minimax"),
        ("slider", "w_label_smoothing", 0.2, "label_smoothing", 0.2),
        ("select_slider", "w_lr_d", 2e-3, "lr_d", 2e-3),
        ("select_slider", "w_lr_g", 1e-4, "lr_g", 1e-4),
        ("select_slider", "w_batch_size", 64, "batch_size", 64),
        ("slider", "w_beta1", 0.0, "beta1", 0.0),
        ("select_slider", "w_beta2", 0.99, "beta2", 0.99),
        ("select_slider", "w_g_ema", 0.999, "g_ema", 0.999),
        ("radio", "w_optimizer", "sgd", "optimizer", "sgd"),
        ("slider", "w_radius", 3.0, "radius", 3.0),
        ("select_slider", "w_g_hidden", 64, "g_hidden", 64),
        ("select_slider", "w_d_hidden", 32, "d_hidden", 32),
        ("slider", "w_g_depth", 2, "g_depth", 2),
        ("slider", "w_d_depth", 1, "d_depth", 1),
        ("selectbox", "w_g_activation", "tanh", "g_activation", "tanh"),
        ("selectbox", "w_d_activation", "leakyrelu", "d_activation", "leakyrelu"),
        ("toggle", "w_spectral_norm", True, "spectral_norm", True),
        ("number_input", "w_seed", 7, "seed", 7),
        ("slider", "w_feature_matching", 0.5, "feature_matching", 0.5),
        ("toggle", "w_minibatch_discrimination", True, "minibatch_discrimination", True),
        ("select_slider", "w_historical_averaging", 0.1, "historical_averaging", 0.1),
        ("slider", "w_unrolled", 3, "unrolled", 3),
        ("slider", "w_pack", 2, "pack", 2),
    ],
)
def test_each_control_changes_the_runner(app, kind, key, value, field, expected):
    app.run()
    getattr(app, kind)(key=key).set_value(value).run()
    assert not app.exception
    assert getattr(runner_of(app).config, field) == expected


def test_data_and_network_controls_say_what_they_keep_and_bring_the_data_sets_defaults(app):
    app.run()
    app.radio(key="w_dataset").set_value("grid").run()
    config = runner_of(app).config
    assert (config.dataset, config.modes, config.std) == ("grid", 25, 0.05)
    assert "New p_data (dataset ring to grid, modes 8 to 25, std 0.02 to 0.05): G and D keep" in messages(app)
    app.select_slider(key="w_g_hidden").set_value(64).run()
    assert "G hidden 128 to 64: G has a new shape, so a fresh G was built; D keeps its weights" in messages(app)
    app.slider(key="w_d_depth").set_value(2).run()
    assert "D depth 3 to 2: D has a new shape, so a fresh D was built; G keeps its weights" in messages(app)
    app.slider(key="w_latent_dim").set_value(3).run()
    assert "New latent dim 2 to 3: the networks were rebuilt" in messages(app)
    assert app.slider(key="w_grid_side").value == 5
    app.slider(key="w_grid_side").set_value(3).run()
    assert runner_of(app).config.modes == 9


def test_a_loss_without_targets_turns_smoothing_off(app):
    app.run()
    app.slider(key="w_label_smoothing").set_value(0.3).run()
    app.selectbox(key="w_loss").set_value("hinge").run()
    config = runner_of(app).config
    assert config.loss == "hinge" and config.label_smoothing == 0
    assert "no targets" in messages(app)
    assert app.slider(key="w_label_smoothing").disabled


def test_presets_load_their_config_and_text(app):
    app.run()
    app.selectbox(key="preset").set_value("mode-collapse").run()
    assert runner_of(app).config == PRESETS["mode-collapse"].config
    assert any(m.value.endswith(": mode-collapse**") for m in app.main.markdown)  # the scene bar
    app.slider(key="w_k").set_value(2).run()  # a manual change modifies the scene
    assert app.selectbox(key="preset").value == "mode-collapse"
    assert any(m.value.endswith(": mode-collapse, modified (k)**") for m in app.main.markdown)


def test_the_custom_table_rejects_bad_rows(app):
    app.run()
    app.radio(key="w_dataset").set_value("custom").run()  # no components yet: refused with a message
    assert runner_of(app).config.dataset == "ring" and "Not applied" in messages(app)
    app.session_state["components_table"] = {"edited_rows": {0: {"std": -0.5}}, "added_rows": [], "deleted_rows": []}
    app.button(key="use_custom").click().run()
    assert runner_of(app).config.dataset == "ring"
    assert "every std must be positive" in messages(app)
    app.session_state["components_table"] = {
        "edited_rows": {0: {"std": 0.3}},
        "added_rows": [],
        "deleted_rows": [1, 2, 3, 4, 5],
    }
    app.button(key="use_custom").click().run()
    config = runner_of(app).config
    assert config.dataset == "custom" and len(config.components) == 3 and config.components[0][2] == 0.3


def test_bad_query_parameters_are_clamped_or_ignored_with_a_notice(app):
    app.query_params.update({"k": "99", "loss": "nope", "lr_d": "abc", "zzz": "1", "std": "0.05"})
    app.run()
    assert not app.exception
    config = runner_of(app).config
    assert config.k == 20 and config.loss == "nonsaturating" and config.lr_d == TrainConfig().lr_d
    assert config.std == 0.05
    text = messages(app)
    for notice in (
        "k = 99 is out of range; using 20",
        "loss = 'nope' ignored: must be one of minimax",
        "lr_d = 'abc' ignored: expected float",
        "unknown setting 'zzz' ignored",
    ):
        assert notice in text, text


def test_the_config_is_mirrored_in_the_url(app):
    app.run()
    app.slider(key="w_k").set_value(4).run()
    assert app.query_params["k"] == "4"
    runner_of(app).stop()  # AppTests share one session id: make room for the second tab's runner
    shared = AppTest.from_file(APP, default_timeout=30)
    shared.query_params.update({"k": "4", "preset": "wgan-gp"})
    shared.run()
    config = runner_of(shared).config
    assert config.k == 4 and config.loss == "wgan-gp"


def test_start_pause_and_step_buttons(app):
    app.run()
    app.button(key="run_button").click().run()
    runner = runner_of(app)
    assert runner.state == RUNNING and app.button(key="run_button").label == "Pause"
    app.button(key="run_button").click().run()
    assert runner.state == PAUSED and app.button(key="run_button").label == "Resume"
    before = runner.snapshot()
    app.button(key="step_d").click().run()
    app.button(key="step_iteration").click().run()
    after = runner.snapshot()
    assert after.d_steps == before.d_steps + 1 + runner.config.k
    assert after.g_steps == before.g_steps + 1 and after.iteration == before.iteration + 1


def test_remedies_section_switches_remedies_live_and_says_when_d_is_new(app):
    app.run()
    assert [e.label for e in app.sidebar.expander if e.label.startswith("Remedies")] == ["Remedies"]
    app.toggle(key="w_minibatch_discrimination").set_value(True).run()
    assert "fresh D was built; G keeps its weights" in messages(app)
    app.radio(key="w_minibatch_kind").set_value("stddev").run()  # shown once the layer is on
    app.slider(key="w_unrolled").set_value(2).run()
    config = runner_of(app).config
    assert (config.minibatch_discrimination, config.minibatch_kind, config.unrolled) == (True, "stddev", 2)
    assert "Remedies (2 on)" in [e.label for e in app.sidebar.expander]
    for widget in (app.slider(key="w_unrolled"), app.toggle(key="w_minibatch_discrimination")):
        assert "et al." in widget.help  # each tooltip names its paper


def test_the_game_now_shows_the_objective_that_runs(app):
    app.run()
    d, g = (e.value for e in app.latex)
    assert r"\varepsilon" not in d and r"\max_G\; \mathbb{E}_{z}\,[\log D(G(z))]" in g  # the defaults: the paper's
    app.slider(key="w_feature_matching").set_value(0.5).run()
    app.slider(key="w_label_smoothing").set_value(0.2).run()
    app.select_slider(key="w_historical_averaging").set_value(0.1).run()
    d, g = (e.value for e in app.latex)
    assert r"\varepsilon = 0.2" in d and r"\lambda\,\lVert \theta_D - \bar\theta_D \rVert^2" in d
    assert r"(1 - W)\,\big(-\mathbb{E}_{z}\,[\log D(G(z))]\big)" in g and "W = 0.5" in g
    assert r"\lVert \mathbb{E}_{x}\, f(x) - \mathbb{E}_{z}\, f(G(z)) \rVert_2^2" in g and r"\lambda = 0.1" in g


def test_the_custom_table_starts_from_the_data_set_on_screen(app):
    """Editing one x of the ring keeps every mode as the ring has it (std 0.02, not a wider default)."""
    app.run()
    app.session_state["components_table"] = {"edited_rows": {0: {"x": 2.5}}, "added_rows": [], "deleted_rows": []}
    app.button(key="use_custom").click().run()
    config = runner_of(app).config
    assert config.dataset == "custom" and len(config.components) == 8
    assert config.components[0][:2] == (2.5, 0.0)
    assert {c[2] for c in config.components} == {TrainConfig().std} and {c[3] for c in config.components} == {1.0}
    assert config.components[2][:2] == (0.0, 2.0)  # cos(pi/2) * 2 = 1.2e-16 on the ring, 0 in the table


def test_g_steps_and_slow_motion_reach_the_runner(app):
    app.run()
    app.slider(key="w_g_steps").set_value(3).run()
    runner = runner_of(app)
    assert runner.config.g_steps == 3 and app.query_params["g_steps"] in ("3", ["3"])
    assert any("The game now: nonsaturating**, k = 1, 3 G steps" in m.value for m in app.markdown)
    assert runner.pace is None
    app.select_slider(key="speed").set_value("2").run()
    assert runner.pace == 2.0 and app.query_params["speed"] in ("2", ["2"])
    app.select_slider(key="speed").set_value("max").run()
    assert runner.pace is None and "speed" not in app.query_params


def test_a_link_sets_slow_motion_or_says_why_not(app):
    app.query_params.update({"speed": "10", "present": "1"})
    app.run()
    assert runner_of(app).pace == 10.0 and app.toggle(key="present").value
    bad = AppTest.from_file(APP, default_timeout=60)
    bad.query_params["speed"] = "999"
    bad.run()
    assert runner_of(bad).pace is None and "speed '999' ignored" in messages(bad)


def test_share_live_view_gives_a_read_only_link_and_takes_it_back(app):
    from dashboard import frames

    app.run()
    runner = runner_of(app)
    assert frames.shared(runner) is None and not [c for c in app.code if "/minimax/watch/" in c.value]
    app.button(key="share_start").click().run()
    token = frames.shared(runner)
    assert token is not None and token != frames.register(runner)  # its own token, not the owner's
    assert [c.value for c in app.code] == [f"/minimax/watch/{token}"]  # AppTest has no browser address
    app.button(key="share_stop").click().run()
    assert frames.shared(runner) is None and frames.watched(token)[1] == frames.UNSHARED
    assert app.button(key="share_start")  # and it may be shared again
