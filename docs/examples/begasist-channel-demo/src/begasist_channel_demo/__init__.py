"""Example Begasist channel (being written)."""
