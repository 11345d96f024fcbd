#!/usr/bin/env python3
"""Writes a synthetic day in the Azure Functions 2019 trace format, for `gaia simulate --azure`.

The real trace (Shahrad et al., "Serverless in the Wild", ATC'20; github.com/Azure/AzurePublicDataset)
cannot be downloaded from Gaia's build machines, so this generates files with its columns and its
published shape: per-function daily invocation counts spread over orders of magnitude (log-normal),
a diurnal cycle, bursts, and a share of timer-triggered functions firing on a fixed period; and
durations whose medians are log-normal around a few hundred milliseconds. Deterministic for a seed.

  bench/azure_synth.py --functions 150 --seed 1 --out DIR   → DIR/invocations.csv, DIR/durations.csv
"""
import argparse
import math
import os
import random


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--functions", type=int, default=150)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--minutes", type=int, default=1440)
    parser.add_argument("--mean-rate", type=float, default=0.25, help="median invocations per second of a non-timer function")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)
    header = ["HashOwner", "HashApp", "HashFunction", "Trigger"] + [str(m + 1) for m in range(args.minutes)]
    invocations, durations = [",".join(header)], [
        "HashOwner,HashApp,HashFunction,Average,Count,Minimum,Maximum,percentile_Average_0,percentile_Average_1,"
        "percentile_Average_25,percentile_Average_50,percentile_Average_75,percentile_Average_99,percentile_Average_100"]
    for f in range(args.functions):
        owner, app, function = f"o{f // 10}", f"a{f // 3}", f"f{f}"
        timer = rng.random() < 0.2
        counts = []
        if timer:
            period = rng.choice([1, 5, 15, 60])
            counts = [1 if m % period == 0 else 0 for m in range(args.minutes)]
        else:
            rate = args.mean_rate * math.exp(rng.gauss(0, 1.3))  # per second, spread over orders of magnitude
            phase = rng.random() * 2 * math.pi
            burst_until = -1
            for m in range(args.minutes):
                diurnal = 1 + 0.7 * math.sin(2 * math.pi * m / 1440 + phase)
                if m > burst_until and rng.random() < 0.002:
                    burst_until = m + rng.randint(2, 15)
                factor = 6 if m <= burst_until else 1
                mean = rate * 60 * diurnal * factor
                counts.append(poisson(rng, mean))
        median = math.exp(rng.gauss(math.log(300), 1.2))
        total = sum(counts)
        invocations.append(",".join([owner, app, function, "timer" if timer else "http"] + [str(c) for c in counts]))
        q = [median * x for x in (0.3, 0.4, 0.7, 1.0, 1.4, 3.0, 5.0)]
        durations.append(",".join([owner, app, function, f"{median * 1.2:.1f}", str(total), f"{q[0]:.1f}", f"{q[6]:.1f}"]
                                  + [f"{v:.1f}" for v in q]))
    with open(os.path.join(args.out, "invocations.csv"), "w") as out:
        out.write("\n".join(invocations) + "\n")
    with open(os.path.join(args.out, "durations.csv"), "w") as out:
        out.write("\n".join(durations) + "\n")


def poisson(rng, mean):
    if mean > 50:
        return max(0, int(round(rng.gauss(mean, math.sqrt(mean)))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


if __name__ == "__main__":
    main()
