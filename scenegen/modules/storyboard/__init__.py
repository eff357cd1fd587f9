"""Storyboard stage: one HTML page of the cast and every shot (node kind `storyboard`)."""
