"""Deployment from the hotel list: ``begasist init`` and ``begasist fleet <target>``."""
