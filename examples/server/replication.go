package main

import "flag"

// replConfig holds the replication flags.
type replConfig struct{}

func (c *replConfig) addFlags(fs *flag.FlagSet) {}

// wireReplication adds replication to the server.
func wireReplication(w *wiring) error { return nil }
