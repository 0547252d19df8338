// Package testproc runs a server program for a test: started with its
// output in files, waited for until it answers, killed (SIGKILL) to make
// an outage and started again on the same port and data. The packages
// that run real peers (Distribution, an S3 gateway) build on it.
//
//	p := testproc.Start(t, testproc.Spec{Name: "registry", Cmd: func() *exec.Cmd {
//		return exec.Command(bin, "serve", cfg)
//	}, Stdout: logPath, Stderr: errPath, Ready: func() error { return ping(url) }})
//	p.Stop()    // an outage
//	p.Restart() // same command, same data
package testproc

import (
	"net"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"
)

// Spec says how to run the program and how to tell it serves.
type Spec struct {
	Name string           // for messages
	Cmd  func() *exec.Cmd // a fresh command per start; Stdout and Stderr are set here
	// Stdout and Stderr are files the output is appended to (the same
	// path for both is fine): files, not buffers, so a test reads them
	// while the process runs without racing it.
	Stdout, Stderr string
	Ready          func() error // nil once the program answers
}

// Proc is a running (or stopped) program.
type Proc struct {
	t    testing.TB
	spec Spec

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// Start runs the program, returns once Ready succeeds, and stops it when
// the test ends. A program that exits or does not answer within 20 s
// fails the test with the tail of its error output.
func Start(t testing.TB, spec Spec) *Proc {
	t.Helper()
	p := &Proc{t: t, spec: spec}
	p.start()
	t.Cleanup(p.Stop)
	return p
}

// Stop kills the process (SIGKILL) and waits for it to exit, so its port
// refuses connections at once. Stopping a stopped process does nothing.
func (p *Proc) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	<-p.exited
	p.cmd = nil
}

// Restart stops the process if it runs and starts it again; it returns
// once the program answers.
func (p *Proc) Restart() {
	p.t.Helper()
	p.Stop()
	p.start()
}

func (p *Proc) start() {
	p.t.Helper()
	stdout, err := os.OpenFile(p.spec.Stdout, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		p.t.Fatalf("%s: %v", p.spec.Name, err)
	}
	defer stdout.Close()
	stderr, err := os.OpenFile(p.spec.Stderr, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		p.t.Fatalf("%s: %v", p.spec.Name, err)
	}
	defer stderr.Close()
	cmd := p.spec.Cmd()
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		p.t.Fatalf("%s: starting %s: %v", p.spec.Name, cmd.Path, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	p.mu.Lock()
	p.cmd, p.exited = cmd, exited
	p.mu.Unlock()

	deadline := time.Now().Add(20 * time.Second)
	for {
		err := p.spec.Ready()
		if err == nil {
			return
		}
		select {
		case <-exited:
			p.t.Fatalf("%s: %s exited before answering:\n%s", p.spec.Name, cmd.Path, p.Tail())
		default:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s: %s did not answer: %v\n%s", p.spec.Name, cmd.Path, err, p.Tail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Tail is the end of the error output, for failure messages.
func (p *Proc) Tail() string {
	b, _ := os.ReadFile(p.spec.Stderr)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// FreeAddr picks a free port on 127.0.0.1.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testproc: %v", err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}
