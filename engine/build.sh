#!/usr/bin/env bash
# make engine: the real Pulumi CLI for this checkout, in .engine/bin/.
#
# 1. A `pulumi` already on PATH (and not ours) is used as it is.
# 2. Otherwise the CLI is built once from the Go module proxy at the version
#    in engine/version.txt into a cache outside the repo
#    ($MULTILANE_ENGINE_CACHE, default ~/.cache/multilane/engine/<version>),
#    through a generated wrapper module (pkg/v3's own go.mod has `replace`
#    lines, so `go install pkg@version` refuses it).
# 3. .engine/bin/ gets `pulumi` (a hard link to the cached binary, so the CLI
#    finds its bundled language host beside it), `pulumi-language-python` (the
#    stand-in Python language host, engine/langhost.py: the official Go module
#    is not served by the proxy here) and `pulumi-language-python-exec` (the
#    SDK's exec shim, a file of the sdk/v3 module at the same version).
# A second call with the cache warm only re-links: under a second.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VERSION="$(tr -d '[:space:]' < "$ROOT/engine/version.txt")"
CACHE="${MULTILANE_ENGINE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/multilane/engine}/$VERSION"
BIN="$ROOT/.engine/bin"
PY="$ROOT/venv/bin/python"
say() { printf 'engine: %s\n' "$*" >&2; }

[ -x "$PY" ] || { say "venv/ is missing; run 'make setup' first"; exit 2; }

ambient="$(PATH="$(printf '%s' "$PATH" | tr ':' '\n' | grep -vxF "$BIN" | paste -sd: -)" command -v pulumi || true)"
if [ -n "$ambient" ] && [ -z "${MULTILANE_BUILD_ENGINE:-}" ]; then
  say "using pulumi from PATH: $ambient ($("$ambient" version))"
  rm -rf "$BIN"
  exit 0
fi

if [ ! -x "$CACHE/pulumi" ] || [ ! -f "$CACHE/pulumi-language-python-exec" ]; then
  command -v go >/dev/null || { say "Go is not installed; install Go 1.26 or put a pulumi CLI on PATH"; exit 2; }
  say "building the Pulumi CLI $VERSION from the Go module proxy into $CACHE (first time only: about 6 minutes on 2 cores)"
  start=$(date +%s)
  mod="$CACHE/module"
  mkdir -p "$mod"
  # The wrapper requires pkg/v3 and sdk/v3 at one version and repeats the
  # replace lines of upstream's go.mod files that point at other published
  # modules (a local `../sdk` replace is what `require sdk/v3` stands for).
  cat > "$mod/go.mod" <<MOD
module multilane.local/engine

go 1.26

require (
	github.com/pulumi/pulumi/pkg/v3 $VERSION
	github.com/pulumi/pulumi/sdk/v3 $VERSION
)

replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e

replace golang.org/x/text => golang.org/x/text v0.41.0
MOD
  cat > "$mod/tools.go" <<'GO'
//go:build tools

package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
GO
  (cd "$mod" && say "resolving modules (go mod tidy)" && go mod tidy \
    && say "compiling github.com/pulumi/pulumi/pkg/v3/cmd/pulumi (go build)" \
    && go build -trimpath -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$VERSION" \
         -o "$CACHE/pulumi.partial" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
  sdkdir="$(cd "$mod" && go list -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3)"
  install -m 0755 "$sdkdir/python/cmd/pulumi-language-python-exec" "$CACHE/pulumi-language-python-exec"
  mv "$CACHE/pulumi.partial" "$CACHE/pulumi"
  say "built in $(( $(date +%s) - start )) s"
fi

mkdir -p "$BIN"
rm -f "$BIN/pulumi" "$BIN/pulumi-language-python" "$BIN/pulumi-language-python-exec"
ln "$CACHE/pulumi" "$BIN/pulumi" 2>/dev/null || cp "$CACHE/pulumi" "$BIN/pulumi"
install -m 0755 "$CACHE/pulumi-language-python-exec" "$BIN/pulumi-language-python-exec"
cat > "$BIN/pulumi-language-python" <<SH
#!/bin/sh
exec "$PY" "$ROOT/engine/langhost.py" --use-executor "$BIN/pulumi-language-python-exec" "\$@"
SH
chmod 0755 "$BIN/pulumi-language-python"
say "ready: $BIN/pulumi ($("$BIN/pulumi" version)); put $BIN on PATH or use the sandbox's env.sh"
