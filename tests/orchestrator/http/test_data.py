"""GET /api/categories and POST /api/data/import, invoked as the host invokes them: from the app's
function index with a real multipart azure.functions.HttpRequest."""

from __future__ import annotations

import json
import uuid

import pytest

import function_app
from localdev.host.functions import index_app
from localdev.sample_data import export_csv, generate_sample, load_sample
from orchestrator.http.dependencies import overridden
from shared.data.db import dispose_engine, get_engine
from shared.settings import Settings
from tests.shared.data.test_csv_import import _assert_unchanged, _dump
from tests.support.functions import call_http

FUNCTIONS = index_app(function_app.app)
NEW_WEEKS = 60


@pytest.fixture
def database(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'data.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    load_sample(get_engine(url), generate_sample(stores=6, weeks=60, categories=2))
    with overridden(settings=Settings):
        yield get_engine(url)
    dispose_engine(url)


def multipart(files: dict[str, bytes]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{name}.csv"\r\nContent-Type: text/csv\r\n\r\n'
        ).encode()
        + content
        + b"\r\n"
        for name, content in files.items()
    ]
    return b"".join(
        parts
    ) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def call(name: str, method: str, body: bytes = b"", headers=None, params=None):
    response = call_http(function_app.app, name, method, body=body, headers=headers, params=params)
    return response, json.loads(response.get_body())


def upload(files: dict[str, bytes], params=None):
    body, content_type = multipart(files)
    return call("import_data", "POST", body, {"content-type": content_type}, params)


def new_category_files(tmp_path) -> dict[str, bytes]:
    """A third category for the sample's stores, as CSV files written by the sample exporter."""
    sample = generate_sample(stores=6, weeks=NEW_WEEKS, categories=3)
    paths = export_csv(sample, tmp_path / "csv")
    existing = set(generate_sample(stores=6, weeks=60, categories=2).categories["category_id"])
    (newest,) = set(sample.categories["category_id"]) - existing
    sales = paths["sales"].read_text().splitlines()
    kept = [sales[0]] + [line for line in sales[1:] if f",{newest}," in line]
    return {
        "stores": paths["stores"].read_bytes(),
        "categories": paths["categories"].read_bytes(),
        "sales": ("\n".join(kept) + "\n").encode(),
    }


def test_categories_lists_what_can_be_planned(database):
    response, body = call("list_categories", "GET")
    assert response.status_code == 200
    ids = [c["category_id"] for c in body["categories"]]
    assert ids == sorted(generate_sample(stores=6, weeks=60, categories=2).categories.category_id)
    assert body["default_category_id"] == ids[0]
    assert {"full_price", "unit_cost", "salvage_fraction", "price_elasticity"} <= set(
        body["categories"][0]
    )


def test_upload_imports_a_new_category(database, tmp_path):
    response, report = upload(new_category_files(tmp_path))
    assert response.status_code == 200, report
    assert report["sales_rows"] == 6 * NEW_WEEKS and report["stores"] == 6
    _, body = call("list_categories", "GET")
    assert len(body["categories"]) == 3


def test_a_bad_upload_lists_the_rows_and_changes_nothing(database, tmp_path):
    files = new_category_files(tmp_path)
    lines = files["sales"].decode().splitlines()
    lines[3] = lines[3].rsplit(",", 1)[0] + ",-5"
    lines[7] = "2024-13-40," + lines[7].split(",", 1)[1]
    files["sales"] = ("\n".join(lines) + "\n").encode()
    before = _dump(database)

    response, error = upload(files)

    assert response.status_code == 422 and error["error_type"] == "INVALID_PARAMETERS"
    assert error["request_id"] == response.headers["x-request-id"]
    assert "4" in json.dumps(error["details"]) and "8" in json.dumps(error["details"])
    _assert_unchanged(database, before)


@pytest.mark.parametrize(
    "body,headers,params",
    [
        (b"store_id\nS1\n", {"content-type": "text/csv"}, {}),
        (b"", {}, {}),
        *[(None, None, {"mode": mode}) for mode in ("merge", "")],
    ],
)
def test_malformed_uploads_are_422(database, body, headers, params):
    if body is None:
        body, content_type = multipart({"stores": b"store_id\n"})
        headers = {"content-type": content_type}
    before = _dump(database)
    response, error = call("import_data", "POST", body, headers, params)
    assert response.status_code == 422 and error["error_type"] == "INVALID_PARAMETERS"
    _assert_unchanged(database, before)


def test_a_body_that_is_not_multipart_is_told_how_to_upload(database):
    response, error = call("import_data", "POST", b"store_id\nS1\n", {"content-type": "text/csv"})
    assert response.status_code == 422 and error["details"]["content_type"] == "text/csv"
    [suggestion] = error["suggestions"]
    assert "-F stores=@stores.csv" in suggestion and "/api/data/import" in suggestion
    assert "localhost" not in suggestion


def test_unknown_file_fields_are_422(database):
    response, error = upload({"inventory": b"a,b\n1,2\n"})
    assert response.status_code == 422
    assert error["details"]["unknown_fields"] == ["inventory"]


@pytest.mark.parametrize(
    ("mode", "extra_row", "problem"),
    [
        ("append", "1900-01-01,S0001,outerwear,5", "before 1990"),
        ("append", "2023-06-04,S0001,outerwear,50", "Sunday"),
        ("append", "2023-06-05,S0001\x00junk,outerwear,5", "U+0000"),
        ("replace", "2023-06-05,\uff330001,outerwear,5", "unknown store"),
    ],
)
def test_an_implausible_sales_row_is_refused_by_the_upload(database, mode, extra_row, problem):
    """Issue 32 cases 1, 4 and 6 through the route: one poisoned row refuses the whole file."""
    before = _dump(database)
    sales = f"week_start_date,store_id,category_id,units_sold\n{extra_row}\n".encode()
    response, error = upload({"sales": sales}, {"mode": mode})
    assert response.status_code == 422, error
    assert problem in json.dumps(error["details"]["problems"], ensure_ascii=False)
    _assert_unchanged(database, before)
