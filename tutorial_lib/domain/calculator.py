"""An interactive GPU-memory calculator for the design-decisions notebook.

Pick a GPU, a model, ``--gpu-memory-utilization``, ``--max-model-len`` and the KV-cache
dtype; the table and the stacked bar of ``sizing.plan`` follow. ``Calculator.update`` is
what the widgets call, so the same figures can be produced (and tested) without a browser.
"""

from __future__ import annotations

from dataclasses import replace

import ipywidgets as widgets
import matplotlib.pyplot as plt
from IPython.display import display

from tutorial_lib.domain.sizing import GPUS, PRESETS, ModelSpec, Plan, plan

_SEGMENTS = [
    ("weights_gib", "weights", "#4c72b0"),
    ("activation_gib", "activations", "#dd8452"),
    ("kv_cache_gib", "KV cache", "#55a868"),
    ("cuda_graph_gib", "CUDA graphs", "#c44e52"),
]


def _dtype_spec(spec: ModelSpec, weights: str) -> ModelSpec:
    """The model as deployed: ``awq-4bit`` quantizes the weights, ``fp16`` does not."""
    if weights == "awq-4bit":
        return replace(spec, quantization_bits=4, dtype="float16")
    return replace(spec, quantization_bits=None)


def stacked_bar(budget: Plan, ax: plt.Axes | None = None) -> plt.Axes:
    """The budget as one bar: what vLLM holds, CUDA graphs above it, the GPU's total."""
    ax = ax or plt.subplots(figsize=(7, 1.8))[1]
    left = 0.0
    for attr, label, color in _SEGMENTS:
        value = max(getattr(budget, attr), 0.0)
        ax.barh(0, value, left=left, color=color, label=f"{label} {value:.2f} GiB")
        left += value
    ax.axvline(
        budget.gpu.total_gib,
        color="black",
        linestyle="--",
        label=f"{budget.gpu.name} {budget.gpu.total_gib:.2f} GiB",
    )
    ax.axvline(budget.budget_gib, color="grey", linestyle=":", label="vLLM budget")
    ax.set_yticks([])
    ax.set_xlabel("GiB")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.45), ncol=3, fontsize=8)
    ax.set_title(
        f"{budget.model}: {budget.capacity.tokens:,} tokens, "
        f"{budget.capacity.max_concurrency:.2f}x at {budget.max_model_len}"
        + ("" if budget.cuda_graphs_fit else " — no room for CUDA graphs")
    )
    return ax


class Calculator:
    """The widgets and their output; ``display(Calculator().widget)`` in a notebook."""

    def __init__(
        self,
        model: str = "TheBloke/Mistral-7B-v0.1-AWQ",
        gpu: str = "L4",
        utilization: float = 0.88,
        max_model_len: int = 4096,
    ) -> None:
        self.model = widgets.Dropdown(options=sorted(PRESETS), value=model, description="model")
        self.gpu = widgets.Dropdown(options=list(GPUS), value=gpu, description="GPU")
        self.weights = widgets.Dropdown(
            options=["as published", "awq-4bit", "fp16"],
            value="as published",
            description="weights",
        )
        self.utilization = widgets.FloatSlider(
            value=utilization, min=0.5, max=0.98, step=0.01, description="gpu-mem-util"
        )
        self.max_model_len = widgets.Dropdown(
            options=[1024, 2048, 4096, 8192, 16384, 32768],
            value=max_model_len,
            description="max-model-len",
        )
        self.kv_dtype = widgets.Dropdown(
            options=["auto", "fp8"], value="auto", description="kv-cache-dtype"
        )
        self.output = widgets.Output()
        controls = [
            self.model,
            self.gpu,
            self.weights,
            self.utilization,
            self.max_model_len,
            self.kv_dtype,
        ]
        for control in controls:
            control.observe(lambda _change: self.refresh(), names="value")
        self.widget = widgets.VBox(
            [widgets.HBox(controls[:3]), widgets.HBox(controls[3:]), self.output]
        )
        self.refresh()

    def update(self) -> Plan:
        """The plan for the current settings."""
        spec = ModelSpec.preset(self.model.value)
        if self.weights.value != "as published":
            spec = _dtype_spec(spec, self.weights.value)
        return plan(
            spec,
            self.gpu.value,
            self.utilization.value,
            self.max_model_len.value,
            kv_cache_dtype=self.kv_dtype.value,
        )

    def refresh(self) -> None:
        """Redraw the table and the bar; ``self.plan`` keeps what is shown."""
        budget = self.plan = self.update()
        self.output.clear_output(wait=True)
        with self.output:
            display(budget.to_frame())
            stacked_bar(budget)
            plt.show()

    def _repr_mimebundle_(self, **kwargs: object) -> dict[str, object] | None:
        return self.widget._repr_mimebundle_(**kwargs)
