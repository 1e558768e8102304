"""The papers' 2-D experiments' training features (issue 19): batch norm in G (`g_norm`), maxout (an activation
of either player), the weight initialisation (`init`), updates of G and D at once (`simultaneous`) and a finite
training set (`train_set`). Each at its default leaves a run as it was; each has its flag, its link, its widget,
its cost and its place in the batched sweep."""

from __future__ import annotations

import copy
import types

import pytest
import torch
from torch import nn

from core.cli import _config, build_parser, main
from core.config import FIELDS, NORM_COST, ConfigError, TrainConfig, effects, footprint, step_cost
from core.data import TrainingSet, mixture_for, training_data
from core.losses import LOSSES
from core.metrics import generator_metrics
from core.models import (
    ACTIVATIONS,
    MAXOUT_PIECES,
    BatchNorm,
    Layers,
    Maxout,
    build_generator,
    build_players,
    frozen,
    hidden_layers,
    inference,
)
from core.runner import Runner
from core.snapshot import Probe, picture
from core.sweep import Sweep, unbatchable
from core.training import GAN, make_optimizer
from dashboard.controls import read_url, url_params
from tests.conftest import runner_of

SMALL = TrainConfig().replace(hidden=32, depth=2, batch_size=64, eval_samples=300, samples_shown=100, grid_size=20)


def weights(net: nn.Module) -> list[torch.Tensor]:
    return [t.detach().clone() for t in net.state_dict().values()]


def equal(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


# ---- defaults: a run is what it was --------------------------------------------------------------------------
def algorithm_1(config: TrainConfig, iterations: int) -> tuple[nn.Module, nn.Module, list[tuple[float, float]]]:
    """Algorithm 1 written out as the code ran it before these settings: PyTorch's initialisation from the seed,
    fresh draws of p_data, one D step then one G step against the new D."""
    c, loss = config, LOSSES[config.loss]
    G, D = build_players(2, c.latent_dim, Layers(c.g_hidden, c.g_depth, "relu"), Layers(c.d_hidden, c.d_depth, "relu"),
                         False, c.seed)  # fmt: skip
    rng, mixture, n = torch.Generator().manual_seed(c.seed), mixture_for(c), c.batch_size
    opt_g = make_optimizer(c.optimizer, G.parameters(), c.lr_g, (c.beta1, c.beta2))
    opt_d = make_optimizer(c.optimizer, D.parameters(), c.lr_d, (c.beta1, c.beta2))
    losses = []
    for _ in range(iterations):
        real = mixture.sample(n, rng)
        with torch.no_grad():
            fake = G(torch.randn(n, c.latent_dim, generator=rng))
        out_real, out_fake = D(torch.cat([real, fake]), groups=2).chunk(2)
        loss_d = loss.d(out_real, out_fake, 0.0)
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        z = torch.randn(n, c.latent_dim, generator=rng)
        with frozen(D):
            loss_g = loss.g(D(G(z)))
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
        opt_g.step()
        losses.append((loss_d.item(), loss_g.item()))
    return G, D, losses


def test_the_default_run_is_algorithm_1_as_it_was_bit_for_bit():
    config = SMALL
    assert (config.g_norm, config.init, config.simultaneous, config.train_set) == ("none", "default", False, 0)
    G, D, losses = algorithm_1(config, 20)
    gan = GAN(config)
    assert gan.data is gan.mixture  # train_set 0: fresh draws of p_data
    for _ in range(20):
        gan.advance()
        assert gan.last["loss_d"] == losses[gan.iteration - 1][0] and gan.last["loss_g"] == losses[gan.iteration - 1][1]
    assert equal(weights(gan.G), weights(G)) and equal(weights(gan.D), weights(D))


def test_the_default_players_have_biased_layers_and_pytorch_s_initialisation():
    gan = GAN(SMALL)
    torch.manual_seed(SMALL.seed)  # nn.Linear draws from the global stream: the builders seed it and draw no more
    plain = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 2))
    assert equal(weights(gan.G), weights(plain))
    assert all(isinstance(m, (nn.Linear, nn.ReLU)) for m in gan.G)


# ---- batch norm in G --------------------------------------------------------------------------------------------
def test_batch_norm_sits_after_each_hidden_linear_of_g_which_then_has_no_bias():
    gan = GAN(SMALL.replace(g_norm="batch", g_depth=3))
    kinds = [type(m) for m in gan.G]
    assert kinds == [nn.Linear, BatchNorm, nn.ReLU] * 3 + [nn.Linear]
    hidden, output = [m for m in gan.G if isinstance(m, nn.Linear)][:-1], gan.G[-1]
    assert all(m.bias is None for m in hidden) and output.bias is not None  # PacGAN: use_bias=False, then True
    for norm in (m for m in gan.G if isinstance(m, BatchNorm)):
        assert (norm.num_features, norm.eps, norm.momentum) == (32, 1e-4, 0.05)
    assert not any(isinstance(m, nn.BatchNorm1d) for m in gan.D.modules())  # D is PacGAN's: no batch norm
    assert str(SMALL.replace(g_norm="batch").g_layers) == "2 × 32 relu, batch norm"


def test_views_and_evaluations_draw_g_in_eval_mode_and_training_keeps_train_mode():
    gan = GAN(SMALL.replace(g_norm="batch"))
    probe = Probe(gan)
    for _ in range(5):
        gan.advance()
    assert gan.G.training
    running = [b.clone() for b in gan.G.buffers()]
    first, samples = generator_metrics(gan, probe.z_eval, probe.real_eval)
    frame = picture(gan, probe)
    again, samples_again = generator_metrics(gan, probe.z_eval, probe.real_eval)
    assert gan.G.training  # back in training mode
    assert equal(running, list(gan.G.buffers()))  # an evaluation moves no running statistic
    assert (samples == samples_again).all() and first.modes_captured == again.modes_captured
    # each sample is G of its own z with the running statistics: the same z alone gives the same point
    with torch.no_grad(), inference(gan.G):
        alone = gan.G(probe.z_shown[:7])
    torch.testing.assert_close(torch.from_numpy(frame["samples"][:7].copy()), alone)
    # a training batch is normalised by its own statistics: half the batch gives other samples, and moves them
    z = gan.latent(64)
    with torch.no_grad():
        whole, half = gan.G(z)[:32], gan.G(z[:32])
    assert not torch.allclose(whole, half)
    assert not equal(running, list(gan.G.buffers()))


def test_a_runner_shows_eval_mode_samples_of_a_batch_norm_g(no_thread_leak):
    with Runner(SMALL.replace(g_norm="batch"), threads=1) as runner:
        runner.advance(4, wait=True)
        snap, gan, probe = runner.snapshot(), runner._gan, runner._probe  # parked: reading its state is safe
        assert gan.G.training
        with torch.no_grad(), inference(gan.G):
            expected = gan.G(probe.z_shown).numpy()
        assert (snap.samples == expected).all()
        assert runner.update(g_norm="none") == {"g_norm": "generator"}  # a fresh G, D goes on
        assert runner.wait_parked(30)
        assert not any(isinstance(m, BatchNorm) for m in runner._gan.G)


def test_packed_batch_norm_normalises_each_pack_slot_over_its_own_batch():
    gan = GAN(SMALL.replace(g_norm="batch", pack=2))
    z = gan.latent(2 * SMALL.batch_size)
    reference = copy.deepcopy(gan.G)
    with torch.no_grad():
        fake = gan.fake(z)
        slots = [reference(z[: SMALL.batch_size]), reference(z[SMALL.batch_size :])]
    # pack i is (slot 0's sample i, slot 1's sample i), as PacGAN concatenates its m generator calls
    torch.testing.assert_close(fake[0::2], slots[0], rtol=0, atol=0)
    torch.testing.assert_close(fake[1::2], slots[1], rtol=0, atol=0)
    for _ in range(3):
        assert gan.advance() is None


# ---- maxout -----------------------------------------------------------------------------------------------------
def test_maxout_takes_the_largest_of_each_unit_s_consecutive_pieces():
    x = torch.tensor([[1.0, 5.0, -3.0, 2.0, 0.5, -1.0]])
    assert torch.equal(Maxout(2)(x), torch.tensor([[5.0, 2.0, 0.5]]))
    assert torch.equal(Maxout(3)(x), torch.tensor([[5.0, 2.0]]))
    assert Maxout(5)(torch.zeros(4, 7, 50)).shape == (4, 7, 10)  # any leading dimensions


def test_a_maxout_layer_is_a_linear_of_width_times_five_then_the_max_computed_by_hand():
    assert ACTIVATIONS["maxout"].pieces == MAXOUT_PIECES == 5 and ACTIVATIONS["relu"].pieces == 1
    layer = hidden_layers(2, Layers(2, 1, "maxout"))
    linear, maxout = layer
    assert (linear.in_features, linear.out_features) == (2, 10) and isinstance(maxout, Maxout)
    with torch.no_grad():
        # unit 0's pieces: x1, -x1, x2, -x2, x1 + x2; unit 1's: 2 x1, 0, -x2, 3, x1 - x2 (biases: 0 except piece 3)
        linear.weight.copy_(
            torch.tensor([[1, 0], [-1, 0], [0, 1], [0, -1], [1, 1], [2, 0], [0, 0], [0, -1], [0, 0], [1, -1.0]])
        )
        linear.bias.copy_(torch.tensor([0, 0, 0, 0, 0, 0, 0, 0, 3, 0.0]))
        out = layer(torch.tensor([[1.0, -2.0], [0.5, 4.0]]))
    # x = (1, -2): unit 0 max(1, -1, -2, 2, -1) = 2; unit 1 max(2, 0, 2, 3, 3) = 3
    # x = (0.5, 4): unit 0 max(0.5, -0.5, 4, -4, 4.5) = 4.5; unit 1 max(1, 0, -4, 3, -3.5) = 3
    assert torch.equal(out, torch.tensor([[2.0, 3.0], [4.5, 3.0]]))


def test_pacgan_s_discriminator_shape_with_maxout_and_packing():
    config = TrainConfig().replace(d_hidden=200, d_depth=3, d_activation="maxout", pack=4)
    gan = GAN(config)
    shapes = [(m.in_features, m.out_features) for m in gan.D.modules() if isinstance(m, nn.Linear)]
    assert shapes == [(8, 1000), (200, 1000), (200, 1000), (200, 1)]
    # PacGAN's D: 403,201 + 2,000 m weights (protocols: pacgan_task.py l.61-90)
    assert sum(p.numel() for p in gan.D.parameters()) == 403_201 + 2_000 * 4
    assert gan.advance() is None


# ---- initialisation ------------------------------------------------------------------------------------------------
def _wide(init: str, seed: int = 0) -> nn.Sequential:
    return build_generator(2, 2, Layers(400, 2, "relu"), seed, init)


def test_normal_init_draws_weights_of_std_0_02_and_zero_biases():
    G = _wide("normal")
    square = G[2].weight  # the 400 x 400 layer
    assert abs(square.std().item() - 0.02) < 0.05 * 0.02 and abs(square.mean().item()) < 1e-3
    assert all(torch.count_nonzero(m.bias) == 0 for m in G if isinstance(m, nn.Linear))


def test_orthogonal_init_gives_w_w_transpose_1_4_squared_times_identity():
    G = _wide("orthogonal")
    w = G[2].weight.detach()
    torch.testing.assert_close(w @ w.T, 1.4**2 * torch.eye(400), rtol=0, atol=1e-4)
    assert all(torch.count_nonzero(m.bias) == 0 for m in G if isinstance(m, nn.Linear))


@pytest.mark.parametrize("init", ["normal", "orthogonal"])
def test_an_initialisation_is_seeded_and_reaches_both_players(init):
    assert equal(weights(_wide(init, 3)), weights(_wide(init, 3)))
    assert not equal(weights(_wide(init, 3)), weights(_wide(init, 4)))
    gan = GAN(SMALL.replace(init=init, spectral_norm=True))
    linears = [m for m in [*gan.G, *gan.D.modules()] if isinstance(m, nn.Linear)]
    assert all(torch.count_nonzero(m.bias) == 0 for m in linears)  # PyTorch's default biases are not 0
    # a fresh G alone (a live change of G's shape) is the run's G
    alone = build_generator(2, SMALL.latent_dim, SMALL.g_layers, SMALL.seed, init)
    assert equal(weights(alone), weights(gan.G))
    assert effects({"init": init}) == {"init": "rebuild"}


# ---- simultaneous updates ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("loss", ["nonsaturating", "minimax", "lsgan"])
def test_a_simultaneous_step_is_both_gradients_at_the_same_weights_then_both_steps(loss):
    config = SMALL.replace(simultaneous=True, optimizer="sgd", lr_g=0.05, lr_d=0.02, loss=loss)
    gan = GAN(config)
    G, D, rng = copy.deepcopy(gan.G), copy.deepcopy(gan.D), copy.deepcopy(gan.rng)
    n = config.batch_size
    real = gan.mixture.sample(n, rng)
    fake = G(torch.randn(n, config.latent_dim, generator=rng))
    out_real, out_fake = D(torch.cat([real, fake])).split(n)
    grads_d = torch.autograd.grad(LOSSES[loss].d(out_real, out_fake, 0.0), list(D.parameters()), retain_graph=True)
    grads_g = torch.autograd.grad(LOSSES[loss].g(out_fake), list(G.parameters()))
    assert gan.advance() is None
    assert (gan.d_steps, gan.g_steps, gan.iteration) == (1, 1, 1)
    for net, grads, lr, stepped in ((D, grads_d, 0.02, gan.D), (G, grads_g, 0.05, gan.G)):
        for p, g, new in zip(net.parameters(), grads, stepped.parameters(), strict=True):
            torch.testing.assert_close(new, p - lr * g, rtol=1e-6, atol=1e-7)
    # Algorithm 1 steps G against the new D: another G
    alternating = GAN(config.replace(simultaneous=False))
    alternating.advance()
    assert not equal(weights(alternating.G), weights(gan.G)) and equal(weights(alternating.D), weights(gan.D))


@pytest.mark.parametrize(
    "change, other",
    [(dict(k=2), "k"), (dict(g_steps=3), "g_steps"), (dict(unrolled=1), "unrolled")],
)
def test_simultaneous_refuses_what_it_cannot_combine_with(change, other):
    with pytest.raises(ConfigError) as error:
        SMALL.replace(simultaneous=True, **change)
    assert error.value.field == "simultaneous" and other.replace("_", " ") in error.value.message
    with pytest.raises(ConfigError):  # either order
        SMALL.replace(simultaneous=True).replace(**change)


def test_simultaneous_combines_with_the_other_remedies_and_the_step_buttons():
    config = SMALL.replace(
        simultaneous=True,
        loss="wgan-gp",
        historical_averaging=0.1,
        feature_matching=0.3,
        pack=2,
        minibatch_discrimination=True,
        spectral_norm=True,
        g_norm="batch",
        train_set=500,
    )
    gan = GAN(config)
    for _ in range(3):
        assert gan.advance() is None
    assert (gan.iteration, gan.d_steps, gan.g_steps) == (3, 3, 3)
    gan.advance("d")  # a step button still updates one player alone
    assert (gan.iteration, gan.d_steps, gan.g_steps) == (3, 4, 3)
    gan.advance("g")
    assert (gan.iteration, gan.d_steps, gan.g_steps) == (3, 4, 4)
    assert effects({"simultaneous": True}) == {"simultaneous": "live"}


# ---- a finite training set ---------------------------------------------------------------------------------------
def test_every_real_batch_comes_from_the_training_set_and_the_set_from_the_seed():
    config = SMALL.replace(train_set=50)
    gan = GAN(config)
    assert isinstance(gan.data, TrainingSet) and gan.data.points.shape == (50, 2)
    drawn: list[torch.Tensor] = []
    source = gan.data

    def sample(n, generator):
        drawn.append(source.sample(n, generator))
        return drawn[-1]

    gan.data = types.SimpleNamespace(sample=sample)  # type: ignore[assignment]
    for _ in range(5):
        gan.advance()
    batches = torch.cat(drawn)
    assert len(batches) == 5 * config.batch_size
    assert (batches[:, None] == source.points[None]).all(-1).any(1).all()  # every point is one of the 50
    assert len(torch.unique(batches, dim=0)) <= 50
    # the same seed, the same set and batches; another seed, another set
    twin, triplet = GAN(config), GAN(config)
    assert torch.equal(twin.data.points, source.points)
    assert torch.equal(twin.data.sample(9, twin.rng), triplet.data.sample(9, triplet.rng))
    assert not torch.equal(GAN(config.replace(seed=1)).data.points, source.points)
    # the set has a stream of its own: the training stream starts where a run without one starts
    assert torch.equal(GAN(config).rng.get_state(), GAN(SMALL).rng.get_state())
    assert torch.equal(training_data(gan.mixture, 50, config.seed).points, source.points)


def test_a_live_change_of_the_training_set_keeps_both_players(no_thread_leak):
    with Runner(SMALL, threads=1) as runner:
        runner.advance(3, wait=True)
        g_before, d_before = weights(runner._gan.G), weights(runner._gan.D)
        assert runner.update(train_set=100) == {"train_set": "data"}
        assert runner.wait_parked(30)
        gan = runner._gan
        assert equal(g_before, weights(gan.G)) and equal(d_before, weights(gan.D))
        assert torch.equal(gan.data.points, training_data(gan.mixture, 100, SMALL.seed).points)
        runner.advance(2, wait=True)
        assert runner.snapshot().iteration == 5


# ---- cost, sweep ---------------------------------------------------------------------------------------------------
def test_the_cost_model_counts_maxout_batch_norm_and_the_training_set():
    base = TrainConfig()
    maxout = base.replace(d_activation="maxout")
    assert footprint(maxout)["D's surface"][0] == 5 * footprint(base)["D's surface"][0]
    assert step_cost(maxout) == 256 * (128**2 * 3 + 5 * 128**2 * 3) // 2 * 2
    assert step_cost(base.replace(g_norm="batch")) == step_cost(base) + 256 * NORM_COST * 128 * 3 // 2 * 2
    assert (
        footprint(base.replace(g_norm="batch"))["one training iteration"][0]
        > footprint(base)["one training iteration"][0]
    )
    held = base.replace(train_set=1_000_000)
    assert footprint(held)["the training set"] == (8e6, ("train_set",))
    for phase, (size, _) in footprint(base).items():
        assert footprint(held)[phase][0] == size + 8e6
    assert "the training set" not in footprint(base)


def test_the_batched_sweep_takes_maxout_an_init_and_a_training_set_and_refuses_the_rest():
    config = SMALL.replace(d_activation="maxout", init="normal", train_set=200, seed=2)
    assert unbatchable(config) is None
    sweep = Sweep(config, 2)
    singles = [GAN(config.replace(seed=s)) for s in sweep.seeds]
    for _ in range(3):
        sweep.train_iteration()
        for gan in singles:
            gan.train_iteration()
    for i, gan in enumerate(singles):
        linears = [m for m in gan.D.modules() if isinstance(m, nn.Linear)]
        for w, layer in zip(sweep.D.weights, linears, strict=True):
            torch.testing.assert_close(w[i].T, layer.weight, rtol=0, atol=1e-6)
    for change, name in ((dict(g_norm="batch"), "g_norm"), (dict(simultaneous=True), "simultaneous")):
        refusal = unbatchable(SMALL.replace(**change))
        assert isinstance(refusal, ConfigError) and refusal.field == name
        with pytest.raises(ConfigError):
            Sweep(SMALL.replace(**change), 2)


# ---- flags, links, widgets -----------------------------------------------------------------------------------------
NEW = dict(g_norm="batch", d_activation="maxout", init="orthogonal", simultaneous=True, train_set=100_000)


def test_the_settings_have_flags_and_survive_a_link(capsys):
    parser = build_parser()
    argv = ["train", "--g-norm", "batch", "--d-activation", "maxout", "--init", "orthogonal", "--simultaneous"]
    config = _config(parser.train, parser.parse_args([*argv, "--train-set", "100000"]), FIELDS)
    assert config == TrainConfig().replace(**NEW)
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "--help"])
    help_text = capsys.readouterr().out
    assert all(flag in help_text for flag in ("--g-norm", "--init", "--simultaneous", "--train-set N"))
    back, notes = read_url(url_params(config))
    assert back == config and notes == []


@pytest.mark.parametrize(
    "args, named",
    [
        (["--g-norm", "layer"], "--g-norm"),
        (["--init", "xavier"], "--init"),
        (["--train-set", "-1"], "--train-set"),
        (["--train-set", "2000000"], "--train-set"),
        (["--d-activation", "maxpool"], "--d-activation"),
        (["--simultaneous", "--k", "2"], "--simultaneous"),
    ],
)
def test_a_bad_value_exits_2_with_one_line_naming_the_flag(args, named, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["train", *args])
    out, err = capsys.readouterr()
    assert exit_.value.code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert f"argument {named}:" in err, err


@pytest.mark.parametrize(
    "kind, key, value, field",
    [
        ("radio", "w_g_norm", "batch", "g_norm"),
        ("selectbox", "w_d_activation", "maxout", "d_activation"),
        ("radio", "w_init", "normal", "init"),
        ("toggle", "w_simultaneous", True, "simultaneous"),
        ("select_slider", "w_train_set", 100_000, "train_set"),
    ],
)
def test_a_sidebar_widget_changes_the_setting(app, kind, key, value, field):
    app.run()
    getattr(app, kind)(key=key).set_value(value).run()
    assert not app.exception
    assert getattr(runner_of(app).config, field) == value


def test_with_simultaneous_on_k_and_g_steps_are_disabled_and_the_step_button_says_so(app):
    app.run()
    app.toggle(key="w_simultaneous").set_value(True).run()
    assert runner_of(app).config.simultaneous
    assert app.slider(key="w_k").disabled and app.slider(key="w_g_steps").disabled
    assert app.button(key="step_iteration").label == "D + G"
