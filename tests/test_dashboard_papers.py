"""The Papers page (issue 19) under AppTest: the published tables beside our committed runs (mean ± standard
error over seeds, † where the paper's mean lies outside our 95 % interval), a refused result file said in one
line, and a row opened on the Train page with its protocol in the board's runner."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

from core.papers import TABLES
from core.presets import PRESETS
from core.reproduce import Reproduction
from core.runner import RUNNING, live_runners
from core.slots import TrainingSlots
from dashboard import session
from dashboard.screens import explore, papers, train
from dashboard.session import SessionTraining
from tests.conftest import APP

SCRIPT = """
from dashboard.screens.papers import papers_page
papers_page()
"""


@pytest.fixture
def owner(no_thread_leak, monkeypatch):
    fresh = SessionTraining(TrainingSlots(capacity=2))
    for module in (session, explore, train):
        monkeypatch.setattr(module, "session_training", lambda: fresh)
    yield fresh
    fresh.release()
    for runner in live_runners():
        runner.stop()


def committed(directory) -> None:
    """PacGAN's table as if run from 2 seeds: made-up runs whose means and errors are worked out by hand below."""
    result = Reproduction("pacgan-table1", seeds=2, iterations=50)
    for row, dataset, seed in result.missing():  # every run: none is done yet
        total = 8 if dataset == "ring" else 25
        counts = [5] * total if seed == 0 else [5] * (total - 2) + [0, 0]  # 8 and 6 modes on the ring
        report = dict(outcome="converged" if seed == 0 else "collapsed", message="", seconds=1.0,
                      high_quality=0.9 if seed == 0 else 0.95, reverse_kl=0.5, mode_counts=counts)  # fmt: skip
        result.record((row, dataset, seed), report)
    result.save(directory / "pacgan-table1.json")


# the page's tables in the order it draws them: each table's tab, each data set (AppTest does not give a
# dataframe's key)
ORDER = [f"paper_{name}_{dataset}" for name, table in TABLES.items() for dataset in table.datasets]


def table_of(at: AppTest, key: str) -> dict[str, dict[str, str]]:
    assert len(at.dataframe) == len(ORDER)
    frame = at.dataframe[ORDER.index(key)].value
    return {line["row"]: line for line in frame.to_dict("records")}


def test_the_published_numbers_beside_ours_worked_out_by_hand(tmp_path, monkeypatch, owner):
    committed(tmp_path)
    monkeypatch.setattr(papers, "SHIPPED", tmp_path)
    at = AppTest.from_string(SCRIPT, default_timeout=60).run()
    assert not at.exception
    ring = table_of(at, "paper_pacgan-table1_ring")
    assert list(ring) == ["GAN", "PacGAN2", "PacGAN3", "PacGAN4"]
    gan = ring["GAN"]
    assert gan["modes: paper"] == "6.3 ± 0.5" and gan["reverse KL: paper"] == "0.45 ± 0.09"
    # modes 8 and 6: mean 7, SE = sd / sqrt 2 = 1.414 / 1.414 = 1; the 95 % interval 7 ± 12.7 holds 6.3
    assert gan["modes: ours"] == "7.0 ± 1.0 (2)"
    assert gan["high quality %: ours"] == "92.5 ± 2.5 (2)"  # 90 % and 95 %
    # reverse KL 0.5 twice: SE 0, so the paper's 0.45 lies outside the interval
    assert gan["reverse KL: ours"] == "0.50 ± 0.00 (2) †"
    grid = table_of(at, "paper_pacgan-table1_grid")
    assert grid["PacGAN4"]["modes: paper"] == "24.8 ± 0.2" and grid["PacGAN4"]["modes: ours"] == "24.0 ± 1.0 (2)"
    veegan = table_of(at, "paper_veegan-table1_ring")
    assert veegan["GAN"]["modes: paper"] == "1.0" and veegan["GAN"]["modes: ours"] == "–"  # no runs, no SE
    captions = " ".join(c.value for c in at.caption)
    assert "seeds 0–1, 50 iterations per run (16 of 16 runs)" in captions
    assert "50 iterations per run instead of 400,000" in captions
    command = f"python -m core reproduce veegan-table1 --out {tmp_path / 'veegan-table1.json'}"
    assert any(command in i.value for i in at.info)


def test_a_refused_result_file_is_said_and_the_published_numbers_stay(tmp_path, monkeypatch, owner):
    (tmp_path / "pacgan-table1.json").write_text(json.dumps({"format": "something else"}))
    monkeypatch.setattr(papers, "SHIPPED", tmp_path)
    at = AppTest.from_string(SCRIPT, default_timeout=60).run()
    assert not at.exception
    assert any("pacgan-table1.json was refused" in w.value for w in at.warning)
    assert table_of(at, "paper_pacgan-table1_ring")["GAN"]["modes: ours"] == "–"


def test_a_row_opens_on_the_train_page_with_its_protocol(tmp_path, monkeypatch, owner):
    monkeypatch.setattr(papers, "SHIPPED", tmp_path)
    at = AppTest.from_file(APP, default_timeout=60)
    at._page_hash = calc_hash("papers")  # st.navigation keys a page by the hash of its url_path
    at.run()
    assert not at.exception
    at.button(key="paper_pacgan-table1_grid_PacGAN4").click().run()
    assert not at.exception
    board = owner.board()
    expected = TABLES["pacgan-table1"].config("PacGAN4", "grid", seed=0)
    assert board.config == expected
    assert (board.config.pack, board.config.d_activation, board.config.g_norm, board.config.modes) == (
        4, "maxout", "batch", 25)  # fmt: skip
    assert board.snapshot(touch=False).iteration == 0 and board.state != RUNNING
    assert at.query_params["pack"] == "4" and at.query_params["dataset"] == "grid"
    assert any("From PacGAN Table 1" in i.value and "PacGAN4 on the grid" in i.value for i in at.info)


def test_our_best_is_judged_against_pacgans_best_and_opens_as_its_preset(tmp_path, monkeypatch, owner):
    """The third tab: PacGAN's best mean of each metric (by hand from its Table 1: the GAN row's 98.2 % high
    quality on the ring, PacGAN4's 24.8 modes on the grid) in a column named so, and Open puts the pacgan-grid
    preset on the board with the scene named in the link."""
    monkeypatch.setattr(papers, "SHIPPED", tmp_path)
    at = AppTest.from_file(APP, default_timeout=60)
    at._page_hash = calc_hash("papers")
    at.run()
    assert not at.exception
    ring = table_of(at, "paper_minimax-best_ring")["Minimax"]
    assert ring["high quality %: PacGAN's best"] == "98.2 ± 0.2" and ring["modes: PacGAN's best"] == "7.9 ± 0.1"
    grid = table_of(at, "paper_minimax-best_grid")["Minimax"]
    assert grid["modes: PacGAN's best"] == "24.8 ± 0.2" and grid["reverse KL: PacGAN's best"] == "0.04 ± 0.01"
    assert at.button(key="paper_minimax-best_grid_Minimax").label == "Open pacgan-grid"
    at.button(key="paper_minimax-best_grid_Minimax").click().run()
    assert not at.exception
    assert owner.board().config == PRESETS["pacgan-grid"].config
    assert at.query_params["preset"] == "pacgan-grid"
