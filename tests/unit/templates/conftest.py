"""Fixtures for the template tests."""

from tests.support.templates import cookiecutter_home

__all__ = ["cookiecutter_home"]
