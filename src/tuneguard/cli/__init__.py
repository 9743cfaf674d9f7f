"""Command-line interface: parses arguments, calls the stages' public functions, prints Rich tables or JSON."""
