"""Tables of the loyalty service."""

from sqlalchemy.orm import DeclarativeBase

from wafa_shared.db import new_metadata


class Base(DeclarativeBase):
    metadata = new_metadata()
