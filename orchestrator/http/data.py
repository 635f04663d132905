"""Data endpoints: which categories can be planned, and CSV upload (`POST /api/data/import`, the
data-admin role): the deployed way to load data, through the same validated, all-or-nothing
import path that `python -m localdev load` takes locally.

Both read the data layer's pandas side (shared.data.context, shared.data.csv_import), so each
function imports it where it runs: the app's import stays free of pandas (see function_app).
"""

from __future__ import annotations

import logging
from typing import Any, Literal, get_args

import azure.durable_functions as df
import azure.functions as func

from orchestrator.http.dependencies import dependencies
from shared.errors import InvalidParametersError, RequestTooLargeError
from shared.http import MAX_BODY_BYTES, http_endpoint, json_response
from shared.identity import DATA_ADMIN, authorize

logger = logging.getLogger(__name__)

bp = df.Blueprint()

UPLOAD_FIELDS = ("stores", "sales", "categories")
MAX_UPLOAD_BYTES = 50 * MAX_BODY_BYTES
ImportMode = Literal["replace", "append"]
IMPORT_MODES: tuple[str, ...] = get_args(ImportMode)


@bp.route(route="categories", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@http_endpoint
def list_categories(req: func.HttpRequest) -> func.HttpResponse:
    """The categories with sales history (what run-workflow accepts) and the default one;
    any signed-in caller may read them."""
    settings = dependencies().settings()
    authorize(req, None, settings)
    from shared.data.context import get_assembler

    categories = get_assembler(settings.database_url).list_categories()
    return json_response(
        {
            "default_category_id": categories[0].category_id if categories else None,
            "categories": [c.model_dump() for c in categories],
        }
    )


def _uploaded_files(req: func.HttpRequest) -> dict[str, bytes]:
    content_type = req.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise InvalidParametersError(
            "Upload CSV files as multipart/form-data",
            details={"content_type": content_type[:100], "fields": list(UPLOAD_FIELDS)},
            suggestions=[
                "curl -H 'Authorization: Bearer <token>' -F stores=@stores.csv "
                "-F sales=@sales.csv <app URL>/api/data/import"
            ],
        )
    if len(req.get_body() or b"") > MAX_UPLOAD_BYTES:
        raise RequestTooLargeError(
            "Upload too large",
            details={"max_bytes": MAX_UPLOAD_BYTES},
            suggestions=["Split the sales history by category and upload it in several calls."],
        )
    files = {name: req.files[name].read() for name in UPLOAD_FIELDS if name in req.files}
    unknown = sorted(set(req.files) - set(UPLOAD_FIELDS))
    if unknown or not files:
        raise InvalidParametersError(
            "Expected file fields stores, sales and/or categories",
            details={"unknown_fields": unknown, "fields": list(UPLOAD_FIELDS)},
            suggestions=["Name each file part stores, sales or categories."],
        )
    return files


def _mode(req: func.HttpRequest) -> str:
    mode: str = req.params.get("mode", "replace")
    if mode not in IMPORT_MODES:
        raise InvalidParametersError(
            "mode must be replace or append",
            details={"mode": mode[:40]},
            suggestions=["replace (default) swaps the uploaded categories; append adds rows."],
        )
    return mode


@bp.route(route="data/import", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@http_endpoint
def import_data(req: func.HttpRequest) -> func.HttpResponse:
    """Import stores/sales/categories CSV files; 422 lists the offending rows and changes
    nothing. It replaces planning data, so it needs the `data-admin` app role (locally too);
    the role, unlike a shared function key, says who imported."""
    principal = authorize(req, DATA_ADMIN, dependencies().settings())
    from shared.data.csv_import import import_csv

    mode = _mode(req)
    files = _uploaded_files(req)
    report = import_csv(
        dependencies().engine(),
        stores_csv=files.get("stores"),
        sales_csv=files.get("sales"),
        categories_csv=files.get("categories"),
        replace=mode == "replace",
    )
    logger.info("data import (%s) by %s", mode, principal.user_id)
    body: dict[str, Any] = report.model_dump()
    return json_response(body)
