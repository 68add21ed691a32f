"""Pure domain: no I/O of any kind."""
