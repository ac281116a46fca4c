"""Query parameters shared by every keyset-paginated listing."""

from typing import Annotated

from fastapi import Query

CursorQuery = Annotated[
    str | None, Query(description="`next_cursor` of the previous page")
]
LimitQuery = Annotated[int, Query(ge=1, le=100, description="Page size")]
