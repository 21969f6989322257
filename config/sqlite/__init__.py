"""Django's SQLite backend for embedded mode, creating the database's folder when first used."""
