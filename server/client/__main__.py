"""`python -m server.client`: the operator commands on their own."""

import sys

from taskloom.server.client import app

sys.exit(app())
