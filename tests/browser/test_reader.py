"""What a reader sees in JupyterLab: notebooks run through the UI, widgets that respond.

The other tiers run the notebooks headless (nbmake); here JupyterLab is started by
``make lab`` and driven in headless Chromium: the menus, the status bar, the cells'
prompts and outputs, a slider moved by the keyboard and a value typed into its readout.
Screenshots land in ``build/browser/``; ``make screenshots`` writes the README's pictures
(docs/images/) from the same tests.
"""

from __future__ import annotations

import re
import subprocess
import time
import urllib.parse

import pytest
from playwright.sync_api import Locator, expect

import tutorial_lib as tl
from tests.browser.jupyterlab import KERNEL_IDLE, Notebook, dataframe
from tests.helpers import ROOT

#: The notebooks folder as JupyterLab lists it: folders first (exercises/), then the files.
NOTEBOOKS = [
    p.name
    for p in sorted((ROOT / "notebooks").iterdir(), key=lambda p: (not p.is_dir(), p.name))
    if not p.name.startswith(".")
]


def budget_table(gpu: str = "L4", utilization: float = 0.88) -> dict[str, str]:
    """The calculator's table as the library computes it, as the browser shows its text."""
    model = tl.sizing.ModelSpec.preset("TheBloke/Mistral-7B-v0.1-AWQ")
    frame = tl.sizing.plan(model, gpu, utilization, 4096).to_frame()
    return dict(zip(frame["figure"], (str(v) for v in frame["value"]), strict=True))


def redrawn(table: Locator, expected: dict[str, str], within: float = 30) -> dict[str, str]:
    """The table once it shows ``expected``, or as it still is after ``within`` seconds."""
    deadline = time.monotonic() + within
    while (shown := dataframe(table)) != expected and time.monotonic() < deadline:
        time.sleep(0.2)
    return shown


@pytest.mark.timeout(300)
def test_make_lab_opens_the_notebooks_folder_with_the_project_kernel(lab, page):
    dry_run = subprocess.run(
        ["make", "-n", "--no-print-directory", "lab"], cwd=ROOT, capture_output=True, text=True
    )
    command = next(line for line in dry_run.stdout.splitlines() if "jupyter lab" in line)
    assert command.startswith(".venv/bin/jupyter lab") and command.endswith(" notebooks/")

    page.goto(f"{lab.url}/lab?reset&token={lab.token}")
    listing = page.locator(".jp-DirListing-content .jp-DirListing-itemText")
    expect(listing.first).to_be_visible(timeout=60_000)
    expect(listing).to_have_text(NOTEBOOKS)  # the folder's files, in its order

    listing.filter(has_text="00_setup.ipynb").dblclick()  # as a reader opens a notebook
    expect(page.get_by_text(KERNEL_IDLE)).to_be_visible(timeout=120_000)
    venv_python = str(ROOT / ".venv" / "bin" / "python")
    assert lab.kernel_executables() == {venv_python}, "the kernel is not the project's venv"
    assert lab.api("sessions")[0]["kernel"]["name"] == "python3"


@pytest.mark.timeout(300)
def test_notebook_00_draws_what_the_tutorial_builds_as_a_diagram(lab, page, screenshot):
    """The architecture is a Mermaid block: JupyterLab draws it, as GitHub does; no cell runs."""
    notebook = Notebook(page, lab, "00_setup.ipynb").open()
    diagram = notebook.panel.locator(".jp-RenderedMermaid img").first  # an SVG, as data: URL
    expect(diagram).to_be_visible(timeout=60_000)
    assert diagram.evaluate("image => image.complete && image.naturalWidth > 0"), "not drawn"
    svg = urllib.parse.unquote(diagram.get_attribute("src") or "")
    assert svg.startswith("data:image/svg+xml"), svg[:80]
    for part in ("vllm-service", "Prometheus", "ServiceMonitor", "Karpenter"):
        assert part in svg, f"{part} is not in the drawn diagram"
    screenshot(diagram, "architecture")


@pytest.mark.timeout(300)
def test_the_sizing_calculator_responds_to_its_slider_in_notebook_01(lab, page, screenshot):
    notebook = Notebook(page, lab, "01_design_decisions.ipynb").open()
    notebook.run_all(timeout=240)
    notebook.assert_ran_cleanly()
    # The plots and tables of the notebook are there, rendered.
    assert notebook.outputs("l4_088 = tl.sizing.plan").locator("table").count() == 1
    assert notebook.cell("frameworks = pd.DataFrame").locator("table").count() == 1

    calculator = notebook.cell("tl.Calculator()").locator(".widget-vbox").first
    expect(calculator).to_be_visible()
    for label in calculator.locator(".widget-label").all():
        clipped = label.evaluate("l => l.scrollWidth > l.clientWidth")
        assert not clipped, f"the label {label.text_content()!r} is cut off"
    table, bar = calculator.locator("table.dataframe"), calculator.locator("img")
    readout = calculator.locator(".widget-readout")
    expect(readout).to_have_text("0.88")
    assert dataframe(table) == budget_table(), "the calculator's table is not the L4 plan"
    expect(bar).to_be_visible()
    screenshot(calculator, "calculator", readme=True)

    shown = [bar.get_attribute("src")]

    # Keyboard on the slider's handle: one step up.
    calculator.locator(".noUi-handle").focus()
    page.keyboard.press("ArrowRight")
    expect(readout).to_have_text("0.89")
    assert redrawn(table, budget_table(utilization=0.89)) == budget_table(utilization=0.89)
    expect(bar).not_to_have_attribute("src", shown[-1])  # the bar was drawn anew
    shown.append(bar.get_attribute("src"))

    # A value typed into the readout, as the blog's 0.95: the CUDA graphs no longer fit.
    readout.click()
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.type("0.95")
    page.keyboard.press("Enter")
    assert redrawn(table, budget_table(utilization=0.95)) == budget_table(utilization=0.95)
    assert dataframe(table)["CUDA graphs fit"] == "False"
    expect(bar).not_to_have_attribute("src", shown[-1])
    shown.append(bar.get_attribute("src"))

    # A dropdown: the T4.
    calculator.locator("select").nth(1).select_option("T4")
    t4 = budget_table(gpu="T4", utilization=0.95)
    assert redrawn(table, t4) == t4
    expect(bar).not_to_have_attribute("src", shown[-1])
    expect(bar).to_be_visible()
    screenshot(calculator, "calculator-t4-095")


@pytest.mark.timeout(900)
def test_the_smoke_test_notebook_06_shows_its_checks_and_a_streamed_answer(
    lab, local_cluster, page, screenshot
):
    notebook = Notebook(page, lab, "06_smoke_test.ipynb").open()
    notebook.run_all(timeout=840)
    notebook.assert_ran_cleanly()

    report = notebook.outputs("report = tl.smoke_test(cluster)").filter(has_text="Smoke test")
    expect(report).to_contain_text("Smoke test passed")
    checks = dataframe(report.locator("table"))
    assert len(checks) == 5 and set(checks.values()) == {"passed"}, checks
    screenshot(report, "smoke-test-checks", readme=True)

    # The cell that shows `streamed`: the answer, its tokens and its time to first token.
    answer = notebook.code_cells.filter(has_text="first token after").last
    expect(answer.locator("blockquote")).not_to_be_empty()
    expect(answer).to_contain_text("completion tokens")
    expect(notebook.outputs("Smoke test passed")).to_contain_text("Smoke test passed:")
    screenshot(answer.locator(".jp-OutputArea"), "smoke-test-answer")


@pytest.mark.timeout(900)
def test_notebook_03_shows_progress_while_waiting_and_fills_in_the_startup_figures(
    lab, local_cluster, page, screenshot
):
    notebook = Notebook(page, lab, "03_deployment.ipynb").open()
    notebook.start_run_all()
    # While the pod starts, a progress bar (tqdm as a widget, not text) says what it waits for.
    live = notebook.cell("tl.LiveStartup()")
    expect(live.locator(".widget-hprogress")).to_be_visible(timeout=600_000)
    notebook.wait_until_done(timeout=840)
    notebook.assert_ran_cleanly()
    expect(live.locator(".widget-hprogress")).to_have_count(0)  # leave=False: gone when done

    table = live.locator(".jp-OutputArea-output").filter(has=page.locator("table")).last
    figures = dataframe(table.locator("table"))
    assert {"kv_cache_gib", "kv_cache_tokens", "max_concurrency"} <= set(figures), figures
    # vLLM's log streamed above it, the lines that carry a figure marked with a star.
    expect(live.locator(".jp-OutputArea")).to_contain_text("* ")
    screenshot(table, "startup-figures-live")
    compared = notebook.outputs("tl.startup.side_by_side(").filter(has=page.locator("table"))
    expect(compared).to_contain_text("this cluster")
    expect(compared).to_contain_text("not on CPU")  # what the CPU log lacks, not a NaN
    expect(compared).not_to_contain_text("NaN")
    screenshot(compared, "startup-figures", readme=True)


@pytest.mark.timeout(900)
def test_notebook_05_plots_the_dashboards_panels(lab, local_cluster, page, screenshot):
    notebook = Notebook(page, lab, "05_monitoring.ipynb").open()
    notebook.run_all(timeout=840)
    notebook.assert_ran_cleanly()

    latency = notebook.outputs("latency quantiles").locator("img")
    panels = notebook.outputs("tl.monitoring.dashboard_queries()").locator("img")
    for plot in (latency, panels):
        expect(plot).to_be_visible()
        assert plot.evaluate("img => img.naturalWidth") > 300, "a plot came out empty"
    screenshot(latency, "monitoring", readme=True)
    screenshot(panels, "monitoring-dashboard-panels")
    _the_prometheus_ui_shows_the_target_and_answers_a_typed_query(page, screenshot)


def _the_prometheus_ui_shows_the_target_and_answers_a_typed_query(page, screenshot) -> None:
    """What notebook 05 asks the reader to do in Prometheus' UI, done in the browser.

    Until the UI was built from the module's sources the local Prometheus answered 500 here;
    CI builds Prometheus from its Go module (``VLLM_TUTORIAL_OFFLINE``), so the built UI is
    what it proves (a release binary would serve its own).
    """
    cluster = tl.connect(local=True)
    job = f"serviceMonitor/{cluster.namespace}/{tl.names.DEPLOYMENT}/0"
    page.goto(f"{cluster.prometheus_url}/targets")
    pool = page.locator(".mantine-Accordion-item").filter(has_text=job).first
    expect(pool).to_be_visible(timeout=30_000)
    expect(pool.get_by_text(re.compile(r"^up$", re.IGNORECASE))).to_be_visible(timeout=60_000)
    screenshot(pool, "prometheus-target-health", readme=True)
    page.goto(f"{cluster.prometheus_url}/query")
    page.locator(".cm-content").first.click()
    page.keyboard.type("vllm:num_requests_running")
    page.get_by_role("button", name="Execute").click()
    # One series per pod scraped lately: a pod replaced minutes ago keeps its last value.
    expect(page.get_by_text(re.compile(r"Result series: [1-9]"))).to_be_visible(timeout=30_000)
    rows = page.get_by_role("row").filter(has_text=f'job="{tl.names.SERVICE}"')
    expect(rows.first).to_be_visible()
