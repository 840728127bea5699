"""Everything that runs: settings, store, engine, service, app, CLI.

The public names are re-exported by the `taskloom` package itself
(`from taskloom import Taskloom`); docs/architecture.md maps this folder.
"""
