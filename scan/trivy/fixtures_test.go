package trivy_test

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/scan"
	"github.com/berthlabs/berth/storage/memory"
)

// env is a berth registry (memory storage, in-memory SQLite) reached
// in-process through registry.Transport: no sockets, no network.
type env struct {
	rg   *registry.Registry
	rt   http.RoundTripper
	host string
}

func newEnv(t testing.TB) *env {
	t.Helper()
	rg, err := registry.New(context.Background(), memory.New(), nil)
	require.NoError(t, err)
	return &env{rg: rg, rt: rg.Transport("scanner"), host: "berth.test"}
}

// pushed is an image in the registry.
type pushed struct {
	repo   string
	digest digest.Digest
	layers []v1.Layer
}

func (e *env) push(t testing.TB, repo string, img v1.Image) pushed {
	t.Helper()
	ref, err := name.ParseReference(e.host + "/" + repo + ":latest")
	require.NoError(t, err)
	require.NoError(t, remote.Write(ref, img, remote.WithTransport(e.rt)))
	d, err := img.Digest()
	require.NoError(t, err)
	layers, err := img.Layers()
	require.NoError(t, err)
	return pushed{repo: repo, digest: digest.Digest(d.String()), layers: layers}
}

func (e *env) request(p pushed) scan.Request {
	return scan.Request{
		Artifact: scan.Artifact{Repository: p.repo, Digest: p.digest},
		Source:   scan.Source{Registry: e.host, Transport: e.rt},
	}
}

// layerFile is one regular file of a layer.
type layerFile struct {
	path string
	data []byte
	mode int64
}

// layer builds a gzip layer (as a registry stores it) from files; parent
// directories are added as tar entries.
func layer(t testing.TB, files []layerFile) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	mtime := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for _, f := range files {
		var parents []string
		for d := filepath.Dir(f.path); d != "." && d != "/" && !dirs[d]; d = filepath.Dir(d) {
			dirs[d] = true
			parents = append([]string{d}, parents...)
		}
		for _, d := range parents {
			require.NoError(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755, ModTime: mtime}))
		}
		mode := f.mode
		if mode == 0 {
			mode = 0o644
		}
		require.NoError(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.path, Mode: mode, Size: int64(len(f.data)), ModTime: mtime}))
		_, err := tw.Write(f.data)
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	data := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithCompressedCaching, tarball.WithMediaType(types.OCILayer))
	require.NoError(t, err)
	return l
}

// image stacks layers into an OCI image with a history entry per layer.
func image(t testing.TB, layers ...v1.Layer) v1.Image {
	t.Helper()
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	var adds []mutate.Addendum
	for i, l := range layers {
		adds = append(adds, mutate.Addendum{Layer: l, History: v1.History{
			CreatedBy: fmt.Sprintf("berth test layer %d", i), Created: v1.Time{Time: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)},
		}})
	}
	img, err := mutate.Append(img, adds...)
	require.NoError(t, err)
	img, err = mutate.ConfigFile(img, withPlatform(t, img))
	require.NoError(t, err)
	return img
}

func withPlatform(t testing.TB, img v1.Image) *v1.ConfigFile {
	cf, err := img.ConfigFile()
	require.NoError(t, err)
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	return cf
}

func readHostFile(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err, "the Debian fixture is made from this machine's own files")
	return data
}

// debianFiles is a Debian root filesystem's package state, from this
// machine: /etc/os-release, /etc/debian_version, /var/lib/dpkg/status and
// every /var/lib/dpkg/info/*.md5sums (Trivy reads them for the files each
// package owns).
func debianFiles(t testing.TB) []layerFile {
	t.Helper()
	files := []layerFile{
		{path: "etc/os-release", data: readHostFile(t, "/etc/os-release")},
		{path: "etc/debian_version", data: readHostFile(t, "/etc/debian_version")},
		{path: "var/lib/dpkg/status", data: readHostFile(t, "/var/lib/dpkg/status")},
	}
	sums, err := filepath.Glob("/var/lib/dpkg/info/*.md5sums")
	require.NoError(t, err)
	for _, p := range sums {
		files = append(files, layerFile{path: strings.TrimPrefix(p, "/"), data: readHostFile(t, p)})
	}
	return files
}

// hostTree adds regular files under root on this machine, up to limit
// bytes, as they are (real documentation, real binaries).
func hostTree(t testing.TB, root string, limit int64) []layerFile {
	t.Helper()
	var files []layerFile
	var total int64
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() || total >= limit {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil // unreadable: skip
		}
		total += int64(len(data))
		files = append(files, layerFile{path: strings.TrimPrefix(p, "/"), data: data})
		return nil
	})
	require.NoError(t, err)
	return files
}

// appLayer is what an application image adds on top of its base.
func appLayer(t testing.TB, name string) v1.Layer {
	return layer(t, []layerFile{
		{path: "srv/" + name + "/config.yaml", data: []byte("listen: :8080\nname: " + name + "\n")},
		{path: "srv/" + name + "/run.sh", data: []byte("#!/bin/sh\nexec /srv/" + name + "/server\n"), mode: 0o755},
	})
}

// Alpine fixture: an Alpine 3.10 root filesystem's package state.
// /etc/alpine-release, /etc/os-release and /etc/apk/repositories are as
// alpine:3.10.1 ships them. /lib/apk/db/installed is written here in apk's
// installed-database format with the packages and versions of
// alpine:3.10.1 (origin, version, arch, license, description and files as
// published); the checksums (C:), sizes (S:, I:), build times (t:) and
// commits (c:) are synthesized.
type apkPackage struct {
	name, version, origin, desc, url, license string
	files                                     map[string][]string // dir -> files
}

var alpinePackages = []apkPackage{
	{"musl", "1.1.22-r2", "musl", "the musl c library (libc) implementation", "http://www.musl-libc.org/", "MIT",
		map[string][]string{"lib": {"libc.musl-x86_64.so.1", "ld-musl-x86_64.so.1"}}},
	{"busybox", "1.30.1-r2", "busybox", "Size optimized toolbox of many common UNIX utilities", "https://busybox.net/", "GPL-2.0",
		map[string][]string{"bin": {"busybox", "sh"}, "etc": {"securetty"}}},
	{"alpine-baselayout", "3.1.2-r0", "alpine-baselayout", "Alpine base dir structure and init scripts", "https://git.alpinelinux.org/cgit/aports/tree/main/alpine-baselayout", "GPL-2.0",
		map[string][]string{"etc": {"hosts", "motd", "group", "passwd", "shells"}}},
	{"alpine-keys", "2.1-r2", "alpine-keys", "Public keys for Alpine Linux packages", "https://alpinelinux.org", "MIT",
		map[string][]string{"etc/apk/keys": {"alpine-devel@lists.alpinelinux.org-4a6a0840.rsa.pub"}}},
	{"libcrypto1.1", "1.1.1c-r0", "openssl", "Crypto library from openssl", "https://www.openssl.org", "OpenSSL",
		map[string][]string{"lib": {"libcrypto.so.1.1"}}},
	{"libssl1.1", "1.1.1c-r0", "openssl", "SSL shared libraries", "https://www.openssl.org", "OpenSSL",
		map[string][]string{"lib": {"libssl.so.1.1"}}},
	{"ca-certificates-cacert", "20190108-r0", "ca-certificates", "Mozilla bundled certificates", "https://www.mozilla.org/en-US/about/governance/policies/security-group/certs/", "MPL-2.0 GPL-2.0-or-later",
		map[string][]string{"etc/ssl": {"cert.pem"}}},
	{"zlib", "1.2.11-r1", "zlib", "A compression/decompression Library", "https://zlib.net/", "Zlib",
		map[string][]string{"lib": {"libz.so.1", "libz.so.1.2.11"}}},
	{"apk-tools", "2.10.4-r2", "apk-tools", "Alpine Package Keeper - package manager for alpine", "https://git.alpinelinux.org/cgit/apk-tools/", "GPL-2.0",
		map[string][]string{"sbin": {"apk"}}},
	{"scanelf", "1.2.3-r0", "pax-utils", "Scan ELF binaries for stuff", "https://wiki.gentoo.org/wiki/Hardened/PaX_Utilities", "GPL-2.0",
		map[string][]string{"usr/bin": {"scanelf"}}},
	{"musl-utils", "1.1.22-r2", "musl", "the musl c library (libc) implementation", "http://www.musl-libc.org/", "MIT BSD GPL2+",
		map[string][]string{"sbin": {"ldconfig"}, "usr/bin": {"getent", "iconv", "ldd"}}},
	{"libc-utils", "0.7.1-r0", "libc-dev", "Meta package to pull in correct libc", "http://alpinelinux.org", "BSD",
		nil},
	{"ssl_client", "1.30.1-r2", "busybox", "EXternal ssl_client for busybox wget", "https://busybox.net/", "GPL-2.0",
		map[string][]string{"usr/bin": {"ssl_client"}}},
}

func apkInstalled() []byte {
	var b strings.Builder
	for i, p := range alpinePackages {
		fmt.Fprintf(&b, "C:Q1%027d=\n", i+1) // synthesized checksum
		fmt.Fprintf(&b, "P:%s\nV:%s\nA:x86_64\nS:%d\nI:%d\nT:%s\nU:%s\nL:%s\no:%s\n",
			p.name, p.version, 100000+i*1000, 300000+i*4096, p.desc, p.url, p.license, p.origin)
		fmt.Fprintf(&b, "m:Natanael Copa <ncopa@alpinelinux.org>\nt:%d\nc:%040x\n", 1562000000+i, i+1)
		for _, dir := range slices.Sorted(maps.Keys(p.files)) {
			fmt.Fprintf(&b, "F:%s\n", dir)
			for _, f := range p.files[dir] {
				fmt.Fprintf(&b, "R:%s\n", f)
			}
		}
		b.WriteString("\n")
	}
	return []byte(b.String())
}

func alpineFiles() []layerFile {
	return []layerFile{
		{path: "etc/alpine-release", data: []byte("3.10.1\n")},
		{path: "etc/os-release", data: []byte("NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.10.1\nPRETTY_NAME=\"Alpine Linux v3.10\"\n" +
			"HOME_URL=\"https://alpinelinux.org/\"\nBUG_REPORT_URL=\"https://bugs.alpinelinux.org/\"\n")},
		{path: "etc/apk/repositories", data: []byte("http://dl-cdn.alpinelinux.org/alpine/v3.10/main\nhttp://dl-cdn.alpinelinux.org/alpine/v3.10/community\n")},
		{path: "lib/apk/db/installed", data: apkInstalled()},
	}
}
