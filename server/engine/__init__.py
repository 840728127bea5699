"""The worker and the iteration engine."""
