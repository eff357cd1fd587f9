"""The DAG, its content-addressed store and the executors; no backend, no torch."""
