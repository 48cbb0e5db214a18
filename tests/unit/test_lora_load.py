"""The series' LoRA load test as benchmarks/load.py lora runs it: its phases, scaled, and the
table per phase (the run itself needs the cluster: docs/benchmarks.md has its figures)."""

from __future__ import annotations

import pandas as pd

from tests.helpers import benchmark

lora_load = benchmark("lora_load")


def test_the_posts_five_phases_last_fourteen_minutes_and_scale_down_together():
    phases = lora_load.POST_PHASES
    assert [p.name for p in phases] == ["warm-up", "normal", "spike", "recovery", "cool-down"]
    assert sum(p.seconds for p in phases) == 14 * 60
    scaled = [p.scaled(0.25, 0.125) for p in phases]
    assert [p.rate for p in scaled] == [0.25, 0.625, 1.5, 0.625, 0.25]
    assert [p.concurrency for p in scaled] == [3, 8, 20, 8, 3]  # the post's limits stay
    for phase in phases:
        assert sum(phase.mix.values()) == 1 and set(phase.mix) <= set(lora_load.PROMPTS)


def test_a_draw_picks_the_prompt_kind_its_share_covers():
    mix = {"short": 0.5, "medium": 0.3, "context": 0.2}
    assert [lora_load.share_holding(mix, d) for d in (0.0, 0.49, 0.5, 0.79, 0.8, 0.999)] == [
        "short",
        "short",
        "medium",
        "medium",
        "context",
        "context",
    ]


def test_the_table_per_phase_counts_failures_and_the_adapters_share():
    phase = lora_load.Phase("spike", 10, 1.0, 2, {"short": 1.0})
    rows = [
        ("tutorial-qa", 0.0, 2.0, 50, None),
        ("tutorial-qa", 3.0, 4.0, 50, None),
        ("base", 0.0, 60.0, 0, "TimeoutError"),
        ("tutorial-qa", 1.0, 6.0, 50, None),
    ]
    requests = pd.DataFrame(
        [
            {
                "phase": "spike",
                "model": m,
                "kind": "short",
                "queued": q,
                "latency": lat,
                "tokens": t,
                "error": e,
            }
            for m, q, lat, t, e in rows
        ]
    )
    table = lora_load.by_phase(requests, [phase], {"spike": 20.0}, "tutorial-qa")
    row = table.iloc[0].to_dict()
    assert (row["requests"], row["failed"], row["to the adapter"]) == (4, 1, "75%")
    assert row["answered req/s"] == 0.15 and row["output tokens/s"] == 7.5  # over the 20 s it took
    assert row["latency p50 s"] == 4.0  # of the answered ones: the timeout is not a latency
