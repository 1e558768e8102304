"""A run as one .npz file with no pickle inside: its config as JSON text, its samples, its curves.

`python -m core evaluate` reads the samples back and scores them against the config's own mixture;
anyone can read them with np.load(path, allow_pickle=False).
"""

from __future__ import annotations

import dataclasses
import io
import json

import numpy as np

from .config import TrainConfig


def run_archive(
    config: TrainConfig, samples: np.ndarray, history: dict | None = None, eval_history: dict | None = None
) -> bytes:
    arrays = {
        "config": np.array(json.dumps(dataclasses.asdict(config))),
        "samples": np.asarray(samples, dtype=np.float32),
    }
    for prefix, columns in (("history", history or {}), ("eval", eval_history or {})):
        arrays.update({f"{prefix}/{name}": np.asarray(values) for name, values in columns.items()})
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]  # numpy's stub lets **arrays fill allow_pickle: bool
    return buffer.getvalue()


def read_run(path) -> tuple[dict, np.ndarray]:
    """(config as a dict, {} if the archive has none; samples) from a run archive; never unpickles.
    The config is returned as stored: `run_config` checks it."""
    with np.load(path, allow_pickle=False) as archive:
        if "samples" not in archive.files:
            raise ValueError("a run archive needs a 'samples' array")
        try:
            config = json.loads(str(archive["config"])) if "config" in archive.files else {}
        except json.JSONDecodeError:
            config = None
        if not isinstance(config, dict):
            raise ValueError("the run's config is not a JSON object")
        return config, archive["samples"]


def run_config(stored: dict) -> TrainConfig:
    """The TrainConfig of a stored config, through core.config's one validation: a ConfigError names the
    first unknown key or bad value. Keys it lacks keep TrainConfig's defaults (or its data set's)."""
    return TrainConfig().replace(**stored)
