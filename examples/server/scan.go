package main

import "flag"

// scanConfig holds the vulnerability scanning flags.
type scanConfig struct{}

func (c *scanConfig) addFlags(fs *flag.FlagSet) {}

// wireScanning adds vulnerability scanning to the server.
func wireScanning(w *wiring) error { return nil }
