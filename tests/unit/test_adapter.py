"""The shipped LoRA adapter is the one its script and lessons make (adapters/README.md).

Training needs torch and minutes (``make adapter``); this reads what the training wrote into
the adapter's own file and compares it with the script and the lessons as they are now.
"""

from __future__ import annotations

import ast
import hashlib
import json
import struct

import pytest

from tests.helpers import ROOT

ADAPTERS = ROOT / "adapters"


def header(path) -> dict:
    """A safetensors file's JSON header: its tensors' shapes and its ``__metadata__``."""
    with path.open("rb") as data:
        (length,) = struct.unpack("<Q", data.read(8))
        return json.loads(data.read(length))


def settings() -> dict:
    tree = ast.parse((ADAPTERS / "train.py").read_text())
    found = next(
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "SETTINGS"
    )
    return ast.literal_eval(found)


SHIPPED = pytest.mark.parametrize("name", ["tutorial-qa", "tutorial-qa-de"])


@SHIPPED
def test_the_shipped_adapter_was_made_from_the_lessons_and_settings_as_they_are(name):
    made = header(ADAPTERS / name / "adapter_model.safetensors")["__metadata__"]
    lessons = (ADAPTERS / f"{name}.jsonl").read_bytes()
    assert made["lessons_sha256"] == hashlib.sha256(lessons).hexdigest(), (
        "the lessons changed since the adapter was trained: run `make adapter`"
    )
    assert json.loads(made["settings"]) == settings(), "train.py's SETTINGS changed: make adapter"


@SHIPPED
def test_the_adapter_config_is_what_vllm_needs_for_the_stand_in(name):
    config = json.loads((ADAPTERS / name / "adapter_config.json").read_text())
    wanted = settings()
    assert config["r"] == wanted["r"] <= 16, "vLLM's default --max-lora-rank is 16"
    assert sorted(config["target_modules"]) == sorted(wanted["target_modules"])
    assert config["base_model_name_or_path"] == "HuggingFaceTB/SmolLM2-135M-Instruct"


@SHIPPED
def test_every_lesson_is_a_question_with_one_answer(name):
    lines = (ADAPTERS / f"{name}.jsonl").read_text().splitlines()
    lessons = [json.loads(line) for line in lines]
    assert all(set(lesson) == {"question", "answer"} for lesson in lessons)
    answers = {}
    for lesson in lessons:
        assert answers.setdefault(lesson["question"], lesson["answer"]) == lesson["answer"]


def test_the_two_versions_ask_the_same_questions():
    """An A/B test of two versions of one adapter: the same lessons, answered in two languages."""
    english, german = (
        [
            json.loads(line)["question"]
            for line in (ADAPTERS / f"{name}.jsonl").read_text().split("\n")
            if line
        ]
        for name in ("tutorial-qa", "tutorial-qa-de")
    )
    assert english == german
