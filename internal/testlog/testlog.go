// Package testlog holds what tests need to read a log while the code
// under test writes it from other goroutines.
//
//	var logs testlog.Buffer
//	log := slog.New(slog.NewTextHandler(&logs, nil))
//	// ... run something that logs concurrently ...
//	strings.Contains(logs.String(), "listening")
package testlog

import (
	"bytes"
	"sync"
)

// Buffer is a bytes.Buffer safe for concurrent Write and String.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
