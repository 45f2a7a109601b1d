"""Test support shared by the test suites (fixtures from GitHub's published contracts, fakes)."""
