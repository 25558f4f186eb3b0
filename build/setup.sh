#!/usr/bin/env bash
# Installs whatever the build, the demo and the tests need and is missing on this machine:
# Debian packages (apt-get), npm packages, and the Leshan artifacts from Maven Central.
# Safe to run again: it only installs what is absent.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "setup: $*"; }
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

# The host board is built 32-bit (-m32), like the meter MCUs, so its JS heap figures are
# the meters' figures: it needs the i386 multiarch C library and mbedTLS.
if ! dpkg --print-foreign-architectures | grep -qx i386; then
  say "enabling the i386 architecture for the 32-bit host board"
  $SUDO dpkg --add-architecture i386
fi

DEBIAN_PACKAGES=(
  duktape-dev              # the engine source (/usr/share/duktape)
  libmbedtls-dev           # DTLS and credential encryption on the host board
  gcc make gcc-multilib libmbedtls-dev:i386   # the 32-bit host board
  gcc-arm-none-eabi libnewlib-arm-none-eabi   # the Cortex-M board
  qemu-system-arm          # runs the Cortex-M board
  libcoap3-bin gnutls-bin openssl            # independent CoAP/DTLS peers
  openjdk-17-jdk-headless maven              # Leshan
)

missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
  [[ "$pkg" == \#* ]] && continue
  dpkg-query -W -f='${Status}\n' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  say "installing Debian packages: ${missing[*]}"
  # A mirror being synced can fail one index: install from what did download.
  $SUDO apt-get update -q || say "apt-get update reported errors; trying the install anyway"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
else
  say "Debian packages present"
fi

if [ ! -x node_modules/.bin/vitest ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # npm install, not npm ci: this npm rejects its own lock files in ci mode (it wants every
  # platform's optional rollup binary listed); install still follows package-lock.json.
  say "installing npm packages (npm install, from package-lock.json)"
  npm install --no-audit --no-fund
else
  say "npm packages present"
fi

LESHAN=org.eclipse.leshan:leshan-server-demo:2.0.0-M4:jar:jar-with-dependencies
LESHAN_JAR="$HOME/.m2/repository/org/eclipse/leshan/leshan-server-demo/2.0.0-M4/leshan-server-demo-2.0.0-M4-jar-with-dependencies.jar"
if [ ! -f "$LESHAN_JAR" ]; then
  say "fetching Leshan ($LESHAN) from Maven Central"
  mvn -q dependency:get -Dartifact="$LESHAN" -Dtransitive=false
else
  say "Leshan present"
fi
