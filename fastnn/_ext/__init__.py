"""Compiled wrappers: each module turns arrays into pointers, releases the
GIL and calls the C kernels in ``csrc/``. Arguments are validated by the
Python modules that call these; nothing here checks them again."""
