# Sourced by the other scripts: makes sure the system packages Heed builds and
# runs with are installed. As root it installs what is missing with apt-get;
# otherwise it prints the exact command to run and stops.
#
#   ocl-icd-opencl-dev  the OpenCL headers and ICD loader (libOpenCL)
#   libclblast-dev      CLBlast, the OpenCL BLAS Heed's GEMM runs on
#   pocl-opencl-icd     PoCL, OpenCL on the CPU (so every machine has a device)
#   libjpeg-dev         libjpeg-turbo, to read JPEG image folders
#   libpng-dev          libpng, to read PNG image folders and write attention maps
#   libopenmpi-dev      Open MPI's headers and library, for data-parallel training
#   openmpi-bin         mpirun, which starts the ranks (docs/distributed.md)

HEED_SYSTEM_PACKAGES=(ocl-icd-opencl-dev libclblast-dev pocl-opencl-icd libjpeg-dev libpng-dev libopenmpi-dev openmpi-bin)

heed_ensure_system_packages() {
    if ! command -v swift >/dev/null 2>&1; then
        echo "heed: the Swift toolchain (6.1 or newer) is not on PATH; install it from https://www.swift.org/install/linux/" >&2
        return 1
    fi
    if ! command -v dpkg-query >/dev/null 2>&1; then
        echo "heed: not a Debian/Ubuntu system; install the equivalents of: ${HEED_SYSTEM_PACKAGES[*]}" >&2
        return 0
    fi
    local missing=()
    local package
    for package in "${HEED_SYSTEM_PACKAGES[@]}"; do
        if [ "$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null)" != "install ok installed" ]; then
            missing+=("$package")
        fi
    done
    [ ${#missing[@]} -eq 0 ] && return 0

    if [ "$(id -u)" -ne 0 ]; then
        echo "heed: missing system packages: ${missing[*]}" >&2
        echo "heed: install them with:  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
        return 1
    fi
    echo "heed: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || {
        echo "heed: apt-get could not install ${missing[*]}" >&2
        return 1
    }
}
