"""Which adapters the hub offers. Adding an institution is one line here."""

from typing import Any

from app.adapters.base import (
    AdapterInfo,
    CaseAdapter,
    EventView,
    ReferralAdapter,
    common_event_data,
)
from app.adapters.dgme import DgmeAdapter
from app.adapters.minsal import MinsalAdapter
from app.adapters.primero import PrimeroAdapter
from app.adapters.rree import RreeAdapter
from app.errors import NotFound

ADAPTERS: dict[str, CaseAdapter[Any]] = {
    adapter.name: adapter
    for adapter in (DgmeAdapter(), RreeAdapter(), PrimeroAdapter())
}
REFERRAL_ADAPTERS: dict[str, ReferralAdapter[Any]] = {
    adapter.name: adapter for adapter in (MinsalAdapter(),)
}


def get_adapter(name: str) -> CaseAdapter[Any]:
    """The case adapter called `name`; NotFound lists the known ones."""
    if name not in ADAPTERS:
        raise NotFound(_unknown(name, ADAPTERS), known=sorted(ADAPTERS))
    return ADAPTERS[name]


def get_referral_adapter(name: str) -> ReferralAdapter[Any]:
    """The referral adapter called `name`; NotFound lists the known ones."""
    if name not in REFERRAL_ADAPTERS:
        known = sorted(REFERRAL_ADAPTERS)
        raise NotFound(_unknown(name, REFERRAL_ADAPTERS), known=known)
    return REFERRAL_ADAPTERS[name]


def describe_adapters() -> list[AdapterInfo]:
    """Every adapter with its version and native JSON Schema, case adapters first."""
    adapters = [*ADAPTERS.values(), *REFERRAL_ADAPTERS.values()]
    return [adapter.describe() for adapter in adapters]


def render_event(format: str, event: EventView) -> dict[str, Any]:
    """A webhook's `data` in `format`: an adapter's name, or else the common data."""
    adapter = ADAPTERS.get(format) or REFERRAL_ADAPTERS.get(format)
    if adapter is None:
        return common_event_data(event)
    return adapter.render_event(event)


def _unknown(name: str, adapters: dict[str, Any]) -> str:
    return f"No adapter '{name}'; known adapters: {', '.join(sorted(adapters))}"
