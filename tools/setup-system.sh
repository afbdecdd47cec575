#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages yoshin needs, only those missing. Idempotent.
set -euo pipefail

packages=(
  pcscd              # the PC/SC daemon the card layer talks to
  vsmartcard-vpcd    # virtual reader driver, for the card emulator (tests and demo only)
  libpcsclite-dev    # headers pyscard compiles against
  pkg-config swig gcc python3-dev  # pyscard's build
  socat              # pseudo-terminal pairs for serial tests
  systemd            # systemd-analyze verify for the appliance units
  procps             # pkill/ps used by the demo's clean stop
  postgresql         # PostgreSQL 15 server binaries: the host's second backend (tests start a throwaway
                     # cluster in a temporary directory as the postgres user; the Debian service is not used)
  util-linux         # runuser, to run initdb/pg_ctl as postgres when the tests run as root (CI)
  chromium           # the kiosk's browser mode window (and the headless browser test)
  chromium-driver    # WebDriver for that Chromium: the selenium test drives a whole visit with it
  fonts-noto-cjk     # Japanese glyphs for browser mode (without it Japanese renders as tofu)
)
if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
  packages+=(python3-venv)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "Installing system packages: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
