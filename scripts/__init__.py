"""Maintenance commands of the template repository (run from its root with `python -m scripts.<name>`)."""
