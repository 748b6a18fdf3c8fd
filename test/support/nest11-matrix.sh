#!/usr/bin/env bash
# Runs the whole suite against NestJS 11 (the package supports ^11 || ^12): a copy of the
# working tree with Nest 11 installed over it, so the checkout itself is left alone.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
tar -C "$root" --exclude=./node_modules --exclude=./dist --exclude=./dist-sample --exclude=./dist-bench -cf - . | tar -C "$work" -xf -
cd "$work"
npm install --no-audit --no-fund
npm install --no-save --no-audit --no-fund @nestjs/common@11 @nestjs/core@11 @nestjs/testing@11 \
  @nestjs/platform-express@11 @nestjs/schedule@5 @nestjs/platform-fastify@11 \
  @nestjs/microservices@11
node -e "console.log('NestJS', require('@nestjs/core/package.json').version)"
npx tsc -p tsconfig.json --noEmit
npm run build
npx jest "$@"
