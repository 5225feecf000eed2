"""Persistence: SQLAlchemy 2 models and repositories, Alembic migrations shipped in the package.

SQLite in WAL mode is the default; PostgreSQL via psycopg 3 for larger sites. One migration history
serves both (see `migrate.py` for how to add a migration).
"""
