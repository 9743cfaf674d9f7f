"""tuneguard: safe, auditable LLM fine-tuning (WDTA AI-STR-01)."""
__version__ = "0.1.0"
