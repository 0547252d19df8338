// Package s3test runs a real S3-compatible server for tests: versitygw
// (Versity's S3 gateway) over a directory, on a free 127.0.0.1 port, with
// generated credentials and one bucket, killed when the test ends.
//
//	srv := s3test.Start(t)
//	// point a client at srv.URL with srv.AccessKey, srv.SecretKey, srv.Region,
//	// path-style addressing, bucket srv.Bucket ...
//	srv.Restart() // SIGKILL, then the same port, data and credentials
//
// When versitygw is missing the test is skipped loudly, or fails under
// CI=true (internal/testtool); .ci/run installs it.
package s3test

import (
	"context"
	"crypto/rand"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/berthlabs/berth/internal/testtool"
)

// Server is a running versitygw process with one bucket.
type Server struct {
	URL       string // http://127.0.0.1:<port>
	Bucket    string
	AccessKey string
	SecretKey string
	Region    string
	Dir       string // the gateway's root: one subdirectory per bucket

	t       testing.TB
	bin     string
	addr    string
	logPath string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// Start runs versitygw over t.TempDir() with a bucket and stops it when the
// test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	dir := t.TempDir()
	s := &Server{
		Bucket:    "berth-test",
		AccessKey: "AK" + rand.Text()[:18],
		SecretKey: rand.Text() + rand.Text()[:14],
		Region:    "us-east-1",
		Dir:       filepath.Join(dir, "gateway"),
		t:         t,
		bin:       testtool.Require(t, "versitygw"),
		addr:      freeAddr(t),
	}
	s.URL = "http://" + s.addr
	s.logPath = filepath.Join(dir, "versitygw.log")
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		t.Fatalf("s3test: %v", err)
	}
	s.start()
	t.Cleanup(s.Stop)
	s.createBucket()
	return s
}

// Client returns an S3 client of the server's root user, with path-style
// addressing as versitygw needs.
func (s *Server) Client() *s3.Client {
	return s3.New(s3.Options{
		BaseEndpoint: aws.String(s.URL),
		Region:       s.Region,
		UsePathStyle: true,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: s.AccessKey, SecretAccessKey: s.SecretKey}, nil
		}),
	})
}

// Stop kills the process (SIGKILL) and waits for it to exit. Stopping a
// stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}

// Restart stops the process if it runs and starts it again on the same
// port, data and credentials; it returns once the server answers.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.start()
}

func (s *Server) start() {
	s.t.Helper()
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		s.t.Fatalf("s3test: %v", err)
	}
	defer logf.Close()
	cmd := exec.Command(s.bin, "--port", s.addr, "--region", s.Region, "--quiet", "posix", s.Dir)
	// The credentials go through the environment, not argv, so they do
	// not show in ps; versitygw reads these variables for --access/--secret.
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY_ID="+s.AccessKey, "ROOT_SECRET_ACCESS_KEY="+s.SecretKey)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("s3test: starting %s: %v", s.bin, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()
	s.waitServing(exited)
}

// waitServing polls until the gateway answers HTTP at all: an anonymous
// request gets 403, which is enough to know it serves.
func (s *Server) waitServing(exited <-chan struct{}) {
	s.t.Helper()
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := client.Get(s.URL + "/")
		if err == nil {
			resp.Body.Close()
			return
		}
		select {
		case <-exited:
			s.t.Fatalf("s3test: %s exited before answering on %s:\n%s", s.bin, s.addr, s.logTail())
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("s3test: %s did not answer on %s: %v\n%s", s.bin, s.addr, err, s.logTail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *Server) createBucket() {
	s.t.Helper()
	_, err := s.Client().CreateBucket(s.t.Context(), &s3.CreateBucketInput{Bucket: aws.String(s.Bucket)})
	if err != nil {
		s.t.Fatalf("s3test: creating bucket %s: %v\n%s", s.Bucket, err, s.logTail())
	}
}

func (s *Server) logTail() string {
	b, _ := os.ReadFile(s.logPath)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// freeAddr picks a free port on 127.0.0.1.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("s3test: %v", err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}
