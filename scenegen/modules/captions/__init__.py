"""Captions stage: shots.srt, each shot's story context and each line while it is said (node kind `captions`)."""
