#!/usr/bin/env bash
# Builds a folder that runs `heed` on a machine with no Swift toolchain and no network,
# for example an NVIDIA GPU machine with only its driver (docs/design.md §8, docs/gpu.md):
#
#   bash scripts/gpu-bundle.sh [FOLDER]          # default: .build/gpu-bundle
#   PACK=1 bash scripts/gpu-bundle.sh            # also FOLDER.tar.xz, stripped: what scripts/gpu-check.sh takes
#
# The folder holds a `heed` built with the Swift runtime linked in statically, the shared
# libraries it loads that a bare machine may lack (the OpenCL ICD loader, CLBlast, libjpeg,
# libpng), and `run-heed`, which puts them on the library path, writes an ICD file for the
# NVIDIA driver's OpenCL library when one is found, and runs heed with your arguments.
set -euo pipefail
cd "$(dirname "$0")/.."

bundle="${1:-.build/gpu-bundle}"
echo "heed: building a release binary with the Swift runtime linked in"
swift build -c release --static-swift-stdlib --product heed
binary="$(swift build -c release --static-swift-stdlib --product heed --show-bin-path)/heed"

rm -rf "$bundle"
mkdir -p "$bundle/lib"
cp "$binary" "$bundle/heed"
# The libraries heed links that are not part of every glibc system, resolved by the loader.
for library in libOpenCL.so.1 libclblast.so.1 libjpeg.so.62 libpng16.so.16; do
    path="$(ldd "$binary" | awk -v name="$library" '$1 == name { print $3 }')"
    if [ -z "$path" ]; then
        echo "heed: $library is not linked by $binary (ldd says otherwise?)" >&2
        exit 1
    fi
    cp -L "$path" "$bundle/lib/$library"
done

cat > "$bundle/run-heed" <<'WRAPPER'
#!/usr/bin/env bash
# Runs the bundled heed with the bundled libraries. OpenCL drivers: OCL_ICD_VENDORS if set,
# else an ICD file for the NVIDIA driver's libnvidia-opencl.so.1 when it can be found,
# else the system's /etc/OpenCL/vendors.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
if [ -z "${OCL_ICD_VENDORS:-}" ]; then
    nvidia="$( (ldconfig -p 2>/dev/null | awk '/libnvidia-opencl\.so\.1 / { print $NF; exit }') || true)"
    if [ -z "$nvidia" ]; then
        nvidia="$(find /usr/lib /usr/lib64 /usr/local /opt -name 'libnvidia-opencl.so.1' 2>/dev/null | head -n 1 || true)"
    fi
    if [ -n "$nvidia" ]; then
        vendors="$(mktemp -d)"
        echo "$nvidia" > "$vendors/nvidia.icd"
        export OCL_ICD_VENDORS="$vendors"
    fi
fi
exec "$here/heed" "$@"
WRAPPER
chmod +x "$bundle/run-heed"
echo "heed: bundle in $bundle ($(du -sh "$bundle" | cut -f1)); copy the folder and run $bundle/run-heed devices"

# The device machines take at most 64 MiB of files: a stripped binary, compressed with the libraries.
if [ "${PACK:-0}" = 1 ]; then
    strip "$bundle/heed"
    tar -C "$(dirname "$bundle")" -cJf "$bundle.tar.xz" "$(basename "$bundle")"
    echo "heed: packed $bundle.tar.xz ($(du -sh "$bundle.tar.xz" | cut -f1)); scripts/gpu-check.sh unpacks it"
fi
