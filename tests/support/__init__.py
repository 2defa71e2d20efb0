"""Helpers shared by the test suites: real processes, real stores, no mocks."""
