#!/usr/bin/env bash
# The dashboard in a real browser: starts `gaia serve` with the examples, drives load that makes
# matmul switch rungs, then loads the overview and matmul's page in Debian's headless Chromium.
# Saves screenshots (1280x800, and the function page at phone width) and checks the dumped DOM:
# every deployed function's name and current rung, a decision reason and the SLO line are there,
# the p95 line breaks across an idle gap, the cost panel takes the whole row, and the browser
# logged no console message (the page logs none when all goes well).
#
#   bash bench/dashboard.sh                 # screenshots to $OUT (default: a temporary folder)
#   OUT=docs/img bash bench/dashboard.sh    # refresh the README's screenshots
#
# Installs nothing: needs chromium (`apt-get install chromium`), python3 with numpy, and Swift
# (or GAIA=path/to/gaia for a built binary).
set -euo pipefail
cd "$(dirname "$0")/.."

CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
[ -n "$CHROMIUM" ] || { echo "dashboard.sh: chromium not found; install it (apt-get install chromium)" >&2; exit 2; }
if [ -z "${GAIA:-}" ]; then
    swift build --product gaia >/dev/null 2>&1 || { echo "dashboard.sh: swift build --product gaia failed" >&2; exit 1; }
    GAIA="$(swift build --show-bin-path 2>/dev/null)/gaia"
fi
OUT=${OUT:-$(mktemp -d /tmp/gaia-dashboard.XXXXXX)}
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/gaia-dashboard-run.XXXXXX)
PORT=${PORT:-$((20000 + RANDOM % 20000))}
BASE="http://127.0.0.1:$PORT"
export GAIA_SERVER="$BASE"

"$GAIA" serve --examples examples --port "$PORT" --data-dir "$WORK/data" >"$WORK/serve.log" 2>&1 &
SERVER=$!
cleanup() {
    kill "$SERVER" 2>/dev/null || true
    wait "$SERVER" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# The admin token gaia serve writes beside its data: the CLI and the scripts below send it, and
# the browser signs in with it once (/?token=…, which sets a cookie).
for _ in $(seq 100); do [ -s "$WORK/data/admin.token" ] && break; sleep 0.1; done
export GAIA_TOKEN=$(cat "$WORK/data/admin.token")

python3 - "$BASE" <<'EOF'
import json, os, sys, time, urllib.request
base = sys.argv[1]
auth = {"Authorization": "Bearer " + os.environ["GAIA_TOKEN"]}
deadline = time.time() + 180
while time.time() < deadline:
    try:
        request = urllib.request.Request(base + "/v1/functions", headers=auth)
        names = [f["name"] for f in json.load(urllib.request.urlopen(request, timeout=2))["functions"]]
        if "matmul" in names:
            print("dashboard.sh: serving", ", ".join(names))
            sys.exit(0)
    except OSError:
        pass
    time.sleep(0.5)
sys.exit("dashboard.sh: the server did not deploy matmul within 180 s")
EOF

# An SLO no CPU rung meets, so that matmul's mode controller moves it up the ladder.
"$GAIA" update matmul --slo "p95=5ms,window=5s" --max-scale 1 >/dev/null
echo "dashboard.sh: matmul's SLO is p95=5ms; driving load until it switches rungs"
python3 - "$BASE" <<'EOF'
import json, os, sys, time, urllib.request
base = sys.argv[1]
auth = {"Authorization": "Bearer " + os.environ["GAIA_TOKEN"]}
start = time.time()
sent = 0
while time.time() - start < 120:
    request = urllib.request.Request(base + "/v1/functions/matmul/invoke", data=b'{"n": 400}', headers={"Content-Type": "application/json", **auth})
    urllib.request.urlopen(request, timeout=30).read()
    sent += 1
    if sent % 20 == 0:
        decisions = json.load(urllib.request.urlopen(urllib.request.Request(base + "/v1/functions/matmul/decisions", headers=auth)))["decisions"]
        switches = [d for d in decisions if d["kind"] in ("promote", "demote")]
        if switches:
            print(f"dashboard.sh: after {sent} invocations ({time.time() - start:.0f} s): {switches[0]['from']} -> {switches[0]['to']}")
            after = time.time()
            while time.time() - after < 5:  # a little history after the switch
                urllib.request.urlopen(request, timeout=30).read()
            time.sleep(5)  # an idle gap, which the latency chart must not draw across
            after = time.time()
            while time.time() - after < 1:
                urllib.request.urlopen(request, timeout=30).read()
            sys.exit(0)
sys.exit("dashboard.sh: matmul did not switch rungs within 120 s")
EOF

shoot() {  # shoot NAME URL WIDTHxHEIGHT
    "$CHROMIUM" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size="$3" --virtual-time-budget=6000 \
        --enable-logging=stderr --v=0 --screenshot="$OUT/$1.png" "$2" 2>>"$WORK/console.log" >/dev/null
    "$CHROMIUM" --headless --no-sandbox --disable-gpu --window-size="$3" --virtual-time-budget=6000 \
        --enable-logging=stderr --v=0 --dump-dom "$2" 2>>"$WORK/console.log" >"$WORK/$1.html"
}
# Each Chromium run is a fresh profile: it signs in by the token link, which sets the cookie and
# redirects to the page (the fragment is kept).
SIGNIN="$BASE/?token=$GAIA_TOKEN"
# The rungs before the pages are read: the controller may still move matmul (back down once the
# load has stopped) while they are, so a page may show the rung before or the rung after.
curl -fsS -H "Authorization: Bearer $GAIA_TOKEN" "$BASE/v1/functions" >"$WORK/before.json"
shoot dashboard-overview "$SIGNIN" 1280,800
shoot dashboard-function "$SIGNIN#/functions/matmul" 1280,800
shoot dashboard-function-phone "$SIGNIN#/functions/matmul" 390,844

python3 - "$BASE" "$WORK" <<'EOF'
import html, json, os, re, sys, urllib.request
base, work = sys.argv[1], sys.argv[2]
auth = {"Authorization": "Bearer " + os.environ["GAIA_TOKEN"]}
api = lambda path: json.load(urllib.request.urlopen(urllib.request.Request(base + path, headers=auth)))
def text(name):
    return html.unescape(re.sub(r"\s+", " ", open(f"{work}/{name}.html", encoding="utf-8").read()))
overview, page, phone = text("dashboard-overview"), text("dashboard-function"), text("dashboard-function-phone")
problems = []
functions = api("/v1/functions")["functions"]
before = {f["name"]: f["backend"] for f in json.load(open(f"{work}/before.json"))["functions"]}
held = lambda f: sorted({before.get(f["name"], f["backend"]), f["backend"]})  # the rungs it had while the pages were read
for f in functions:
    row = re.search(r'<tr><td><a href="#/functions/%s">%s</a></td>(.*?)</tr>' % (f["name"], f["name"]), overview)
    if not row:
        problems.append(f"the overview has no row for {f['name']}")
    elif not any(f"<span class=\"rung\">{r}</span>" in row.group(1) for r in held(f)):
        problems.append(f"the overview's row for {f['name']} does not show its rung ({' or '.join(held(f))})")
matmul = api("/v1/functions/matmul")
matmul_rungs = held(next(f for f in functions if f["name"] == "matmul"))
reasons = [d["reason"] for d in api("/v1/functions/matmul/decisions")["decisions"]]
for dom, where in ((page, "matmul's page"), (phone, "matmul's page at phone width")):
    if not any(f'id="current-rung">{r}<' in dom for r in matmul_rungs):
        problems.append(f"{where} does not show the current rung ({' or '.join(matmul_rungs)})")
    if not any(r in dom for r in reasons):
        problems.append(f"{where} shows none of the {len(reasons)} decision reasons")
    if '<line class="slo"' not in dom or f"SLO {matmul['rung']['slo']}" not in dom:
        problems.append(f"{where} has no SLO line labelled SLO {matmul['rung']['slo']}")
    p95 = re.search(r'<path class="p95" d="([^"]*)"', dom)
    if not p95 or p95.group(1).count("M") < 2:
        problems.append(f"{where}: the p95 line is drawn across the idle gap (one unbroken path)")
    if '<section class="card wide"><h2>Cost per rung</h2>' not in dom:
        problems.append(f"{where}: the cost panel does not take the whole row (its columns are cut off)")
console = [l for l in open(f"{work}/console.log", encoding="utf-8", errors="replace") if ":CONSOLE" in l]
problems += [f"browser console: {l.strip()}" for l in console]
if problems:
    sys.exit("dashboard.sh: FAILED\n  " + "\n  ".join(problems))
print(f"dashboard.sh: ok: {len(functions)} functions with their rungs on the overview; matmul on "
      f"{matmul['rung']['current']}, {len(reasons)} decision(s) and the SLO line on its page; no console message")
EOF
echo "dashboard.sh: screenshots in $OUT"
