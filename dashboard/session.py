"""Who owns what: one owner of everything a browser session trains, one cap on training per server.

`SessionTraining` holds the session's board runner, the Theory page's 1-D runner and the page jobs: the Compare
page's comparison and the Explore page's exploration. The router (`dashboard/main.py`) tells it which page is on
screen before the page runs, and it pauses or cancels what is not: pages never reach into each other to stop what
they started. Everything that trains is admitted by the server-wide `TrainingSlots`, the page jobs included. The
session's end (`st.cache_resource`'s on_release) revokes the frame tokens and stops every thread.
"""

from __future__ import annotations

import streamlit as st

from core.comparison import CompareJob
from core.config import TrainConfig
from core.exploration_job import ExploreJob
from core.runner import RUNNING, STOPPED, Runner
from core.slots import TrainingSlots

from . import frames

# The dashboard trains with one torch thread: with two, OpenMP workers spin against the server and the
# browser on a 2-core machine and a watched run fell from ~65 to 4 it/s (docs/architecture.md).
TORCH_THREADS = 1
IDLE_TIMEOUT_S = 30.0
# A frame is built only after the page read the last one (Runner: `_wanted`), so this is not a rate but a
# floor: under the page's 0.1 s refresh, the next frame is ready before the next fetch instead of racing it
# (at 0.1 s a fetch often found the frame it had already drawn: 9.6 frames/s on screen).
PUBLISH_S = 0.08
# what trains on each page: the Theory page shows the board's run too (its views of the live run); a page job
# (keyed by its page) only on its own page
SHOWN_ON = {"board": ("train", "theory"), "line": ("theory",), "compare": ("compare",), "explore": ("explore",)}
# each page job: what its page calls it, in the words said when it is cancelled
JOBS = {"compare": "comparison", "explore": "exploration"}
LEFT = {page: f"cancelled: you left the {page.capitalize()} page while it ran" for page in JOBS}
LEFT_COMPARE, LEFT_EXPLORE = LEFT["compare"], LEFT["explore"]
Job = CompareJob | ExploreJob  # core.background.BackgroundJob: the slots admit it, its owner cancels it

# The paper's 1-D picture trains its own small GAN on the Theory page (same runner, data dimension 1).
LINE_CONFIG = TrainConfig(
    dataset="line",
    modes=3,
    g_hidden=64,
    g_depth=2,
    d_hidden=64,
    d_depth=2,
    latent_dim=1,
    lr_g=1e-3,
    lr_d=1e-3,
    samples_shown=400,
    arrow_grid=8,
)


@st.cache_resource(show_spinner=False)
def training_slots() -> TrainingSlots:
    """Server-wide: at most `capacity` runs or comparisons train at once (MINIMAX_MAX_TRAINING, default
    cores - 1)."""
    return TrainingSlots()


def _release(runner: Runner) -> None:
    """A runner's session ended: its frame token answers 404 from now on, its place in line goes and its
    thread stops, letting go of its torch state."""
    frames.revoke(runner)
    training_slots().cancel(runner)
    runner.stop()


class SessionTraining:
    """Everything one session trains, and the one place that decides what may train now."""

    def __init__(self, slots: TrainingSlots):
        self.slots = slots
        self.initial = TrainConfig()  # the board's first config: a shared link's, set by the Train page
        self.page = "train"
        self._board: Runner | None = None
        self._line: Runner | None = None
        self.jobs: dict[str, Job | None] = dict.fromkeys(JOBS)  # each page's job, the last one started there

    @property
    def job(self) -> CompareJob | None:
        """The Compare page's comparison."""
        return self.jobs["compare"]  # type: ignore[return-value]  # only compare() puts a job here

    @property
    def explore_job(self) -> ExploreJob | None:
        """The Explore page's exploration."""
        return self.jobs["explore"]  # type: ignore[return-value]

    def board(self) -> Runner:
        """The board's runner: made on first use; a stopped one (server shutdown, a test) is replaced."""
        if self._board is None or self._board.state == STOPPED:
            self._board = Runner(
                self.initial, threads=TORCH_THREADS, idle_timeout=IDLE_TIMEOUT_S, publish_interval=PUBLISH_S
            )
        return self._board

    def line(self) -> Runner:
        """The Theory page's 1-D runner, made and replaced like the board's."""
        if self._line is None or self._line.state == STOPPED:
            self._line = Runner(LINE_CONFIG, threads=TORCH_THREADS, idle_timeout=IDLE_TIMEOUT_S)
        return self._line

    def show(self, page: str) -> None:
        """`page` is on screen now: a run that is not shown pauses (and leaves the slots' queue), a page job
        that is not shown is cancelled."""
        self.page = page
        for runner, where in ((self._board, SHOWN_ON["board"]), (self._line, SHOWN_ON["line"])):
            if runner is not None and page not in where:
                self.slots.cancel(runner)
                if runner.state == RUNNING:
                    runner.pause()
        for owner_page in JOBS:
            if page not in SHOWN_ON[owner_page]:
                self.cancel_job(LEFT[owner_page], owner_page)

    def start_job(self, page: str, job: Job) -> int:
        """Make `job` `page`'s job (the one it replaces is cancelled, and so is any other page's) and ask for a
        slot: 0 if it started, else its place in line. The session's runs pause first: one training thread per
        tab."""
        for runner in (self._board, self._line):
            if runner is not None:
                self.slots.cancel(runner)
                runner.pause(wait=True)
        for other in JOBS:
            self.cancel_job(f"cancelled: a new {JOBS[page]} was started", other)
        self.jobs[page] = job
        return self.slots.request(job)  # type: ignore[arg-type]  # a job has a runner's state and start

    def compare(self, job: CompareJob) -> int:
        """Make `job` this session's comparison: `start_job` on the Compare page."""
        return self.start_job("compare", job)

    def explore(self, job: ExploreJob) -> int:
        """Make `job` this session's exploration: `start_job` on the Explore page."""
        return self.start_job("explore", job)

    def waiting(self, page: str = "compare") -> int:
        """0 unless `page`'s job waits for a slot; then it asks again (a free slot starts it) and its place in
        line is returned."""
        job = self.jobs[page]
        if job is None or job.state != "idle":
            return 0
        return self.slots.request(job)  # type: ignore[arg-type]

    def cancel_job(self, reason: str = "cancelled", page: str = "compare") -> None:
        """Cancel `page`'s job (if it has one not stopped yet) and give up its place in line."""
        job = self.jobs[page]
        if job is not None:
            self.slots.cancel(job)  # type: ignore[arg-type]
            job.cancel(reason)

    def release(self) -> None:
        """The session ended: tokens revoked, places in line given up, threads stopped. No join on the page
        jobs: Streamlit calls this on its event loop, and a comparison ends within an iteration, an exploration
        within a run."""
        for page in JOBS:
            self.cancel_job("cancelled", page)
        for runner in (self._board, self._line):
            if runner is not None:
                _release(runner)


@st.cache_resource(scope="session", on_release=SessionTraining.release, show_spinner=False)
def session_training() -> SessionTraining:
    """This session's owner of what trains, made on first use."""
    return SessionTraining(training_slots())


def session_runner() -> Runner:
    """This tab's board runner: made on first use, stopped and freed when the session ends (tab closed)."""
    return session_training().board()


def line_runner() -> Runner:
    """This tab's 1-D run for the Theory page; stopped with the session like the board's."""
    return session_training().line()
