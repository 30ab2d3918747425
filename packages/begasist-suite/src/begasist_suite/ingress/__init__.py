"""Webhook ingress: verify a provider's request with its channel, enqueue it for the bot."""
