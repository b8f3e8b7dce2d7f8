#!/bin/sh
# Every VM, first: the Debian packages pilot runs against, then make dist's
# bundle unpacked at / (pilot, overlayd, svcproxy, dnsd in /usr/local/bin, their
# Node in /usr/local/lib/pilot, the units in /etc/systemd/system).
set -eu
bundle=$(ls /pilot-dist/pilot-*-linux-*.tar.gz 2>/dev/null | sort | tail -n 1)
[ -n "$bundle" ] || { echo "provision: no pilot-*.tar.gz in ../dist: run make dist in the checkout, then vagrant reload --provision" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends iptables iproute2 conntrack curl dnsutils openssl ca-certificates etcd-client >/dev/null
# A re-provision replaces the previous bundle; /etc/default files written below stay.
[ ! -x /usr/local/lib/pilot/uninstall ] || /usr/local/lib/pilot/uninstall >/dev/null
tar -C / --no-same-owner --skip-old-files -xzf "$bundle"
echo br_netfilter > /etc/modules-load.d/pilot.conf
modprobe br_netfilter
sysctl --system >/dev/null
echo "provision: $(/usr/local/bin/pilot --version) from $(basename "$bundle")"
