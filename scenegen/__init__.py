"""SceneGen: one sentence in, a multi-shot film out."""

__version__ = "0.1.0"
