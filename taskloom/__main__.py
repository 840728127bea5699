"""`python -m taskloom`: the command line."""

from taskloom.server.cli import main

main()
