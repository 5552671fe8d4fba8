#!/usr/bin/env bash
# make engine: the real Pulumi CLI for this checkout, in .engine/bin/.
#
# 1. A `pulumi` already on PATH (and not ours) is used as it is.
# 2. Otherwise the CLI is built once from the Go module proxy at the version
#    in engine/version.txt into a cache outside the repo
#    ($MULTILANE_ENGINE_CACHE, default ~/.cache/multilane/engine/<version>),
#    through the wrapper module in engine/module (pkg/v3's own go.mod has
#    `replace` lines, so `go install pkg@version` refuses it); its go.sum is
#    the expected hash of every module the build uses.
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
  # A non-interactive shell may lack the login PATH: try Go's usual home too.
  command -v go >/dev/null || { [ -x /usr/local/go/bin/go ] && PATH="/usr/local/go/bin:$PATH"; }
  command -v go >/dev/null || { say "Go is not installed; install Go 1.26 or put a pulumi CLI on PATH"; exit 2; }
  say "building the Pulumi CLI $VERSION from the Go module proxy into $CACHE (first time only: about 6 minutes on 2 cores)"
  start=$(date +%s)
  mod="$CACHE/module"
  mkdir -p "$mod"
  # The wrapper module is committed (engine/module): it requires pkg/v3 and
  # sdk/v3 at one version and repeats the replace lines of upstream's go.mod
  # files that point at other published modules. Its go.sum pins every
  # module's hash: -mod=readonly refuses anything that does not match.
  grep -q "github.com/pulumi/pulumi/pkg/v3 $VERSION\$" "$ROOT/engine/module/go.mod" \
    || { say "engine/module/go.mod does not require pkg/v3 $VERSION (engine/version.txt); update both together"; exit 2; }
  cp "$ROOT/engine/module/go.mod" "$ROOT/engine/module/go.sum" "$ROOT/engine/module/tools.go" "$mod/"
  (cd "$mod" && say "compiling github.com/pulumi/pulumi/pkg/v3/cmd/pulumi (go build; modules checked against engine/module/go.sum)" \
    && go build -mod=readonly -trimpath -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$VERSION" \
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
