"""The {{ cookiecutter.project_slug }} MLflow project (entry points, parameters: README.md)."""
