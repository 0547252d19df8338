package main

import (
	"os"
	"path/filepath"
	"time"
)

// diskRate measures this machine's durable write rate: data written to a
// new file in dir and fsynced, the work a registry that acknowledges only
// durable blobs cannot skip. Distribution does not fsync, so when the disk
// is slower than the network this, not hashing, bounds berth's push rate.
func diskRate(dir string, data []byte) (float64, error) {
	path := filepath.Join(dir, "disk-rate-probe")
	defer os.Remove(path)
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	start := time.Now()
	const block = 1 << 20
	for off := 0; off < len(data); off += block {
		if _, err := f.Write(data[off:min(off+block, len(data))]); err != nil {
			return 0, err
		}
	}
	if err := f.Sync(); err != nil {
		return 0, err
	}
	return float64(len(data)) / time.Since(start).Seconds() / 1e6, nil
}
