#!/usr/bin/env bash
# Installs the Debian packages llamapro needs to build and test, only those missing.
# Usage: scripts/install-deps.sh [--fuzz | --bench]
#   --fuzz adds clang and its sanitizer runtime; --bench what the benchmarks' peers and scripts
#   run with (Debian's PyTorch for the training peer, GNU time for peak memory, bc).
set -euo pipefail

# libopenblas0-pthread: libtorch's matrix products go through the system BLAS; OpenBLAS is
# ~18x faster than the reference BLAS it otherwise gets.
packages=(
  build-essential cmake ninja-build pkg-config ccache
  libtorch-dev libgloo-dev libopenblas0-pthread nlohmann-json3-dev libcli11-dev libpcre2-dev libutf8proc-dev zlib1g-dev libcairo2-dev fonts-dejavu-core
  libgtest-dev libgmock-dev libbenchmark-dev
)
case "${1:-}" in
  --fuzz) packages+=(clang libclang-rt-14-dev) ;;
  --bench) packages+=(python3-torch python3-numpy time bc) ;;
esac

# node and npm run the references of the conformance tests (tokenizers, llama.cpp); a machine
# that already has them from elsewhere keeps its own.
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "installing: ${missing[*]}"
sudo=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "error: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
