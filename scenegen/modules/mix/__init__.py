"""Mix stage: the film's sound track, every voice and the score under them (node kind `mix`)."""
