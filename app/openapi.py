"""The OpenAPI document, as committed to `openapi/openapi.json`."""

from typing import Any

from app.main import create_app
from app.settings import Settings


def openapi_document() -> dict[str, Any]:
    """The document for default settings: it must not depend on the environment."""
    app = create_app(Settings(_env_file=None, database_url="sqlite://"))  # type: ignore[call-arg]
    return app.openapi()
