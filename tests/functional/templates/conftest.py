"""Fixtures for the template tests."""

from tests.unit.templates.support import cookiecutter_home

__all__ = ["cookiecutter_home"]
