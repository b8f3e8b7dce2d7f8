#!/bin/sh
# The master: etcd over TLS with client certificates, `pilot certs`, then the
# apiserver, scheduler and controller-manager from the bundle's units. Each
# worker's certificates and kubeconfigs are served to it encrypted with
# /pilot-state/cluster-secret (see worker.sh).
# Usage: master.sh <master-ip> <node>=<ip>...
set -eu
ip=$1
shift
nodes=$*
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq --no-install-recommends etcd-server >/dev/null

# 1. The cluster's PKI (kept on re-provision: pilot certs never overwrites).
if [ ! -e /etc/pilot/ca.crt ]; then
	# shellcheck disable=SC2046 # one --node-name per node
	pilot certs --dir /etc/pilot --apiserver-advertise-address "$ip" $(for n in $nodes; do echo "--node-name $n"; done)
fi

# 2. etcd: TLS only, clients must show a certificate of the etcd CA.
install -d -o etcd -g etcd -m 0700 /etc/etcd/pki
for f in ca.crt server.crt server.key; do install -o etcd -g etcd -m 0600 "/etc/pilot/etcd/$f" "/etc/etcd/pki/$f"; done
cat > /etc/default/etcd <<EOT
ETCD_LISTEN_CLIENT_URLS=https://127.0.0.1:2379,https://$ip:2379
ETCD_ADVERTISE_CLIENT_URLS=https://$ip:2379
ETCD_CERT_FILE=/etc/etcd/pki/server.crt
ETCD_KEY_FILE=/etc/etcd/pki/server.key
ETCD_TRUSTED_CA_FILE=/etc/etcd/pki/ca.crt
ETCD_CLIENT_CERT_AUTH=true
EOT
systemctl restart etcd
etcdctl() { ETCDCTL_API=3 command etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/etc/pilot/etcd/ca.crt --cert=/etc/pilot/etcd/healthcheck-client.crt --key=/etc/pilot/etcd/healthcheck-client.key "$@"; }
i=0
until etcdctl endpoint health >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 60 ] || { echo "provision: etcd is not healthy after 60 s (journalctl -u etcd)" >&2; exit 1; }
	sleep 1
done
# overlayd's network (flannel's config key and JSON).
etcdctl put /coreos.com/network/config '{"Network":"10.1.0.0/16","SubnetLen":24,"Backend":{"Type":"vxlan"}}' >/dev/null

# 3. The control plane.
cat > /etc/default/pilot-apiserver <<EOT
APISERVER_ARGS=--etcd-servers=https://127.0.0.1:2379 --etcd-cafile=/etc/pilot/etcd/ca.crt --etcd-certfile=/etc/pilot/apiserver-etcd-client.crt --etcd-keyfile=/etc/pilot/apiserver-etcd-client.key --advertise-address=$ip --tls-cert-file=/etc/pilot/apiserver.crt --tls-private-key-file=/etc/pilot/apiserver.key --token-auth-file=/etc/pilot/tokens.csv --kubelet-client-certificate=/etc/pilot/apiserver-kubelet-client.crt --kubelet-client-key=/etc/pilot/apiserver-kubelet-client.key --kubelet-certificate-authority=/etc/pilot/ca.crt
EOT
echo 'SCHEDULER_ARGS=--kubeconfig=/etc/pilot/scheduler.kubeconfig' > /etc/default/pilot-scheduler
echo 'CONTROLLER_MANAGER_ARGS=--kubeconfig=/etc/pilot/controller-manager.kubeconfig' > /etc/default/pilot-controller-manager
systemctl daemon-reload
systemctl enable -q pilot-apiserver pilot-scheduler pilot-controller-manager
systemctl restart pilot-apiserver pilot-scheduler pilot-controller-manager

# 4. Each worker's files, encrypted, served on the private network until it took them.
www=/var/lib/pilot-vagrant/www
install -d -m 0700 "$www"
for n in $nodes; do
	name=${n%%=*}
	stage=$(mktemp -d)
	cp /etc/pilot/ca.crt /etc/pilot/kubelet-client-ca.crt /etc/pilot/svcproxy.kubeconfig /etc/pilot/dnsd.kubeconfig "$stage/"
	cp "/etc/pilot/kubelet-$name.kubeconfig" "$stage/kubelet.kubeconfig"
	cp "/etc/pilot/kubelet-$name.crt" "$stage/kubelet.crt"
	cp "/etc/pilot/kubelet-$name.key" "$stage/kubelet.key"
	mkdir "$stage/etcd"
	cp /etc/pilot/etcd/ca.crt "$stage/etcd/"
	cp /etc/pilot/overlayd-etcd-client.crt /etc/pilot/overlayd-etcd-client.key "$stage/"
	tar -C "$stage" -czf - . | openssl enc -aes-256-cbc -pbkdf2 -salt -pass file:/pilot-state/cluster-secret -out "$www/$name.tgz.enc"
	rm -rf "$stage"
done
systemctl stop pilot-vagrant-files 2>/dev/null || true
systemctl reset-failed pilot-vagrant-files 2>/dev/null || true
systemd-run -q --unit=pilot-vagrant-files --property=RuntimeMaxSec=2h /usr/local/lib/pilot/node/bin/node -e '
const http = require("http"), fs = require("fs"), path = require("path");
const [dir, ip] = process.argv.slice(1);
http.createServer((req, res) => fs.readFile(path.join(dir, path.basename(req.url)), (err, body) => {
  res.writeHead(err ? 404 : 200);
  res.end(err ? "" : body);
})).listen(8000, ip);' "$www" "$ip"

i=0
until curl -fsS -o /dev/null "http://127.0.0.1:8080/readyz"; do
	i=$((i + 1))
	[ $i -lt 60 ] || { echo "provision: pilot apiserver is not ready after 60 s (journalctl -u pilot-apiserver)" >&2; exit 1; }
	sleep 1
done
echo "provision: master ready; kubectl: vagrant ssh master -c 'sudo cat /etc/pilot/admin.kubeconfig' > admin.kubeconfig"
