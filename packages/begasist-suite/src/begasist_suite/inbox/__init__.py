"""The inbox's actions shared by the API and the event consumer: replies and live updates."""
