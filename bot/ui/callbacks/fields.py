"""Field types shared by the callback data of every feature."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

# Ids and numbers in callback data go to the database as they are: one beyond a 32-bit
# INTEGER column (forged data; PostgreSQL refuses it, SQLite's driver overflows past 64
# bits) must fail to unpack, so the stale-button answer handles it, instead of failing
# in the middle of a handler. Every id and number the bot puts in a button fits.
DbInt = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]
