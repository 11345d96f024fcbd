#!/usr/bin/env python3
"""Gaia against the oracle on steady load: does the controller settle where hindsight would?

  bench/oracle.py [--gaia PATH] [--jobs N] [--only SUBSTRING] [--shares]

For each scenario (a workload under its SLO, a Poisson rate, a machine shape; 30 minutes), the
oracle is the best static configuration in hindsight (`gaia simulate --oracle`: every full-time
rung x 1..max-scale instances held throughout, started with the run, simulated on the same
requests; the cheapest that meets the SLO). Gaia *matches* it when its SLO violations are at most the oracle's plus 1
point and its provider cost at most 5% above the oracle's (issue 31: "Gaia's steady-state choice
must match it, or cost within 5% of it at equal SLO attainment"). The oracle pays its instances'
first start as Gaia does, but never a wrong guess: Gaia pays what it learns; 30 minutes make the
start a small part. Prints every scenario and the count that match.
Standard library only; needs a built gaia (release).
"""
import argparse
import concurrent.futures
import itertools
import json
import subprocess
import sys

WORKLOADS = [
    ("matmul", "p95=2000ms", "fixed:2000"),
    ("resnet18", "p95=300ms", "fixed:0"),
    ("tinyllama", "p95=3000ms", "fixed:0"),
    ("idle", "p95=3000ms", "fixed:0"),
]
RATES = [0.5, 2, 6]
CLUSTERS = ["node=1x16+1gpu", "node=1x4", "node=1x64+2gpu"]


def run(gaia, scenario, shares):
    (workload, slo, sizes), rate, cluster = scenario
    args = [gaia, "simulate", "--workload", workload, "--slo", slo, "--sizes", sizes, "--trace", f"poisson:rate={rate}",
            "--cluster", cluster, "--duration", "1800", "--policies", "gaia", "--oracle", "--json"]
    if shares and "gpu" in cluster:
        args += ["--gpu-sm-shares", "25,50,100", "--gpu-quotas", "20,40,60,80,100"]
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{done.stderr}")
    results = {r["policy"]: r for r in json.loads(done.stdout)["results"]}
    return scenario, results["gaia"], results["oracle"]


def figures(r):
    return 100.0 * r["slo_violations"] / max(1, r["arrivals"]), r["provider_usd"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gaia", default=".build/release/gaia")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--only", default="")
    parser.add_argument("--shares", action="store_true", help="offer SM shares 25/50/100%% and time quotas on GPU nodes")
    options = parser.parse_args()
    scenarios = [s for s in itertools.product(WORKLOADS, RATES, CLUSTERS) if options.only in f"{s[0][0]} {s[1]} {s[2]}"]
    matched = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=options.jobs) as pool:
        for (w, rate, cluster), gaia, oracle in pool.map(lambda s: run(options.gaia, s, options.shares), scenarios):
            (gv, gc), (ov, oc) = figures(gaia), figures(oracle)
            ok = gv <= ov + 1 and gc <= oc * 1.05
            matched += ok
            print(f"{w[0]} {w[1]} {rate}/s {cluster}: oracle {oracle['configuration']} {ov:.1f}% ${oc:.4f}; "
                  f"gaia {gv:.1f}% ${gc:.4f} ({gc / oc:.2f}x){'  matches' if ok else ''}")
    print(f"\n{'with shares: ' if options.shares else ''}Gaia matches the oracle in {matched} of {len(scenarios)} steady scenarios")


if __name__ == "__main__":
    main()
