"""Metric families. Each module is pure functions over text (no model, no I/O), except perplexity,
which owns the model call."""
