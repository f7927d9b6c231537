#!/usr/bin/env bash
# A 2-host data-parallel run on one machine: two network namespaces ("hosts" 10.77.0.1 and
# 10.77.0.2, joined by a veth pair) stand for two hosts, mpirun starts one rank in each
# through an rsh agent that enters the namespace (where ssh would log in), and the ranks
# talk TCP over the veth only (--mca btl tcp,self, btl_tcp_if_include and oob_tcp_if_include
# on the subnet), as docs/distributed.md sets up real hosts. Then the same job on one host
# over loopback; the two model files must be identical byte for byte. Needs root (ip netns).
#
#   bash scripts/two-hosts-netns.sh            # with .build/release/heed (HEED=... for another)
set -euo pipefail
cd "$(dirname "$0")/.."
heed=$(realpath "${HEED:-.build/release/heed}")
[ -x "$heed" ] || { echo "two-hosts-netns.sh: no heed at $heed; swift build -c release first" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "two-hosts-netns.sh: needs root (ip netns)" >&2; exit 1; }

remove_namespaces() {
    ip netns delete heed-h1 2>/dev/null || true
    ip netns delete heed-h2 2>/dev/null || true
}
remove_namespaces  # a run killed earlier may have left them
work=$(mktemp -d)
trap 'remove_namespaces; rm -rf "$work"' EXIT

ip netns add heed-h1
ip netns add heed-h2
ip link add heed-v1 type veth peer name heed-v2
ip link set heed-v1 netns heed-h1
ip link set heed-v2 netns heed-h2
ip -n heed-h1 addr add 10.77.0.1/24 dev heed-v1
ip -n heed-h2 addr add 10.77.0.2/24 dev heed-v2
for n in 1 2; do
    ip -n heed-h$n link set lo up
    ip -n heed-h$n link set heed-v$n up
done

cat >"$work/netns-rsh" <<'AGENT'
#!/bin/sh
# mpirun's rsh agent: "log in" to a host by entering its namespace.
host=$1; shift
case $host in
    10.77.0.1) ns=heed-h1 ;;
    10.77.0.2) ns=heed-h2 ;;
    *) echo "netns-rsh: unknown host $host" >&2; exit 1 ;;
esac
exec ip netns exec "$ns" sh -c "$*"
AGENT
chmod +x "$work/netns-rsh"

train=(train --synthetic-train 80 --synthetic-test 10 --synthetic-classes 2 --epochs 1 --no-augment
    --schedule constant --batch-size 8 --sync-bn --quiet)
network=(--mca btl tcp,self --mca btl_tcp_if_include 10.77.0.0/24 --mca oob_tcp_if_include 10.77.0.0/24)
hosts=(--mca plm_rsh_agent "$work/netns-rsh" --host 10.77.0.1:1,10.77.0.2:1)

echo "== where each rank runs"
ip netns exec heed-h1 mpirun --allow-run-as-root "${hosts[@]}" "${network[@]}" -np 2 --tag-output \
    sh -c 'ip -br addr show | grep heed-v'
echo "== 2 hosts"
ip netns exec heed-h1 timeout 600 mpirun --allow-run-as-root "${hosts[@]}" "${network[@]}" -np 2 \
    "$heed" "${train[@]}" --output "$work/two-hosts"
echo "== 1 host"
timeout 600 mpirun --allow-run-as-root --oversubscribe --mca btl tcp,self -np 2 \
    "$heed" "${train[@]}" --output "$work/one-host"
cmp "$work/two-hosts/model.safetensors" "$work/one-host/model.safetensors"
echo "two-hosts-netns.sh: the 2-host and the 1-host model files are identical"
