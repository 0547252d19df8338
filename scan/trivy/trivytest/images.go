package trivytest

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// A File is a regular file of a layer.
type File struct {
	Path string // relative to the root, e.g. "etc/os-release"
	Data []byte
	Mode int64 // permission bits; 0 means 0o644
}

// mtime is every fixture entry's modification time.
var mtime = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// Layer builds a gzip-compressed OCI layer, as a registry stores it, of
// files in their order; each file's parent directories are added as
// directory entries before it. The same files give the same digest.
func Layer(files []File) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	for _, f := range files {
		var parents []string
		for d := path.Dir(f.Path); d != "." && d != "/" && !dirs[d]; d = path.Dir(d) {
			dirs[d] = true
			parents = append([]string{d}, parents...)
		}
		for _, d := range parents {
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755, ModTime: mtime}); err != nil {
				return nil, err
			}
		}
		mode := f.Mode
		if mode == 0 {
			mode = 0o644
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.Path, Mode: mode, Size: int64(len(f.Data)), ModTime: mtime}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.Data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithCompressedCaching, tarball.WithMediaType(types.OCILayer))
}

// Image stacks layers into an OCI image for linux/amd64, with a history
// entry per layer.
func Image(layers ...v1.Layer) (v1.Image, error) {
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err := appendLayers(img, layers...)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	return mutate.ConfigFile(img, cf)
}

func appendLayers(img v1.Image, layers ...v1.Layer) (v1.Image, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	n := len(cf.History)
	var adds []mutate.Addendum
	for i, l := range layers {
		adds = append(adds, mutate.Addendum{Layer: l, History: v1.History{
			CreatedBy: fmt.Sprintf("berth test layer %d", n+i), Created: v1.Time{Time: mtime},
		}})
	}
	return mutate.Append(img, adds...)
}

// AppImage is an application image built on base: base's layers (the
// same blobs) and one small layer with /srv/<app>/config.yaml and an
// executable /srv/<app>/run.sh. It adds no OS package.
func AppImage(base v1.Image, app string) (v1.Image, error) {
	l, err := Layer([]File{
		{Path: "srv/" + app + "/config.yaml", Data: []byte("listen: :8080\nname: " + app + "\n")},
		{Path: "srv/" + app + "/run.sh", Data: []byte("#!/bin/sh\nexec /srv/" + app + "/server\n"), Mode: 0o755},
	})
	if err != nil {
		return nil, err
	}
	return appendLayers(base, l)
}

// DebianFiles is a Debian root filesystem's package state, read from this
// machine: /etc/os-release, /etc/debian_version, /var/lib/dpkg/status and
// every /var/lib/dpkg/info/*.md5sums (Trivy reads them for the files each
// package owns).
func DebianFiles() ([]File, error) {
	var files []File
	for _, p := range []string{"/etc/os-release", "/etc/debian_version", dpkgStatus} {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("trivytest: the Debian fixture is made from this machine's own files: %w", err)
		}
		files = append(files, File{Path: strings.TrimPrefix(p, "/"), Data: data})
	}
	sums, err := filepath.Glob("/var/lib/dpkg/info/*.md5sums")
	if err != nil {
		return nil, err
	}
	for _, p := range sums {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("trivytest: %w", err)
		}
		files = append(files, File{Path: strings.TrimPrefix(p, "/"), Data: data})
	}
	return files, nil
}

// DebianImage is a one-layer image of DebianFiles. A scan reports
// DebianFindings.
func DebianImage() (v1.Image, error) {
	files, err := DebianFiles()
	if err != nil {
		return nil, err
	}
	l, err := Layer(files)
	if err != nil {
		return nil, err
	}
	return Image(l)
}

// apkPackage is a package of alpine:3.10.1 (see AlpineFiles).
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

// AlpinePackages are the packages installed in AlpineImage: name ->
// version, as an SBOM lists them.
func AlpinePackages() map[string]string {
	out := map[string]string{}
	for _, p := range alpinePackages {
		out[p.name] = p.version
	}
	return out
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

// AlpineFiles is an Alpine 3.10.1 root filesystem's package state:
// /etc/alpine-release, /etc/os-release and /etc/apk/repositories as
// alpine:3.10.1 ships them, and /lib/apk/db/installed in apk's format
// with the packages and versions of alpine:3.10.1 (origins, licenses,
// descriptions and file lists as published; checksums, sizes, build times
// and commits synthesized). See AlpinePackages.
func AlpineFiles() []File {
	return []File{
		{Path: "etc/alpine-release", Data: []byte("3.10.1\n")},
		{Path: "etc/os-release", Data: []byte("NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.10.1\nPRETTY_NAME=\"Alpine Linux v3.10\"\n" +
			"HOME_URL=\"https://alpinelinux.org/\"\nBUG_REPORT_URL=\"https://bugs.alpinelinux.org/\"\n")},
		{Path: "etc/apk/repositories", Data: []byte("http://dl-cdn.alpinelinux.org/alpine/v3.10/main\nhttp://dl-cdn.alpinelinux.org/alpine/v3.10/community\n")},
		{Path: "lib/apk/db/installed", Data: apkInstalled()},
	}
}

// AlpineImage is a one-layer image of AlpineFiles. A scan reports
// AlpineFindings.
func AlpineImage() (v1.Image, error) {
	l, err := Layer(AlpineFiles())
	if err != nil {
		return nil, err
	}
	return Image(l)
}
