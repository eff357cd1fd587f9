"""`scenegen eval`: multi-shot metrics of a rendered run (formulas in metrics.py)."""
