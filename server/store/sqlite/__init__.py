"""The SQLite adapter: its writer thread, inline path, writer process,
hand-shaped SQL and WAL upkeep."""
