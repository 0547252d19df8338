// Package pgtest runs a throw-away PostgreSQL server for tests: Debian's
// initdb and postgres in a temporary directory, listening on a free
// 127.0.0.1 port and a unix socket in that directory, with fsync off (a
// test database need not survive a crash) and ICU's en-US collation as
// the default. Each test gets a database of its own, dropped when it ends.
//
// One server for a test:
//
//	url := pgtest.Start(t).Database(t) // postgres://postgres@127.0.0.1:PORT/NAME?sslmode=disable
//
// One server shared by a package's tests (starting one costs a second or
// two; a database, tens of milliseconds):
//
//	var pg pgtest.Shared
//
//	func TestMain(m *testing.M) { os.Exit(pg.Run(m)) }
//
//	func TestX(t *testing.T) { url := pg.Database(t); ... }
//
// PostgreSQL refuses to run as root: a test running as root runs the
// server as the "postgres" system user (Debian's package creates it) or,
// failing that, "nobody". It needs PostgreSQL 15 or later (ICU as the
// default collation). When PostgreSQL is not installed the test fails
// under CI=true and is skipped loudly otherwise (testtool.Require).
package pgtest

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Superuser is the role tests connect as (trust authentication: no
// password).
const Superuser = "postgres"

// Server is a running throw-away PostgreSQL.
type Server struct {
	Port int
	dir  string // data directory's parent, also the unix socket directory

	cmd      *exec.Cmd
	exited   chan struct{}
	postgres string // the binary, for Restart
	cred     *syscall.Credential
	admin    *sql.DB // on the "postgres" database, through the socket
	dbs      atomic.Int64
	drops    sync.WaitGroup
}

// Start starts a server for t and stops it when t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := findBinaries(t)
	s, err := start(bin)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

// start initialises a cluster in a new temporary directory and starts it.
func start(bin binaries) (*Server, error) {
	cred, err := serverUser()
	if err != nil {
		return nil, err
	}
	dir, err := serverDir(cred)
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir, postgres: bin.postgres, cred: cred}
	// Text sorts as in a typical production database (ICU's en-US, where
	// "team_c" < "team-a"), not byte by byte as in SQLite: a schema that
	// relies on byte order must say COLLATE "C", and its tests show it.
	initdb := exec.Command(bin.initdb, "-D", s.dataDir(), "-U", Superuser, "-A", "trust",
		"-E", "UTF8", "--locale=C", "--locale-provider=icu", "--icu-locale=en-US", "--no-sync")
	runAs(initdb, cred, dir)
	if out, err := initdb.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	for attempt := 0; ; attempt++ { // a free port may be taken between probe and bind
		err = s.launch(0)
		if err == nil {
			return s, nil
		}
		if attempt == 2 {
			log := s.Log()
			s.Stop()
			return nil, fmt.Errorf("postgres did not start: %v\n--- server log ---\n%s", err, log)
		}
	}
}

func (s *Server) dataDir() string { return filepath.Join(s.dir, "data") }
func (s *Server) logPath() string { return filepath.Join(s.dir, "postgres.log") }

// Restart stops the server (a fast shutdown: clients' connections are
// cut), calls down while it is stopped, and starts it again on the same
// port and data, as a database restart or failover looks to clients.
func (s *Server) Restart(t testing.TB, down func()) {
	t.Helper()
	s.stopProcess()
	if down != nil {
		down()
	}
	if err := s.launch(s.Port); err != nil {
		t.Fatalf("pgtest: restart: %v\n%s", err, s.Log())
	}
}

// launch runs postgres in the foreground (so Stop can signal it) on port
// (0: a free one) and waits until it accepts connections.
func (s *Server) launch(port int) error {
	if port == 0 {
		var err error
		if port, err = freePort(); err != nil {
			return err
		}
	}
	logFile, err := os.OpenFile(s.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.Command(s.postgres, "-D", s.dataDir(), "-p", strconv.Itoa(port), "-k", s.dir,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		// Tests that provoke a deadlock wait this long for the server
		// to notice (the default is a second).
		"-c", "deadlock_timeout=100ms",
		"-c", "max_connections=200")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	runAs(cmd, s.cred, s.dir)
	// If the test binary dies without cleaning up, take the server with
	// it (SIGQUIT: PostgreSQL's immediate shutdown). Strictly the signal
	// comes when the starting OS thread ends, which Go's runtime does only
	// for a goroutine that exits while locked to its thread.
	cmd.SysProcAttr.Pdeathsig = syscall.SIGQUIT
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s.cmd, s.exited, s.Port = cmd, exited, port
	return s.waitReady()
}

// waitReady connects through the unix socket, which only this server
// listens on: a TCP probe could reach another test's server that took the
// port first.
func (s *Server) waitReady() error {
	cfg, err := pgx.ParseConfig(fmt.Sprintf("host=%s port=%d user=%s dbname=postgres sslmode=disable connect_timeout=2",
		s.dir, s.Port, Superuser))
	if err != nil {
		return err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.ConnectConfig(ctx, cfg)
		cancel()
		if err == nil {
			_ = conn.Close(context.Background())
			if s.admin == nil { // a restarted server keeps its pool, which reconnects
				s.admin = stdlib.OpenDB(*cfg)
				s.admin.SetMaxOpenConns(2)
			}
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("postgres exited: %v (last probe: %v)", s.cmd.ProcessState, err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stopProcess()
			return fmt.Errorf("not accepting connections after 30s: %w", err)
		}
	}
}

// Database creates an empty database for t, drops it when t ends, and
// returns its URL (TCP on 127.0.0.1, as the superuser).
func (s *Server) Database(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("t%d_%s", s.dbs.Add(1), identifier(t.Name()))
	name = name[:min(len(name), 63)] // PostgreSQL's identifier limit
	ctx := context.Background()
	// FILE_COPY copies template1's files instead of logging every page:
	// two to three times faster with fsync off.
	if _, err := s.admin.ExecContext(ctx, `CREATE DATABASE "`+name+`" STRATEGY FILE_COPY`); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	// Dropped in the background (it waits for a checkpoint); Stop waits
	// for the drops. FORCE ends connections the test left open.
	admin := s.admin
	t.Cleanup(func() {
		s.drops.Go(func() { _, _ = admin.ExecContext(ctx, `DROP DATABASE "`+name+`" WITH (FORCE)`) })
	})
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", Superuser, s.Port, name)
}

// Stop stops the server (SIGINT, PostgreSQL's fast shutdown; SIGKILL
// after ten seconds) and removes its directory. Stopping again does
// nothing.
func (s *Server) Stop() {
	s.drops.Wait()
	if s.admin != nil {
		s.admin.Close()
		s.admin = nil
	}
	s.stopProcess()
	if s.dir != "" {
		os.RemoveAll(s.dir)
		s.dir = ""
	}
}

func (s *Server) stopProcess() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	s.cmd = nil
}

// Log returns the server's log so far ("" once stopped).
func (s *Server) Log() string {
	if s.dir == "" {
		return ""
	}
	b, _ := os.ReadFile(s.logPath())
	return string(b)
}

// identifier turns a test's name into a safe database-name suffix.
func identifier(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case 'a' <= r && r <= 'z', '0' <= r && r <= '9':
			return r
		case 'A' <= r && r <= 'Z':
			return r + 'a' - 'A'
		}
		return '_'
	}, name)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
