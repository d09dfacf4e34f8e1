"""The store tests use the server fixtures of tests/conftest.py (tests/servers.py)."""
