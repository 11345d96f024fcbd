#!/usr/bin/env python3
"""Runs one `gaia simulate` scenario over several seeds and prints each policy's mean and spread.

  bench/seeds.py [--seeds N] [--gaia PATH] -- SIMULATE_ARGUMENTS...

A run of a few functions on shared GPUs is chaotic: which function's burst meets a full GPU first
decides much of its outcome, so one seed says little. This prints, per policy, the SLO violation
rate (mean, and each seed's), the share of arrivals answered, the user bill, the provider cost and
the GPU-seconds, averaged over seeds 1..N (default 8). Standard library only.
"""
import argparse
import json
import statistics
import subprocess
import sys


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=8, help="seeds 1..N (default 8)")
    parser.add_argument("--gaia", default=".build/release/gaia", help="the gaia binary (default .build/release/gaia)")
    parser.add_argument("simulate", nargs=argparse.REMAINDER, help="arguments of gaia simulate, after --")
    options = parser.parse_args()
    arguments = [a for a in options.simulate if a != "--"]
    if not arguments or options.seeds < 1:
        parser.error("give at least one seed and the arguments of gaia simulate after --")
    if any(a in ("--seed", "--json", "--plots", "--csv", "--requests") for a in arguments):
        parser.error("--seed, --json and output files are this script's to set")
    runs = {}
    for seed in range(1, options.seeds + 1):
        command = [options.gaia, "simulate", *arguments, "--seed", str(seed), "--json"]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"seed {seed}: {' '.join(command)} failed:\n{done.stderr}")
        for result in json.loads(done.stdout)["results"]:
            runs.setdefault(result["policy"], []).append(result)
        print(f"seed {seed} done", file=sys.stderr)
    print(f"{options.seeds} seeds: gaia simulate {' '.join(arguments)}")
    print(f"{'policy':<15}{'SLO viol.':>10}{'(min-max)':>16}{'answered':>10}{'bill $':>9}{'provider $':>12}{'GPU-s':>8}  per seed")
    for policy, results in runs.items():
        rates = [100 * r["slo_violations"] / max(1, r["arrivals"]) for r in results]
        answered = 100 * sum(r["completed"] for r in results) / max(1, sum(r["arrivals"] for r in results))
        print(
            f"{policy:<15}{statistics.mean(rates):>9.2f}%{f'({min(rates):.1f}-{max(rates):.1f}%)':>16}{answered:>9.1f}%"
            f"{statistics.mean(r['bill_usd'] for r in results):>9.3f}{statistics.mean(r['provider_usd'] for r in results):>12.3f}"
            f"{statistics.mean(r['gpu_share_seconds'] for r in results):>8.0f}  " + " ".join(f"{x:.2f}" for x in rates))


if __name__ == "__main__":
    main()
