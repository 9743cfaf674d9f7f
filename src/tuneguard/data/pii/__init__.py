"""PII and secret detection: recognizers, the combined matcher and the engine."""
