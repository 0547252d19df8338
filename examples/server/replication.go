package main

import (
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/riverqueue/river"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/replicate"
)

// replConfig holds the replication flags.
type replConfig struct {
	enabled bool
	keyFile string
}

func (c *replConfig) addFlags(fs *flag.FlagSet) {
	fs.BoolVar(&c.enabled, "replication", true, "replicate to and from other registries (policies, executions and the /registries and /replication API)")
	fs.StringVar(&c.keyFile, "replication-key", "", "32-byte key file that encrypts registry credentials at rest (default <data>/replication.key, created if missing)")
}

// wireReplication adds replication to the server: the service over the
// server's database, its job worker, its event sink (event-based
// policies) and its API.
func wireReplication(w *wiring) error {
	c := w.cfg.features.repl
	if !c.enabled {
		return nil
	}
	keyFile := c.keyFile
	if keyFile == "" {
		keyFile = filepath.Join(w.cfg.dataDir, "replication.key")
	}
	key, err := loadOrCreateKey(keyFile)
	if err != nil {
		return fmt.Errorf("replication: %w", err)
	}
	svc, err := replicate.NewService(w.ctx, w.st.db, w.st.reg.Transport("replication"), w.runner,
		replicate.WithSecretKey(key), replicate.WithLogger(w.log.With("component", "replication")))
	if err != nil {
		return err
	}
	river.AddWorker(w.workers, svc.Worker())
	w.startJobs = true
	if err := svc.Start(w.ctx); err != nil {
		return err
	}
	w.closers = append(w.closers, svc.Close)
	*w.sinks = append(*w.sinks, svc)
	w.apiOpts = append(w.apiOpts, api.WithReplication(svc))
	return nil
}

// loadOrCreateKey reads a 32-byte key, or creates one (mode 0600).
func loadOrCreateKey(path string) ([]byte, error) {
	key, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, err
		}
		if _, err := f.Write(key); err != nil {
			f.Close()
			return nil, err
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, err
		}
		return key, f.Close()
	}
	if err != nil {
		return nil, err
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("key file %s: %d bytes, want 32", path, len(key))
	}
	return key, nil
}
