#!/usr/bin/env bash
# Install one pinned Pulumi CLI release, verified before it is unpacked.
#
#   ci/install-pulumi.sh <version> [<install dir, default $HOME/.pulumi/bin>]
#
# Downloads the release archive to a file (never piped into a shell), checks
# its SHA-256 against ci/pulumi-cli.sha256 (kept in this repository and
# reviewed like code) and only then extracts it. Any missing, placeholder or
# mismatching sum stops the build with one sentence on stderr.
set -euo pipefail

version="${1:-}"
dest="${2:-$HOME/.pulumi/bin}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
sums="${PULUMI_CLI_SUMS:-$here/pulumi-cli.sha256}"
base_url="${PULUMI_DOWNLOAD_URL:-https://github.com/pulumi/pulumi/releases/download}"

fail() {
  echo "install-pulumi: error: $*" >&2
  exit 1
}

[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "version '$version' is not a pinned version such as 3.274.1"
case "$(uname -m)" in
  x86_64 | amd64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) fail "no Pulumi CLI build for machine type $(uname -m)" ;;
esac
archive="pulumi-v${version}-linux-${arch}.tar.gz"

expected="$(awk -v f="$archive" '$1 !~ /^#/ && $2 == f { print $1 }' "$sums")"
[ -n "$expected" ] || fail "ci/pulumi-cli.sha256 has no sum for $archive; add it from the release's pulumi-${version}-checksums.txt"
[[ "$expected" =~ ^[0-9a-f]{64}$ ]] || fail "the sum for $archive in ci/pulumi-cli.sha256 is not a SHA-256 hex digest"
[[ "$expected" =~ ^0+$ ]] && fail "the sum for $archive in ci/pulumi-cli.sha256 is a placeholder; fill it from the release's pulumi-${version}-checksums.txt"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
curl -fsSL --proto '=https' --tlsv1.2 -o "$work/$archive" "$base_url/v${version}/$archive"
echo "$expected  $work/$archive" | sha256sum -c --quiet - >/dev/null 2>&1 \
  || fail "$archive does not match its sum in ci/pulumi-cli.sha256 (got $(sha256sum "$work/$archive" | cut -d' ' -f1)); refusing to install it"

# Verified: only now unpack it.
tar -xzf "$work/$archive" -C "$work"
mkdir -p "$dest"
cp "$work"/pulumi/* "$dest"/
echo "install-pulumi: installed pulumi v${version} ($archive, sha256 $expected) into $dest"
