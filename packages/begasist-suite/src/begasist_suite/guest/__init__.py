"""Guest sockets: the suite's side of the plugin API's guest-socket extension (web chat)."""
