"""Identities (identity.py), API tokens (tokens.py), roles, the HTTP side of
authentication (http.py) and the `taskloom token` commands (cli.py).

Import from the modules themselves: this package imports nothing, so that
the command line can load cli.py without the store behind tokens.py."""
