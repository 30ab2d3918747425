"""Who is calling: sessions, tokens, memberships and roles."""
