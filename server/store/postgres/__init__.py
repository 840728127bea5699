"""The PostgreSQL adapter (asyncpg): its writer, clock, notification
channels and planning."""
