package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runSub runs the server binary's subcommand args to completion and
// returns its exit status and standard output.
func runSub(t *testing.T, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := serverCmd(ctx, t, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("running %v: %v", args, err)
	}
	t.Logf("server %v: exit %d\n%s%s", args, cmd.ProcessState.ExitCode(), stdout.String(), stderr.String())
	return cmd.ProcessState.ExitCode(), stdout.String()
}

// ackedPush is a push the server acknowledged, and when.
type ackedPush struct {
	ref   string
	image v1.Image
	at    time.Time
}

// pushSoak pushes random images from writers goroutines into host until
// stop closes, recording every acknowledged push.
type pushSoak struct {
	mu    sync.Mutex
	acked []ackedPush
	fails int
}

func (p *pushSoak) run(host string, writer int, stop <-chan struct{}) {
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		img, err := random.Image(int64(512+writer*100+i%7*64), 2)
		if err != nil {
			panic(err)
		}
		s := fmt.Sprintf("%s/soak/w%d:%d", host, writer, i)
		ref, err := name.ParseReference(s, name.Insecure)
		if err != nil {
			panic(err)
		}
		err = remote.Write(ref, img)
		p.mu.Lock()
		if err == nil {
			p.acked = append(p.acked, ackedPush{ref: s, image: img, at: time.Now()})
		} else {
			p.fails++
		}
		p.mu.Unlock()
	}
}

// ackedBefore returns the pushes acknowledged before t.
func (p *pushSoak) ackedBefore(t time.Time) []ackedPush {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []ackedPush
	for _, a := range p.acked {
		if a.at.Before(t) {
			out = append(out, a)
		}
	}
	return out
}

var backupLine = regexp.MustCompile(`: (\d+) blobs \((\d+) bytes\): (\d+) new \((\d+) bytes\), (\d+) already there`)

// backupCounts runs "server backup" and returns its blob counts: all,
// new and reused.
func backupCounts(t *testing.T, data, to string) (all, fresh, reused int) {
	t.Helper()
	code, out := runSub(t, "backup", "-to", to, "-data", data)
	require.Equal(t, 0, code, out)
	m := backupLine.FindStringSubmatch(out)
	require.NotNil(t, m, "backup's report: %s", out)
	n := func(i int) int { v, _ := strconv.Atoi(m[i]); return v }
	return n(1), n(3), n(5)
}

// Back up while a soak pushes, twice (the second incremental), restore
// into a new directory: server check passes and every push acknowledged
// before the second backup started reads back byte-identical.
func TestBackupRestoreUnderSoak(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	s := startServer(t, data)
	soak := &pushSoak{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() { soak.run(s.addr, w, stop) })
	}
	stopped := false
	stopSoak := func() {
		if !stopped {
			close(stop)
			wg.Wait()
			stopped = true
		}
	}
	t.Cleanup(stopSoak)
	waitFor(t, 30*time.Second, "the soak's first pushes", func() bool { return len(soak.ackedBefore(time.Now())) >= 40 })

	backup := filepath.Join(t.TempDir(), "backup")
	first := time.Now()
	all1, new1, reused1 := backupCounts(t, data, backup)
	during := len(soak.ackedBefore(time.Now())) - len(soak.ackedBefore(first))
	assert.Positive(t, during, "the soak pushed while the backup ran")
	assert.Equal(t, all1, new1, "the first backup copies every blob")
	assert.Zero(t, reused1)
	assert.GreaterOrEqual(t, all1, 3*len(soak.ackedBefore(first)), "each image has two layers and a config")

	waitFor(t, 30*time.Second, "more pushes", func() bool {
		return len(soak.ackedBefore(time.Now())) >= len(soak.ackedBefore(first))+40
	})
	second := time.Now()
	all2, new2, reused2 := backupCounts(t, data, backup)
	stopSoak()
	assert.Equal(t, all1, reused2, "the second backup reuses the first one's blobs (nothing was deleted)")
	assert.Equal(t, all2-all1, new2, "and copies only the new ones")
	assert.Positive(t, new2)
	s.stop()

	restored := filepath.Join(t.TempDir(), "restored")
	code, out := runSub(t, "restore", "-from", backup, "-data", restored)
	require.Equal(t, 0, code, out)
	code, _ = runCheck(t, restored)
	require.Equal(t, 0, code, "server check on the restored directory")

	again := startServer(t, restored)
	want := soak.ackedBefore(second)
	t.Logf("%d pushes acknowledged before the second backup (%d in all, %d failed)", len(want), len(soak.acked), soak.fails)
	for _, a := range want {
		assertPulledSame(t, again.addr, a)
	}
}

// assertPulledSame pulls a's reference from host and compares manifest
// and blobs byte for byte with what was pushed.
func assertPulledSame(t *testing.T, host string, a ackedPush) {
	t.Helper()
	ref, err := name.ParseReference(a.ref, name.Insecure)
	require.NoError(t, err)
	ref, err = name.ParseReference(host+"/"+ref.Context().RepositoryStr()+":"+ref.Identifier(), name.Insecure)
	require.NoError(t, err)
	got, err := remote.Image(ref)
	require.NoError(t, err, a.ref)
	wantRaw, _ := a.image.RawManifest()
	gotRaw, err := got.RawManifest()
	require.NoError(t, err)
	require.Equal(t, wantRaw, gotRaw, "manifest of %s", a.ref)
	wantCfg, _ := a.image.RawConfigFile()
	gotCfg, err := got.RawConfigFile()
	require.NoError(t, err)
	require.Equal(t, wantCfg, gotCfg, "config of %s", a.ref)
	wantLayers, _ := a.image.Layers()
	gotLayers, err := got.Layers()
	require.NoError(t, err)
	for i := range wantLayers {
		require.Equal(t, layerBytes(t, wantLayers[i]), layerBytes(t, gotLayers[i]), "layer %d of %s", i, a.ref)
	}
}

func layerBytes(t *testing.T, l v1.Layer) []byte {
	rc, err := l.Compressed()
	require.NoError(t, err)
	defer rc.Close()
	b, err := io.ReadAll(rc)
	require.NoError(t, err)
	return b
}
