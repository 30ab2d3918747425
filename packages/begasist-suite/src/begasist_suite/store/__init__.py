"""Storage: the domain store over a document database (SQLite or Astra DB)."""
