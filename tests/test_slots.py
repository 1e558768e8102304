from core.config import TrainConfig
from core.runner import RUNNING, Runner
from core.slots import TrainingSlots, default_capacity

SMALL = TrainConfig().replace(hidden=8, depth=1, batch_size=16, eval_samples=200, samples_shown=50, grid_size=20)


def test_the_cap_queues_in_order_and_frees_slots(no_thread_leak):
    slots = TrainingSlots(capacity=1)
    a, b, c = (Runner(SMALL, threads=1) for _ in range(3))
    try:
        assert slots.request(a) == 0 and a.state == RUNNING
        assert slots.request(b) == 1 and slots.request(c) == 2 and b.state != RUNNING
        assert slots.request(c) == 2  # asking again keeps the place
        a.pause(wait=True)
        assert slots.request(c) == 2  # c may not jump the queue
        assert slots.request(b) == 0 and b.state == RUNNING and slots.position(c) == 1
        slots.cancel(c)
        assert slots.position(c) == 0 and slots.running() == 1
    finally:
        for r in (a, b, c):
            r.stop()


def test_capacity_from_the_environment(monkeypatch):
    monkeypatch.setenv("MINIMAX_MAX_TRAINING", "3")
    assert default_capacity() == 3
    monkeypatch.setenv("MINIMAX_MAX_TRAINING", "zero")
    assert default_capacity() >= 1


def test_the_cap_follows_the_pods_cpu_limit_or_the_containers_quota(tmp_path):
    import os

    from core.slots import cpus

    quota = tmp_path / "cpu.max"
    assert default_capacity({"MINIMAX_CPUS": "4"}) == 3  # Kubernetes: limits.cpu through the downward API
    assert default_capacity({"MINIMAX_CPUS": "1"}) == 1  # at least one
    assert default_capacity({"MINIMAX_CPUS": "4", "MINIMAX_MAX_TRAINING": "2"}) == 2  # the explicit cap wins
    machine = os.cpu_count() or 1
    quota.write_text("150000 100000\n")  # docker run --cpus 1.5: two cores' worth of threads, rounded up
    assert cpus({}, quota) == min(2, machine)
    quota.write_text("max 100000\n")  # no quota
    assert cpus({}, quota) == machine
    assert cpus({}, tmp_path / "absent") == machine and cpus({"MINIMAX_CPUS": "x"}, tmp_path / "absent") == machine
