# Shared by the setup scripts of the Python tools that need Debian's python3 (tools/serve/setup.sh,
# bench/triton/setup.sh): the Debian packages they need, a venv made from /usr/bin/python3 (not
# whatever python3 is first on PATH, e.g. pyenv's), and requirements.txt installed again only when
# it changed since the last successful install.
# Usage: source tools/lib/debian-venv.sh; debian_venv VENV REQUIREMENTS [DEBIAN_PACKAGE...]

debian_venv() {
  local venv=$1 req=$2
  shift 2
  local missing=() pkg
  for pkg in python3-venv "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
  fi
  [ -x "$venv/bin/python" ] || /usr/bin/python3 -m venv "$venv"
  local stamp="$venv/.requirements.installed"
  if [ ! -f "$stamp" ] || ! cmp -s "$req" "$stamp"; then
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$req"
    cp "$req" "$stamp"
  fi
}
