"""Storage: typed SQLAlchemy 2 models, repositories, the conversation store and migrations.

SQLite through aiosqlite is the embedded default; PostgreSQL through asyncpg serves a province
or the country. The database URL alone picks one.
"""
