"""Set stage: one reference picture per location, computed once, from which every shot of
that place takes its view, so the shots of one place show one place."""
