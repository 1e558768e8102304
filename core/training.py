"""One run's torch state and Algorithm 1 of Goodfellow et al. (2014), generalised as in GAN Lab: k updates of
D, then g_steps updates of G (the paper's g_steps is 1).

for each iteration:
    repeat k times:       sample m noise z and m data x; ascend  1/m sum [log D(x) + log(1 - D(G(z)))]  in D's weights
    repeat g_steps times: sample m noise z; descend  1/m sum log(1 - D(G(z)))  in G's weights
    (or the chosen loss's pair)

or, with `simultaneous`, the ALI / PacGAN / VEEGAN code's update: one batch, both players' gradients taken at
the same weights, then both steps (`GAN.simultaneous_step`). The data x come from p_data, or from a finite
training set drawn from it once (`train_set`, core.data.TrainingSet).

With g_ema = beta > 0 the run also keeps an exponential moving average of G's weights (Yazici et al. 2019, "The
Unusual Effectiveness of Averaging in GAN Training", eq. 2): avg <- beta avg + (1 - beta) theta_G after each
update of G (torch.optim.swa_utils.AveragedModel, batch norm's running statistics averaged alike). Training
never reads it; the samples shown and every metric come from it (`GAN.shown_G`).

Only what the loop needs lives here; views and metrics read a GAN, they never step it.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.func import functional_call
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from .config import TrainConfig
from .data import Mixture, mixture_for, training_data
from .losses import LOSSES, Loss, clip_weights_, gradient_penalty
from .models import LATENTS, build_discriminator, build_generator, build_players, frozen, inference
from .remedies import HistoricalAverage, feature_matching, unrolled_parameters

# Divergence bounds. A run has diverged when a loss or G's gradient norm is NaN/Inf or beyond its bound, or
# (checked where a weight check is due: GAN.finite(weights=True)) a weight is. A run past these numbers has
# exploded even while every value is still finite: Adam at lr 100 ran on with loss_d 7e27 and JSD = log 2.
# Why these numbers, measured here over 500 iterations of every preset (tests/test_divergence.py checks 300):
# - LOSS_BOUND: the presets peak at |loss| 26 (remedy-feature-matching), 4e4 times below. The largest loss
#   a setting within its range gives a sane run is WGAN-GP's penalty at lambda = 1000 (the setting's top):
#   lambda (|grad D| - 1)^2 ~ 900 while D is new, 1e3 times below. A log-loss reaches about |D's logit|, so
#   1e6 is a discriminator output a million from its decision level.
# - GRAD_BOUND: |grad_theta G| peaks at 194 (remedy-feature-matching; 172 strong-discriminator), 5e3 below;
#   switching minimax-saturates to the non-saturating loss takes it from ~1 to ~100.
# - WEIGHT_BOUND: the presets' weights stay under 2.1 in absolute value (5e3 below). Adam moves a weight by
#   about lr per step, so at the sidebar's learning rates (<= 0.1) reaching 1e4 takes 1e5 steps.
# The explosions of issue 14 cross them within a few iterations: Adam at lr 10 gives |loss_d| 7.6e8 at its
# second iteration, lr 1000 gives 7e16; WGAN with clip 1 at lr 1000, 1e22; WGAN-GP with lambda 1000 at
# lr 1000, |grad G| = inf at the second iteration.
LOSS_BOUND = 1e6
GRAD_BOUND = 1e6
WEIGHT_BOUND = 1e4


def make_optimizer(name: str, params, lr: float, betas: tuple[float, float]) -> torch.optim.Optimizer:
    # fused Adam: one kernel for all parameters instead of a loop of small ones (measured in benchmarks/)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=betas, fused=True)
    return torch.optim.SGD(params, lr=lr)


def divergence_text(iteration: int, problem: str, config: TrainConfig) -> str:
    """What the runner and the CLI say of a run that diverged (`GAN.finite`'s problem) and what to lower."""
    return (
        f"diverged at iteration {iteration}: {problem}; lower the learning rates "
        f"(lr_g {config.lr_g:g}, lr_d {config.lr_d:g})"
    )


class GAN:
    """G, D, their optimizers and the random stream of one run. Not thread-safe: one owner steps it."""

    def __init__(self, config: TrainConfig):
        self.config = config
        self.mixture = mixture_for(config)
        self.G, self.D = build_players(
            self.mixture.dim,
            config.latent_dim,
            config.g_layers,
            config.d_layers,
            config.spectral_norm,
            config.seed,
            **_d_shape(config),
            init=config.init,
        )
        self.data = training_data(self.mixture, config.train_set, config.seed)  # what real batches come from
        self.rng = torch.Generator().manual_seed(config.seed)
        self._make_optimizers()
        self.average_g, self.average_d = HistoricalAverage(), HistoricalAverage()
        self.g_average = self._new_g_average()
        self.iteration = self.d_steps = self.g_steps = 0  # taken so far (config.k, config.g_steps: per iteration)
        self.last: dict[str, float] = dict(
            loss_d=math.nan, loss_g=math.nan, d_real=math.nan, d_fake=math.nan, grad_norm_g=math.nan
        )

    def _make_optimizers(self):
        c = self.config
        self.opt_g = make_optimizer(c.optimizer, self.G.parameters(), c.lr_g, (c.beta1, c.beta2))
        self.opt_d = make_optimizer(c.optimizer, self.D.parameters(), c.lr_d, (c.beta1, c.beta2))

    def _new_g_average(self) -> AveragedModel | None:
        """G's exponential moving average from G's weights now, or None when g_ema is 0 (module docstring)."""
        if not self.config.g_ema:
            return None
        average = AveragedModel(self.G, multi_avg_fn=get_ema_multi_avg_fn(self.config.g_ema), use_buffers=True)
        average.update_parameters(self.G)  # the first update copies: the average starts at G as it is
        return average

    @property
    def shown_G(self) -> nn.Module:
        """The G whose samples are drawn and measured: G's weight average when g_ema is on, else G itself."""
        return self.g_average.module if self.g_average is not None else self.G

    @property
    def loss(self) -> Loss:
        return LOSSES[self.config.loss]

    def set_live(self, config: TrainConfig) -> None:
        """Apply settings that keep the networks (loss, k, smoothing, learning rates, betas, batch…)."""
        old, self.config = self.config, config
        if config.optimizer != old.optimizer:
            self._make_optimizers()
        for opt, lr in ((self.opt_g, config.lr_g), (self.opt_d, config.lr_d)):
            for group in opt.param_groups:
                group["lr"] = lr
                if "betas" in group:
                    group["betas"] = (config.beta1, config.beta2)
        if not config.historical_averaging:  # switched on again later, the average starts afresh
            self.average_g, self.average_d = HistoricalAverage(), HistoricalAverage()
        if not config.g_ema or self.g_average is None:  # off, or on from G as it is now
            self.g_average = self._new_g_average()
        elif config.g_ema != old.g_ema:  # a new beta goes on from the average so far
            self.g_average.multi_avg_fn = get_ema_multi_avg_fn(config.g_ema)

    def replace_generator(self, config: TrainConfig) -> None:
        """A fresh G for a new G shape (its width, depth, activation, batch norm), with a fresh optimizer and
        historical average; D, its optimizer's moments and the counters stay."""
        self.set_live(config)
        self.G = build_generator(self.mixture.dim, config.latent_dim, config.g_layers, config.seed, config.init)
        self.opt_g = make_optimizer(config.optimizer, self.G.parameters(), config.lr_g, (config.beta1, config.beta2))
        self.average_g = HistoricalAverage()
        self.g_average = self._new_g_average()

    def replace_discriminator(self, config: TrainConfig) -> None:
        """A fresh D for a new D shape (its width, depth, activation, packing, minibatch layer, spectral norm),
        with a fresh optimizer and historical average; G, its optimizer's moments and the counters stay."""
        self.set_live(config)
        self.D = build_discriminator(
            self.mixture.dim, config.d_layers, config.spectral_norm, config.seed, **_d_shape(config), init=config.init
        )
        self.opt_d = make_optimizer(config.optimizer, self.D.parameters(), config.lr_d, (config.beta1, config.beta2))
        self.average_d = HistoricalAverage()

    def replace_data(self, mixture: Mixture) -> None:
        """A new p_data of the same dimension (another data set, a mode added), built from the config that
        set_live, replace_generator or replace_discriminator took: G, D, their optimizers and the counters stay,
        and the next minibatch of data comes from it (from a training set drawn from it afresh with `train_set`)."""
        self.mixture = mixture
        self.data = training_data(mixture, self.config.train_set, self.config.seed)

    def latent(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return LATENTS[self.config.latent](n, self.config.latent_dim, generator or self.rng)

    def judge(self, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """D's raw outputs on real and generated samples (equal counts), in training-sized batches when D
        compares samples within a batch (packs of m, minibatch features)."""
        if not self.D.batch_aware:
            out = self.D(torch.cat([real, fake]))
            return out[: len(real)], out[len(real) :]
        per = self.config.batch_size * self.D.pack
        chunks = max(1, len(real) // per)
        n = min(len(real), chunks * per)
        return self.D(torch.cat([real[:n], fake[:n]]), groups=2 * chunks).chunk(2)

    def fake(self, z: torch.Tensor) -> torch.Tensor:
        """G's samples for a training batch of noise z (batch_size x pack rows), G in training mode.

        With batch norm and packing, PacGAN calls G once per pack slot, on its own batch of z (pacgan_task.py
        l.105-108, bricks.py l.62-67), so each slot's samples are normalised by their own statistics over
        batch_size samples; so do we: slot j of every pack comes from G's j-th call on the j-th batch_size rows
        of z. (One difference: PacGAN averages the m slots' statistics before one update of the running averages,
        l.129-147; here each call updates them, m updates of momentum 0.05 a step.) Without either, one call."""
        m = self.config.pack
        if m == 1 or self.config.g_norm == "none":
            return self.G(z)
        return torch.stack([self.G(slot) for slot in z.unflatten(0, (m, -1))], 1).flatten(0, 1)

    def d_step(self) -> None:
        """One ascent step of D on a fresh minibatch of data and of G's samples (batch_size packs of m)."""
        c = self.config
        n = c.batch_size * c.pack
        real = self.data.sample(n, self.rng)
        with torch.no_grad():
            fake = self.fake(self.latent(n))
        out_real, out_fake = self.D(torch.cat([real, fake]), groups=2).chunk(2)  # one forward, two batches
        loss_d = self._d_loss(real, fake, out_real, out_fake)
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()
        self._d_stepped(loss_d, out_real, out_fake)

    def _d_loss(
        self, real: torch.Tensor, fake: torch.Tensor, out_real: torch.Tensor, out_fake: torch.Tensor
    ) -> torch.Tensor:
        """D's minimised loss on D's outputs on real and generated samples, with its gradient penalty and its
        historical average when they are on."""
        c, loss = self.config, self.loss
        loss_d = loss.d(out_real, out_fake, c.label_smoothing)
        if loss.gradient_penalty:
            loss_d = loss_d + c.gp_lambda * gradient_penalty(self.D, real, fake, self.rng)
        if c.historical_averaging:
            loss_d = loss_d + c.historical_averaging * self.average_d.penalty(list(self.D.parameters()))
        return loss_d

    def _d_stepped(self, loss_d: torch.Tensor, out_real: torch.Tensor, out_fake: torch.Tensor) -> None:
        """After D's optimizer step: weight clipping, the historical average, the counter and the numbers shown."""
        c, loss = self.config, self.loss
        if loss.clip_weights:
            clip_weights_(self.D, c.clip)
        if c.historical_averaging:
            self.average_d.update(list(self.D.parameters()))
        self.d_steps += 1
        with torch.no_grad():
            self.last["loss_d"] = loss_d.item()
            self.last["d_real"] = loss.output(out_real).mean().item()
            self.last["d_fake"] = loss.output(out_fake).mean().item()

    def g_step(self) -> None:
        """One descent step of G; D's weights and buffers are not touched (unrolling works on copies)."""
        c = self.config
        n = c.batch_size * c.pack
        z = self.latent(n)
        real = self.data.sample(n, self.rng) if c.feature_matching or c.unrolled else None
        with frozen(self.D):
            loss_g = self._g_loss(self.fake(z), real)
            self.opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
        self._record_grad_norm_g()
        self.opt_g.step()
        self._g_stepped(loss_g)

    def _record_grad_norm_g(self) -> None:
        """||grad_theta_G|| of the step about to be taken (G's gradients in place)."""
        grads = [p.grad for p in self.G.parameters() if p.grad is not None]
        self.last["grad_norm_g"] = torch.nn.utils.get_total_norm(grads).item()

    def _g_loss(
        self, fake: torch.Tensor, real: torch.Tensor | None, judged: torch.Tensor | None = None
    ) -> torch.Tensor:
        """G's minimised loss on its samples `fake`, with D frozen: the adversarial term (against D unrolled
        when `unrolled`; on `judged`, D's outputs on fake, when they were computed already), feature matching
        against `real`'s features, and G's historical average."""
        c = self.config
        w = c.feature_matching
        loss_g: torch.Tensor | float = 0.0
        if w < 1:
            if c.unrolled:
                assert real is not None  # drawn for unrolling
                adversarial = self._unrolled_g_loss(real, fake)
            else:
                adversarial = self.loss.g(self.D(fake) if judged is None else judged)
            loss_g = adversarial if w == 0 else (1 - w) * adversarial
        if w > 0:
            assert real is not None  # drawn for feature matching
            loss_g = loss_g + w * feature_matching(self.D.features(real), self.D.features(fake))
        if c.historical_averaging:
            loss_g = loss_g + c.historical_averaging * self.average_g.penalty(list(self.G.parameters()))
        assert isinstance(loss_g, torch.Tensor)  # w in [0, 1]: at least one of the two terms above
        return loss_g

    def _g_stepped(self, loss_g: torch.Tensor) -> None:
        """After G's optimizer step: the historical average, G's weight average, the counter and the loss shown."""
        if self.config.historical_averaging:
            self.average_g.update(list(self.G.parameters()))
        if self.g_average is not None:
            self.g_average.update_parameters(self.G)
        self.g_steps += 1
        self.last["loss_g"] = loss_g.item()

    def simultaneous_step(self) -> None:
        """G and D updated at once from one batch, both gradients taken at the same weights, then both steps: the
        ALI / PacGAN code's `ali_algorithm` (ALI ali/algorithms.py l.28-43: one GradientDescent over both players'
        gradients of one graph, bricks.py l.69-72) and VEEGAN's one `sess.run` of both train ops. One forward
        pass of D on the real and generated batch gives both losses, D's on those outputs and G's on the same
        outputs for its samples; each loss is backpropagated into its own player's weights only
        (`backward(inputs=...)`), so D's step never sees G's gradient nor G's D's, and only then do both
        optimizers step. Needs k = 1, g_steps = 1 and no unrolling (core.config.SIMULTANEOUS_NEEDS)."""
        c = self.config
        n = c.batch_size * c.pack
        real = self.data.sample(n, self.rng)  # the draws in d_step's order: data, noise (then the penalty's t)
        fake = self.fake(self.latent(n))  # with G's graph: G's loss goes through these samples
        out_real, out_fake = self.D(torch.cat([real, fake]), groups=2).chunk(2)
        loss_d = self._d_loss(real, fake.detach(), out_real, out_fake)
        needs_real = c.feature_matching > 0
        with frozen(self.D):  # feature matching's extra passes move no spectral-norm vector
            loss_g = self._g_loss(fake, real if needs_real else None, judged=out_fake)
        params_d, params_g = list(self.D.parameters()), list(self.G.parameters())
        self.opt_d.zero_grad(set_to_none=True)
        self.opt_g.zero_grad(set_to_none=True)
        loss_d.backward(inputs=params_d, retain_graph=True)
        loss_g.backward(inputs=params_g)
        self._record_grad_norm_g()
        self.opt_d.step()
        self.opt_g.step()
        self._d_stepped(loss_d, out_real.detach(), out_fake.detach())
        self._g_stepped(loss_g)

    def _unrolled_g_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """Metz et al. 2017: G's loss against D_K, D after `unrolled` more updates on this batch of data and
        of G's samples (the samples keep their graph, so the unrolled updates depend on G)."""
        c, loss = self.config, self.loss

        def d_loss(call):
            out_real, out_fake = call(torch.cat([real, fake]), groups=2).chunk(2)
            value = loss.d(out_real, out_fake, c.label_smoothing)
            if loss.gradient_penalty:
                value = value + c.gp_lambda * gradient_penalty(call, real, fake, self.rng)
            return value

        params = unrolled_parameters(
            self.D, d_loss, c.unrolled, self.opt_d, c.lr_d, c.clip if loss.clip_weights else None
        )
        return loss.g(functional_call(self.D, params, (fake,)))

    def train_iteration(self) -> None:
        """Algorithm 1's iteration: k updates of D, then g_steps updates of G; with `simultaneous`, one update of
        both at once."""
        if self.config.simultaneous:
            self.simultaneous_step()
        else:
            for _ in range(self.config.k):
                self.d_step()
            for _ in range(self.config.g_steps):
                self.g_step()
        self.iteration += 1

    def advance(self, unit: str = "iteration", *, check_weights: bool = False) -> str | None:
        """One unit of training ("iteration": k D updates then g_steps G updates, or with `simultaneous` one
        update of both at once; "d" or "g": one update of that player alone, against the other as it stands,
        in simultaneous mode too: the step buttons take the players' updates apart), then `finite`: None while
        the run is sane, else what went wrong. The one step the runner's thread and the CLI's loop both take."""
        {"iteration": self.train_iteration, "d": self.d_step, "g": self.g_step}[unit]()
        return self.finite(weights=check_weights)

    def generator_grad_norm(self, loss_name: str, z: torch.Tensor) -> float:
        """||grad_theta_G of loss_name's G objective|| at the current weights, on noise z; changes nothing (G in
        eval mode: batch norm's running statistics, which a pass in training mode would move)."""
        with frozen(self.D), inference(self.G):
            value = LOSSES[loss_name].g(self.D(self.G(z)))
            grads = torch.autograd.grad(value, list(self.G.parameters()))
        return torch.nn.utils.get_total_norm(grads).item()

    def finite(self, weights: bool = False) -> str | None:
        """None while the run is sane, else what is not: a loss or G's gradient norm that is NaN/Inf or
        beyond LOSS_BOUND / GRAD_BOUND, and with weights=True a weight beyond WEIGHT_BOUND (or NaN/Inf).
        The losses and the gradient norm are numbers the last step computed anyway (free to check after
        every iteration); the weights cost ~0.1 ms, about 1% of an iteration, so they are checked less often."""
        checks = (
            ("loss_d", self.d_steps, LOSS_BOUND),
            ("loss_g", self.g_steps, LOSS_BOUND),
            ("grad_norm_g", self.g_steps, GRAD_BOUND),
        )
        for name, taken, bound in checks:
            value = self.last[name]
            if taken and not abs(value) <= bound:  # NaN until that player's first step; NaN fails every <=
                return f"{name} = {value}" if not math.isfinite(value) else f"|{name}| = {abs(value):.3g} > {bound:g}"
        for player, net in (("G", self.G), ("D", self.D)) if weights else ():
            for pname, p in net.named_parameters():
                top = p.detach().abs().max().item()
                if not math.isfinite(top):
                    return f"{player}'s weight {pname} holds NaN/Inf"
                if top > WEIGHT_BOUND:
                    return f"{player}'s weight {pname} reaches |w| = {top:.3g} > {WEIGHT_BOUND:g}"
        return None

    def state(self) -> dict:
        """Everything needed to come back to this point (weights, optimizer moments, random stream, counters)."""
        return dict(
            G=_clone(self.G.state_dict()),
            D=_clone(self.D.state_dict()),
            opt_g=_clone(self.opt_g.state_dict()),
            opt_d=_clone(self.opt_d.state_dict()),
            rng=self.rng.get_state(),
            counters=(self.iteration, self.d_steps, self.g_steps),
            last=dict(self.last),
            averages=(self.average_g.state(), self.average_d.state()),
            g_average=None if self.g_average is None else _clone(self.g_average.state_dict()),
        )

    def load_state(self, state: dict) -> None:
        self.G.load_state_dict(state["G"])
        self.D.load_state_dict(state["D"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.set_live(self.config)  # the checkpoint's param groups hold the old learning rates
        self.rng.set_state(state["rng"])
        self.iteration, self.d_steps, self.g_steps = state["counters"]
        self.last = dict(state["last"])
        self.average_g.load_state(state["averages"][0])
        self.average_d.load_state(state["averages"][1])
        if self.g_average is not None and state["g_average"] is not None:
            self.g_average.load_state_dict(state["g_average"])
        else:  # the state was taken with g_ema off: the average starts at the loaded G
            self.g_average = self._new_g_average()


def _d_shape(config: TrainConfig) -> dict:
    return dict(pack=config.pack, minibatch=config.minibatch_kind if config.minibatch_discrimination else None)


def _clone(obj):
    if isinstance(obj, torch.Tensor):
        return obj.detach().clone()
    if isinstance(obj, dict):
        return {k: _clone(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_clone(v) for v in obj]
    return obj
