"""The calculator widget follows its controls (driven as JupyterLab would, through traits)."""

import matplotlib

matplotlib.use("Agg")

import pytest

from tutorial_lib.domain.calculator import Calculator, stacked_bar


def test_defaults_are_the_blogs_l4_setup():
    budget = Calculator().update()
    assert budget.gpu.name == "L4" and budget.max_model_len == 4096
    assert int(budget.capacity.max_concurrency) == 30 and budget.cuda_graphs_fit


def test_moving_the_slider_to_0_95_loses_cuda_graphs():
    calc = Calculator()
    calc.utilization.value = 0.95
    assert calc.plan.gpu_memory_utilization == 0.95, "the widgets redraw on change"
    assert not calc.plan.cuda_graphs_fit


def test_fp16_weights_do_not_fit_a_t4():
    calc = Calculator()
    calc.gpu.value = "T4"
    calc.weights.value = "fp16"
    assert not calc.update().fits


def test_fp8_kv_cache_doubles_the_tokens():
    calc = Calculator()
    tokens = calc.update().capacity.tokens
    calc.kv_dtype.value = "fp8"
    # Half the bytes per token; whole blocks, so at most one block more than exactly twice.
    assert 2 * tokens <= calc.plan.capacity.tokens <= 2 * tokens + 16


def test_stacked_bar_shows_each_budget_part_with_its_size():
    budget = Calculator().update()
    ax = stacked_bar(budget)
    parts = [budget.weights_gib, budget.activation_gib, budget.kv_cache_gib, budget.cuda_graph_gib]
    assert [bar.get_width() for bar in ax.patches] == pytest.approx(parts)
    labels = ax.get_legend_handles_labels()[1]
    assert f"KV cache {budget.kv_cache_gib:.2f} GiB" in labels
    assert f"L4 {budget.gpu.total_gib:.2f} GiB" in labels
    assert f"{budget.capacity.tokens:,} tokens" in ax.get_title()
    assert "no room for CUDA graphs" not in ax.get_title()


def test_stacked_bar_says_when_cuda_graphs_do_not_fit():
    calc = Calculator()
    calc.utilization.value = 0.95
    assert "no room for CUDA graphs" in stacked_bar(calc.plan).get_title()


def test_calculator_renders_as_a_widget_in_a_real_kernel():
    """What JupyterLab receives: a widget view, and the table as HTML inside its output."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.v4.new_notebook()
    notebook.cells.append(
        nbformat.v4.new_code_cell(
            "from tutorial_lib.domain.calculator import Calculator\ncalc = Calculator()\ncalc"
        )
    )
    notebook.cells.append(
        nbformat.v4.new_code_cell("calc.utilization.value = 0.95\nprint(calc.plan.cuda_graphs_fit)")
    )
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    outputs = notebook.cells[0].outputs
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)
    assert notebook.cells[1].outputs[0]["text"].strip() == "False"
