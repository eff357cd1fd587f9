"""Film stage: the segments joined into film.mp4, with its subtitle and sound tracks (node kind `film`)."""
