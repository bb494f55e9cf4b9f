"""One module per kernel family, each defining ``cases(full, with_torch)``."""
