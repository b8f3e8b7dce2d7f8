#!/bin/sh
# A worker: its certificates and kubeconfigs from the master, overlayd before
# Docker (dockerd then runs with the --bip/--mtu of overlayd's subnet.env
# through the bundle's docker.service drop-in), then svcproxy, dnsd and the
# kubelet, each with its flags in /etc/default/<unit>.
# Usage: worker.sh <master-ip> <node-name> <node-ip>
set -eu
master=$1
name=$2
ip=$3
export DEBIAN_FRONTEND=noninteractive

# 1. This node's files, as master.sh left them (it may still be provisioning).
enc=$(mktemp)
i=0
until curl -fsS -o "$enc" "http://$master:8000/$name.tgz.enc"; do
	i=$((i + 1))
	[ $i -lt 120 ] || { echo "provision: the master serves no files for $name at http://$master:8000 (vagrant provision master)" >&2; exit 1; }
	sleep 5
done
install -d -m 0700 /etc/pilot
openssl enc -d -aes-256-cbc -pbkdf2 -pass file:/pilot-state/cluster-secret -in "$enc" | tar -C /etc/pilot --no-same-owner -xzf -
rm -f "$enc"

# 2. overlayd, then Docker from what it wrote. Docker must not start before
#    overlayd has leased the subnet: policy-rc.d keeps the package from starting it.
cat > /etc/default/overlayd <<EOT
OVERLAYD_ARGS=--etcd-endpoints=https://$master:2379 --etcd-cafile=/etc/pilot/etcd/ca.crt --etcd-certfile=/etc/pilot/overlayd-etcd-client.crt --etcd-keyfile=/etc/pilot/overlayd-etcd-client.key --iface=$ip --node-name=$name --ip-masq
EOT
if ! command -v dockerd >/dev/null; then
	printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
	chmod +x /usr/sbin/policy-rc.d
	apt-get install -y -qq --no-install-recommends docker.io >/dev/null
	rm -f /usr/sbin/policy-rc.d
fi
install -d /etc/docker
cat > /etc/docker/daemon.json <<'EOT'
{ "live-restore": true, "userland-proxy": false, "log-driver": "json-file", "log-opts": { "max-size": "10m", "max-file": "3" } }
EOT
systemctl daemon-reload
systemctl enable -q overlayd docker
systemctl restart overlayd
systemctl restart docker
. /run/flannel/subnet.env
echo "provision: $name leased $FLANNEL_SUBNET; docker0: $(ip -4 -o addr show docker0 | awk '{print $4}')"

# 3. The seed's image, built here (Docker Hub's node image plus the seed's server.js).
docker build -q -t guest/mynode -f - /pilot-images/mynode >/dev/null <<'EOT'
FROM node:20-bookworm-slim
COPY server.js /server.js
EXPOSE 8888
CMD ["node", "/server.js"]
EOT

# 4. svcproxy, dnsd (behind 10.0.0.10, registering itself) and the kubelet.
echo "SVCPROXY_ARGS=--kubeconfig=/etc/pilot/svcproxy.kubeconfig --cluster-cidr=10.1.0.0/16 --hostname-override=$name" > /etc/default/svcproxy
echo "DNSD_ARGS=--kubeconfig=/etc/pilot/dnsd.kubeconfig --register-service --advertise-address=$ip" > /etc/default/dnsd
echo "KUBELET_ARGS=--kubeconfig=/etc/pilot/kubelet.kubeconfig --hostname-override=$name --node-ip=$ip --tls-cert-file=/etc/pilot/kubelet.crt --tls-private-key-file=/etc/pilot/kubelet.key --client-ca-file=/etc/pilot/kubelet-client-ca.crt --cluster-dns=10.0.0.10" > /etc/default/pilot-kubelet
systemctl enable -q svcproxy dnsd pilot-kubelet
systemctl restart svcproxy dnsd pilot-kubelet
echo "provision: $name runs overlayd, docker, svcproxy, dnsd, pilot-kubelet"
