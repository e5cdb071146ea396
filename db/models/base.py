"""The declarative base of every ContactPoint table."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Tables are created by the hand-written migrations, never by `create_all`.

    The models mirror the columns, keys and indexes of the migrations (a test compares them);
    the CHECK constraints, their SQL functions and the triggers live only in the migrations.
    """
