#!/usr/bin/env bash
# Installs the upstream Koji command-line client (the `koji` command, version
# 1.36.1 from PyPI) in a virtualenv, for testing koji-rs against it.
#
# Idempotent: installs only what is missing and says what it does. The last
# line printed is KOJI_CLIENT=/path/to/koji.
#
#   KOJI_VENV   where the virtualenv lives (default ~/.cache/koji-rs/venv)
#
# Needs Debian (or a derivative) for the system packages: the venv is made
# from Debian's python3 with --system-site-packages so that `import rpm`
# (python3-rpm, not on PyPI) and `import libcomps` (python3-libcomps, which
# the client's import-comps needs) work inside it.
set -euo pipefail

KOJI_VERSION=1.36.1
venv="${KOJI_VENV:-$HOME/.cache/koji-rs/venv}"
python=/usr/bin/python3
apt_packages=(rpm createrepo-c bubblewrap git gnupg dnf python3-venv python3-rpm python3-libcomps
              libkrb5-dev python3-dev gcc pkg-config)

say() { printf 'setup-koji-client: %s\n' "$*"; }

# --- Debian packages -------------------------------------------------------
missing=()
for p in "${apt_packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = installed ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    sudo=()
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo=(sudo)
  else
    say "missing Debian packages: ${missing[*]}"
    say "run as root: apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
    exit 1
  fi
  say "installing Debian packages: ${missing[*]}"
  say "+ ${sudo[*]:+${sudo[*]} }apt-get update"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
  say "+ ${sudo[*]:+${sudo[*]} }apt-get install -y --no-install-recommends ${missing[*]}"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"
else
  say "Debian packages present: ${apt_packages[*]}"
fi

# --- virtualenv with the upstream client -----------------------------------
installed_version() {
  [ -x "$venv/bin/python" ] || return 0
  "$venv/bin/python" - <<'PY' 2>/dev/null || true
import importlib.metadata as m
try:
    print(m.version("koji"))
except m.PackageNotFoundError:
    pass
PY
}

if [ -x "$venv/bin/python" ] && ! "$venv/bin/python" -c 'import rpm' 2>/dev/null; then
  # made without --system-site-packages or from another python: start over
  say "virtualenv $venv cannot import rpm; recreating it"
  say "+ rm -rf $venv"
  rm -rf "$venv"
fi
if [ ! -x "$venv/bin/python" ]; then
  say "creating virtualenv $venv"
  mkdir -p "$(dirname "$venv")"
  say "+ $python -m venv --system-site-packages $venv"
  "$python" -m venv --system-site-packages "$venv"
fi

have=$(installed_version)
if [ "$have" = "$KOJI_VERSION" ] && [ -x "$venv/bin/koji" ]; then
  say "koji $KOJI_VERSION already installed in $venv"
else
  say "installing koji==$KOJI_VERSION${have:+ (found $have)} into $venv"
  say "+ $venv/bin/pip install --disable-pip-version-check koji==$KOJI_VERSION"
  "$venv/bin/pip" install --disable-pip-version-check "koji==$KOJI_VERSION"
fi

# --- check -----------------------------------------------------------------
"$venv/bin/python" -c 'import koji, rpm' || { say "import koji, rpm fails in $venv"; exit 1; }
# `koji version` prints the client's version, then asks a hub for its own:
# give it a throwaway profile pointing at a closed local port, without
# retries, so nothing leaves the machine.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/.koji"
cat > "$tmp/.koji/config" <<'CFG'
[koji]
server = http://127.0.0.1:9/kojihub
weburl = http://127.0.0.1:9/koji
topurl = http://127.0.0.1:9/kojifiles
max_retries = 0
anon_retry = false
CFG
out=$(HOME="$tmp" "$venv/bin/koji" --noauth version 2>&1 || true)
case "$out" in
  "Client: $KOJI_VERSION"*) say "$venv/bin/koji version: $(printf '%s' "$out" | head -n 1)" ;;
  *) say "unexpected output of '$venv/bin/koji version':"; printf '%s\n' "$out"; exit 1 ;;
esac
echo "KOJI_CLIENT=$venv/bin/koji"
