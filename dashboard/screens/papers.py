"""The Papers page (issue 19): the 2-D tables every mode-collapse paper reports (core.papers), the published
numbers beside ours from the runs committed in dashboard/papers/ (`python -m core reproduce TABLE --out ...`,
read back through core.reproduce.load, which validates the file), and a button per row that opens that row's
protocol on the Train page."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.config import ConfigError
from core.papers import DATASETS, METRICS, TABLES, Table
from core.presets import PRESETS
from core.reproduce import OUTSIDE, Cell, Reproduction, load

from .explore import open_on_train

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "dashboard" / "papers"  # <table>.json, as `reproduce --out` writes it


def shipped_path(name: str) -> Path:
    return SHIPPED / f"{name}.json"


@st.cache_resource(max_entries=8, show_spinner=False)
def _read(path: str, modified: float) -> Reproduction | str:
    """A committed result, read once per version of the file (server-wide: it is the same for every tab); the
    reason in words if it is refused."""
    try:
        return load(path)
    except (OSError, ValueError) as problem:
        return f"{Path(path).name} was refused: {problem}"


def shipped(name: str) -> Reproduction | str | None:
    """Our committed runs of a table, the reason it cannot be read, or None when none is committed."""
    path = shipped_path(name)
    if not path.is_file():
        return None
    return _read(str(path), path.stat().st_mtime)


def plus_minus(mean: float, se: float | None, digits: int) -> str:
    return f"{mean:.{digits}f}" + ("" if se is None else f" ± {se:.{digits}f}")


def ours_text(c: Cell | None, digits: int) -> str:
    """mean ± SE (seeds), and OUTSIDE where the paper's mean lies outside our interval; a dash for no runs."""
    if c is None or c.mean is None:
        return "–"
    return f"{plus_minus(c.mean, c.se, digits)} ({c.n})" + (f" {OUTSIDE}" if c.outside else "")


def comparison(table: Table, dataset: str, ours: Reproduction | None) -> list[dict[str, str]]:
    """One line per row: the paper's number and ours (mean ± SE over our seeds, † where the paper's mean lies
    outside our 95 % interval) for each of the table's metrics, as plain text."""
    cells = ours.cells() if ours is not None else {}
    lines = []
    for row in table.rows:
        line = {"row": row}
        for metric in table.metrics:
            label = METRICS[metric].label
            digits = METRICS[metric].digits
            line[f"{label}: {table.theirs}"] = plus_minus(*table.published[row][dataset][metric], digits)
            line[f"{label}: ours"] = ours_text(cells.get((row, dataset, metric)), digits)
        lines.append(line)
    return lines


def _about(table: Table, ours: Reproduction | str | None, name: str) -> None:
    if table.reproduces:
        st.caption(f"{table.paper}. Protocol from the authors' released code: " + "; ".join(map(str, table.sources)))
    else:
        st.caption(f"Beside {table.paper}: " + "; ".join(map(str, table.sources)))
    if table.reading:
        st.caption(table.reading)
    if table.search:
        st.caption("Our settings were found by these searches, on seeds the table never uses:")
        st.code("\n".join(table.search), language="bash", wrap_lines=True)
    if isinstance(ours, str):
        st.warning(ours)
    elif ours is None:
        where = shipped_path(name)
        shown = where.relative_to(ROOT) if where.is_relative_to(ROOT) else where
        st.info(f"No runs of ours committed yet: `python -m core reproduce {name} --out {shown}`.")
    else:
        done = f"{len(ours.runs)} of {len(ours.keys())} runs"
        what = f"Ours: seeds 0–{ours.seeds - 1}, {ours.iterations:,} iterations per run ({done})"
        st.caption(what + (": " + "; ".join(ours.deviations()) if ours.deviations() else "") + ".")
        st.caption(f"{OUTSIDE}: the paper's mean lies outside our 95 % interval (mean ± t × standard error).")


def _open_buttons(name: str, table: Table, dataset: str, train: st.Page | None) -> None:
    buttons = st.container(horizontal=True)
    for row in table.rows:
        try:
            config = table.config(row, dataset, seed=0)
        except ConfigError as error:  # a protocol this version cannot run: said, nothing to open
            st.caption(f"{row}: {error}")
            continue
        preset = next((n for n, p in PRESETS.items() if p.config == config), "")  # our best: its preset, named
        label = f"Open {preset or row}"
        if buttons.button(label, key=f"paper_{name}_{dataset}_{row}", help="This row's settings, seed 0"):
            open_on_train(config, preset, train, note=f"From {table.title}: {row} on the {dataset}, seed 0.")


def papers_page(train: st.Page | None = None) -> None:
    """`train`: the Train page as the router registered it, where "Open" goes (None: load the run and stay)."""
    st.markdown("### Papers: their tables, run again")
    st.caption(
        "The 2-D benchmarks of the mode-collapse papers, with each paper's protocol read from its authors' "
        "released code: the published numbers beside ours (mean ± standard error over our seeds). Open any row "
        "on the Train page to watch it."
    )
    tabs = st.tabs([table.title for table in TABLES.values()])
    for tab, (name, table) in zip(tabs, TABLES.items(), strict=True):
        with tab:
            ours = shipped(name)
            _about(table, ours, name)
            for dataset in table.datasets:
                st.markdown(f"**{dataset}**: " + ", ".join(f"{k} {v}" for k, v in DATASETS[dataset].items()))
                rows = comparison(table, dataset, ours if isinstance(ours, Reproduction) else None)
                st.dataframe(rows, hide_index=True, key=f"paper_{name}_{dataset}")
                _open_buttons(name, table, dataset, train)
