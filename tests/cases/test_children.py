from datetime import date

from app.services.children import fold, match_key


def test_folding_drops_accents_case_and_extra_spaces() -> None:
    assert fold("  José  MANUEL ") == "jose manuel"
    assert fold("Ñúñez Peña") == "nunez pena"


def test_the_match_key_joins_folded_names_and_the_birth_date() -> None:
    key = match_key("María José", "Hernández", date(2012, 4, 9))

    assert key == match_key("MARIA JOSE", "hernandez", date(2012, 4, 9))
    assert key != match_key("María José", "Hernández", date(2012, 4, 10))
