"""Segments in the backend: the SQL compiler (sql.py) and membership upkeep."""
