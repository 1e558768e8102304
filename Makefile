# Shortcuts for a developer; CI runs .ci/run (lint, then README's test command: `make lint test-all`).
.PHONY: install run test test-all lint format bench

install:
	pip install -r requirements-dev.txt

run:
	streamlit run dashboard/app.py

test:  # the fast tier: after every change
	python -m pytest -m "not slow"

test-all:  # both tiers on two workers, as CI runs them
	python -m pytest -n 2 --dist worksteal

lint:
	ruff check .
	ruff format --check .
	mypy

format:
	ruff format .
	ruff check --fix .

bench:
	python -m benchmarks.train_speed
	python -m benchmarks.sweep_speed
	python -m benchmarks.dashboard_live
