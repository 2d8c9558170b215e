"""Command-line tools for operators (run with the function's environment: ``python -m juki.cli.<tool>``)."""
