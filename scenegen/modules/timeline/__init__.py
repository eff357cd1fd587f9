"""Timeline stage: an OpenTimelineIO file for editors (node kind `timeline`)."""
