#!/usr/bin/env bash
# The integration tests start their own throwaway ZooKeeper from Debian's jars; install them if missing.
set -euo pipefail
[ -f /usr/share/java/zookeeper.jar ] && exit 0
echo "ZooKeeper jars not found: installing Debian's zookeeper package (brings Java)" >&2
if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq zookeeper >/dev/null
