#!/usr/bin/env python3
"""Judges Gaia's controller on a suite of simulated scenarios: where does something simpler beat it?

  bench/scenarios.py [--suite main|held-out] [--gaia PATH] [--jobs N] [--only SUBSTRING] [--verbose]

Each scenario is a workload x trace x cluster x seed of `gaia simulate`. In each, Gaia runs against
static CPU, static GPU, the published prototype, Knative, FaST-GShare and HAS-GPU, and against Gaia
restricted to part of its own ladder (--mode cpu, --mode gpu: a controller given the whole ladder
must never do worse than with part of it). A policy *beats* Gaia when it is clearly better on one
axis and no worse on the other (the definition of issue 31):
  - fewer SLO violations by more than 1 point, at a provider cost at most 5% higher, or
  - a provider cost more than 20% lower, with violations at most 0.5 point higher.
SLO violations are the share of arrivals that were rejected, timed out or answered over the SLO's
threshold. Prints one line per scenario where something beats Gaia, then the count per baseline
and in all. `--suite held-out` runs scenarios the suite does not hold (other rates, traces, seeds
and machine shapes of the same workloads). Standard library only; needs a built gaia (release:
`swift build -c release --product gaia`).
"""
import argparse
import concurrent.futures
import itertools
import json
import subprocess
import sys

BASELINES = ["static-cpu", "static-gpu", "gaia-prototype", "knative", "fast-gshare", "has-gpu"]

# Each workload with the SLO it is held to and the sizes it runs with.
WORKLOADS = {
    "main": [
        ("matmul", "p95=2000ms", "fixed:2000"),
        ("matmul", "p95=3000ms", "uniform:500-8000"),
        ("resnet18", "p95=300ms", "fixed:0"),
        ("tinyllama", "p95=3000ms", "fixed:0"),
        ("idle", "p95=3000ms", "fixed:0"),
    ],
    "held-out": [
        ("matmul", "p95=1500ms", "fixed:4000"),
        ("resnet18", "p99=500ms", "fixed:0"),
        ("tinyllama", "p95=2000ms", "fixed:0"),
        ("idle", "p95=2500ms", "fixed:0"),
    ],
}
TRACES = {
    "main": ["poisson:rate=0.2", "poisson:rate=1", "poisson:rate=4", "onoff:rate=10,on=60,off=240",
             "diurnal:mean=2,amplitude=0.8,period=600", "step:rates=0.5/4/1,every=200"],
    "held-out": ["poisson:rate=0.5", "poisson:rate=2", "poisson:rate=8", "onoff:rate=6,on=30,off=90",
                 "diurnal:mean=4,amplitude=0.5,period=300", "step:rates=2/0.2/6,every=150"],
}
CLUSTERS = {
    "main": ["node=1x16+1gpu", "node=1x4", "node=1x64+2gpu"],
    "held-out": ["node=1x8+1gpu", "node=2x16", "node=1x32+4gpu"],
}
SEEDS = {"main": [1, 2], "held-out": [3, 4]}


def simulate(gaia, args):
    done = subprocess.run([gaia, "simulate", *args, "--json"], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{done.stderr}")
    return {r["policy"]: r for r in json.loads(done.stdout)["results"]}


def figures(result):
    arrivals = max(1, result["arrivals"])
    return 100.0 * result["slo_violations"] / arrivals, result["provider_usd"]


def beats(other, gaia):
    """Whether `other` (violations %, cost) is clearly better than `gaia` on one axis and no worse on the other."""
    (v, c), (gv, gc) = other, gaia
    return (v < gv - 1 and c <= gc * 1.05) or (c < gc * 0.8 and v <= gv + 0.5)


def describe(scenario):
    workload, slo, sizes, trace, cluster, seed = scenario
    return f"{workload} {slo} {sizes} {trace} {cluster} seed {seed}"


def run_scenario(gaia, scenario, shares=True):
    workload, slo, sizes, trace, cluster, seed = scenario
    common = ["--workload", workload, "--slo", slo, "--sizes", sizes, "--trace", trace, "--cluster", cluster,
              "--seed", str(seed), "--duration", "600"]
    has_gpu = "gpu" in cluster
    if has_gpu and shares:
        # Every policy sees the same hardware: GPUs shared through MPS and time quotas, as
        # FaST-GShare and HAS-GPU assume.
        common += ["--gpu-sm-shares", "25,50,100", "--gpu-quotas", "20,40,60,80,100"]
    policies = ["gaia"] + [b for b in BASELINES if has_gpu or b == "static-cpu"]
    results = {name: figures(r) for name, r in simulate(gaia, common + ["--policies", ",".join(policies)]).items()}
    results["gaia --mode cpu"] = figures(simulate(gaia, common + ["--policies", "gaia", "--mode", "cpu"])["gaia"])
    if has_gpu:
        results["gaia --mode gpu"] = figures(simulate(gaia, common + ["--policies", "gaia", "--mode", "gpu"])["gaia"])
    return scenario, results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", choices=["main", "held-out"], default="main")
    parser.add_argument("--gaia", default=".build/release/gaia", help="the gaia binary (default .build/release/gaia)")
    parser.add_argument("--jobs", type=int, default=2, help="simulations at once (default 2)")
    parser.add_argument("--only", default="", help="run only scenarios whose description contains this")
    parser.add_argument("--verbose", action="store_true", help="print every scenario's figures")
    parser.add_argument("--whole-gpus", action="store_true", help="offer whole GPUs only (no MPS shares nor time quotas)")
    options = parser.parse_args()
    suite = options.suite
    scenarios = [(w, slo, sizes, t, c, s) for (w, slo, sizes), t, c, s in
                 itertools.product(WORKLOADS[suite], TRACES[suite], CLUSTERS[suite], SEEDS[suite])]
    scenarios = [s for s in scenarios if options.only in describe(s)]
    wins = {}
    dominated = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=options.jobs) as pool:
        for scenario, results in pool.map(lambda s: run_scenario(options.gaia, s, shares=not options.whole_gpus), scenarios):
            name = describe(scenario)
            gaia = results["gaia"]
            winners = [p for p, f in results.items() if p != "gaia" and beats(f, gaia)]
            for p in winners:
                wins[p] = wins.get(p, 0) + 1
            dominated += bool(winners)
            if winners or options.verbose:
                print(f"{name}: gaia {gaia[0]:.1f}% ${gaia[1]:.4f}"
                      + "".join(f"; {p} {f[0]:.1f}% ${f[1]:.4f}{' BEATS' if p in winners else ''}" for p, f in results.items() if p != "gaia"))
    print(f"\n{suite} suite{' (whole GPUs only)' if options.whole_gpus else ''}: {len(scenarios)} scenarios; something beats Gaia in {dominated}")
    for p in BASELINES + ["gaia --mode cpu", "gaia --mode gpu"]:
        print(f"  {p:<16} beats it in {wins.get(p, 0)}")


if __name__ == "__main__":
    main()
