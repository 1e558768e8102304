"""Presets are scenes (issue 16 §2): a scene starts from iteration 0 with its settings, the URL names it at once
and carries only the differences from it, and Previous / Next step through the lecture in README's order."""

import dataclasses
import re
from pathlib import Path

import pytest

from core.config import ConfigError, TrainConfig
from core.presets import PRESETS, SCENES
from core.runner import IDLE, RUNNING, Runner
from dashboard.controls import modified, read_url, scene_heading, scene_view, url_params
from tests.conftest import runner_of

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_walks_through_the_scenes_in_the_page_s_order():
    text = README.read_text()
    walkthrough = text[text.index("## A lecture walkthrough") : text.index("## The command line")]
    named = [name for name in re.findall(r"\*\*([a-z0-9-]+)\*\*|`(remedy-[a-z-]+)`", walkthrough) for name in name]
    in_order = list(dict.fromkeys(n for n in named if n in PRESETS))
    assert in_order == list(SCENES)


def test_load_restarts_a_running_run_from_iteration_0_with_the_scene_s_settings(no_thread_leak):
    with Runner(TrainConfig(), threads=1) as runner:
        runner.start()
        assert runner.wait_until(lambda: runner.snapshot().iteration >= 5, 60)
        scene = PRESETS["strong-discriminator"].config
        changed = runner.load(scene)
        assert changed == {"k": "live"}
        assert runner.config == scene and runner.state == RUNNING  # it goes on running, from 0
        assert runner.wait_until(lambda: runner.snapshot().config.k == 5, 30)
        snap = runner.snapshot()  # counted from 0 under k = 5: five D updates per iteration, none of the old run's
        assert snap.d_steps == 5 * snap.iteration and snap.g_steps == snap.iteration


def test_load_while_paused_waits_at_iteration_0(no_thread_leak):
    with Runner(TrainConfig(), threads=1) as runner:
        runner.advance(7, wait=True)
        assert runner.snapshot().iteration == 7
        runner.load(PRESETS["label-smoothing"].config)
        assert runner.wait_parked(30)
        snap = runner.snapshot()
        assert (snap.iteration, snap.state, snap.config.label_smoothing) == (0, IDLE, 0.2)
        # the same networks as a fresh run of the scene: iteration 0 of the same seed
        with Runner(PRESETS["label-smoothing"].config, threads=1) as fresh:
            assert (fresh.snapshot().samples == snap.samples).all()


def test_load_refuses_a_bad_config_and_changes_nothing(no_thread_leak):
    with Runner(TrainConfig(), threads=1) as runner:
        runner.advance(3, wait=True)
        with pytest.raises(ConfigError):
            runner.load(dataclasses.replace(TrainConfig(), k=0))  # unvalidated: dataclasses.replace skips checks
        assert runner.config == TrainConfig() and runner.snapshot().iteration == 3


def test_a_scene_s_link_carries_only_the_differences_and_reads_back():
    config = PRESETS["wgan-gp"].config.replace(k=3)
    params = url_params(config, "wgan-gp")
    assert params == {"preset": "wgan-gp", "k": "3"}
    back, notes = read_url(params)
    assert notes == [] and back == config
    assert modified("wgan-gp", config) == ["k"] and modified("wgan-gp", PRESETS["wgan-gp"].config) == []


def test_a_link_drops_settings_the_config_does_not_read():
    custom = TrainConfig().replace(dataset="custom", components=((1.0, 1.22465e-16, 0.1, 1.0), (0.0, 1.0, 0.1, 1.0)))
    assert "components" in url_params(custom)
    ring_again = custom.replace(dataset="ring")  # the components stay in the config, unread
    assert ring_again.components and url_params(ring_again) == {}
    sgd = TrainConfig().replace(beta1=0.9, optimizer="sgd")
    assert url_params(sgd) == {"optimizer": "sgd"}


def test_a_bare_link_is_scene_ring8_and_the_url_says_so_at_once(app):
    app.run()
    assert not app.exception
    assert app.selectbox(key="preset").value == "ring8"
    assert dict(app.query_params) == {"preset": ["ring8"]} or dict(app.query_params) == {"preset": "ring8"}
    assert any(m.value == f"**Scene 1 of {len(SCENES)}: ring8**" for m in app.main.markdown)


def test_a_scene_link_selects_the_scene_and_shows_what_to_watch(app):
    app.query_params["preset"] = "wgan-gp"
    app.run()
    assert not app.exception
    assert app.selectbox(key="preset").value == "wgan-gp"
    assert runner_of(app).config == PRESETS["wgan-gp"].config
    assert any(
        m.value == f"**Scene {SCENES.index('wgan-gp') + 1} of {len(SCENES)}: wgan-gp**" for m in app.main.markdown
    )


def test_choosing_a_scene_mid_run_restarts_it_and_writes_the_url(app):
    app.run()
    runner = runner_of(app)
    runner.advance(20, wait=True)
    app.selectbox(key="preset").set_value("minimax-saturates").run()
    assert runner.wait_parked(30)
    assert runner.snapshot().iteration == 0 and runner.config == PRESETS["minimax-saturates"].config
    assert app.query_params["preset"] in ("minimax-saturates", ["minimax-saturates"])
    assert "Scene minimax-saturates" in " ".join(str(e.value) for e in app.main.info)


def test_next_and_previous_step_through_the_lecture(app):
    app.run()
    app.button(key="scene_next").click().run()
    assert app.selectbox(key="preset").value == SCENES[1]
    assert runner_of(app).config == PRESETS[SCENES[1]].config
    app.button(key="scene_back").click().run()
    app.button(key="scene_back").click().run()  # from the first scene back to the last
    assert app.selectbox(key="preset").value == SCENES[-1]
    assert runner_of(app).config == PRESETS[SCENES[-1]].config


def test_the_board_is_told_what_to_watch_and_whether_the_scene_still_holds():
    config = PRESETS["mode-collapse"].config
    view = scene_view("mode-collapse", config)
    assert view == dict(
        heading="What to watch: " + scene_heading("mode-collapse", config), watch=PRESETS["mode-collapse"].watch
    )
    changed = scene_view("mode-collapse", config.replace(k=2, lr_d=1e-4))
    assert changed["heading"].endswith("mode-collapse, modified (k, lr d)")
    assert changed["watch"].endswith("what it says may not hold.")
    assert scene_view(None, config) is None and scene_heading(None, config) == "Your own settings"
