"""Shared pieces of the wire format."""

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field


class RequestModel(BaseModel):
    """A request body: unknown fields are refused, so nobody sets an owner by them."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ResponseModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


T = TypeVar("T")


class Page(ResponseModel, Generic[T]):
    """One page of a keyset-paginated listing."""

    items: list[T]
    next_cursor: str | None = Field(
        default=None,
        description="Pass as `cursor` to get the next page; null at the end.",
        examples=["WyIyMDI2LTEyLTAzVDE4OjE3OjMzLjM5NDk1NSswMDowMCIsIjU3ODIiXQ"],
    )
