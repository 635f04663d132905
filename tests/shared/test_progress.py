"""The progress callback type and `report`, the one way agents call it."""

from shared.progress import ProgressReporter, report


def test_report_clamps_the_percentage_and_passes_the_message() -> None:
    calls: list[tuple[int, str]] = []

    def record(percent: int, message: str) -> None:
        calls.append((percent, message))

    reporter: ProgressReporter = record
    for percent in (-5, 40, 250):
        report(reporter, percent, f"at {percent}")
    assert calls == [(0, "at -5"), (40, "at 40"), (100, "at 250")]


def test_report_without_a_callback_does_nothing() -> None:
    report(None, 50, "nobody listens")
