"""Who acts on the hub: the one protocol every service takes as its `actor`."""

from typing import Protocol

from app.codes import Role


class Actor(Protocol):
    """An institution acting through one client: `app.deps.Principal` fits, and so
    does the hub's own tooling (`app.services.native.SystemActor`)."""

    @property
    def institution_id(self) -> str: ...

    @property
    def client_id(self) -> str: ...

    @property
    def role(self) -> Role: ...
