"""Helpers for the test suite (throwaway database servers)."""
