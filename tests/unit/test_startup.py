"""The startup-log parser on the blog's lines and on the phrasings of other vLLM versions.

The fixtures here are the blog's lines (v0.14), the local runtime's log, and lines written
in the formats vLLM printed over the years to pin single phrasings; real logs people posted,
each with its source, are in test_startup_real_logs.py. The live stand-in pod's log is
checked in tests/cluster.
"""

from pathlib import Path

import pytest

from tutorial_lib.domain.startup import (
    BLOG_L4_LOG,
    StartupFigures,
    StartupLogParser,
    parse_startup_log,
    side_by_side,
)

FIXTURES = Path(__file__).parent / "fixtures"


def parse(name: str) -> StartupFigures:
    return parse_startup_log((FIXTURES / name).read_text())


def parse_blog() -> StartupFigures:
    return parse_startup_log(BLOG_L4_LOG.read_text())


def test_blog_l4_log_gives_every_figure_the_blog_quotes():
    figures = parse_blog()
    assert figures.found() == {
        "weights_gib": 3.96,
        "weights_load_seconds": 19.18,
        "model_load_seconds": 60.55,
        "cuda_graph_gib": 1.13,
        "cuda_graph_seconds": 26,
        "kv_cache_gib": 15.07,
        "kv_cache_tokens": 123472,
        "max_concurrency": 30.03,
        "max_concurrency_tokens": 4096,
    }
    assert isinstance(figures.kv_cache_tokens, int)
    assert figures.warnings == [] and figures.notes == []


def test_to_frame_names_unit_and_source_line():
    frame = parse_blog().to_frame()
    row = frame.set_index("figure").loc["kv_cache_tokens"]
    assert row["unit"] == "tokens"
    assert row["source"].endswith("GPU KV cache size: 123,472 tokens")
    assert "<table" in parse_blog()._repr_html_()


def test_v0_multi_gpu_log_keeps_first_rank_and_says_so():
    figures = parse("v0_0.3_tp2.log")
    assert figures.weights_gib == 6.7462
    assert (figures.gpu_blocks, figures.cpu_blocks) == (7449, 4096)
    assert figures.cuda_graph_seconds == 5 and figures.cuda_graph_gib is None
    assert any(note.startswith("weights_gib is stated 2 times") for note in figures.notes)
    assert "RayWorkerVllm" in figures.sources["weights_gib"]


def test_key_value_memory_profiling_line():
    figures = parse("v0_0.6_profiling.log")
    assert figures.weights_gib == 3.8814
    assert figures.total_gpu_memory_gib == 22.05
    assert figures.kv_cache_gib == 14.14
    assert figures.gpu_memory_utilization == 0.88
    assert figures.gpu_blocks == 7239
    assert (figures.max_concurrency_tokens, figures.max_concurrency) == (4096, 28.28)
    assert (figures.cuda_graph_seconds, figures.cuda_graph_gib) == (25, 0.98)


def test_sentence_memory_profiling_block():
    figures = parse("v0_0.7_sentence.log")
    assert figures.total_gpu_memory_gib == 22.05
    assert figures.gpu_memory_utilization == 0.90
    assert figures.weights_gib == 3.8815  # the first statement wins; "take 3.88GiB" repeats it
    assert figures.kv_cache_gib == 14.63
    assert figures.gpu_blocks == 7490


def test_v1_summary_sentence():
    figures = parse("v1_summary.log")
    assert figures.weights_gib == 3.96 and figures.model_load_seconds == 41.20
    assert figures.total_gpu_memory_gib == 22.05
    assert figures.gpu_memory_utilization == 0.88
    assert figures.cuda_graph_gib == 1.13
    assert figures.kv_cache_gib == 14.62
    assert figures.kv_cache_tokens == 119760


def test_two_column_table():
    figures = parse("table.log")
    assert (figures.weights_gib, figures.cuda_graph_gib, figures.kv_cache_gib) == (
        3.96,
        1.13,
        15.07,
    )


def test_figures_only_stated_in_errors():
    assert parse("does_not_fit.log").kv_cache_gib == 2.50
    assert parse("v0_max_tokens_error.log").kv_cache_tokens == 24896


def test_negative_kv_cache_is_kept_and_flagged():
    figures = parse("negative_kv.log")
    assert figures.kv_cache_gib == -1.42
    assert len(figures.warnings) == 1 and "does not fit" in figures.warnings[0]


@pytest.mark.parametrize(
    "line",
    [
        "Maximum concurrency for 4,096 tokens per request: 30.03x",
        "Maximum concurrency for 4096 tokens per request: 30.03x",
        "GPU KV cache size: 123,472 tokens, "
        "Maximum concurrency for 4,096 tokens per request: 30.03x",
        "2026-02-05T16:32:51.1Z stdout F (Worker_TP0 pid=7) INFO [x.py:1] Maximum concurrency "
        "for 4,096 tokens per request: 30.03x",
    ],
)
def test_concurrency_line_variants(line):
    figures = parse_startup_log(line)
    assert (figures.max_concurrency_tokens, figures.max_concurrency) == (4096, 30.03)


def test_cpu_backend_kv_size_line():
    figures = parse_startup_log(
        "(EngineCore pid=5) INFO [kv_cache_utils.py:1] CPU KV cache size: 46,592 tokens"
    )
    assert figures.kv_cache_tokens == 46592


def test_incremental_feed_reports_new_figures_once():
    parser = StartupLogParser()
    assert parser.feed("INFO: Available KV cache memory: 15.07 GiB") == ["kv_cache_gib"]
    assert parser.feed("INFO: Available KV cache memory: 15.07 GiB") == []
    assert parser.feed("Model loading took 3.96 GiB memory and 60.55 seconds") == [
        "weights_gib",
        "model_load_seconds",
    ]
    assert parser.figures.kv_cache_gib == 15.07


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "\x00\xff\xfe",
        "Maximum concurrency for",
        "Available KV cache memory: ",
        "GPU KV cache size: ,,, tokens",
        "Model loading took 3.9",
        "x" * 100_000,
        "kv cache" + " " * 20_000,
        "weights " + "is " * 5_000,
    ],
)
def test_garbage_and_truncated_input_never_raises_nor_invents_figures(garbage):
    figures = parse_startup_log(garbage)
    assert figures.found() == {} and figures.warnings == []


def test_truncated_log_keeps_what_it_read():
    text = BLOG_L4_LOG.read_text()
    figures = parse_startup_log(text[: text.index("GPU KV cache size") + 20])
    assert figures.kv_cache_gib == 15.07
    assert figures.max_concurrency is None


def test_local_cpu_runtime_log_as_kubectl_logs_serves_it():
    # vLLM 0.26 (CPU build) with VLLM_CPU_KVCACHE_SPACE=1, in the CRI format kwok serves.
    figures = parse("cpu_v0.26_local.log")
    assert figures.found() == {
        "weights_load_seconds": 0.19,
        "kv_cache_gib": 1.0,
        "kv_cache_tokens": 46592,
        "max_concurrency": 11.38,
        "max_concurrency_tokens": 4096,
    }


def test_to_frame_keeps_token_counts_integers():
    frame = parse_blog().to_frame().set_index("figure")
    assert str(frame.loc["kv_cache_tokens", "value"]) == "123472"
    assert str(frame.loc["kv_cache_gib", "value"]) == "15.07"


def test_settings_stated_only_in_the_non_default_args_are_read():
    """vLLM 0.1x+ prints the flags it was given as a dict, and nowhere else."""
    line = (
        "(APIServer pid=724) INFO 12-06 01:33:29 [api_utils.py:273] non-default args: "
        "{'model_tag': '/tmp/m', 'port': 8011, 'max_model_len': 4096, 'served_model_name': "
        "['m'], 'gpu_memory_utilization': 0.2451, 'max_num_batched_tokens': 2048, "
        "'max_num_seqs': 256}"
    )
    assert parse_startup_log(line).found() == {
        "gpu_memory_utilization": 0.2451,
        "max_model_len": 4096,
        "max_num_seqs": 256,
        "max_num_batched_tokens": 2048,
    }


@pytest.mark.parametrize(
    "line", ["# GPU blocks: 2310, # CPU blocks: 512", "GPU blocks: 2310, # CPU blocks: 512"]
)
def test_the_one_line_block_counts_with_or_without_the_hash(line):
    assert parse_startup_log(f"INFO 01-01 llm_engine.py:207] {line}").found() == {
        "gpu_blocks": 2310,
        "cpu_blocks": 512,
    }


def test_side_by_side_keeps_token_counts_whole_and_says_what_a_log_does_not_state():
    table = side_by_side(
        {"blog": parse_blog(), "local": parse("cpu_v0.26_local.log")}, missing="not on CPU"
    )
    assert table.loc["kv_cache_tokens", "blog"] == 123472  # the post's, an int, not 123472.00
    assert isinstance(table.loc["kv_cache_tokens", "local"], int)
    assert table.loc["cuda_graph_gib", "local"] == "not on CPU"
    assert not table.isna().any().any(), "no NaN for a reader to puzzle over"
    assert table.loc["kv_cache_gib", "unit"] == "GiB"
