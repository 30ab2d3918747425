"""Shared test configuration: the conformance kit's fixtures come from its pytest11 plugin."""
