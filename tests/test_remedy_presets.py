"""The remedy presets' claims: seeds 0, 1, 2 of the mode-collapse scenario over the same 2,000 iterations,
with the remedy and without, each seed its single run (the remedies cannot be batched). Each preset's text
states the figures measured here; each test checks the direction its text states, with a margin."""

import statistics

import numpy as np
import pytest

from core.presets import COLLAPSE, REMEDY_PRESETS

SEEDS = (0, 1, 2)


def outcome(trajectories, config):
    """Averaged over seeds: modes held (mean over the second half's evaluations), modes visited (captured at
    any evaluation), mode-hopping (mean total-variation distance between the mode shares of consecutive
    evaluations in the second half), the same among high-quality samples only ("mode shares shift": fewer
    samples on modes cannot pass for less hopping), and the last evaluation's high-quality share, reverse KL
    and D gap."""
    rows = []
    for seed in SEEDS:
        out = trajectories(config.replace(seed=seed), config.steps, config.eval_every)
        late = [e.metrics for e in out if e.iteration >= config.steps // 2]
        shares = np.array([m.mode_counts for m in late]) / config.eval_samples
        on_modes = shares[shares.sum(1) > 0]
        shift = np.abs(np.diff(on_modes / on_modes.sum(1, keepdims=True), axis=0)).sum(1)
        visited = np.zeros(late[0].modes_total, bool)
        for e in out:
            visited |= e.metrics.mode_counts >= 20
        rows.append(
            dict(
                held=statistics.mean(m.modes_captured for m in late),
                visited=int(visited.sum()),
                hopping=float(np.abs(np.diff(shares, axis=0)).sum(1).mean() / 2),
                shift=float(shift.mean() / 2) if len(shift) else np.nan,  # no two evaluations with samples on modes
                high_quality=late[-1].high_quality,
                reverse_kl=late[-1].reverse_kl,
                gap=late[-1].d_real - late[-1].d_fake,
            )
        )
    return {k: float(np.nanmean([r[k] for r in rows])) for k in rows[0]}  # shift: over the seeds that have one


def test_the_remedy_presets_are_the_collapse_scenario_with_one_remedy():
    for name, preset in REMEDY_PRESETS.items():
        changed = COLLAPSE.changed(preset.config)
        assert len(changed) in (1, 2) and preset.config.steps == COLLAPSE.steps, (name, changed)
        assert "seeds 0-2 and 2,000 iterations" in preset.watch  # what the claims below measure
    assert CLAIMS.keys() == REMEDY_PRESETS.keys()


CLAIMS = {}
COST = {"remedy-unrolled": 6.2, "remedy-minibatch-discrimination": 4.9, "remedy-packing": 1.3,
        "remedy-historical-averaging": 1.2, "remedy-feature-matching": 1.1}  # x a plain iteration (README)  # fmt: skip


def registry(table: dict):
    """A decorator factory: @registry(table)(name) files the function under name."""

    def named(name):
        def register(check):
            table[name] = check
            return check

        return register

    return named


RUNS = {}  # what a text says beyond the averages, checked on the same runs (or runs of its own)
claim, runs = registry(CLAIMS), registry(RUNS)


# Each claim: the direction the text states, with a margin; the texts' figures are this machine's means
# (another CPU rounds differently, and a GAN amplifies the last bits into another run of the same seed).
@claim("remedy-feature-matching")
def feature_matching_holds_a_few_more_modes_but_is_no_cure(remedy, base):
    assert remedy["held"] >= base["held"] + 0.4  # 3.1 against 2.4 here
    assert remedy["hopping"] < base["hopping"]  # 0.080 against 0.105 (shares of all samples)
    assert remedy["shift"] < base["shift"] - 0.05  # "mode shares shift less": 0.40 against 0.55
    assert remedy["high_quality"] < base["high_quality"]  # 0.32 against 0.43
    assert remedy["reverse_kl"] > base["reverse_kl"] - 0.2  # "no closer": 0.97 against 0.85


@claim("remedy-minibatch-discrimination")
def minibatch_discrimination_does_not_help_here_d_wins_instead(remedy, base):
    assert remedy["held"] < base["held"]  # 1.5 against 2.4
    assert remedy["gap"] > base["gap"] + 0.3  # D(x) - D(G(z)): 0.83 against 0.42


@claim("remedy-historical-averaging")
def historical_averaging_damps_mode_hopping_but_holds_no_more_modes(remedy, base):
    assert remedy["held"] < base["held"]  # 1.4 against 2.4
    assert remedy["hopping"] < base["hopping"] / 2  # 0.035 against 0.105 (shares of all samples)
    assert remedy["shift"] < base["shift"]  # "shows only a little": 0.42 against 0.55 among samples on modes
    assert remedy["high_quality"] < base["high_quality"]  # 0.08 against 0.43


@claim("remedy-unrolled")
def unrolling_holds_more_modes_but_keeps_hopping(remedy, base):
    assert remedy["held"] >= base["held"] + 1.0  # 3.8 against 2.4
    assert remedy["hopping"] > 1.5 * base["hopping"]  # 0.21 against 0.105 (shares of all samples: more on modes)
    assert abs(remedy["shift"] - base["shift"]) < 0.15  # "about as much": 0.49 against 0.55
    assert remedy["high_quality"] > base["high_quality"]  # 0.61 against 0.43
    assert remedy["visited"] <= base["visited"] + 1  # "visits no more": 5.0 against 5.3


@claim("remedy-packing")
def packing_hops_less_and_spreads_between_the_modes(remedy, base):
    assert remedy["held"] >= base["held"]  # 2.8 against 2.4
    assert remedy["hopping"] < 0.75 * base["hopping"]  # 0.064 against 0.105 (shares of all samples)
    assert remedy["shift"] < 0.75 * base["shift"]  # "half as much": 0.26 against 0.55
    assert remedy["reverse_kl"] < base["reverse_kl"]  # 0.70 against 0.85
    assert remedy["high_quality"] < base["high_quality"] - 0.2  # 0.12 against 0.43


@runs("remedy-minibatch-discrimination")
def minibatch_discrimination_wins_at_once(trajectories, config):
    for seed in SEEDS:  # "D(x) - D(G(z)) is over 0.9 by iteration 50": 0.99 in every seed here
        m = trajectories(config.replace(seed=seed), 50, 50)[-1].metrics
        assert m.d_real - m.d_fake > 0.9, (seed, m.d_real, m.d_fake)
    # "with seed 0, G never reaches a mode": no mode captured at any evaluation
    assert all(e.metrics.modes_captured == 0 for e in trajectories(config.replace(seed=0), config.steps, 250))


@runs("remedy-historical-averaging")
def historical_averaging_at_a_tenth_finds_almost_nothing(trajectories, config):
    strong = config.replace(historical_averaging=0.1)
    for seed in SEEDS:  # "at most 2% of its samples are of high quality after 2,000 iterations": 0 to 2% here
        assert trajectories(strong.replace(seed=seed), strong.steps, 250)[-1].metrics.high_quality < 0.05, seed


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CLAIMS, key=COST.get, reverse=True))  # longest first
def test_remedy_preset_claim(name, trajectories):
    preset = REMEDY_PRESETS[name]
    remedy, base = outcome(trajectories, preset.config), outcome(trajectories, COLLAPSE)
    CLAIMS[name](remedy, base)
    if name in RUNS:
        RUNS[name](trajectories, preset.config)
