"""The Redis Streams bus: publish, consume with consumer groups, dead letters."""
