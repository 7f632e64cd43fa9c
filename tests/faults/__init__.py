"""Tests that cause real server and network faults (marker ``fault``)."""
