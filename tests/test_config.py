"""TrainConfig's validation bounds what one config may cost, so that one link or one CLI call cannot take the
machine: at most MAX_COMPONENTS custom components in a bounded square with sane stds and weights, and every
phase of a run within MEMORY_BUDGET and one iteration within STEP_BUDGET (core.config's docstrings)."""

from __future__ import annotations

import pytest

from core.cli import main
from core.config import (
    COMPONENT_REACH,
    FIELDS,
    MAX_COMPONENTS,
    MEMORY_BUDGET,
    STEP_BUDGET,
    ConfigError,
    TrainConfig,
    footprint,
    step_cost,
    validate,
)
from core.presets import PRESETS

ROW = (0.0, 0.0, 0.1, 1.0)


def custom(*rows) -> dict:
    return dict(dataset="custom", components=tuple(rows))


def refused(config: TrainConfig, **changes) -> ConfigError:
    with pytest.raises(ConfigError) as error:
        config.replace(**changes)
    return error.value


def test_the_default_and_every_preset_validate_within_the_budgets():
    for config in [TrainConfig(), *(p.config for p in PRESETS.values())]:
        assert validate(config) is config
        assert max(size for size, _ in footprint(config).values()) <= MEMORY_BUDGET and step_cost(config) <= STEP_BUDGET


@pytest.mark.parametrize("name", [n for n, f in FIELDS.items() if f.metadata["low"] is not None])
def test_every_setting_alone_at_either_end_of_its_range_validates(name):
    meta = FIELDS[name].metadata
    base = TrainConfig().replace(dataset="grid") if name == "modes" else TrainConfig()  # a ring holds 32
    for value in (meta["low"], meta["high"]) if name != "modes" else (4, 49):
        assert getattr(base.replace(**{name: value}), name) == value


def test_g_steps_is_a_live_setting_from_1_to_10_counted_in_the_step_cost():
    assert TrainConfig().g_steps == 1 and FIELDS["g_steps"].metadata["effect"] == "live"
    for bad in (0, 11, 2.5, "many"):
        assert refused(TrainConfig(), g_steps=bad).field == "g_steps"
    with pytest.raises(ConfigError) as error:
        validate(TrainConfig(g_steps=0))
    assert error.value.field == "g_steps" and "from 1 to 10" in error.value.message
    one = step_cost(TrainConfig())  # k + 1 passes
    assert step_cost(TrainConfig(g_steps=3)) == one // 2 * (1 + 3)
    assert step_cost(TrainConfig(g_steps=3, unrolled=2)) == one // 2 * (1 + 3 * (1 + 2))  # each G step unrolls


def test_a_custom_mixture_has_at_most_max_components():
    assert len(TrainConfig().replace(**custom(*[ROW] * MAX_COMPONENTS)).components) == MAX_COMPONENTS
    error = refused(TrainConfig(), **custom(*[ROW] * (MAX_COMPONENTS + 1)))
    assert error.field == "components" and f"at most {MAX_COMPONENTS} components, got {MAX_COMPONENTS + 1}" in str(
        error
    )
    error = refused(TrainConfig(), **custom(*[ROW] * 1500))  # the link that took 6 GB
    assert "at most 64 components, got 1500" in error.message


@pytest.mark.parametrize(
    "rows, says",
    [
        ([(0.0, 0.0, 1e-4, 1.0)], "std must be from 0.001 to 5"),
        ([(0.0, 0.0, 5.5, 1.0)], "std must be from 0.001 to 5"),
        ([(COMPONENT_REACH * 1.01, 0.0, 0.1, 1.0)], "x and y must be within"),
        ([(0.0, -1e300, 0.1, 1.0)], "x and y must be within"),
        ([(0.0, 0.0, 0.1, 1e308), (1.0, 0.0, 0.1, 1e308)], "finite positive sum"),
        ([(0.0, 0.0, 0.1, float("nan"))], "finite"),
        ([(0.0, 0.0, 0.1)], "each needs 4"),
        ([(0.0, 0.0, 0.1, 1.0, 5.0)], "each needs 4"),
        ([(0.0, 0.0, 0.1, 0.0)], "sum to a positive number"),
        ([(0.0, 0.0, 0.1, -1.0), ROW], "non-negative"),
    ],
)
def test_custom_components_are_bounded(rows, says):
    error = refused(TrainConfig(), **custom(*rows))
    assert error.field == "components" and says in error.message, error.message


def test_components_are_checked_whatever_the_data_set():
    assert refused(TrainConfig(), components=tuple([ROW] * 65)).field == "components"


@pytest.mark.parametrize(
    "changes, field, says",
    [
        (dict(grid_size=400, eval_samples=100_000), "eval_samples", "one evaluation would need about"),
        (dict(minibatch_discrimination=True, grid_size=400), "grid_size", "D's surface would need about"),
        (dict(minibatch_discrimination=True, batch_size=2048), "batch_size", "would need about"),
        (dict(batch_size=2048, hidden=512, depth=6), "batch_size", "one iteration would take about"),
        (dict(k=20, hidden=512), "k", "one iteration would take about"),
        (dict(g_steps=10, hidden=512), "g_steps", "one iteration would take about"),
        (dict(minibatch_discrimination=True, batch_size=1024), "batch_size", "one iteration would take about"),
    ],
)
def test_a_combination_over_a_budget_is_refused_naming_the_cost(changes, field, says):
    error = refused(TrainConfig(), **changes)
    assert error.field == field and says in error.message and "at most" in error.message, error.message
    assert "lower " in error.message  # and what to lower


def test_the_largest_allowed_configs_are_within_the_budgets():
    for changes in (
        dict(**custom(*[(float(i % 8), float(i // 8), 0.1, 1.0) for i in range(64)]), grid_size=400),
        dict(eval_samples=100_000),
        dict(grid_size=400, hidden=512),
        dict(minibatch_discrimination=True, batch_size=512),
        dict(batch_size=2048, depth=6, unrolled=8),
    ):
        config = TrainConfig().replace(**changes)
        assert max(size for size, _ in footprint(config).values()) <= MEMORY_BUDGET and step_cost(config) <= STEP_BUDGET


def test_the_cli_refuses_a_run_over_the_budget(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--grid-size", "400", "--eval-samples", "100000"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "--eval-samples" in err and "GB" in err, err


def test_an_echoed_value_is_cut():
    error = refused(TrainConfig(), loss="x" * 10_000)
    assert len(error.message) < 200
