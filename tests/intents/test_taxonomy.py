"""The category taxonomy intents are published under: shipped, checked, looked up, searched."""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

import pytest
from pydantic import ValidationError

from vrm.intents.taxonomy import Taxonomy, UnknownCategory, taxonomy

SEGMENT = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")


def small(*categories: tuple[str, str] | tuple[str, str, list[str]]) -> Taxonomy:
    """A taxonomy of ``(path, label[, properties])`` rows."""
    return Taxonomy.model_validate(
        {"version": "1", "source": "test", "categories": [row(*c) for c in categories]}
    )


def row(path: str, label: str, properties: list[str] | None = None) -> dict[str, Any]:
    return {"path": path, "label": label, **({"properties": properties} if properties else {})}


def shipped_json() -> dict[str, Any]:
    text = resources.files("vrm.intents").joinpath("taxonomy.json").read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


# The shipped file


def test_the_shipped_taxonomy_loads_with_300_to_500_categories() -> None:
    """The taxonomy vrm ships loads, and holds between 300 and 500 categories."""
    assert 300 <= len(taxonomy().categories) <= 500
    assert taxonomy().version == "1"


def test_the_shipped_taxonomy_says_what_it_is_modelled_on() -> None:
    """The file names its own source: vrm's own, modelled on public taxonomies."""
    source = taxonomy().source

    assert "vrm's own" in source
    assert "Google product taxonomy" in source
    assert "UNSPSC" in source


def test_the_shipped_file_is_sorted_by_path() -> None:
    """Categories are listed by path, so each one follows its parent and diffs stay small."""
    paths = [category["path"] for category in shipped_json()["categories"]]

    assert paths == sorted(paths)
    assert paths == sorted(paths, key=lambda path: path.split("/"))


def test_every_ancestor_of_a_shipped_category_is_listed() -> None:
    """Each parent, grandparent and so on of every category is itself a category."""
    paths = {category.path for category in taxonomy().categories}

    for path in paths:
        segments = path.split("/")
        for end in range(1, len(segments)):
            assert "/".join(segments[:end]) in paths, path


def test_every_shipped_path_is_one_to_four_well_formed_segments() -> None:
    """Paths are 1-4 segments of lowercase ascii letters, digits and single inner hyphens."""
    for category in taxonomy().categories:
        segments = category.path.split("/")
        assert 1 <= len(segments) <= 4, category.path
        assert all(SEGMENT.match(segment) for segment in segments), category.path


def test_every_shipped_category_has_a_label_of_its_own() -> None:
    """Each category has an English label, and no two share one, so search results read clearly."""
    labels = [category.label.casefold() for category in taxonomy().categories]

    assert all(label.strip() for label in labels)
    assert len(labels) == len(set(labels))


def test_shipped_properties_are_snake_case_and_never_repeat_an_inherited_one() -> None:
    """Property names are snake_case, and a category does not relist what its ancestors have."""
    for category in taxonomy().categories:
        inherited = {p for above in taxonomy().ancestors(category.path) for p in above.properties}
        assert all(SNAKE_CASE.match(name) for name in category.properties), category.path
        assert not inherited & set(category.properties), category.path


@pytest.mark.parametrize(
    "path",
    [
        "vehicles/cars/electric",
        "home/furniture/sofas",
        "electronics/phones/smartphones",
        "travel/flights",
        "insurance/car",
        "finance/mortgages",
        "services/trades/plumbing",
        "health/dental",
        "food/groceries",
        "education/courses/languages",
        "energy/electricity",
        "telecom/broadband",
    ],
)
def test_goods_and_services_people_ask_for_are_shipped(path: str) -> None:
    """The taxonomy covers goods and services alike, at the paths intents use."""
    assert taxonomy().category(path).path == path


def test_the_taxonomy_is_read_once() -> None:
    """The shipped taxonomy is loaded once and shared."""
    assert taxonomy() is taxonomy()


# Lookups


def test_a_category_is_found_by_its_path_with_its_label_and_properties() -> None:
    """Looking up a path gives its label and its own properties."""
    electric = taxonomy().category("vehicles/cars/electric")

    assert electric.label == "Electric cars"
    assert "range_km" in electric.properties
    assert electric.parent == "vehicles/cars"
    assert electric.depth == 3


def test_a_lookup_ignores_letter_case_and_surrounding_spaces() -> None:
    """``" Vehicles/Cars "`` finds ``vehicles/cars``."""
    assert taxonomy().category(" Vehicles/Cars ").path == "vehicles/cars"


def test_the_children_of_the_root_are_the_top_level_categories() -> None:
    """``children()`` lists the top level, by path, goods and services both."""
    top = [category.path for category in taxonomy().children()]

    assert top == sorted(top)
    assert all("/" not in path for path in top)
    assert {"vehicles", "home", "electronics", "services", "insurance", "finance"} <= set(top)


def test_the_children_of_a_category_are_the_ones_directly_under_it() -> None:
    """Children are one level down only; a leaf has none."""
    cars = [category.path for category in taxonomy().children("vehicles/cars")]

    assert "vehicles/cars/electric" in cars
    assert all(path.count("/") == 2 and path.startswith("vehicles/cars/") for path in cars)
    assert taxonomy().children("vehicles/cars/electric") == ()


def test_ancestors_run_from_the_top_level_down_to_the_parent() -> None:
    """The ancestors of a category are listed top first; a top-level category has none."""
    ancestors = taxonomy().ancestors("vehicles/cars/electric")

    assert [category.path for category in ancestors] == ["vehicles", "vehicles/cars"]
    assert taxonomy().ancestors("vehicles") == ()


@pytest.mark.parametrize(
    ("path", "prefix", "within"),
    [
        ("vehicles/cars", "vehicles", True),
        ("vehicles/cars/electric", "vehicles", True),
        ("vehicles/cars", "vehicles/cars", True),
        ("vehicles/cars", "", True),
        ("vehicles-parts", "vehicles", False),
        ("vehicles/cars-electric", "vehicles/cars", False),
        ("vehicles/carsharing", "vehicles/cars", False),
        ("vehicles", "vehicles/cars", False),
        ("home/furniture", "vehicles", False),
    ],
)
def test_is_within_compares_whole_segments(path: str, prefix: str, within: bool) -> None:
    """A path is within a prefix only when the prefix ends at a segment boundary."""
    assert taxonomy().is_within(path, prefix) is within


# Search


def test_search_ranks_exact_label_then_label_prefix_then_word_then_path() -> None:
    """An exact label beats a label prefix, which beats a word in a label, then a path match."""
    tree = small(
        ("toys", "Toys"),
        ("toys/model-cars", "Model vehicles"),
        ("vehicles", "Vehicles"),
        ("vehicles/cars", "Cars"),
        ("vehicles/cars/electric", "Electric cars"),
        ("vehicles/cars-and-vans", "Cars and vans"),
        ("home", "Home"),
        ("home/carpets", "Carpets"),
    )

    found = [category.path for category in tree.search("CARS")]

    assert found == [
        "vehicles/cars",
        "vehicles/cars-and-vans",
        "vehicles/cars/electric",
        "toys/model-cars",
    ]


def test_search_breaks_ties_by_depth_then_label_length() -> None:
    """Among equal matches the more general category, then the shorter label, comes first."""
    tree = small(
        ("a", "Solar"),
        ("a/b", "Solar panels and batteries"),
        ("a/c", "Solar panels"),
        ("d", "Solar panels for boats"),
    )

    assert [category.path for category in tree.search("solar pan")] == ["d", "a/c", "a/b"]


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("Plumbing", "services/trades/plumbing"),
        ("electric cars", "vehicles/cars/electric"),
        ("smartphones", "electronics/phones/smartphones"),
        ("sofa", "home/furniture/sofas"),
        ("car insurance", "insurance/car"),
        ("men's shirts", "clothing/mens/shirts"),
        ("  BROADBAND ", "telecom/broadband"),
    ],
)
def test_search_finds_shipped_categories_best_first(text: str, first: str) -> None:
    """What a person types finds the category they mean, first."""
    assert taxonomy().search(text)[0].path == first


def test_search_matches_path_segments_when_no_label_does() -> None:
    """Words found only in a path still find the category, after label matches."""
    found = [category.path for category in taxonomy().search("cars elec")]

    assert found == ["vehicles/cars/electric"]


def test_search_returns_at_most_limit_results() -> None:
    """``limit`` caps the results; nothing to search for finds nothing."""
    assert len(taxonomy().search("insurance", limit=3)) == 3
    assert taxonomy().search("  ") == ()
    assert taxonomy().search("zzzzqqq") == ()
    with pytest.raises(ValueError, match="limit must be at least 1"):
        taxonomy().search("cars", limit=0)


# Properties


def test_properties_are_inherited_from_the_top_down() -> None:
    """A category offers its ancestors' properties first, then its own."""
    assert taxonomy().properties_of("vehicles/cars/electric") == (
        "make",
        "model",
        "year",
        "condition",
        "colour",
        "body_type",
        "fuel",
        "transmission",
        "seats",
        "mileage_km",
        "range_km",
        "battery_kwh",
        "charging_kw",
    )


def test_an_inherited_property_listed_again_appears_once_where_first_listed() -> None:
    """A property named by both a category and its parent is offered once, in the parent's place."""
    tree = small(
        ("vehicles", "Vehicles", ["make", "colour"]),
        ("vehicles/cars", "Cars", ["seats", "colour"]),
        ("vehicles/cars/electric", "Electric cars", ["range_km", "make"]),
    )

    assert tree.properties_of("vehicles/cars/electric") == ("make", "colour", "seats", "range_km")
    assert tree.properties_of("vehicles") == ("make", "colour")


# Unknown categories


def test_an_unknown_category_suggests_the_close_path() -> None:
    """A mistyped path is refused with a message naming the path meant, first."""
    with pytest.raises(UnknownCategory) as caught:
        taxonomy().category("vehicles/car/electric")

    assert caught.value.suggestions[0] == "vehicles/cars/electric"
    assert str(caught.value).startswith(
        "no category 'vehicles/car/electric'; did you mean 'vehicles/cars/electric'"
    )


def test_an_unknown_category_is_a_key_error() -> None:
    """Code that catches KeyError for a missing key also catches an unknown category."""
    with pytest.raises(KeyError):
        taxonomy().children("vehicles/hovercraft")


def test_a_bare_last_segment_suggests_the_full_path() -> None:
    """Asking for ``plumbing`` suggests ``services/trades/plumbing``."""
    with pytest.raises(UnknownCategory, match="did you mean 'services/trades/plumbing'"):
        taxonomy().ancestors("plumbing")


def test_an_unknown_category_with_nothing_close_lists_the_top_level() -> None:
    """When nothing is close, the message lists the top-level categories instead."""
    with pytest.raises(UnknownCategory) as caught:
        taxonomy().properties_of("zzzz")

    assert caught.value.suggestions == ()
    assert "nor one close to it" in str(caught.value)
    assert "vehicles" in str(caught.value)


# Malformed taxonomies


def test_a_taxonomy_missing_an_ancestor_is_refused() -> None:
    """A category whose parent is not listed is refused, naming both."""
    with pytest.raises(
        ValidationError,
        match="category 'vehicles/cars/electric' is listed but its parent 'vehicles/cars' is not",
    ):
        small(("vehicles", "Vehicles"), ("vehicles/cars/electric", "Electric cars"))


def test_a_taxonomy_listing_a_path_twice_is_refused() -> None:
    """The same path listed twice is refused."""
    with pytest.raises(ValidationError, match="category 'vehicles' is listed twice"):
        small(("vehicles", "Vehicles"), ("vehicles", "Vehicles again"))


@pytest.mark.parametrize(
    ("path", "segment"),
    [
        ("vehicles/Cars", "Cars"),
        ("vehicles/electric cars", "electric cars"),
        ("vehicles/cars--electric", "cars--electric"),
        ("vehicles/-cars", "-cars"),
        ("vehicles/cars-", "cars-"),
        ("vehicles/cars_electric", "cars_electric"),
        ("vehicles//cars", ""),
        ("vehicles/cars/", ""),
        ("véhicules", "véhicules"),
        ("vehicles\n", "vehicles\n"),
    ],
)
def test_a_taxonomy_with_a_malformed_segment_is_refused(path: str, segment: str) -> None:
    """A path segment outside lowercase ascii, digits and single inner hyphens is refused."""
    with pytest.raises(ValidationError) as caught:
        small(("vehicles", "Vehicles"), (path, "Bad"))

    assert f"has a malformed segment {segment!r}" in str(caught.value)


def test_a_taxonomy_deeper_than_four_levels_is_refused() -> None:
    """A path of five segments is refused, saying how deep paths may go."""
    with pytest.raises(ValidationError, match="is 5 segments deep; at most 4 are allowed"):
        small(("a", "A"), ("a/b", "B"), ("a/b/c", "C"), ("a/b/c/d", "D"), ("a/b/c/d/e", "E"))


def test_a_taxonomy_with_an_empty_path_is_refused() -> None:
    """An empty path is refused."""
    with pytest.raises(ValidationError, match="a category path must not be empty"):
        small(("", "Nothing"))


def test_a_category_listing_a_property_twice_or_badly_named_is_refused() -> None:
    """Property names are snake_case and listed once per category."""
    with pytest.raises(ValidationError, match="lists property 'make' twice"):
        small(("vehicles", "Vehicles", ["make", "make"]))
    with pytest.raises(ValidationError, match="properties"):
        small(("vehicles", "Vehicles", ["Range-km"]))


def test_a_category_without_a_label_is_refused() -> None:
    """Every category needs a label, without surrounding spaces."""
    with pytest.raises(ValidationError, match="label"):
        small(("vehicles", ""))
    with pytest.raises(ValidationError, match="label"):
        small(("vehicles", " Vehicles"))


def test_a_taxonomy_with_unknown_members_is_refused() -> None:
    """A typo in a member name is refused rather than silently ignored."""
    with pytest.raises(ValidationError, match="propertys"):
        Taxonomy.model_validate(
            {
                "version": "1",
                "source": "test",
                "categories": [{"path": "a", "label": "A", "propertys": ["x"]}],
            }
        )


def test_every_shipped_path_is_a_category_the_protocol_takes() -> None:
    """An intent may name any category of the taxonomy: each path fits the wire format."""
    from pydantic import TypeAdapter

    from vrm.intents.taxonomy import taxonomy
    from vrm.protocol.v1.intents import CategoryPath

    check = TypeAdapter(CategoryPath)
    for category in taxonomy().categories:
        assert check.validate_python(category.path) == category.path
