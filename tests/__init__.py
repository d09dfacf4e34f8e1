"""The qv test suite (a package so that tests/secrets never shadows the stdlib secrets)."""
