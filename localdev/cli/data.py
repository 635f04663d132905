"""The data commands: `seed` (generate and load the sample), `load` (import CSV), `info`."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import func, select

from localdev.cli.import_errors import import_error_lines, missing_files
from localdev.sample_data import (
    current_calendar,
    database_is_empty,
    export_csv,
    generate_sample,
    hold_back,
    load_sample,
    write_weekly_files,
)
from shared.data.columns import CATEGORY_COLUMNS, SALES_COLUMNS, STORE_COLUMNS
from shared.data.csv_import import DataImportError, import_csv
from shared.data.db import get_engine
from shared.data.schema import create_schema
from shared.data.tables import HistoricalSale, Store, read_data_version
from shared.errors import AppError
from shared.settings import get_settings


class Command(NamedTuple):
    HELP: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    main: Callable[[argparse.Namespace], int]


def _database_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url",
        default=None,
        help="SQLAlchemy URL (default: the DATABASE_URL setting, sqlite:///./fashion_forecast.db)",
    )


def _database_url(args: argparse.Namespace) -> str:
    return args.database_url or get_settings().database_url


def _fail(exc: AppError, files: dict[str, Path | None] | None = None) -> int:
    """The error in lines a person reads: a rejected import one line per problem, then the
    first suggestion (the others list the columns, which each line already names)."""
    if isinstance(exc, DataImportError):
        for line in import_error_lines(exc, files or {}):
            print(line, file=sys.stderr)
        for suggestion in exc.suggestions[:1]:
            print(f"hint: {suggestion}", file=sys.stderr)
        return 2
    print(f"error: {exc.message}", file=sys.stderr)
    for suggestion in exc.suggestions:
        print(f"hint: {suggestion}", file=sys.stderr)
    return 1


def _seed_arguments(parser: argparse.ArgumentParser) -> None:
    _database_argument(parser)
    parser.add_argument("--stores", type=int, default=50, help="number of stores (default 50)")
    parser.add_argument(
        "--weeks",
        type=int,
        default=None,
        help="weeks of history (default: from 2022-01-03 through the end, at least 156)",
    )
    parser.add_argument(
        "--categories", type=int, default=3, help="number of categories (default 3)"
    )
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument(
        "--end-date",
        type=date.fromisoformat,
        default=None,
        help="history ends with the last full week before this date, YYYY-MM-DD "
        "(default today; fix it for tests)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="load even when the database already holds data (replaces the generated categories)",
    )
    parser.add_argument(
        "--export",
        type=Path,
        default=None,
        metavar="DIR",
        help="write stores.csv, categories.csv and sales.csv into DIR instead of "
        "loading the database",
    )
    parser.add_argument(
        "--hold-back",
        type=int,
        default=0,
        metavar="N",
        help="keep the last N weeks out of the history and write them as weekly actuals files "
        "(actuals_<category>_<week>.csv) into --weekly-dir, to feed a live season week by week",
    )
    parser.add_argument(
        "--weekly-dir",
        type=Path,
        default=Path("weekly_actuals"),
        metavar="DIR",
        help="where --hold-back writes its weekly files (default ./weekly_actuals)",
    )


def _seed(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    calendar = current_calendar(args.end_date or datetime.now(UTC).date())
    if args.weeks is not None:
        calendar["weeks"] = args.weeks
    sample = generate_sample(
        stores=args.stores, categories=args.categories, seed=args.seed, **calendar
    )
    if args.hold_back:
        sample, held = hold_back(sample, args.hold_back)
        files = write_weekly_files(held, args.weekly_dir)
        print(f"held back {args.hold_back} weeks: {len(files)} files in {args.weekly_dir}")
    if args.export is not None:
        paths = export_csv(sample, args.export)
        print(
            f"wrote {', '.join(str(p) for p in paths.values())} ({len(sample.sales):,} sales rows)"
        )
        return 0
    url = _database_url(args)
    engine = get_engine(url)
    create_schema(engine)
    if not args.force and not database_is_empty(engine):
        print(
            "the database already holds data; nothing loaded (use --force to replace the "
            "sample categories)"
        )
        return 0
    load_sample(engine, sample)
    weeks = sample.sales["week_start_date"]
    print(
        f"loaded {len(sample.stores)} stores, {len(sample.categories)} categories "
        f"({', '.join(sample.categories['category_id'])}), {len(sample.sales):,} sales rows, "
        f"weeks {weeks.min().date()} .. {weeks.max().date()} "
        f"in {time.perf_counter() - started:.1f} s"
    )
    return 0


def _load_arguments(parser: argparse.ArgumentParser) -> None:
    _database_argument(parser)
    parser.add_argument(
        "--stores",
        type=Path,
        default=None,
        metavar="FILE",
        help="stores CSV: " + ",".join(STORE_COLUMNS),
    )
    parser.add_argument(
        "--sales",
        type=Path,
        default=None,
        metavar="FILE",
        help="sales CSV: " + ",".join(SALES_COLUMNS),
    )
    parser.add_argument(
        "--categories",
        type=Path,
        default=None,
        metavar="FILE",
        help="categories CSV: " + ",".join(CATEGORY_COLUMNS),
    )
    parser.add_argument(
        "--append",
        action="store_true",
        help="add sales rows instead of replacing the file's categories",
    )


def _load(args: argparse.Namespace) -> int:
    files = {"stores": args.stores, "sales": args.sales, "categories": args.categories}
    absent = missing_files(files)
    if absent:
        for line in absent:
            print(f"error: {line}", file=sys.stderr)
        print("hint: nothing was imported; give the path of each file", file=sys.stderr)
        return 2
    engine = get_engine(_database_url(args))
    try:
        report = import_csv(
            engine, args.stores, args.sales, categories_csv=args.categories, replace=not args.append
        )
    except AppError as exc:
        return _fail(exc, files)
    print(report.model_dump_json(indent=2))
    return 0


def _info_arguments(parser: argparse.ArgumentParser) -> None:
    _database_argument(parser)


def _info(args: argparse.Namespace) -> int:
    engine = get_engine(_database_url(args))
    create_schema(engine)
    with engine.connect() as conn:
        stores = conn.execute(select(func.count()).select_from(Store)).scalar_one()
        rows = conn.execute(
            select(
                HistoricalSale.category_id,
                func.count(),
                func.count(func.distinct(HistoricalSale.week_start_date)),
                func.min(HistoricalSale.week_start_date),
                func.max(HistoricalSale.week_start_date),
            )
            .group_by(HistoricalSale.category_id)
            .order_by(HistoricalSale.category_id)
        ).all()
        version = read_data_version(conn)
    print(f"database: {engine.url.render_as_string(hide_password=True)}")
    print(f"data version: {version}, stores: {stores}")
    for category, count, weeks, first, last in rows:
        print(f"  {category}: {count:,} rows, {weeks} weeks, {first} .. {last}")
    if not rows:
        print("no sales yet: run `localdev seed`, or `localdev load` your own files")
    return 0


seed = Command("generate the seeded sample dataset and load it", _seed_arguments, _seed)
load = Command(
    "import stores/sales/categories CSV files (validated, all or nothing)", _load_arguments, _load
)
info = Command("show what the database holds", _info_arguments, _info)
