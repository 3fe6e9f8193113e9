"""Domain logic. Services take an AsyncSession and plain values, return plain data,
and never commit: the caller (the DB-session middleware, or a CLI command) does."""
