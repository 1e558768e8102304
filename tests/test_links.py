"""Shared links (issue 14 §1): a link in the config's range opens the board, a link's text is shown as text
and never as Markdown, the order of a link's keys does not matter, and what the page writes into the URL
reads back as the same config."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as hs

from core.config import FIELDS, TYPES, ConfigError, TrainConfig, used, validate
from core.data import PLANE_DATASETS
from core.losses import LOSSES
from core.models import ACTIVATIONS, LATENTS
from core.presets import PRESETS
from core.remedies import MINIBATCH
from dashboard.controls import (
    GRID_SIDES,
    RING_MODES,
    URL_SKIPPED,
    WIDGET_RANGES,
    WORD_JOINER,
    plain,
    read_url,
    url_params,
    widget_range,
)
from tests.conftest import runner_of

# Markdown that would come alive in st.warning. A backslash-escaped character shows as itself, so these are
# looked for once the escaped characters are taken out: a link, an image, a colour or other directive, a
# formula, code, HTML, emphasis, an :emoji: shortcode, a heading or a list.
LIVE = {
    "link": r"\[[^\]]*\]\s*[(\[]",
    "image": r"!\[",
    "directive": r":[A-Za-z_-]+\[",
    "math": r"\$",
    "code": r"`",
    "html": r"<[A-Za-z/!?]",
    "emphasis": r"\*|~|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])",
    "emoji": r":[A-Za-z0-9_+-]+:",
    "heading or list": r"(?m)^\s*(?:#|[-+*] |\d+[.)] |>)",
}
# GitHub's autolinks are found after the escapes are resolved (StreamlitMarkdown's own two patterns)
AUTOLINKS = {
    "autolink": r"(?i)(https?://|www(?=\.))[-.\w]+",
    "email": r"(?:^|(?<=[\s\W]))[-.\w+]+@[-\w]+(?:\.[-\w]+)+",
}


def live_markdown(text: str) -> list[str]:
    """The kinds of live Markdown in `text` as Streamlit would render it (empty: it shows as plain text)."""
    bare = re.sub(r"\\[!-/:-@\[-`{-~]", "", text)  # CommonMark: a backslash before ASCII punctuation escapes it
    found = [kind for kind, pattern in LIVE.items() if re.search(pattern, bare)]
    return found + [kind for kind, pattern in AUTOLINKS.items() if re.search(pattern, unescaped(text))]


def unescaped(text: str) -> str:
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", text)


INJECTIONS = {
    "preset": "[Log in here](http://evil.example/login)",
    "k": "![t](http://evil.example/track.png)",
    ":red[**ALERT**]": "1",
    "label_smoothing": r"$$\href{http://evil.example}{\text{click}}$$",
}


# ---- the text of a notice ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        *INJECTIONS.values(),
        ":red[**ALERT**]",
        r"\:red\[x\]",
        "<img src=x onerror=alert(1)>",
        "visit www.evil.example or mail me@evil.example, http://evil.example",
        "# heading\n- list\n> quote\n1. item",
        "`code` ~~gone~~ _em_ *em* __strong__ :smile: :material/home:",
        "a\u202eb\u200bc\nd\re\x00f",
    ],
)
def test_plain_shows_the_text_and_no_markdown(text):
    shown = plain(text)
    assert live_markdown(shown) == [], shown
    assert "\n" not in shown and "\u202e" not in shown
    flat = re.sub(r"[\x00-\x1f\u200b\u202e]", " ", text)
    assert unescaped(shown).replace(WORD_JOINER, "") == flat  # every character still there, as itself


def test_plain_cuts_long_text():
    assert len(unescaped(plain("x" * 100_000, 80))) == 80
    assert live_markdown("see http://evil.example") == ["autolink"]  # the check sees what escaping cannot stop
    assert live_markdown(r"see http\:\/\/evil\.example") == ["autolink"]


@pytest.mark.parametrize(
    "params, kind",
    [
        ({"preset": INJECTIONS["preset"]}, "link"),
        ({"k": INJECTIONS["k"]}, "image"),
        ({":red[**ALERT**]": "1"}, "directive"),
        ({"label_smoothing": INJECTIONS["label_smoothing"]}, "math"),
        ({r"$$\href{http://evil.example}{x}$$": "1"}, "math"),
        ({"lr_g": "x" * 5000}, None),
        ({"lr_g": "www.evil.example me@evil.example http://evil.example"}, "autolink"),
    ],
)
def test_a_link_s_notes_are_plain_text_and_short(params, kind):
    _, notes = read_url(params)
    assert notes
    for note in notes:
        assert live_markdown(note) == [], note
        assert len(note) < 400
    if kind is not None:
        assert kind in live_markdown(" ".join(f"{k} {v}" for k, v in params.items()))  # it was live Markdown


# ---- order, repeats, numbers that are not numbers -----------------------------------------------------------
BOOKMARK = {"dataset": "custom", "components": "0,0,0.1,1;2,0,0.1,1"}


def test_the_custom_mixture_bookmark_reads_back_in_either_order():
    forward, notes = read_url(BOOKMARK)
    backward, back_notes = read_url(dict(reversed(BOOKMARK.items())))
    assert notes == back_notes == []
    assert forward == backward
    assert forward.dataset == "custom" and forward.components == ((0.0, 0.0, 0.1, 1.0), (2.0, 0.0, 0.1, 1.0))


def test_smoothing_and_a_loss_without_targets_give_one_answer_in_either_order():
    one = read_url({"label_smoothing": "0.3", "loss": "wgan"})
    other = read_url({"loss": "wgan", "label_smoothing": "0.3"})
    assert one == other
    config, (note,) = one
    assert config.loss == "wgan" and config.label_smoothing == 0  # the loss is kept, the smoothing is dropped
    assert note.startswith("label_smoothing = ") and "no targets" in note


def test_a_grid_link_brings_the_grid_s_defaults_in_either_order():
    forward = read_url({"dataset": "grid", "spacing": "0.2"})
    assert forward == read_url({"spacing": "0.2", "dataset": "grid"})
    config, notes = forward
    assert notes == [] and (config.dataset, config.modes, config.spacing) == ("grid", 25, 0.2)


@pytest.mark.parametrize("value", ["NaN", "nan", "inf", "-Infinity"])
def test_a_number_that_is_not_finite_is_dropped_with_one_true_note(value):
    config, notes = read_url({"lr_g": value})
    assert config.lr_g == TrainConfig().lr_g
    assert notes == [f"lr_g = {plain(repr(value))} ignored: must be a finite number"]


def test_a_repeated_key_takes_the_last_value_and_says_so():
    config, notes = read_url({"k": ["3", "5"]})
    assert config.k == 5
    assert notes == ["'k' is given 2 times; using the last, '5'"]


def test_a_link_that_asks_too_much_is_refused_without_building_it():
    rows = ";".join(f"{i % 40},{i // 40},0.1,1" for i in range(1500))
    for params in (
        {"components": rows, "dataset": "custom", "grid_size": "400"},
        {"dataset": "custom", "components": rows},
    ):
        config, notes = read_url(params)
        assert validate(config) is config and config.dataset == "ring" and config.components == ()
        assert any("at most 64 components, got 1500" in note for note in notes), notes


def test_a_combination_over_the_budget_drops_one_setting():
    config, notes = read_url({"grid_size": "400", "eval_samples": "100000"})
    assert validate(config) is config and (config.grid_size, config.eval_samples) == (400, TrainConfig().eval_samples)
    (note,) = notes
    assert note.startswith("eval_samples = '100000' ignored: one evaluation would need about") and "1 GB" in note


# ---- the page's URL reads back as the same config -----------------------------------------------------------
def board_view(config: TrainConfig) -> dict:
    """What the board's URL keeps of a config: the settings it reads, the headless-only ones aside."""
    return {name: getattr(config, name) for name in FIELDS if name not in URL_SKIPPED and used(name, config)}


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_survives_the_url(name):
    config = PRESETS[name].config
    if config.dataset not in PLANE_DATASETS:
        pytest.skip("a Theory-page data set")
    back, notes = read_url(url_params(config))
    assert notes == [] and board_view(back) == board_view(config)


def _in(field: str):
    low, high = widget_range(field)
    if TYPES[field] is int:
        return hs.integers(low, high)
    return hs.floats(low, high, allow_nan=False, allow_infinity=False)


@hs.composite
def board_configs(draw) -> TrainConfig:
    """Valid configs the board can show: every setting in its widget's range (a link is clamped to it)."""
    changes: dict = {}
    dataset = draw(hs.sampled_from(PLANE_DATASETS))
    if dataset == "ring":
        changes.update(modes=draw(hs.integers(*RING_MODES)), radius=draw(_in("radius")))
    elif dataset == "grid":
        changes.update(modes=draw(hs.integers(*GRID_SIDES)) ** 2, spacing=draw(_in("spacing")))
    elif dataset == "custom":
        row = hs.tuples(
            hs.floats(-100, 100), hs.floats(-100, 100), _in("std"), hs.floats(0.01, 1e3, allow_infinity=False)
        )
        changes["components"] = tuple(draw(hs.lists(row, min_size=1, max_size=8)))
    else:
        changes["points"] = tuple(draw(hs.lists(hs.tuples(hs.floats(-100, 100), hs.floats(-100, 100)), min_size=2)))
    changes["dataset"] = dataset
    choices = dict(loss=list(LOSSES), latent=list(LATENTS), minibatch_kind=list(MINIBATCH))
    choices |= {name: list(ACTIVATIONS) for name in ("g_activation", "d_activation")}
    choices["optimizer"] = ["adam", "sgd"]
    for name in FIELDS:
        if name in changes or name in ("dataset", "modes", "components", "points") or not draw(hs.booleans()):
            continue
        if name in choices:
            changes[name] = draw(hs.sampled_from(choices[name]))
        elif TYPES[name] is bool:
            changes[name] = draw(hs.booleans())
        elif name in ("g_hidden", "d_hidden", "batch_size", "grid_size", "eval_samples", "samples_shown"):  # budget
            low, high = widget_range(name)
            changes[name] = draw(hs.integers(low, min(high, 4 * getattr(TrainConfig(), name))))
        elif FIELDS[name].metadata["low"] is not None:
            changes[name] = draw(_in(name))
    if not LOSSES[changes.get("loss", "nonsaturating")].targets:
        changes["label_smoothing"] = 0.0
    if changes.get("simultaneous"):  # updates at once take one D and one G step, no unrolling (core.config)
        changes.update(k=1, g_steps=1, unrolled=0)
    try:
        return TrainConfig().replace(**changes)
    except ConfigError as error:
        if "at most" in error.message:  # over a cost budget (core.config.footprint, step_cost): draw again
            reject()
        raise AssertionError(f"the strategy drew an invalid config: {error}") from None


@settings(
    max_examples=60,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(board_configs())
def test_random_configs_survive_the_url(config):
    back, notes = read_url(url_params(config))
    assert notes == []
    assert board_view(back) == board_view(config)


# ---- widgets: one range per setting ---------------------------------------------------------------------------
def test_narrower_widget_ranges_hold_every_preset_and_the_link_is_clamped_to_them():
    for field, (low, high) in WIDGET_RANGES.items():
        meta = FIELDS[field].metadata
        assert meta["low"] <= low < high <= meta["high"] and (low, high) != (meta["low"], meta["high"])
        for preset in PRESETS.values():
            assert low <= getattr(preset.config, field) <= high
        beyond = (high + meta["high"]) / 2
        config, notes = read_url({field: str(beyond)})
        assert getattr(config, field) == high and "beyond the page's slider" in notes[0]


def test_the_ring_and_grid_widget_ranges_are_the_data_sets_own():
    ring, grid = TrainConfig(), TrainConfig().replace(dataset="grid")
    low, high = RING_MODES
    for modes, valid in ((low, True), (high, True), (low - 1, False), (high + 1, False)):
        assert _valid(ring, modes=modes) is valid
    low, high = GRID_SIDES
    for side, valid in ((low, True), (high, True), (low - 1, False), (high + 1, False)):
        assert _valid(grid, modes=side * side) is valid


def _valid(config: TrainConfig, **changes) -> bool:
    try:
        config.replace(**changes)
    except ConfigError:
        return False
    return True


def test_every_widget_s_range_is_its_setting_s(app):
    """Every slider, select slider and number input bound to a setting, across the views that show them:
    a slider spans exactly the setting's range (or its declared narrower one), a select slider offers only
    values in it."""
    app.run()
    seen = {}
    for step in ("default", "wgan-gp", "grid", "wgan"):
        if step == "wgan-gp":
            app.selectbox(key="w_loss").set_value("wgan-gp").run()
        elif step == "grid":
            app.radio(key="w_dataset").set_value("grid").run()
        elif step == "wgan":
            app.selectbox(key="w_loss").set_value("wgan").run()
        assert not app.exception
        for element in [*app.slider, *app.number_input]:
            if not (element.key or "").startswith("w_"):
                continue
            field = element.key[2:]
            span = {"modes": RING_MODES, "grid_side": GRID_SIDES}.get(field) or widget_range(field)
            assert (element.min, element.max) == span, field
            seen[field] = element
        for element in app.select_slider:
            if (element.key or "").startswith("w_"):
                field, meta = element.key[2:], FIELDS[element.key[2:]].metadata
                values = [float(option) for option in element.options]
                assert all(meta["low"] <= v <= meta["high"] for v in values), field
                seen[field] = element
    for field in seen:
        if field in FIELDS:
            meta = FIELDS[field].metadata
            assert meta["low"] <= widget_range(field)[0] <= widget_range(field)[1] <= meta["high"]
    widgets = {"k", "label_smoothing", "gp_lambda", "clip", "lr_d", "lr_g", "batch_size", "beta1", "beta2"}
    widgets |= {"g_ema"}
    widgets |= {"modes", "radius", "grid_side", "spacing", "std", "latent_dim", "seed"}
    widgets |= {"g_hidden", "g_depth", "d_hidden", "d_depth"}
    widgets |= {"feature_matching", "historical_averaging", "unrolled", "pack"}
    assert set(seen) >= widgets


def test_a_sidebar_change_over_the_budget_is_refused_with_a_plain_notice(app):
    app.run()
    app.select_slider(key="w_d_hidden").set_value(512).run()
    app.slider(key="w_k").set_value(20).run()
    assert not app.exception
    config = runner_of(app).config
    assert (config.d_hidden, config.k) == (512, 1) and app.slider(key="w_k").value == 1  # the widget shows what runs
    (notice,) = [e.value for e in app.warning if e.value.startswith("Not applied")]
    assert unescaped(notice).startswith("Not applied (k): one iteration would take about") and not live_markdown(notice)


# ---- the page under links -----------------------------------------------------------------------------------
CRASHED_BEFORE = [  # values in the config's range but beyond the old widgets': StreamlitValueBelowMin/AboveMax
    ({"radius": "0.3"}, "radius", 0.3),
    ({"radius": "10"}, "radius", 10.0),
    ({"radius": "-1"}, "radius", 0.1),
    ({"beta1": "0.99"}, "beta1", 0.95),
    ({"dataset": "grid", "spacing": "0.2"}, "spacing", 0.2),
    ({"loss": "wgan-gp", "gp_lambda": "100"}, "gp_lambda", 100.0),
]


@pytest.mark.parametrize("params, field, value", CRASHED_BEFORE, ids=[str(c[0]) for c in CRASHED_BEFORE])
def test_a_link_in_the_config_s_range_opens_the_board(app, params, field, value):
    app.query_params.update(params)
    app.run()
    assert not app.exception, app.exception
    assert getattr(runner_of(app).config, field) == value
    assert len(app.latex) == 2  # the page ran past the sidebar and the live view to the objective


def test_a_link_s_text_shows_as_plain_text_on_the_page(app):
    app.query_params.update({**INJECTIONS, "lr_g": "NaN"})
    app.query_params["seed"] = ["3", "5"]
    app.run()
    assert not app.exception
    assert runner_of(app).config.seed == 5  # the last of a repeated key
    (notice,) = [e.value for e in app.warning if "From the link" in e.value]
    assert live_markdown(notice) == [], notice
    text = unescaped(notice).replace(WORD_JOINER, "")
    for shown in ("[Log in here](http://evil.example/login)", "![t](http://evil.example/track.png)", ":red[**ALERT**]"):
        assert shown in text  # shown, as text
    assert "lr_g = 'NaN' ignored: must be a finite number" in text and "using nan" not in text
    assert "'seed' is given 2 times; using the last, '5'" in text


def test_a_comparison_s_error_is_plain_text():
    class Job:
        error = "boom: [click](http://evil.example) $x$"

    assert live_markdown(f"The comparison stopped: {plain(Job.error)}") == []


# ---- in a real browser ----------------------------------------------------------------------------------------
@pytest.mark.slow
def test_no_link_image_or_formula_of_a_link_reaches_the_browser(tmp_path):
    """The page opened from a hostile link in Chromium: the notice is there, as text; no <a>, <img>, KaTeX
    or coloured span came from it, and nothing was fetched from the link's addresses."""
    from urllib.parse import urlencode, urlparse

    from tests.browser import chromium, dashboard_server

    fetched: list[str] = []
    params = {**INJECTIONS, "radius": "10", "beta1": "0.99", "lr_g": "www.evil.example me@evil.example"}
    with dashboard_server(log_path=tmp_path / "server.log") as url, chromium() as browser:
        page = browser.new_page()
        page.on("request", lambda request: fetched.append(request.url))
        page.goto(f"{url}/?{urlencode(params)}")
        notice = page.locator("[data-testid='stAlert']", has_text="From the link")
        notice.wait_for(timeout=120_000)
        page.locator("[data-testid='stSidebar'] [data-testid='stSlider']").first.wait_for(timeout=120_000)
        text = notice.inner_text().replace(WORD_JOINER, "")
        assert "[Log in here](http://evil.example/login)" in text and ":red[**ALERT**]" in text
        assert notice.locator("a, img, .katex, span[style*='color']").count() == 0
        assert page.locator("[data-testid='stException']").count() == 0
        assert not [u for u in fetched if urlparse(u).hostname == "evil.example"]
