"""A new p_data while training (issue 16 §3): another data set or one more mode keeps G, D and the iteration
count, and the run goes on against the new data; only a change of dimension builds new players."""

import torch

from core.config import TrainConfig
from core.runner import Runner


def weights(module: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def test_adding_a_mode_keeps_g_and_d_and_the_count(no_thread_leak):
    with Runner(TrainConfig(), threads=1) as runner:
        runner.advance(30, wait=True)
        gan = runner._gan  # the thread is parked: reading its state is safe here
        g_before, d_before = weights(gan.G), weights(gan.D)
        modes = [(float(x), float(y), 0.02, 1.0) for x, y in runner.snapshot().modes]
        runner.update(dataset="custom", components=(*modes, (0.0, 0.0, 0.02, 1.0)))
        assert runner.wait_parked(30)
        snap = runner.snapshot()
        assert snap.iteration == 30 and snap.rebuilds == 0 and "new p_data" in snap.message
        assert all(torch.equal(a, b) for a, b in zip(g_before, weights(runner._gan.G), strict=True))
        assert all(torch.equal(a, b) for a, b in zip(d_before, weights(runner._gan.D), strict=True))
        assert snap.metrics.modes_total == 9 and len(snap.modes) == 9
        assert {k for k in snap.eval_history if k[5:].isdigit()} == {f"mode_{k}" for k in range(9)}
        runner.advance(5, wait=True)  # and it trains on: the next data minibatches come from the new p_data
        assert runner.snapshot().iteration == 35 and runner._gan.mixture.n_modes == 9


def test_the_loss_curves_go_on_and_the_evaluations_start_again(no_thread_leak):
    with Runner(TrainConfig(), threads=1) as runner:
        runner.advance(20, wait=True)
        runner.update(dataset="grid")
        runner.advance(3, wait=True)
        snap = runner.snapshot()
        assert snap.history["iteration"][0] == 1 and snap.history["iteration"][-1] == 23
        assert snap.eval_history["iteration"].min() >= 20  # the ring's evaluations were of other modes


def test_new_networks_still_restart_from_iteration_0(no_thread_leak):
    with Runner(TrainConfig(), threads=1) as runner:
        runner.advance(10, wait=True)
        runner.update(hidden=64)
        assert runner.wait_parked(30)
        snap = runner.snapshot()
        assert snap.iteration == 0 and snap.rebuilds == 1
        assert "rebuilt the networks (g hidden 128 to 64, d hidden 128 to 64)" in snap.message
