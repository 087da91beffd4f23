"""stilt: English intermediate-task training for zero-shot cross-lingual transfer (X-STILTs)."""

__version__ = "0.1.0"
