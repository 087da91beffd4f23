"""Compute planning: GPU-hours (hours.py) and memory (memory.py) before a GPU is touched."""
