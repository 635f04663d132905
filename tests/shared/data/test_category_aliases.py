"""Category aliases: the categories file's optional `aliases` column ('|' between them), stored
with the category, read by the extraction's catalog, carried by the sample data, and added in
place to a database made before the column existed."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from localdev.sample_data import SAMPLE_ALIASES, export_csv, generate_sample, load_sample
from shared.data.catalog import known_categories
from shared.data.csv_import import DataImportError, import_csv
from shared.data.db import dispose_engine, get_engine
from shared.data.schema import create_schema
from shared.extraction import read_strategy
from shared.settings import Settings

HEADER = "category_id,name,full_price,unit_cost,salvage_fraction,price_elasticity"


@pytest.fixture
def database(tmp_path):
    url = f"sqlite:///{tmp_path / 'aliases.db'}"
    load_sample(get_engine(url), generate_sample(stores=5, categories=3, weeks=60))
    yield url
    dispose_engine(url)


def test_the_sample_categories_carry_aliases_the_catalog_reads(database):
    known = {category.category_id: category for category in known_categories(database)}
    assert known["swimwear"].aliases == SAMPLE_ALIASES["swimwear"]
    assert "jeans" in known["denim"].aliases


def test_an_imported_aliases_column_is_trimmed_and_names_the_category(database):
    kilts = HEADER + ",aliases\nkilts,Kilts,120,40,0.3,-1.5, tartan skirt | sporran |\n"
    import_csv(get_engine(database), categories_csv=kilts.encode())
    with get_engine(database).connect() as conn:
        stored = conn.execute(text("SELECT aliases FROM categories WHERE category_id='kilts'"))
        assert stored.scalar() == "tartan skirt|sporran"
    # Without sales the catalog leaves it out; the sample's categories keep their aliases.
    assert "kilts" not in {c.category_id for c in known_categories(database)}
    reading = read_strategy(
        "Bikinis for summer 2025: 10 weeks from June 2. Weekly replenishment, 10% DC holdback.",
        Settings(extractor="rules"),
        categories=known_categories(database),
    )
    assert reading.category_id == "swimwear"
    assert reading.field_sources["category_id"] == "stated"


def test_a_file_without_the_column_keeps_no_aliases(database):
    import_csv(
        get_engine(database), categories_csv=(HEADER + "\nsocks,Socks,8,2,0.1,-2.5\n").encode()
    )
    with get_engine(database).connect() as conn:
        assert (
            conn.execute(text("SELECT aliases FROM categories WHERE category_id='socks'")).scalar()
            == ""
        )


def test_an_alias_a_spreadsheet_would_run_is_refused_naming_the_row(database):
    bad = HEADER + ",aliases\nkilts,Kilts,120,40,0.3,-1.5,skirt|=HYPERLINK(1)\n"
    with pytest.raises(DataImportError) as caught:
        import_csv(get_engine(database), categories_csv=bad.encode())
    problem = caught.value.details["problems"][0]
    assert (problem["file"], problem["row"], problem["column"]) == ("categories", 2, "aliases")


def test_the_export_writes_the_aliases_and_loads_back(tmp_path):
    sample = generate_sample(stores=3, categories=3, weeks=60)
    paths = export_csv(sample, tmp_path / "export")
    header = paths["categories"].read_text().splitlines()[0]
    assert header.endswith(",currency,aliases")
    url = f"sqlite:///{tmp_path / 'again.db'}"
    import_csv(
        get_engine(url),
        stores_csv=paths["stores"],
        sales_csv=paths["sales"],
        categories_csv=paths["categories"],
    )
    assert {c.category_id: c.aliases for c in known_categories(url)}["outerwear"] == (
        SAMPLE_ALIASES["outerwear"]
    )
    dispose_engine(url)


def test_a_database_from_before_the_aliases_column_gets_it_empty(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = get_engine(url)
    with old.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE categories (category_id VARCHAR(64) PRIMARY KEY, name VARCHAR(200), "
                "full_price FLOAT, unit_cost FLOAT, salvage_fraction FLOAT, "
                "price_elasticity FLOAT, currency VARCHAR(3) NOT NULL DEFAULT 'USD')"
            )
        )
        conn.execute(
            text("INSERT INTO categories VALUES ('denim', 'Denim', 69, 24, 0.3, -1.6, 'EUR')")
        )
    create_schema(old)
    with old.connect() as conn:
        row = conn.execute(text("SELECT currency, aliases FROM categories")).one()
    assert tuple(row) == ("EUR", "")
    dispose_engine(url)
