"""Reusable real-server helpers for tests that cause faults: private servers, test hosts."""
