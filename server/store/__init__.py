"""Persistence: the tables and migrations, the write operations (one home
for every run transition: transitions.py), the queries, and one adapter
per database behind one interface (database.py): sqlite/ and postgres/."""
