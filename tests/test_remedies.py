"""Each remedy against a hand-computed value on tiny tensors or an autograd/optimizer reference, its
wiring into the training step, and its survival of live toggling on a running runner."""

import math

import numpy as np
import pytest
import torch
from torch.func import functional_call

from core.config import ConfigError, TrainConfig, discriminator_fields
from core.metrics import generator_metrics
from core.models import frozen, pack, pack_at, view_draws
from core.presets import PRESETS
from core.remedies import (
    REMEDIES,
    HistoricalAverage,
    MinibatchKernel,
    MinibatchStddev,
    feature_matching,
    unrolled_parameters,
)
from core.runner import RUNNING, Runner
from core.snapshot import Probe, picture
from core.sweep import Sweep, run_sweep
from core.training import GAN

SMALL = TrainConfig().replace(
    hidden=16, depth=2, batch_size=32, latent_dim=4, eval_samples=200, samples_shown=100, grid_size=20
)


def state(net):
    return {k: v.clone() for k, v in net.state_dict().items()}


def same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# ---- feature matching ----------------------------------------------------------------------------------
def test_feature_matching_by_hand():
    real = torch.tensor([[1.0, 2.0], [3.0, 4.0]])  # mean (2, 3)
    fake = torch.tensor([[0.0, 0.0], [2.0, 2.0]])  # mean (1, 1)
    assert feature_matching(real, fake).item() == pytest.approx(1.0**2 + 2.0**2)
    assert feature_matching(real, real).item() == 0.0


@pytest.mark.parametrize("weight", [1.0, 0.25])
def test_generator_step_uses_the_feature_matching_mix(weight):
    gan = GAN(SMALL.replace(feature_matching=weight))
    gan.train_iteration()
    rng = gan.rng.get_state()
    z, real = gan.latent(32), gan.mixture.sample(32, gan.rng)  # the draws the next G step makes
    with torch.no_grad():
        fake = gan.G(z)
        expected = weight * feature_matching(gan.D.features(real), gan.D.features(fake))
        expected += (1 - weight) * gan.loss.g(gan.D(fake))
    gan.rng.set_state(rng)
    gan.g_step()
    assert gan.last["loss_g"] == pytest.approx(expected.item(), rel=1e-5)


# ---- minibatch discrimination --------------------------------------------------------------------------
def test_minibatch_kernel_by_hand():
    layer = MinibatchKernel(1, kernels=1, kernel_dim=1)
    with torch.no_grad():
        layer.T.fill_(1.0)
    h = torch.tensor([[0.0], [2.0]])
    # c(x_1, x_2) = exp(-|0 - 2|); each sample also meets itself: exp(0) = 1
    expected = torch.tensor([[0.0, 1 + math.exp(-2)], [2.0, 1 + math.exp(-2)]])
    assert torch.allclose(layer(h), expected)
    with torch.no_grad():  # the views' path (cdist) gives the same numbers as the training path
        assert torch.allclose(layer(h), expected)
        assert torch.allclose(layer(torch.tensor([[1.0]]), reference=h), torch.tensor([[1.0, 2 * math.exp(-1)]]))


def test_minibatch_features_of_identical_vs_distinct_samples():
    torch.manual_seed(0)
    kernel, stddev = MinibatchKernel(8, kernels=5, kernel_dim=3), MinibatchStddev(8)
    identical = torch.randn(1, 8).repeat(16, 1)
    assert torch.allclose(kernel(identical)[:, 8:], torch.full((16, 5), 16.0))  # o = batch size in every kernel
    assert torch.allclose(stddev(identical)[:, 8], torch.full((16,), 1e-4))  # sqrt(0 + 1e-8)
    identical.requires_grad_(True)
    (grad,) = torch.autograd.grad(stddev(identical).sum(), identical)
    assert torch.isfinite(grad).all()  # no 0/0 where the batch does not vary (a dead ReLU unit)
    distinct = torch.arange(16.0)[:, None] * 100 * torch.ones(1, 8)  # far apart: each sample only meets itself
    assert torch.allclose(kernel(distinct)[:, 8:], torch.ones(16, 5), atol=1e-6)
    h = torch.tensor([[0.0, 0.0], [2.0, 4.0]])  # population std per feature (1, 2): mean 1.5
    assert torch.allclose(MinibatchStddev(2)(h)[:, 2], torch.tensor([1.5, 1.5]), atol=1e-6)


def test_minibatch_features_never_mix_real_and_generated_batches():
    gan = GAN(SMALL.replace(minibatch_discrimination=True))
    real, fake = gan.mixture.sample(32, gan.rng), gan.G(gan.latent(32)).detach()
    together = gan.D(torch.cat([real, fake]), groups=2)
    assert torch.allclose(together, torch.cat([gan.D(real), gan.D(fake)]), atol=1e-6)


# ---- historical averaging ------------------------------------------------------------------------------
def test_historical_average_by_hand():
    average, theta = HistoricalAverage(), torch.tensor([1.0, 2.0], requires_grad=True)
    assert average.penalty([theta]).item() == 0.0  # no past yet
    average.update([theta])
    theta2 = torch.tensor([3.0, 4.0], requires_grad=True)
    assert average.penalty([theta2]).item() == pytest.approx(2.0**2 + 2.0**2)
    average.update([theta2])  # mean of (1, 2) and (3, 4) is (2, 3)
    assert torch.equal(average.mean[0], torch.tensor([2.0, 3.0]))
    (grad,) = torch.autograd.grad(average.penalty([theta2]), theta2)
    assert torch.equal(grad, 2 * (theta2 - torch.tensor([2.0, 3.0])))  # d/dtheta ||theta - mean||^2


def test_historical_averaging_is_added_to_both_players_losses():
    gan = GAN(SMALL.replace(historical_averaging=1.0))
    for _ in range(3):
        gan.train_iteration()
    assert gan.average_d.count == 3 and gan.average_g.count == 3  # one update per step of each player
    rng, n = gan.rng.get_state(), SMALL.batch_size
    real = gan.mixture.sample(n, gan.rng)
    with torch.no_grad():
        fake = gan.G(gan.latent(n))
        out_real, out_fake = gan.D(torch.cat([real, fake])).chunk(2)
        adversarial = gan.loss.d(out_real, out_fake, 0.0).item()
        penalty = gan.average_d.penalty(list(gan.D.parameters())).item()
    gan.rng.set_state(rng)
    gan.d_step()
    assert penalty > 0 and gan.last["loss_d"] == pytest.approx(adversarial + 1.0 * penalty, rel=1e-5)
    gan.set_live(gan.config.replace(historical_averaging=0.0))  # off: the past is forgotten
    assert gan.average_d.count == 0 and gan.average_d.mean is None


# ---- packing -------------------------------------------------------------------------------------------
def test_pack_by_hand():
    x = torch.arange(10.0).reshape(5, 2)
    assert torch.equal(pack(x, 2), torch.tensor([[0.0, 1, 2, 3], [4, 5, 6, 7]]))  # the fifth sample is dropped
    partners = x[3:]  # (6, 7) and (8, 9), the same for every row
    assert torch.equal(pack_at(x[:2], partners, 0), torch.tensor([[0.0, 1, 6, 7, 8, 9], [2, 3, 6, 7, 8, 9]]))
    assert torch.equal(pack_at(x[:2], partners, 1), torch.tensor([[6.0, 7, 0, 1, 8, 9], [6, 7, 2, 3, 8, 9]]))
    assert torch.equal(pack_at(x[:2], partners, 2), torch.tensor([[6.0, 7, 8, 9, 0, 1], [6, 7, 8, 9, 2, 3]]))
    assert [view_draws(m) for m in (1, 2, 3, 4)] == [1, 4, 6, 4]  # every position of the pack equally often


@pytest.mark.parametrize("m", [2, 3, 4])
def test_packing_feeds_d_packs_of_m_real_or_m_generated_samples(m):
    gan = GAN(SMALL.replace(pack=m))
    first = gan.D.body[0]
    assert first.in_features == 2 * m
    seen = []
    first.register_forward_pre_hook(lambda _, args: seen.append(args[0].detach().clone()))
    rng = gan.rng.get_state()
    n = SMALL.batch_size * m  # batch_size packs of m samples
    real = gan.mixture.sample(n, gan.rng)
    with torch.no_grad():
        fake = gan.G(gan.latent(n))
    gan.rng.set_state(rng)
    gan.d_step()
    assert seen[0].shape == (2, SMALL.batch_size, 2 * m)
    assert torch.equal(seen[0][0], pack(real, m)) and torch.equal(seen[0][1], pack(fake, m))


def roughness(surface: np.ndarray) -> float:
    """Mean |second difference| / mean |first difference| between neighbouring cells, along both axes.
    Independent noise in every cell gives sqrt(3) (for noise e: e2 - 2 e1 + e0 has variance 6 var e against
    2 var e for e1 - e0); a smooth function of x gives O(cell width), far below 1."""
    first = np.concatenate([np.abs(np.diff(surface, axis=a)).ravel() for a in (0, 1)])
    second = np.concatenate([np.abs(np.diff(surface, 2, axis=a)).ravel() for a in (0, 1)])
    return float(second.mean() / first.mean())


def test_a_packed_d_is_drawn_as_a_smooth_surface():
    """remedy-packing after 200 iterations. Packing every grid cell with other partners drew speckle: a
    roughness of 1.75-1.80 (white noise: sqrt 3 = 1.73) and thousands of cell edges crossed by D = 1/2;
    the mean over fixed packs is a smooth function of x (0.04-0.13 over seeds 0-2, 200-600 iterations)."""
    gan = GAN(PRESETS["remedy-packing"].config)
    for _ in range(200):
        gan.train_iteration()
    surface = picture(gan, Probe(gan))["surface"]
    assert np.ptp(surface) > 0.3  # D has learnt something to draw
    assert roughness(surface) < 0.5


def test_views_of_a_packed_d_are_what_training_computes():
    """The surface, D(G(z)) and the arrows of a packed D are training's own D and G loss (the packs the
    training step builds, `D.forward`), averaged over x in each position of a pack beside the same
    samples of G."""
    gan = GAN(SMALL.replace(pack=3))
    for _ in range(20):
        gan.train_iteration()
    probe = Probe(gan)
    frame = picture(gan, probe)
    m, draws = 3, view_draws(3)
    with torch.no_grad():
        context = gan.G(probe.z_shown)[: SMALL.batch_size * m]

    def packs(x, j):  # training's packs: consecutive samples; x in position j % m beside context's j-th pair
        partners = context[[(2 * j) % len(context), (2 * j + 1) % len(context)]]
        rows = [torch.cat([partners[: j % m], point[None], partners[j % m :]]) for point in x]
        return torch.cat(rows)  # (n m, 2): D.forward packs every m consecutive samples

    with frozen(gan.D), torch.no_grad():
        grid = probe.grid[:50]
        expected = sum(torch.sigmoid(gan.D(packs(grid, j))).reshape(-1) for j in range(draws)) / draws
        assert np.allclose(frame["surface"].reshape(-1)[:50], expected.numpy(), atol=1e-5)
        samples = torch.from_numpy(np.array(frame["samples"][:50]))
        expected = sum(torch.sigmoid(gan.D(packs(samples, j))).reshape(-1) for j in range(draws)) / draws
        assert np.allclose(frame["d_samples"][:50], expected.numpy(), atol=1e-5)
    x = probe.arrows_at[:30].clone().requires_grad_(True)
    with frozen(gan.D):  # G's loss on each pack; d/dx of the mean over packs, times n: each point's push
        loss = sum(gan.loss.g(gan.D(packs(x, j))) for j in range(draws)) / draws
        (grad,) = torch.autograd.grad(loss * len(x), x)
    assert np.allclose(frame["arrows"][:30], -grad.numpy(), rtol=1e-4, atol=1e-6)


# ---- unrolled GAN --------------------------------------------------------------------------------------
@pytest.mark.parametrize("spectral_norm", [False, True])
def test_unrolling_leaves_d_bit_identical_and_changes_g_gradient(spectral_norm):
    config = SMALL.replace(unrolled=5, spectral_norm=spectral_norm)
    unrolled = GAN(config)
    for _ in range(5):
        unrolled.train_iteration()
    plain = GAN(config.replace(unrolled=0))
    plain.load_state(unrolled.state())
    d_before = state(unrolled.D)
    rng = unrolled.rng.get_state()
    unrolled.g_step()
    assert same(state(unrolled.D), d_before)  # weights and spectral norm's vectors
    plain.rng.set_state(rng)
    plain.g_step()  # the same weights and the same noise, without unrolling
    grads = [torch.cat([p.grad.flatten() for p in gan.G.parameters()]) for gan in (unrolled, plain)]
    assert not torch.allclose(*grads, rtol=1e-3)


def _batch_loss(gan, real, fake):
    def d_loss(call):
        out_real, out_fake = call(torch.cat([real, fake]), groups=2).chunk(2)
        return gan.loss.d(out_real, out_fake, 0.0)

    return d_loss


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_one_unrolled_step_is_the_optimizers_own_step(optimizer):
    """The differentiable update written in remedies.py against torch.optim itself on the same batch."""
    gan = GAN(SMALL.replace(optimizer=optimizer, lr_d=1e-2))
    for _ in range(3):
        gan.train_iteration()  # Adam has moments by now
    real, fake = gan.mixture.sample(32, gan.rng), gan.G(gan.latent(32)).detach()
    with frozen(gan.D):
        ahead = unrolled_parameters(gan.D, _batch_loss(gan, real, fake), 1, gan.opt_d, 1e-2)
    loss = _batch_loss(gan, real, fake)(lambda x, **kw: gan.D(x, **kw))
    gan.opt_d.zero_grad()
    loss.backward()
    gan.opt_d.step()
    for name, p in gan.D.named_parameters():
        assert torch.allclose(ahead[name], p, atol=1e-6), name


def test_unrolled_generator_gradient_matches_finite_differences():
    """d/dtheta_G of G's loss against D_K(theta_G) includes the path through the unrolled updates."""
    gan = GAN(SMALL.replace(optimizer="sgd", lr_d=0.5, unrolled=2))
    gan.G.double(), gan.D.double()
    real = gan.mixture.sample(32, gan.rng).double()
    z = gan.latent(32).double()
    weight = next(gan.G.parameters())

    def g_loss():
        fake = gan.G(z)
        with frozen(gan.D):
            params = unrolled_parameters(gan.D, _batch_loss(gan, real, fake), 2, gan.opt_d, 0.5)
            return gan.loss.g(functional_call(gan.D, params, (fake,)))

    (grad,) = torch.autograd.grad(g_loss(), weight)
    h, (i, j) = 1e-6, (0, 0)
    values = []
    for shift in (h, -2 * h):
        with torch.no_grad():
            weight[i, j] += shift
        values.append(g_loss().item())
    up, down = values
    assert grad[i, j].item() == pytest.approx((up - down) / (2 * h), rel=1e-4, abs=1e-9)


# ---- every remedy live, on a running runner ------------------------------------------------------------
LIVE_TOGGLES = [
    dict(feature_matching=1.0),
    dict(minibatch_discrimination=True),
    dict(minibatch_discrimination=True, minibatch_kind="stddev"),
    dict(historical_averaging=0.5),
    dict(unrolled=3),
    dict(pack=3),
    dict(g_ema=0.99),
    dict(spectral_norm=True),
]


def test_every_remedy_survives_live_toggling_on_a_running_runner(no_thread_leak):
    with Runner(SMALL, threads=1, publish_interval=0.02) as runner:
        runner.start()
        assert runner.wait_until(lambda: runner.snapshot().iteration >= 5, 60)
        for changes in LIVE_TOGGLES:
            for on in (True, False):
                before = runner.snapshot().iteration
                values = changes if on else {k: TrainConfig.__dataclass_fields__[k].default for k in changes}
                changed = runner.update(**values)
                assert "rebuild" not in changed.values()  # no remedy restarts the run
                target = runner.config

                def trained_on(before=before, target=target):  # the change applied, then 3 more iterations
                    snap = runner.snapshot()
                    return snap.config == target and snap.iteration >= before + 3

                assert runner.wait_until(trained_on, 60), (changes, on)
                snap = runner.snapshot()
                assert snap.state == RUNNING and runner.thread.is_alive(), snap.message
                assert snap.surface.shape == (20, 20) and math.isfinite(snap.metrics.d_real)
                new_d = [f for f, effect in changed.items() if effect == "discriminator"]  # packing, the layer, SN
                assert new_d == discriminator_fields(values)
                if new_d:
                    assert f"new discriminator ({new_d[0].replace('_', ' ')} " in snap.message and snap.rebuilds == 0, (
                        snap.message
                    )
        assert "new discriminator (spectral norm off)" in runner.snapshot().message


def test_a_new_discriminator_keeps_g_and_says_so(no_thread_leak):
    with Runner(SMALL, threads=1) as runner:
        before = runner.advance(10, wait=True)
        runner.update(pack=2)
        assert runner.wait_parked(60)
        snap = runner.snapshot()
        # G's samples of the same fixed z are the same: G kept its weights
        assert snap.iteration == 10 and np.array_equal(snap.samples, before.samples) and snap.config.pack == 2
        assert "new discriminator (pack 1 to 2)" in snap.message and "G keeps its weights" in snap.message
        assert runner.advance(2, wait=True).iteration == 12
    gan = GAN(SMALL)
    g_before = state(gan.G)
    gan.replace_discriminator(SMALL.replace(pack=2))
    assert gan.D.body[0].in_features == 4 and same(state(gan.G), g_before)  # D's first layer takes pairs


@pytest.mark.parametrize("changes", LIVE_TOGGLES[:-1])
def test_views_of_a_remedied_run(changes):
    gan = GAN(SMALL.replace(**changes))
    gan.train_iteration()
    frame = picture(gan, Probe(gan))
    assert frame["surface"].shape == (20, 20) and frame["d_samples"].shape == (100,)
    assert frame["arrows"].shape == frame["arrows_at"].shape and all(
        np.isfinite(frame[k]).all() for k in ("surface", "d_samples", "arrows")
    )


# ---- settings ------------------------------------------------------------------------------------------
def test_remedy_settings_are_validated_and_registered():
    for name, value in (("pack", 5), ("unrolled", 11), ("feature_matching", 1.5), ("historical_averaging", -1)):
        with pytest.raises(ConfigError) as error:
            SMALL.replace(**{name: value})
        assert error.value.field == name
    for remedy in REMEDIES.values():
        assert not remedy.active(TrainConfig(lr_g=5e-4, lr_d=5e-4))
        assert all(s in TrainConfig.__dataclass_fields__ for s in remedy.settings)


def test_a_sweep_trains_remedies_seed_by_seed_as_single_runs():
    with pytest.raises(ConfigError) as error:
        Sweep(SMALL.replace(unrolled=2), 2)  # the batched trainer refuses rather than ignore the remedy
    assert error.value.field == "unrolled"
    config = SMALL.replace(pack=2, feature_matching=0.5, seed=4)
    result = run_sweep(config, 2, steps=4, eval_every=2)
    assert result.seeds == [4, 5] and list(result.curves["iteration"]) == [2, 4]
    for i, seed in enumerate(result.seeds):
        gan = GAN(config.replace(seed=seed))
        for _ in range(4):
            gan.train_iteration()
        probe = Probe(gan)
        metrics, _ = generator_metrics(gan, probe.z_eval, probe.real_eval)
        assert result.curves["jsd"][-1, i] == metrics.jsd and result.curves["d_real"][-1, i] == metrics.d_real
