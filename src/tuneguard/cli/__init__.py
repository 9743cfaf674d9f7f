"""Command-line interface: parses arguments, calls the stages' public functions, prints tables or JSON."""
