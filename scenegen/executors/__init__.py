"""Executors that need more than this process (Ray); each registers under `scenegen.executors`."""
