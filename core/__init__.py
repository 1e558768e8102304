"""Minimax's engine: GAN training on Gaussian mixtures, metrics, a live runner and a CLI. No UI imports."""
