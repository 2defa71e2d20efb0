"""The scaffold feature: ``mlharness new`` creates a project from a cookiecutter template."""
