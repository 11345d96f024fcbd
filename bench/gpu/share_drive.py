"""ResNet-18 instances sharing one GPU vs a whole GPU each: throughput, p95 and cost per 1,000.

Driven against a running `gaia serve` by bench/gpu/share.sh. For each configuration it deploys N
copies of examples/resnet18 pinned to one rung (a whole GPU, or a share: an SM share where MPS
runs, else a time quota of the whole GPU), keeps CLIENTS requests in flight per copy for SECONDS,
and reports the total throughput, the p95 over all requests, and the provider cost per 1,000
requests (instance time × the rung's price, from the server's cost report). The Knative way (a
whole GPU per instance) is measured with one instance on the one GPU; N of them would need N GPUs,
so its N-instance row is that measurement times N, marked as such.
"""
import argparse
import json
import os
import threading
import time
import urllib.error
import urllib.request


def call(url, method, path, body=None, timeout=600):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url + path, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(p / 100 * len(ordered) + 0.5)) - 1))] if ordered else float("nan")


def deploy(url, name, files, rung):
    status, body = call(url, "POST", "/v1/functions", {"name": name, "files": files, "rung": rung, "min_scale": 1, "max_scale": 1,
                                                        "slo": "p95=2000ms", "keep_alive": "fixed(3600s)"})
    if status != 201:
        raise SystemExit(f"deploy {name} on {rung}: {status} {body.decode(errors='replace')}")


def drive(url, names, clients, seconds, payload):
    latencies, lock = [], threading.Lock()
    end = time.monotonic() + seconds
    errors = [0]

    def client(name):
        mine = []
        while time.monotonic() < end:
            started = time.monotonic()
            status, _ = call(url, "POST", f"/v1/functions/{name}/invoke", payload)
            if status == 200:
                mine.append((time.monotonic() - started) * 1000)
            else:
                errors[0] += 1
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(n,)) for n in names for _ in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, time.monotonic() - started, errors[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8091")
    parser.add_argument("--examples", default="examples")
    parser.add_argument("--out", required=True)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--clients", type=int, default=4, help="requests in flight per instance")
    parser.add_argument("--mps", action="store_true", help="an MPS daemon runs: shares are SM shares")
    parser.add_argument("--device", default="unknown")
    args = parser.parse_args()
    folder = os.path.join(args.examples, "resnet18")
    files = {f: open(os.path.join(folder, f)).read() for f in os.listdir(folder) if f.endswith((".py", ".txt"))}
    payload = {"batch": 1}
    share = (lambda n: f"gpu0-{100 // n}" if n > 1 else "gpu0") if args.mps else (lambda n: f"gpu0q{100 // n}" if n > 1 else "gpu0")
    configs = [("whole GPU each (Knative)", 1, "gpu0")] + [(f"{n} sharing one GPU", n, share(n)) for n in (1, 2, 4)]
    rows = []
    for label, n, rung in configs:
        names = [f"r18-{n}-{i}" for i in range(n)]
        for name in names:
            deploy(args.url, name, files, rung)
        drive(args.url, names, 1, 3, payload)  # warm every instance
        latencies, elapsed, errors = drive(args.url, names, args.clients, args.seconds, payload)
        price = 0.0
        for name in names:
            _, body = call(args.url, "GET", f"/v1/functions/{name}/cost")
            by = json.loads(body).get("by_backend", [])
            price = max([b.get("price_per_second_usd", 0) for b in by] + [price])
        throughput = len(latencies) / elapsed
        cost = n * price * elapsed / max(1, len(latencies)) * 1000
        rows.append((label, n, rung, throughput, percentile(latencies, 95), cost, errors))
        print(f"{label:28s} {n} × {rung:9s} {throughput:8.1f} req/s  p95 {percentile(latencies, 95):7.1f} ms  "
              f"${cost:.6f} per 1,000  errors {errors}", flush=True)
        for name in names:
            call(args.url, "DELETE", f"/v1/functions/{name}")
    whole = rows[0]
    lines = [f"# ResNet-18 sharing one GPU ({args.device}; MPS {'on' if args.mps else 'off'})", "",
             f"{args.clients} requests in flight per instance, {args.seconds:.0f} s per row.", "",
             "| configuration | instances × rung | req/s | p95 ms | provider $ per 1,000 |", "|---|---|---|---|---|"]
    for label, n, rung, throughput, p95, cost, errors in rows:
        lines.append(f"| {label} | {n} × {rung} | {throughput:.1f} | {p95:.1f} | {cost:.6f} |")
    for n in (2, 4):
        lines.append(f"| whole GPU each (Knative), extrapolated | {n} × gpu0 on {n} GPUs | {whole[3] * n:.1f} | {whole[4]:.1f} | {whole[5]:.6f} |")
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "share.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
