"""Stand-in bitsandbytes (tests only): importable, nothing else (tests/python/stand_ins/README.md)."""
__version__ = "0.45.0"
