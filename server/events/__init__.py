"""Events: the in-process hub (hub.py), the bridges that carry it between
processes sharing a database (pg_bridge.py, sqlite_watch.py, chosen by
bridges.py), and the announcement of what the store committed
(announce.py)."""
