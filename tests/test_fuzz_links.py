"""Any link at all: `read_url` never raises, returns a config that validates and that the board can draw,
says what was wrong in plain text of bounded length, and does a bounded amount of work (validations
counted, not timed). The fast tier runs a fixed set of examples; the slow tier many more."""

from __future__ import annotations

from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs
from streamlit.testing.v1 import AppTest

import core.config
from core.config import SETTING_NAMES, validate
from core.data import PLANE_DATASETS
from core.presets import PRESETS
from core.runner import live_runners
from dashboard.controls import read_url
from tests.conftest import APP
from tests.test_links import INJECTIONS, live_markdown

NASTY = [
    "NaN",
    "nan",
    "inf",
    "-inf",
    "1e309",
    "-1e309",
    "1e-400",
    "-0",
    "0x10",
    "1_000",
    " 3 ",
    "",
    "true",
    "9" * 5000,
    "x" * 20_000,
    "custom",
    "line",
    "wgan",
    "[Log in here](http://evil.example)",
    "![t](http://evil.example/t.png)",
    ":red[**ALERT**]",
    "$$\\href{http://evil.example}{x}$$",
    "<img src=x onerror=alert(1)>",
    "www.evil.example me@evil.example",
    "a\nb\r\n# c\u202e\u200b\x00",
    "0,0,0.1,1;2,0,0.1,1",
    "0,0,0.1,1;;;2,0,0.1",
    "0,0,0.1,1e308;1,1,0.1,1e308",
    "0,0,-1,1",
    "1e9,0,0.1,1",
    ";".join(["0,0,0.1,1"] * 65),
    ";".join(["0,0,0.1,1"] * 20_000),
    *INJECTIONS.values(),
]
KEYS = list(dict.fromkeys([*SETTING_NAMES, "preset", *INJECTIONS]))  # hidden, depth, activation too
values = hs.one_of(
    hs.sampled_from(NASTY),
    hs.sampled_from(list(PRESETS)),
    hs.text(max_size=40),
    hs.floats().map(repr),
    hs.integers(-(10**12), 10**12).map(str),
    hs.lists(hs.tuples(*[hs.floats(-200, 200)] * 4), max_size=70).map(
        lambda rows: ";".join(",".join(repr(v) for v in row) for row in rows)
    ),
)
queries = hs.dictionaries(
    hs.one_of(hs.sampled_from(KEYS), hs.text(max_size=30)),
    hs.one_of(values, hs.lists(values, min_size=1, max_size=3)),  # a list: the key repeated
    max_size=10,
)


def check(params) -> None:
    with mock.patch.object(core.config, "validate", wraps=validate) as validations:
        config, notes = read_url(params)
    assert validate(config) is config and config.dataset in PLANE_DATASETS
    n = len(params) + 1
    assert validations.call_count <= n * n + 2  # at most one retry per setting, each trying every setting
    for note in notes:
        assert live_markdown(note) == [], note
        assert len(note) < 600, note
    assert len(notes) <= 3 * len(params) + 2  # the notice itself shows MAX_NOTES of them


FAST = settings(
    max_examples=150, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck)
)


@FAST
@given(queries)
def test_any_link_gives_a_valid_config_and_plain_notes(params):
    check(params)


@pytest.mark.slow
@settings(max_examples=3000, database=None, deadline=None, suppress_health_check=list(HealthCheck))
@given(queries)
def test_any_link_gives_a_valid_config_and_plain_notes_many(params):
    check(params)


@pytest.mark.parametrize("value", ["NaN", "9" * 5000, ";".join(["0,0,0.1,1"] * 20_000), INJECTIONS["preset"]])
def test_every_key_with_one_nasty_value(value):
    check({name: value for name in KEYS})


@pytest.mark.slow
@settings(max_examples=4, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck))
@given(queries)
def test_the_page_renders_under_any_link(params):
    """A few random links through the whole page (AppTest): no exception box, whatever the link."""
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in params.items():
        at.query_params[key] = value
    try:
        at.run()
        assert not at.exception, at.exception
    finally:
        for runner in live_runners():
            runner.stop()
