"""rote.sims: JAX models, datasets, training loops, the sweep engine, studies and the CLI."""
