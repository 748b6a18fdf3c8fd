#!/usr/bin/env bash
# Runs the whole suite against NestJS 11 (the package supports ^11 || ^12): a copy of the
# working tree, installed from its lock file (`npm ci`), with the latest Nest 11 packages
# installed over it (not saved), so the checkout itself is left alone.
#
#   bash test/support/nest11-matrix.sh              # whole suite
#   bash test/support/nest11-matrix.sh test/unit    # Jest args, as for jest
#
# Quiet on success: the Nest versions in use and Jest's summary. A failing install, type-check
# or build prints its output; failing tests are listed in the summary. Exits non-zero on failure.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
log="$work/.step.log"

# Runs a step with its output kept aside; on failure shows it and stops the script.
quiet() { # $1: what the step is; the rest: the command
  local what="$1"
  shift
  if ! "$@" >"$log" 2>&1; then
    echo "nest11-matrix: FAIL: $what" >&2
    cat "$log" >&2
    exit 1
  fi
}

tar -C "$root" --exclude=./node_modules --exclude=./dist --exclude=./dist-sample \
  --exclude=./dist-bench -cf - . | tar -C "$work" -xf -
cd "$work"
quiet "npm ci" npm ci --no-audit --no-fund
quiet "npm install (Nest 11)" npm install --no-save --no-audit --no-fund \
  @nestjs/common@11 @nestjs/core@11 @nestjs/testing@11 @nestjs/platform-express@11 \
  @nestjs/schedule@5 @nestjs/platform-fastify@11 @nestjs/microservices@11 \
  @nestjs/websockets@11 @nestjs/platform-socket.io@11 @nestjs/platform-ws@11 \
  @nestjs/graphql@13 @nestjs/apollo@13 @nestjs/terminus@11
node -e '
  const v = (p) => require(p + "/package.json").version;
  console.log("nest11-matrix: @nestjs/core " + v("@nestjs/core") + ", @nestjs/common " +
    v("@nestjs/common") + ", @nestjs/schedule " + v("@nestjs/schedule"));
  if (!v("@nestjs/core").startsWith("11.")) throw new Error("Nest 11 is not the one installed");'
quiet "tsc --noEmit" npx tsc -p tsconfig.json --noEmit
quiet "npm run build" npm run build
# Last: --reporters takes every argument after it.
npx jest "$@" --reporters=summary
