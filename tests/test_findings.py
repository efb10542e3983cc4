"""The findings page says what its numbers say (purgesim.experiment.findings), on synthetic
experiment results with known answers."""

from __future__ import annotations

from typing import Any

from purgesim.experiment import findings


def _result(variant: str, seed: int, halt: str | None, arrests_1939: float) -> dict[str, Any]:
    return {
        "variant": variant, "seed": seed, "scale": 0.01, "arrests": 1000.0 + seed,
        "death_sentences": 400.0, "top_down": 500.0, "bottom_up": 300.0, "routine": 200.0,
        "by_cause": {"quota": 500.0, "confession": 300.0, "routine": 200.0},
        "police_arrested_by_cause": {"confession": 3}, "halt": halt, "monthly_arrests": {},
        "yearly": {"1938": {"arrests": 600.0}, "1939": {"arrests": arrests_1939}},
    }


def _results(endogenous_halts: dict[str, str | None]) -> list[dict[str, Any]]:
    out = []
    for seed in (1, 2, 3):
        out.append(_result("baseline", seed, "1938-11-17", 50.0))
        out.append(_result("no_halt", seed, None, 200.0))
        for t, halt in endogenous_halts.items():
            out.append(_result(f"no_scripted_halt_{t}", seed, halt, 150.0))
    return out


def test_no_endogenous_halt_is_reported_as_such() -> None:
    page = findings(_results({"0.25": None, "0.1": None}), "x", 0.01, "cmd")
    assert "halted in 0 of 3 runs" in page
    assert "halted in none of the runs above" in page
    assert "against 50 with the halt of the scenario" in page
    assert "in 1939 the model arrests 200 people" in page


def test_endogenous_halts_are_counted_and_dated() -> None:
    page = findings(_results({"0.25": None, "0.05": "1939-02-01"}), "x", 0.01, "cmd")
    assert "halted in 3 of 3 runs, median date 1939-02-01" in page
    assert "halts in 3 of 3 runs at threshold 0.05, 0 of 3 runs at threshold 0.25" in page
    assert "earliest such halt comes on 1939-02-01, after the scenario's scripted halt" in page
    assert "halted in none" not in page
    early = findings(_results({"0.05": "1938-06-01"}), "x", 0.01, "cmd")
    assert "1938-06-01, before or on the scenario's scripted halt" in early
