import pytest

from app.adapters.base import json_pointer
from app.adapters.registry import (
    ADAPTERS,
    REFERRAL_ADAPTERS,
    describe_adapters,
    get_adapter,
    get_referral_adapter,
)
from app.errors import NotFound

# Known gaps of the common schema v1, pinned so that a field silently joining a list
# fails here: DGME's arrival record (the date of entry), and RREE's consular interview
# (its date, language and whether the child's opinion was heard), return documents and
# the circumscription (used only to check the location). The rest maps both ways.
NOT_CARRIED = {
    "dgme": ("/fecha_ingreso",),
    "rree": (
        "/circunscripcion",
        "/entrevista/fecha",
        "/entrevista/idioma",
        "/entrevista/opinion_escuchada",
        "/documentos_retorno",
    ),
    "primero": (),
    "minsal": (),
}


def test_each_adapter_leaves_out_exactly_the_known_gaps_of_the_common_schema():
    registered = {**ADAPTERS, **REFERRAL_ADAPTERS}

    assert {name: a.not_carried for name, a in registered.items()} == NOT_CARRIED


def test_an_unknown_adapter_is_not_found_with_the_known_ones_listed():
    with pytest.raises(NotFound) as raised:
        get_adapter("conna")

    assert raised.value.extensions["known"] == ["dgme", "primero", "rree"]
    assert "dgme, primero, rree" in raised.value.detail


def test_minsal_is_found_among_the_referral_adapters_only():
    assert get_referral_adapter("minsal") is REFERRAL_ADAPTERS["minsal"]
    with pytest.raises(NotFound):
        get_adapter("minsal")


def test_each_adapter_is_registered_under_its_own_name():
    registered = {**ADAPTERS, **REFERRAL_ADAPTERS}

    assert all(name == adapter.name for name, adapter in registered.items())


def test_every_adapter_describes_itself_with_a_json_schema_of_its_native_record():
    described = {info.name: info for info in describe_adapters()}

    assert set(described) == {"dgme", "rree", "primero", "minsal"}
    assert "fecha_nacimiento" in described["dgme"].native_schema["properties"]
    assert "protection_concerns" in described["primero"].native_schema["properties"]
    assert described["minsal"].kind == "referral"


def test_a_pointer_escapes_slashes_and_tildes_in_field_names():
    assert json_pointer(("a/b", 0, "c~d")) == "/a~1b/0/c~0d"
