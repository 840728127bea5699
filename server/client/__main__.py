"""`python -m server.client`: the operator commands on their own."""

import sys

from server.client import app

sys.exit(app())
