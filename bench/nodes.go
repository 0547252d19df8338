package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
)

// runNodesGet is -nodes-get N: manifest GETs from -concurrency clients
// spread round-robin over 1, 2, ... N berth nodes that share one store
// (-berth-args must point every node at one PostgreSQL and one bucket:
// see scaleout.sh). On a machine with few cores the nodes compete with
// each other and with the clients for them; the table says so, not more.
func runNodesGet(ctx context.Context, cfg *config, bins *binaries, tmp, runID string, logf func(string, ...any)) (string, error) {
	var nodes []*peer
	defer func() {
		for _, p := range nodes {
			_ = p.stop()
		}
	}()
	start := func() (*client, error) {
		dir, err := os.MkdirTemp(tmp, "node-")
		if err != nil {
			return nil, err
		}
		p, err := startPeer(ctx, peerBerth, bins, dir)
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, p)
		logf("[node %d] started pid %d at %s", len(nodes), p.pid(), p.base)
		return newClient(p.base, cfg), nil
	}
	first, err := start()
	if err != nil {
		return "", err
	}
	clients := []*client{first}
	data, err := prepareManifests(cfg, runID)
	if err != nil {
		return "", err
	}
	repo := "bench-" + runID + "/nodes"
	if err := first.pushMonolithic(ctx, repo, data.configDigest, bytes.NewReader(data.config), int64(len(data.config))); err != nil {
		return "", err
	}
	if err := first.pushMonolithic(ctx, repo, data.layerDigest, bytes.NewReader(data.layer), int64(len(data.layer))); err != nil {
		return "", err
	}
	n := int64(len(data.seq))
	if _, err := runOps(ctx, cfg.concurrency, n, 0, func(ctx context.Context, i int64) error {
		return first.putManifest(ctx, repo, fmt.Sprintf("s%d", i), &data.seq[i])
	}); err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "| nodes | manifest GET, %d clients round-robin, %s (req/s) | p99 (ms) |\n|---:|---:|---:|\n",
		cfg.concurrency, cfg.getDuration)
	for k := 1; k <= cfg.nodesGet; k++ {
		if k > 1 {
			c, err := start()
			if err != nil {
				return "", err
			}
			clients = append(clients, c)
		}
		st, err := runWorkerOps(ctx, cfg.concurrency, cfg.getMax, cfg.getDuration, func(ctx context.Context, worker int, i int64) error {
			return clients[worker%len(clients)].getManifest(ctx, repo, fmt.Sprintf("s%d", i%n), &data.seq[i%n], false)
		})
		if err != nil {
			return "", fmt.Errorf("%d nodes: %w", k, err)
		}
		logf("%d nodes: %s", k, st)
		fmt.Fprintf(&b, "| %d | %.0f | %.2f |\n", k, st.rps, ms(st.p99))
	}
	fmt.Fprintf(&b, "\nAll nodes, their store and the clients share this machine's %d CPUs.\n", runtime.NumCPU())
	return b.String(), nil
}
