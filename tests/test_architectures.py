"""Each player has its own network (issue 19's prerequisite): G's and D's width, depth and activation in the
config, the CLI, a link, an explore axis and a saved file; the old shared names (hidden, depth, activation) set
both; a live change of one player's shape builds that player afresh and keeps the other; the cost model counts
each player's own layers and the default's estimates are what they were."""

from __future__ import annotations

import copy
import dataclasses
import io
import json

import numpy as np
import pytest
import torch
from torch import nn

from core.cli import _config, build_parser, main
from core.config import (
    BOTH_PLAYERS,
    FIELDS,
    ConfigError,
    TrainConfig,
    effects,
    footprint,
    step_cost,
)
from core.explore import Axis, Exploration, Grid, load, parse_axis
from core.explore_cli import _exploration
from core.export import run_config
from core.models import ACTIVATIONS
from core.presets import PRESETS
from core.runner import Runner
from core.sweep import Sweep
from core.training import GAN
from dashboard.controls import read_url, url_params
from tests.conftest import runner_of

SMALL = TrainConfig().replace(hidden=32, depth=2, batch_size=64, eval_samples=300, samples_shown=100, grid_size=20)


def linears(net: nn.Module) -> list[tuple[int, int]]:
    """(in, out) features of every Linear layer of net, in order."""
    return [(m.in_features, m.out_features) for m in net.modules() if isinstance(m, nn.Linear)]


def activations(net: nn.Module) -> set[type]:
    return {type(m) for m in net.modules() if not isinstance(m, (nn.Linear, nn.Sequential)) and m is not net}


# ---- the networks --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "g, d, pack",
    [
        ((64, 1, "tanh"), (16, 4, "leakyrelu"), 1),
        ((8, 5, "relu"), (256, 2, "tanh"), 1),
        ((32, 2, "leakyrelu"), (32, 1, "relu"), 2),
    ],
)
def test_each_player_is_built_with_its_own_width_depth_and_activation(g, d, pack):
    config = TrainConfig().replace(
        g_hidden=g[0], g_depth=g[1], g_activation=g[2], d_hidden=d[0], d_depth=d[1], d_activation=d[2], pack=pack
    )
    gan = GAN(config)
    latent, data = config.latent_dim, 2
    assert linears(gan.G) == [(latent, g[0]), *[(g[0], g[0])] * (g[1] - 1), (g[0], data)]
    assert linears(gan.D) == [(data * pack, d[0]), *[(d[0], d[0])] * (d[1] - 1), (d[0], 1)]
    assert activations(gan.G) == {type(ACTIVATIONS[g[2]]())}
    assert activations(gan.D.body) == {type(ACTIVATIONS[d[2]]())}


def test_the_default_players_are_the_same_shape_and_g_is_drawn_first():
    gan = GAN(TrainConfig())
    assert linears(gan.G) == [(2, 128), (128, 128), (128, 128), (128, 2)]
    assert linears(gan.D) == [(2, 128), (128, 128), (128, 128), (128, 1)]
    # a fresh G alone (a live change of G's shape) is the G a new run of that config starts with
    alone = GAN(TrainConfig())
    alone.replace_generator(TrainConfig())
    assert same(gan.G.state_dict(), alone.G.state_dict())


def test_a_batched_sweep_stacks_each_player_with_its_own_shape():
    config = SMALL.replace(g_hidden=16, g_depth=1, d_hidden=8, d_depth=3, d_activation="tanh")
    sweep = Sweep(config, 2)
    assert [tuple(w.shape) for w in sweep.G.weights] == [(2, 2, 16), (2, 16, 2)]
    assert [tuple(w.shape) for w in sweep.D.weights] == [(2, 2, 8), (2, 8, 8), (2, 8, 8), (2, 8, 1)]
    assert isinstance(sweep.D.activation, nn.Tanh) and isinstance(sweep.G.activation, nn.ReLU)
    sweep.train_iteration()
    assert np.isfinite(sweep.last["loss_d"]).all() and np.isfinite(sweep.last["loss_g"]).all()


# ---- the names: six settings, and the three shared names setting both ---------------------------------------
def test_a_config_holds_each_player_s_settings_and_never_the_shared_names():
    config = TrainConfig()
    for name, (g, d) in BOTH_PLAYERS.items():
        assert name not in FIELDS and g in FIELDS and d in FIELDS
        assert getattr(config, g) == getattr(config, d)
        assert FIELDS[g].metadata["effect"] == "generator" and FIELDS[d].metadata["effect"] == "discriminator"
    assert (config.g_hidden, config.g_depth, config.g_activation) == (128, 3, "relu")
    assert (config.d_hidden, config.d_depth, config.d_activation) == (128, 3, "relu")
    assert not set(BOTH_PLAYERS) & set(dataclasses.asdict(config))


@pytest.mark.parametrize(
    "changes, g, d",
    [
        (dict(hidden=64), (64, 3, "relu"), (64, 3, "relu")),
        (dict(depth=2, activation="tanh"), (128, 2, "tanh"), (128, 2, "tanh")),
        (dict(hidden=64, g_hidden=32), (32, 3, "relu"), (64, 3, "relu")),  # a player's own wins
        (dict(d_depth=1, depth=5), (128, 5, "relu"), (128, 1, "relu")),  # whatever the order
        (dict(activation="tanh", d_activation="leakyrelu"), (128, 3, "tanh"), (128, 3, "leakyrelu")),
        (dict(hidden="16", depth="2.0"), (16, 2, "relu"), (16, 2, "relu")),  # coerced like any setting
    ],
)
def test_a_shared_name_sets_both_players_and_a_player_s_own_wins(changes, g, d):
    config = TrainConfig().replace(**changes)
    assert (config.g_hidden, config.g_depth, config.g_activation) == g
    assert (config.d_hidden, config.d_depth, config.d_activation) == d


def test_a_bad_shared_value_is_refused_naming_it():
    with pytest.raises(ConfigError) as error:
        TrainConfig().replace(hidden="wide")
    assert error.value.field == "hidden"
    with pytest.raises(ConfigError) as error:
        TrainConfig().replace(activation="sigmoid")
    assert error.value.field in ("g_activation", "activation") and "must be one of" in error.value.message
    with pytest.raises(ConfigError) as error:
        TrainConfig().replace(width=64)
    assert error.value.field == "width"


def test_an_old_saved_config_sets_both_players():
    config = run_config({"hidden": 32, "depth": 2, "activation": "tanh", "k": 2})
    assert (config.g_hidden, config.g_depth, config.g_activation, config.k) == (32, 2, "tanh", 2)
    assert (config.d_hidden, config.d_depth, config.d_activation) == (32, 2, "tanh")
    assert run_config({"hidden": 32, "d_hidden": 64}).d_hidden == 64


# ---- the cost model ------------------------------------------------------------------------------------------
def old_footprint(c: TrainConfig, hidden: int, depth: int) -> dict[str, float]:
    """core.config.footprint as it was while G and D shared `hidden` and `depth` (by hand, from that formula)."""
    kernel = c.minibatch_discrimination and c.minibatch_kind == "kernel"
    modes = len(c.components) if c.dataset == "custom" else len(c.points) if c.dataset == "painted" else c.modes
    cells = c.grid_size**2
    unroll = (1 + c.unrolled) * (2 if c.loss == "wgan-gp" else 1)
    return {
        "p_data on the grid": 40.0 * modes * cells,
        "D's surface": cells * (8.0 * hidden + 60.0 * c.batch_size * kernel),
        "one evaluation": c.eval_samples
        * (72.0 * (c.grid_size + 1) + 16.0 * hidden + 32.0 * modes + 80.0 * c.batch_size / c.pack * kernel),
        "one training iteration": unroll
        * (24.0 * c.batch_size * (c.pack + 1) * hidden * depth + 360.0 * c.batch_size**2 * kernel),
    }


def old_step_cost(c: TrainConfig, hidden: int, depth: int) -> int:
    kernel = c.minibatch_discrimination and c.minibatch_kind == "kernel"
    per_pass = c.batch_size * c.pack * hidden**2 * depth + 3000 * c.batch_size**2 * kernel
    return per_pass * (c.k + c.g_steps * (1 + c.unrolled))


def test_the_default_config_costs_what_it_did_when_g_and_d_shared_a_shape():
    c = TrainConfig()
    sizes = {phase: size for phase, (size, _) in footprint(c).items()}
    assert sizes == {
        "p_data on the grid": 40.0 * 8 * 100**2,
        "D's surface": 100**2 * 8.0 * 128,
        "one evaluation": 2500 * (72.0 * 101 + 16.0 * 128 + 32.0 * 8),
        "one training iteration": 24.0 * 256 * 2 * 128 * 3,
    }
    assert step_cost(c) == 256 * 128**2 * 3 * 2  # batch x hidden^2 x depth, k + g_steps passes


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_and_a_shared_shape_costs_what_it_did(name):
    for hidden, depth in ((128, 3), (37, 5)):
        c = PRESETS[name].config.replace(hidden=hidden, depth=depth)
        assert {phase: size for phase, (size, _) in footprint(c).items()} == pytest.approx(
            old_footprint(c, hidden, depth)
        )
        assert step_cost(c) == old_step_cost(c, hidden, depth)


def test_each_player_s_cost_counts_its_own_layers():
    base = TrainConfig()
    wide_g = base.replace(g_hidden=512, g_depth=6)
    assert footprint(wide_g)["D's surface"] == footprint(base)["D's surface"]  # D alone on the grid
    assert step_cost(wide_g) == round(256 * (512**2 * 6 + 128**2 * 3) / 2) * 2
    wide_d = base.replace(d_hidden=512)
    assert footprint(wide_d)["D's surface"][0] == 100**2 * 8.0 * 512
    assert footprint(wide_d)["one training iteration"][0] == 24.0 * 256 * (128 * 3 + 512 * 3)
    assert footprint(wide_g)["one training iteration"][0] == 24.0 * 256 * (512 * 6 + 128 * 3)
    with pytest.raises(ConfigError) as error:  # over the step budget: the setting furthest above its default
        base.replace(d_hidden=512, k=20)
    assert error.value.field == "k" and "d_hidden" in error.value.message


# ---- live changes: only the player whose shape changed is new ------------------------------------------------
def same(a, b) -> bool:
    """Two state dicts (of a network or an optimizer) hold equal tensors and values."""
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and torch.equal(a, b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


NEW_AND_KEPT = {"generator": ("G", "D"), "discriminator": ("D", "G")}  # the player built afresh, the one kept


@pytest.mark.parametrize(
    "change, effect, says",
    [
        (dict(d_hidden=16), "discriminator", "new discriminator (d hidden 32 to 16): a fresh D, G keeps its weights"),
        (dict(g_hidden=16), "generator", "new generator (g hidden 32 to 16): a fresh G, D keeps its weights"),
        (dict(d_depth=3), "discriminator", "new discriminator (d depth 2 to 3)"),
        (dict(g_activation="tanh"), "generator", "new generator (g activation relu to tanh)"),
    ],
)
def test_a_live_change_of_one_player_s_shape_builds_only_that_player(change, effect, says, no_thread_leak):
    """The other player's weights and optimizer moments are bit-identical; the new one has its new shape and a
    fresh optimizer; the iteration count goes on."""
    fresh, kept = NEW_AND_KEPT[effect]
    with Runner(SMALL, threads=1) as runner:
        runner.advance(10, wait=True)
        gan = runner._gan  # the thread is parked: reading its state is safe here
        before = {
            name: (getattr(gan, name).state_dict(), getattr(gan, f"opt_{name.lower()}").state_dict())
            for name in ("G", "D")
        }
        before = {name: (copy.deepcopy(net), copy.deepcopy(opt)) for name, (net, opt) in before.items()}
        shapes = {name: linears(getattr(gan, name)) for name in ("G", "D")}
        assert runner.update(**change) == {next(iter(change)): effect}
        assert runner.wait_parked(30)
        snap, gan = runner.snapshot(), runner._gan
        assert snap.iteration == 10 and snap.rebuilds == 0 and says in snap.message, snap.message
        net, opt = getattr(gan, kept), getattr(gan, f"opt_{kept.lower()}")
        assert same(net.state_dict(), before[kept][0]) and same(opt.state_dict(), before[kept][1])
        assert linears(net) == shapes[kept]
        new = getattr(gan, fresh)
        assert not same(new.state_dict(), before[fresh][0])  # a new network, and an optimizer of its own
        assert getattr(gan, f"opt_{fresh.lower()}").state_dict()["state"] == {}
        if "hidden" in next(iter(change)):
            assert {o for _, o in linears(new)[:-1]} == {16}
        runner.advance(3, wait=True)  # and it trains on
        assert runner.snapshot().iteration == 13 and runner.snapshot().state != "diverged"


def test_a_new_shape_for_both_players_at_once_restarts_the_run(no_thread_leak):
    assert effects({"g_hidden": 8, "d_hidden": 8}) == {"g_hidden": "rebuild", "d_hidden": "rebuild"}
    assert effects({"g_depth": 2, "pack": 2}) == {"g_depth": "rebuild", "pack": "rebuild"}
    assert effects({"d_depth": 2, "seed": 3}) == {"d_depth": "rebuild", "seed": "rebuild"}
    assert effects({"d_depth": 2, "pack": 2, "k": 2}) == {
        "d_depth": "discriminator",
        "pack": "discriminator",
        "k": "live",
    }
    with Runner(SMALL, threads=1) as runner:
        runner.advance(5, wait=True)
        assert set(runner.update(hidden=16).values()) == {"rebuild"}
        assert runner.wait_parked(30)
        snap = runner.snapshot()
        assert snap.iteration == 0 and snap.rebuilds == 1
        assert "rebuilt the networks (g hidden 32 to 16, d hidden 32 to 16)" in snap.message


# ---- the CLI -------------------------------------------------------------------------------------------------
def parsed(*flags: str) -> TrainConfig:
    parser = build_parser()
    return _config(parser.train, parser.parse_args(["train", *flags]), FIELDS)


def test_each_player_s_flags_and_the_shared_ones():
    config = parsed("--g-hidden", "64", "--d-depth", "2")
    assert (config.g_hidden, config.g_depth, config.d_hidden, config.d_depth) == (64, 3, 128, 2)
    config = parsed("--hidden", "64", "--depth", "2", "--activation", "tanh", "--g-hidden", "32")
    assert (config.g_hidden, config.g_depth, config.g_activation) == (32, 2, "tanh")
    assert (config.d_hidden, config.d_depth, config.d_activation) == (64, 2, "tanh")
    config = parsed("--d-activation", "leakyrelu", "--preset", "mode-collapse")
    assert config == PRESETS["mode-collapse"].config.replace(d_activation="leakyrelu")


@pytest.mark.parametrize(
    "args, named",
    [
        (["--g-hidden", "2"], "--g-hidden"),
        (["--d-hidden", "wide"], "--d-hidden"),
        (["--g-depth", "7"], "--g-depth"),
        (["--d-depth", "0"], "--d-depth"),
        (["--g-activation", "sigmoid"], "--g-activation"),
        (["--hidden", "1000"], "--hidden"),
        (["--depth", "2.5"], "--depth"),
        (["--activation", "gelu"], "--activation"),
    ],
)
def test_a_bad_player_flag_exits_2_with_one_line_naming_it(args, named, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["train", *args])
    out, err = capsys.readouterr()
    assert exit_.value.code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert f"argument {named}:" in err, err


def test_sweep_and_explore_take_the_player_flags_and_a_shared_axis():
    parser = build_parser()
    args = parser.parse_args(["sweep", "--g-hidden", "16", "--depth", "1"])
    config = _config(parser.sweep, args, [n for n in FIELDS if n != "spectral_norm"])
    assert (config.g_hidden, config.d_hidden, config.g_depth, config.d_depth) == (16, 128, 1, 1)
    args = parser.parse_args(["explore", "--x", "hidden=16,32", "--y", "g_depth=1:2:2", "--d-activation", "tanh"])
    result, _ = _exploration(parser.explore, args)
    cell = result.grid.config(1, 1, 0)
    assert (cell.g_hidden, cell.d_hidden, cell.g_depth, cell.d_depth, cell.d_activation) == (32, 32, 2, 3, "tanh")


# ---- explore axes and files ----------------------------------------------------------------------------------
def test_an_explore_axis_over_a_shared_name_sets_both_players():
    axis = parse_axis("hidden=8:32:3")
    assert axis == Axis("hidden", (8, 20, 32))
    assert parse_axis("d_hidden=8,16").values == (8, 16) and parse_axis("g_activation=relu,tanh").name == "g_activation"
    with pytest.raises(ConfigError) as error:
        parse_axis("depth=1,9")
    assert error.value.field == "depth"
    grid = Grid(SMALL.replace(g_hidden=64), axis, None, (0,), 10)
    assert [(c.g_hidden, c.d_hidden) for c in (grid.config(0, i, 0) for i in range(3))] == [(8, 8), (20, 20), (32, 32)]


def test_a_shared_name_and_one_of_its_players_are_not_two_axes():
    grid = Grid(SMALL, parse_axis("g_hidden=8,16"), parse_axis("d_hidden=8,16"), (0,), 10)  # G's against D's
    assert (grid.config(1, 0, 0).g_hidden, grid.config(1, 0, 0).d_hidden) == (8, 16)
    for x, y in (("hidden=8,16", "d_hidden=8,16"), ("g_depth=1,2", "depth=1,2")):
        with pytest.raises(ConfigError) as error:
            Grid(SMALL, parse_axis(x), parse_axis(y), (0,), 10)
        assert error.value.field == y.partition("=")[0] and "sets too" in error.value.message


def test_an_old_exploration_file_reads_its_shared_names_back():
    result = Exploration(Grid(SMALL, parse_axis("hidden=8,16"), None, (0,), 10))
    with np.load(io.BytesIO(result.to_bytes()), allow_pickle=False) as raw:
        arrays = {name: raw[name] for name in raw.files}
    stored = json.loads(str(arrays["config"][()]))
    for name, players in BOTH_PLAYERS.items():  # the file as it was written before each player had its own
        stored[name] = stored.pop(players[0])
        del stored[players[1]]
    arrays["config"] = np.array(json.dumps(stored))
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    buffer.seek(0)
    back = load(buffer)
    assert back.grid == result.grid and back.grid.x.name == "hidden"


# ---- links ---------------------------------------------------------------------------------------------------
def test_the_six_settings_survive_the_url():
    config = TrainConfig().replace(
        g_hidden=64, g_depth=2, g_activation="tanh", d_hidden=256, d_depth=1, d_activation="leakyrelu"
    )
    params = url_params(config)
    assert params == dict(
        g_hidden="64", g_depth="2", g_activation="tanh", d_hidden="256", d_depth="1", d_activation="leakyrelu"
    )
    back, notes = read_url(params)
    assert notes == [] and back == config


@pytest.mark.parametrize(
    "link, g, d, noted",
    [
        ({"hidden": "64"}, (64, 3), (64, 3), None),
        ({"hidden": "64", "depth": "2"}, (64, 2), (64, 2), None),
        ({"hidden": "64", "g_hidden": "32"}, (32, 3), (64, 3), None),
        ({"depth": "9"}, (128, 6), (128, 6), "depth = 9 is out of range; using 6"),
        ({"hidden": "wide", "d_hidden": "16"}, (128, 3), (16, 3), "hidden = 'wide' ignored: expected int, got 'wide'"),
    ],
)
def test_an_old_link_s_shared_names_set_both_players(link, g, d, noted):
    config, notes = read_url(link)
    assert ((config.g_hidden, config.g_depth), (config.d_hidden, config.d_depth)) == (g, d)
    assert notes == ([noted] if noted else []), notes
    assert "hidden" not in url_params(config) and "depth" not in url_params(config)


def test_an_old_link_opens_the_page_with_both_players_set_and_the_url_says_each(app):
    app.query_params["hidden"] = "64"
    app.run()
    assert not app.exception
    config = runner_of(app).config
    assert (config.g_hidden, config.d_hidden) == (64, 64)
    assert (app.select_slider(key="w_g_hidden").value, app.select_slider(key="w_d_hidden").value) == (64, 64)
    assert dict(app.query_params) == {"g_hidden": "64", "d_hidden": "64"}  # the link now names each player's


# ---- the sidebar ---------------------------------------------------------------------------------------------
def test_the_sidebar_s_generator_width_changes_g_only(app):
    app.run()
    before = runner_of(app).config
    assert {m.value for m in app.sidebar.markdown} >= {"**Generator**", "**Discriminator**"}
    app.select_slider(key="w_g_hidden").set_value(32).run()
    assert not app.exception
    after = runner_of(app).config
    assert before.changed(after) == {"g_hidden": 32}
    assert app.select_slider(key="w_d_hidden").value == 128
    assert any("G has a new shape, so a fresh G was built" in str(e.value) for e in [*app.info, *app.sidebar.info])
    app.slider(key="w_d_depth").set_value(2).run()
    assert after.changed(runner_of(app).config) == {"d_depth": 2}
