"""Tools the tests (and by-hand measurements) use: synthetic corpora."""
