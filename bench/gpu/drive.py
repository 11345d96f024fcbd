#!/usr/bin/env python3
"""Drives the Gaia paper's experiment against a running `gaia serve` and writes the results.

For each workload (matmul-torch, resnet18, tinyllama, idle) and each phase (static CPU on all
cores, static GPU, Gaia automatic with the analyzer's mode and the SLO), it deploys the example,
sends the same request sequence one request at a time, and records every response (latency as the
client saw it, the rung that served it, whether it waited for a cold start). Then it reads the
function's decisions and cost from the API and removes it. Writes results.json, results.md,
requests.csv and matmul.svg (ours over the published prototype's runs) to --out.

Standard library only: run it with any python3. See bench/gpu/run.sh.
"""
import argparse
import csv
import json
import math
import os
import statistics
import sys
import time
import urllib.error
import urllib.request

PUBLISHED = {  # mean latency in ms from the thesis behind the Gaia paper (arXiv 2511.13728)
    "matmul-torch": {"static-cpu": 5129, "static-gpu": 1235, "auto": 1646},
    "tinyllama": {"static-cpu": 1577, "static-gpu": 164, "auto": 340},
    "resnet18": {"static-gpu": 137, "auto": 149},
    "idle": {"static-cpu": 2095, "static-gpu": 2091, "auto": 2100},
}
THESIS_FILES = {  # raw per-request runs of the prototype (../shared/data/gaia-thesis)
    "matmul-torch": {"static-cpu": "matmul-increment-cpu.csv", "static-gpu": "matmul-increment-gpu.csv",
                     "auto": "matmul-increment-auto.csv"},
    "resnet18": {"static-gpu": "resnet18-gpu.csv", "auto": "resnet18-auto.csv"},
    "tinyllama": {"auto": "tinyllama-auto.csv"},
    "idle": {"auto": "idle-auto.csv"},
}


def sequence(workload, quick, llm_tokens):
    if workload == "matmul-torch":
        return [{"n": n} for n in range(0, (2000 if quick else 20000) + 1, 200)]
    if workload == "resnet18":
        return [{"batch": 1}] * (40 if quick else 500)
    if workload == "tinyllama":
        return [{"tokens": llm_tokens, "prompt_tokens": 32}] * (10 if quick else 200)
    if workload == "idle":
        return [{"seconds": 0.2 if quick else 2.0}] * (15 if quick else 60)
    raise SystemExit(f"unknown workload {workload}")


class API:
    def __init__(self, url):
        self.url = url.rstrip("/")

    def call(self, method, path, body=None, timeout=600):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()


def percentile(values, p):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


def detectable_at(calls, slo_ms, window_s, min_samples):
    """When a controller reading the client's figures could first see the SLO violated: the first
    response after which the last `window_s` of responses on the start rung number at least
    `min_samples` and their p95 is over the SLO."""
    start_rung = calls[0]["backend"] if calls else None
    for i, call in enumerate(calls):
        if call["backend"] != start_rung:
            return None
        recent = [c["ms"] for c in calls[: i + 1] if c["backend"] == start_rung and not c["cold"]
                  and c["received"] >= call["received"] - window_s]
        if len(recent) >= min_samples and percentile(recent, 95) > slo_ms:
            return call["received"]
    return None


def run_phase(api, args, workload, phase, source, payloads, log):
    name = f"{workload}-{phase.replace('static-', '')}"
    api.call("DELETE", f"/v1/functions/{name}")
    body = {"name": name, "files": source, "slo": f"p95={args.slo_ms}ms", "max_scale": 1}
    if phase == "static-cpu":
        body["rung"] = args.cpu_rung
    elif phase == "static-gpu":
        body["rung"] = args.gpu_rung
    elif phase == "auto-cpu-start":
        body["mode"] = "cpu_preferred"  # as the prototype's identifier chose for matmul: start on CPU, promote on violation
    started = time.time()
    status, _, answer = api.call("POST", "/v1/functions", body)
    deploy_s = time.time() - started
    if status != 201:
        message = answer.decode(errors="replace")[:400]
        log(f"  {phase}: deploy failed ({status}): {message}")
        return {"error": f"deploy failed ({status}): {message}"}
    manifest = json.loads(answer)
    log(f"  {phase}: deployed in {deploy_s:.1f} s (mode {manifest['mode']}{', rung ' + body['rung'] if 'rung' in body else ''})")
    calls = []
    for i, payload in enumerate(payloads):
        sent = time.time()
        status, headers, _ = api.call("POST", f"/v1/functions/{name}/invoke", payload)
        received = time.time()
        calls.append({"workload": workload, "phase": phase, "i": i, "payload": json.dumps(payload), "sent": sent,
                      "received": received, "ms": (received - sent) * 1000, "status": status,
                      "backend": headers.get("Gaia-Backend", ""), "cold": headers.get("Gaia-Cold-Start") == "true"})
        if (i + 1) % max(1, len(payloads) // 10) == 0:
            log(f"    {i + 1}/{len(payloads)} requests, last {calls[-1]['ms']:.0f} ms on {calls[-1]['backend']}")
    time.sleep(args.settle_s)
    _, _, described = api.call("GET", f"/v1/functions/{name}")
    _, _, cost = api.call("GET", f"/v1/functions/{name}/cost")
    api.call("DELETE", f"/v1/functions/{name}")
    description, cost = json.loads(described), json.loads(cost)
    decisions = [d for d in description.get("decisions", []) if d["kind"] != "scale"]
    ok = [c["ms"] for c in calls if c["status"] == 200]
    warm = [c["ms"] for c in calls[1:] if c["status"] == 200]
    result = {
        "mode": manifest["mode"], "rung": body.get("rung"), "requests": len(calls),
        "errors": sum(c["status"] != 200 for c in calls), "deploy_s": round(deploy_s, 3),
        "mean_ms": round(statistics.fmean(ok), 1) if ok else None,
        "mean_after_first_ms": round(statistics.fmean(warm), 1) if warm else None,
        "p50_ms": round(percentile(ok, 50), 1) if ok else None, "p95_ms": round(percentile(ok, 95), 1) if ok else None,
        "cold_requests": sum(c["cold"] for c in calls),
        "backends": sorted({c["backend"] for c in calls}),
        "decisions": [{"kind": d["kind"], "from": d["from"], "to": d["to"], "reason": d["reason"],
                       "took_ms": d.get("took_ms")} for d in decisions],
        "billed_per_1000_usd": cost.get("billed_per_1000_usd"),
        "provider_per_1000_usd": (cost["provider_cost_usd"] / cost["invocations"] * 1000) if cost.get("invocations") else None,
    }
    on_gpu = [c for c in calls if c["backend"].startswith("gpu")]
    if phase.startswith("auto") and on_gpu and not calls[0]["backend"].startswith("gpu"):
        detectable = detectable_at(calls, args.slo_ms, args.window_s, args.min_samples)
        result["promotion_s"] = round(on_gpu[0]["sent"] - detectable, 3) if detectable else None
        result["mean_once_promoted_ms"] = round(statistics.fmean(c["ms"] for c in on_gpu), 1)
        switch = next((i for i, c in enumerate(calls) if c["backend"].startswith("gpu")), None)
        result["cold_around_switch"] = sum(c["cold"] for c in calls[max(1, switch - 5): switch + 5])
    result["ends_on"] = calls[-1]["backend"] if calls else None
    return result, calls


def svg_plot(series, title, x_label, y_label, path):
    """A small line chart: series is [(label, colour, dash, [(x, y)])]."""
    width, height, left, bottom, top, right = 860, 460, 70, 50, 40, 200
    points = [p for _, _, _, data in series for p in data]
    if not points:
        return
    xmax = max(x for x, _ in points) or 1
    ymax = max(y for _, y in points) or 1
    sx = lambda x: left + x / xmax * (width - left - right)
    sy = lambda y: height - bottom - y / ymax * (height - top - bottom)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="14">{title}</text>',
           f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" stroke="black"/>',
           f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="black"/>',
           f'<text x="{(left + width - right) / 2}" y="{height - 12}" text-anchor="middle">{x_label}</text>',
           f'<text x="16" y="{height / 2}" transform="rotate(-90 16 {height / 2})" text-anchor="middle">{y_label}</text>']
    for k in range(6):
        x, y = xmax * k / 5, ymax * k / 5
        out.append(f'<text x="{sx(x)}" y="{height - bottom + 16}" text-anchor="middle">{x:.0f}</text>')
        out.append(f'<text x="{left - 6}" y="{sy(y) + 4}" text-anchor="end">{y:.0f}</text>')
        out.append(f'<line x1="{left}" y1="{sy(y)}" x2="{width - right}" y2="{sy(y)}" stroke="#ddd"/>')
    for n, (label, colour, dash, data) in enumerate(series):
        path_points = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in data)
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" stroke-dasharray="{dash}" points="{path_points}"/>')
        ly = top + 16 * n
        out.append(f'<line x1="{width - right + 10}" y1="{ly}" x2="{width - right + 40}" y2="{ly}" stroke="{colour}" stroke-dasharray="{dash}" stroke-width="2"/>')
        out.append(f'<text x="{width - right + 46}" y="{ly + 4}">{label}</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out))


def thesis_series(directory, file):
    path = os.path.join(directory or "", file)
    if not directory or not os.path.exists(path):
        return None
    rows = []
    with open(path) as f:
        for row in csv.DictReader(f):
            try:
                rows.append((float(row.get("matrix_size") or len(rows)), float(row["response_time_ms"])))
            except (TypeError, ValueError, KeyError):
                continue  # "Graph until here" and other notes
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--examples", default="examples")
    parser.add_argument("--out", required=True)
    parser.add_argument("--workloads", default="matmul-torch,resnet18,tinyllama,idle")
    parser.add_argument("--phases", default="static-cpu,static-gpu,auto,auto-cpu-start",
                        help="static-cpu (pinned to all cores), static-gpu (pinned to the GPU), auto (the analyzer's mode), "
                             "auto-cpu-start (cpu_preferred: starts on CPU and is promoted on violation)")
    parser.add_argument("--cpu-rung", required=True, help="the all-cores CPU rung, e.g. cpu-16")
    parser.add_argument("--gpu-rung", default="gpu0")
    parser.add_argument("--device", default="unknown", help="what ran it, for the report")
    parser.add_argument("--slo-ms", type=int, default=1000)
    parser.add_argument("--window-s", type=float, default=30, help="the controller's SLO window (for promotion time)")
    parser.add_argument("--min-samples", type=int, default=20, help="the controller's min samples (for promotion time)")
    parser.add_argument("--llm-tokens", type=int, default=16)
    parser.add_argument("--settle-s", type=float, default=1.5, help="wait for the last records to be written")
    parser.add_argument("--thesis", default=None, help="folder of the prototype's raw runs (gaia-thesis)")
    parser.add_argument("--quick", action="store_true", help="short sequences, for a dry run")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    api = API(args.url)
    log = lambda message: print(message, file=sys.stderr, flush=True)
    report = {"device": args.device, "date": time.strftime("%Y-%m-%d %H:%M:%S"), "slo": f"p95={args.slo_ms}ms",
              "cpu_rung": args.cpu_rung, "gpu_rung": args.gpu_rung, "quick": args.quick, "llm_tokens": args.llm_tokens,
              "workloads": {}}
    all_calls = []
    for workload in args.workloads.split(","):
        folder = os.path.join(args.examples, workload)
        source = {f: open(os.path.join(folder, f)).read() for f in os.listdir(folder) if f.endswith(".py")}
        payloads = sequence(workload, args.quick, args.llm_tokens)
        log(f"{workload}: {len(payloads)} requests per phase")
        report["workloads"][workload] = {}
        for phase in args.phases.split(","):
            outcome = run_phase(api, args, workload, phase, source, payloads, log)
            result, calls = outcome if isinstance(outcome, tuple) else (outcome, [])
            result["published_mean_ms"] = PUBLISHED.get(workload, {}).get(phase)
            report["workloads"][workload][phase] = result
            all_calls += calls
    for workload, phases in report["workloads"].items():
        cpu, gpu = phases.get("static-cpu", {}), phases.get("static-gpu", {})
        if cpu.get("mean_after_first_ms") and gpu.get("mean_after_first_ms"):
            phases["gpu_reduction_vs_cpu_percent"] = round(100 * (1 - gpu["mean_after_first_ms"] / cpu["mean_after_first_ms"]), 1)
        # Automatic mode once on the GPU against static GPU on the same requests (matmul's sizes grow:
        # the promoted part of the run is its larger half).
        static_gpu = {c["i"]: c["ms"] for c in all_calls if c["workload"] == workload and c["phase"] == "static-gpu" and c["status"] == 200}
        for p in ("auto", "auto-cpu-start"):
            on_gpu = [c for c in all_calls if c["workload"] == workload and c["phase"] == p and c["backend"].startswith("gpu")
                      and c["status"] == 200 and c["i"] in static_gpu and c["i"] > 0]
            if on_gpu:
                ours = statistics.fmean(c["ms"] for c in on_gpu)
                theirs = statistics.fmean(static_gpu[c["i"]] for c in on_gpu)
                phases[f"{p}_on_gpu_vs_static_gpu_same_requests_percent"] = round(100 * (ours / theirs - 1), 1)
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(report, f, indent=2)
    with open(os.path.join(args.out, "requests.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["workload", "phase", "i", "payload", "sent", "received", "ms", "status", "backend", "cold"])
        writer.writeheader()
        writer.writerows(all_calls)
    lines = [f"Device: {args.device}; SLO {report['slo']}; {report['date']}{' (quick dry run)' if args.quick else ''}", "",
             "| workload | phase | mode / rung | requests | errors | mean ms (after first) | p50 ms | p95 ms | published mean ms | deploy (cold start) s | promotion s | cold around switch | ends on | billed $/1k | provider $/1k |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    fmt = lambda v: "–" if v is None else (f"{v:.4g}" if isinstance(v, float) else str(v))
    for workload, phases in report["workloads"].items():
        for phase in args.phases.split(","):
            r = phases.get(phase, {})
            if "error" in r:
                lines.append(f"| {workload} | {phase} | {r['error'][:80]} |" + " |" * 12)
                continue
            lines.append("| " + " | ".join([workload, phase, f"{r['mode']} / {r['rung'] or 'auto'}", str(r["requests"]), str(r["errors"]),
                                            f"{fmt(r['mean_ms'])} ({fmt(r['mean_after_first_ms'])})", fmt(r["p50_ms"]), fmt(r["p95_ms"]),
                                            fmt(r["published_mean_ms"]), fmt(r["deploy_s"]), fmt(r.get("promotion_s")),
                                            fmt(r.get("cold_around_switch")), fmt(r["ends_on"]), fmt(r["billed_per_1000_usd"]),
                                            fmt(r["provider_per_1000_usd"])]) + " |")
        for key in ("gpu_reduction_vs_cpu_percent", "auto_on_gpu_vs_static_gpu_same_requests_percent",
                    "auto-cpu-start_on_gpu_vs_static_gpu_same_requests_percent"):
            if key in phases:
                lines.append(f"| {workload} | {key.replace('_', ' ')} | {phases[key]} % |" + " |" * 12)
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    if "matmul-torch" in report["workloads"]:
        colours = {"static-cpu": "#1f77b4", "static-gpu": "#d62728", "auto": "#2ca02c", "auto-cpu-start": "#9467bd"}
        series = []
        for phase in args.phases.split(","):
            ours = [(json.loads(c["payload"])["n"], c["ms"]) for c in all_calls if c["workload"] == "matmul-torch" and c["phase"] == phase and c["i"] > 0]
            if ours:
                series.append((f"Gaia {phase}", colours.get(phase, "black"), "", ours))
            theirs = thesis_series(args.thesis, THESIS_FILES["matmul-torch"].get(phase.replace("auto-cpu-start", "auto"), ""))
            if theirs and phase != "auto-cpu-start":
                series.append((f"prototype {phase}", colours.get(phase, "black"), "5,4", theirs[1:]))
        svg_plot(series, f"matmul latency by size: Gaia ({args.device}) over the published prototype", "matrix size n", "latency (ms)",
                 os.path.join(args.out, "matmul.svg"))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
