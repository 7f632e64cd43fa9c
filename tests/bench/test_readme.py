"""The README's benchmark table is the newest run of bench/history.jsonl, as
``python -m bench.readme`` writes it."""

from __future__ import annotations

from bench import readme
from bench.history import newest


def test_the_readme_table_is_made_from_the_newest_history_entry() -> None:
    run = newest()
    assert run is not None, "bench/history.jsonl has no run: python -m bench --record"
    assert readme.section(readme.README.read_text()) == readme.render(run)


def test_every_history_entry_names_its_commit_machine_and_versions() -> None:
    run = newest()
    assert run is not None
    assert {"date", "commit", "command", "versions", "machine", "figures"} <= set(run)
    assert run["versions"]["celery"]
    assert run["machine"]["nproc"] >= 1
    assert all({"transport", "figure", "value", "unit"} <= set(f) for f in run["figures"])
