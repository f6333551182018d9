"""Our training speed and memory next to PyTorch's, model by model, in alternating runs.

This machine's speed moves by up to 2x between minutes, so a ratio is only meaningful between
runs made close together. For each model and each round this runs `Benchmarks --models m --json`
and `bench/pytorch_reference.py --models m --json` one right after the other (ours first in odd
rounds, PyTorch first in even ones, so neither always gets the warmer or the quieter minute),
and prints, per model, the median over the rounds of (our training images/s / PyTorch's), the
lowest and highest round's ratio, and the ratio of peak RSS (VmHWM of each model's own process).

Needs the release build (`make bench-compare` builds it) and a Python with torch, outside the
repository; PyTorch is not a dependency of the project:

    python3 -m venv /opt/torch-venv && /opt/torch-venv/bin/pip install torch
    make bench-compare TORCH_PYTHON=/opt/torch-venv/bin/python [MODELS=bn_lenet,regnetx32] [ROUNDS=3]

Only the standard library is used here, so any python3 can run this script itself.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MODELS = ["alexnet", "vgg_small", "nin", "googlenet", "bn_lenet", "resnet18", "densenet", "regnetx32"]
# Timed training steps per run when --steps is not given: 10, as the two benchmarks' own
# default, but 300 for BN-LeNet, whose steps last a few milliseconds: at 100 (under a second)
# one slow moment of the machine could halve a run's figure.
DEFAULT_STEPS = {"bn_lenet": 300}


def cpu_description():
    """The CPU's model name and whether it has AVX-512 (from /proc/cpuinfo, as lscpu reads it)."""
    name, flags, family, model = platform.processor() or "unknown CPU", set(), "?", "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key, value = key.strip(), value.strip()
                if key == "model name":
                    name = value
                elif key == "cpu family":
                    family = value
                elif key == "model":
                    model = value
                elif key == "flags":
                    flags = set(value.split())
                    break
    except OSError:
        pass
    avx512 = "avx512f" in flags
    return "%s (family %s model %s), %s, %d logical CPUs" % (
        name, family, model, "AVX-512" if avx512 else ("AVX2, no AVX-512" if "avx2" in flags else "no AVX2"),
        os.cpu_count() or 0)


def run_json(cmd):
    """Runs one measuring process and returns its single JSON row."""
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit("failed (%d): %s\n%s" % (done.returncode, " ".join(cmd), done.stderr.strip()[-2000:]))
    rows = json.loads(done.stdout[done.stdout.index("["):])
    return rows[0]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--torch-python", required=True, help="a python3 that can import torch (a venv outside the repository)")
    p.add_argument("--benchmarks", default=os.path.join(ROOT, ".build", "release", "Benchmarks"),
                   help="our release Benchmarks binary (default: .build/release/Benchmarks)")
    p.add_argument("--models", default=",".join(MODELS), help="comma-separated, from: " + ", ".join(MODELS))
    p.add_argument("--rounds", type=int, default=2, help="alternating rounds per model (at least 2)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, help="timed training steps per run (default 10; BN-LeNet 300)")
    p.add_argument("--json", metavar="FILE", help="also write every run's rows and the table to FILE")
    a = p.parse_args()
    names = [n for n in a.models.split(",") if n]
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        p.error("unknown model(s) %s; choose from %s" % (", ".join(unknown), ", ".join(MODELS)))
    if a.rounds < 2:
        p.error("--rounds must be at least 2: one pair cannot show how much the machine moved")
    if not os.access(a.benchmarks, os.X_OK):
        p.error("%s is not built; run `swift build -c release --product Benchmarks` (or `make bench-compare`)" % a.benchmarks)
    probe = subprocess.run([a.torch_python, "-c", "import torch; print(torch.__version__, torch.backends.cpu.get_cpu_capability())"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        p.error("%s cannot import torch; install it in a venv outside the repository: "
                "python3 -m venv DIR && DIR/bin/pip install torch" % a.torch_python)
    torch_version, capability = probe.stdout.split()

    steps = lambda m: str(a.steps or DEFAULT_STEPS.get(m, 10))
    ours_cmd = lambda m: [a.benchmarks, "--models", m, "--json", "--threads", str(a.threads), "--steps", steps(m)]
    torch_cmd = lambda m: [a.torch_python, os.path.join(HERE, "pytorch_reference.py"), "--models", m, "--json",
                           "--threads", str(a.threads), "--steps", steps(m)]
    print("CPU: %s" % cpu_description())
    print("PyTorch %s (CPU capability %s); %d threads each; %d rounds, alternating who goes first\n"
          % (torch_version, capability, a.threads, a.rounds), flush=True)
    runs, table = [], []
    started = time.time()
    for m in names:
        pairs = []
        for r in range(a.rounds):
            order = ("ours", "torch") if r % 2 == 0 else ("torch", "ours")
            got = {}
            for who in order:
                got[who] = run_json(ours_cmd(m) if who == "ours" else torch_cmd(m))
            pairs.append(got)
            runs.append({"model": m, "round": r + 1, "ours": got["ours"], "torch": got["torch"]})
            print("  %-10s round %d: ours %9.1f img/s, PyTorch %9.1f img/s, ratio %.2f" % (
                m, r + 1, got["ours"]["train_images_per_sec"], got["torch"]["train_images_per_sec"],
                got["ours"]["train_images_per_sec"] / got["torch"]["train_images_per_sec"]), flush=True)
        ratios = [g["ours"]["train_images_per_sec"] / g["torch"]["train_images_per_sec"] for g in pairs]
        rss = [g["ours"]["peak_rss_bytes"] / g["torch"]["peak_rss_bytes"] for g in pairs]
        infer = [g["ours"]["infer_images_per_sec"] / g["torch"]["infer_images_per_sec"] for g in pairs]
        table.append({"model": m, "input": pairs[0]["ours"]["input"], "batch": pairs[0]["ours"]["batch"],
                      "ours_train": statistics.median(g["ours"]["train_images_per_sec"] for g in pairs),
                      "torch_train": statistics.median(g["torch"]["train_images_per_sec"] for g in pairs),
                      "train_ratio": statistics.median(ratios), "train_ratio_low": min(ratios), "train_ratio_high": max(ratios),
                      "infer_ratio": statistics.median(infer),
                      "ours_rss": statistics.median(g["ours"]["peak_rss_bytes"] for g in pairs),
                      "torch_rss": statistics.median(g["torch"]["peak_rss_bytes"] for g in pairs),
                      "rss_ratio": statistics.median(rss)})

    print("\n| model | input/batch | ours train img/s | PyTorch train img/s | train ratio (median) | lowest–highest round | "
          "infer ratio | peak RSS ours / PyTorch | RSS ratio |")
    print("|---|---|---|---|---|---|---|---|---|")
    for t in table:
        print("| %s | %d/%d | %.1f | %.1f | **%.2f** | %.2f–%.2f | %.2f | %.2f / %.2f GiB | %.2f |" % (
            t["model"], t["input"], t["batch"], t["ours_train"], t["torch_train"], t["train_ratio"],
            t["train_ratio_low"], t["train_ratio_high"], t["infer_ratio"], t["ours_rss"] / 2**30,
            t["torch_rss"] / 2**30, t["rss_ratio"]))
    ours = runs[0]["ours"]
    print("\nOurs: release build, GEMM through OpenBLAS (%s kernels), our kernels built for %s. Medians over %d rounds "
          "per model; %.0f s in all." % (ours.get("blas", "?"), ours.get("kernels", "?"), a.rounds, time.time() - started))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"cpu": cpu_description(), "torch": torch_version, "torch_capability": capability,
                       "threads": a.threads, "rounds": a.rounds, "table": table, "runs": runs}, f, indent=2)


if __name__ == "__main__":
    main()
