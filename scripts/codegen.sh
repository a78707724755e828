#!/usr/bin/env bash
# Writes convex/_generated offline. `npx convex codegen` needs a deployment when
# the app uses components; with --system-udfs it writes api, server and
# dataModel without one but leaves out `components`, which we then declare
# exactly as `npx convex dev` would: each component's ComponentApi type from its
# package, and componentsGeneric() in api.js.
set -euo pipefail
cd "$(dirname "$0")/.."
npx convex codegen --system-udfs --typecheck disable >/dev/null
node scripts/add-components.mjs
