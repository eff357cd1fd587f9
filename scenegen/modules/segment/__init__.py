"""Segment stage: one shot as the film shows it, then the transition into the next (node kind `segment`)."""
