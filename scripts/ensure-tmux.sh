#!/usr/bin/env bash
# The TUI's end-to-end tests drive `stconf tui` in a real pseudo-terminal through tmux; install it if missing.
set -euo pipefail
command -v tmux >/dev/null 2>&1 && exit 0
echo "tmux not found: installing Debian's tmux package (the TUI tests run stconf tui inside it)" >&2
if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq tmux >/dev/null
