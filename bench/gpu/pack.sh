#!/usr/bin/env bash
# Packs what bench/gpu/device.sh needs on a machine with no Swift (the `device` tool's GPU
# machine) into one folder to carry there: a static release build of gaia (stripped and gzipped:
# 86 MB stripped, 32 MB gzipped, under the tool's 64 MiB), its
# resource bundles, the libraries ldd lists beyond glibc and the C++ runtime (libsqlite3), and the
# prototype's raw runs. The folder is ignored by git (.git/info/exclude).
#
#   bench/gpu/pack.sh [FOLDER]      (default .carry)
set -euo pipefail
cd "$(dirname "$0")/../.."
dest=${1:-.carry}
swift build -c release --static-swift-stdlib --product gaia
bin=$(swift build -c release --static-swift-stdlib --show-bin-path)
rm -rf "$dest"
mkdir -p "$dest/lib"
cp "$bin/gaia" "$dest/gaia"
strip "$dest/gaia"
gzip -9 "$dest/gaia"
cp -r "$bin"/*.resources "$dest/"
ldd "$bin/gaia" | awk '/=> \// {print $3}' \
    | grep -v -E '/(libc|libm|libpthread|libdl|librt|libresolv|libutil|ld-linux[^/]*|libstdc\+\+|libgcc_s)\.so' \
    | while read -r lib; do cp -L "$lib" "$dest/lib/"; done
[ -d ../shared/data/gaia-thesis ] && cp -r --no-preserve=mode ../shared/data/gaia-thesis "$dest/thesis"
grep -qxF "/$dest/" .git/info/exclude 2>/dev/null || echo "/$dest/" >> .git/info/exclude
ls -la "$dest" "$dest/lib"
du -sh "$dest"
