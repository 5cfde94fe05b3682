#!/usr/bin/env bash
# Re-vendor the page's libraries at the versions pinned in package.json / package-lock.json:
#   scripts/vendor-web/update.sh
# then update the versions in web/vendor/README.md and, if wavesurfer.js changed, the style hash
# (tests/unit/web/test_vendor.py says the new one). Needs npm only when run; nothing else uses it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$here/package.json" "$here/package-lock.json" "$work/"
(cd "$work" && npm ci --ignore-scripts --no-audit --no-fund)
ws="$work/node_modules/wavesurfer.js"
mkdir -p "$root/web/vendor/wavesurfer.js/plugins"
cp "$ws/dist/wavesurfer.esm.js" "$root/web/vendor/wavesurfer.js/"
cp "$ws/dist/plugins/regions.esm.js" "$root/web/vendor/wavesurfer.js/plugins/"
cp "$ws/LICENSE" "$root/web/vendor/wavesurfer.js/LICENSE"
axe="$work/node_modules/axe-core"
mkdir -p "$root/tests/e2e/vendor/axe-core"
cp "$axe/axe.min.js" "$axe/LICENSE" "$axe/LICENSE-3RD-PARTY.txt" "$root/tests/e2e/vendor/axe-core/"
oidc="$work/node_modules/oidc-client-ts"
mkdir -p "$root/web/vendor/oidc-client-ts"
cp "$oidc/dist/browser/oidc-client-ts.min.js" "$oidc/LICENSE" "$root/web/vendor/oidc-client-ts/"
# the browser build bundles jwt-decode (MIT): its licence goes beside it
cp "$work/node_modules/jwt-decode/LICENSE" "$root/web/vendor/oidc-client-ts/LICENSE-jwt-decode"
