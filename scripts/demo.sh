#!/usr/bin/env bash
# Heed's main job on this machine, set-up included: installs the system packages
# if missing (as root), builds `heed` in release mode, lists the OpenCL devices,
# then trains a Wide ResNet on the embedded synthetic fine-grained dataset (no
# download) on the default device. Extra arguments go to `heed train`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/system-packages.sh
heed_ensure_system_packages

echo "== building heed (release)"
swift build -c release --product heed
heed=".build/release/heed"

echo "== heed devices"
"$heed" devices

echo "== heed train $*"
"$heed" train "$@"
