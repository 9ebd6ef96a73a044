"""trainlab: which training recipe works, and why, with evidence."""

__version__ = "0.1.0"
