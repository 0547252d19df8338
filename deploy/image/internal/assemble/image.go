// Package assemble builds berth's container image from scratch,
// reproducibly: one layer with a minimal root filesystem (a non-root user,
// the data directory, /tmp), one with the static binary, a config that
// runs it as that user, and an OCI index of the platforms.
//
//	meta := assemble.Meta{Created: commitTime, Version: "0.1.0", Revision: sha}
//	amd, _ := assemble.Image(amd64Binary, "amd64", meta)
//	arm, _ := assemble.Image(arm64Binary, "arm64", meta)
//	idx, _ := assemble.Index([]v1.Image{amd, arm}, meta)
//
// Same binaries and Meta give the same index digest: every time and
// owner in the layers and config comes from Meta or the constants below.
package assemble

import (
	"fmt"
	"strconv"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The image's layout. The server writes only under DataDir (and /tmp,
// which Kubernetes users mount as an emptyDir), so the root filesystem
// can be read-only.
const (
	UID        = 65532
	UserName   = "berth"
	Binary     = "/usr/bin/berth"
	DataDir    = "/var/lib/berth"
	Port       = 5000
	sourceRepo = "https://github.com/berthlabs/berth"
)

// Meta is what the image says about itself.
type Meta struct {
	// Created is every file's mtime and the config's created time
	// (SOURCE_DATE_EPOCH or the commit time; zero is the Unix epoch).
	Created time.Time
	// Version and Revision (a VCS commit) become OCI labels when set.
	Version, Revision string
}

// created is Meta.Created, the Unix epoch when unset, in whole seconds.
func (m Meta) created() time.Time {
	if m.Created.IsZero() {
		return time.Unix(0, 0).UTC()
	}
	return m.Created.UTC().Truncate(time.Second)
}

// Labels are the OCI annotations of the image configs and the index.
func (m Meta) Labels() map[string]string {
	l := map[string]string{
		"org.opencontainers.image.title":       "berth",
		"org.opencontainers.image.description": "berth reference registry server",
		"org.opencontainers.image.source":      sourceRepo,
		"org.opencontainers.image.licenses":    "Apache-2.0",
		"org.opencontainers.image.created":     m.created().Format(time.RFC3339),
	}
	if m.Version != "" {
		l["org.opencontainers.image.version"] = m.Version
	}
	if m.Revision != "" {
		l["org.opencontainers.image.revision"] = m.Revision
	}
	return l
}

// rootFS is the base layer's content.
func rootFS() []File {
	id := strconv.Itoa(UID)
	return []File{
		{Path: "etc", Dir: true, Mode: 0o755},
		{Path: "etc/passwd", Mode: 0o644, Body: []byte("root:x:0:0:root:/root:/sbin/nologin\n" +
			UserName + ":x:" + id + ":" + id + ":berth registry:" + DataDir + ":/sbin/nologin\n")},
		{Path: "etc/group", Mode: 0o644, Body: []byte("root:x:0:\n" + UserName + ":x:" + id + ":\n")},
		{Path: "tmp", Dir: true, Mode: 0o1777},
		{Path: "usr", Dir: true, Mode: 0o755},
		{Path: "usr/bin", Dir: true, Mode: 0o755},
		{Path: "var", Dir: true, Mode: 0o755},
		{Path: "var/lib", Dir: true, Mode: 0o755},
		{Path: DataDir[1:], Dir: true, Mode: 0o750, UID: UID, GID: UID},
	}
}

// Image assembles the image of one linux platform around binary, a
// static executable for arch.
func Image(binary []byte, arch string, m Meta) (v1.Image, error) {
	created := m.created()
	base, err := Layer(rootFS(), created)
	if err != nil {
		return nil, err
	}
	bin, err := Layer([]File{
		{Path: "usr", Dir: true, Mode: 0o755},
		{Path: "usr/bin", Dir: true, Mode: 0o755},
		{Path: Binary[1:], Mode: 0o755, Body: binary},
	}, created)
	if err != nil {
		return nil, err
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err = mutate.Append(img,
		mutate.Addendum{Layer: base, History: v1.History{Created: v1.Time{Time: created},
			CreatedBy: "berth image builder: root filesystem (user berth " + strconv.Itoa(UID) + ", " + DataDir + ", /tmp)"}},
		mutate.Addendum{Layer: bin, History: v1.History{Created: v1.Time{Time: created},
			CreatedBy: "berth image builder: " + Binary}})
	if err != nil {
		return nil, fmt.Errorf("assemble: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("assemble: %w", err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Created = "linux", arch, v1.Time{Time: created}
	id := strconv.Itoa(UID)
	cf.Config = v1.Config{
		User:       id + ":" + id,
		Entrypoint: []string{Binary},
		WorkingDir: DataDir,
		// HOME in the data directory: whatever falls back to the user's
		// cache or config directory writes there too.
		Env: []string{"PATH=/usr/bin", "HOME=" + DataDir, "BERTH_DATA=" + DataDir,
			"BERTH_ADDR=:" + strconv.Itoa(Port)},
		ExposedPorts: map[string]struct{}{strconv.Itoa(Port) + "/tcp": {}},
		Labels:       m.Labels(),
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("assemble: %w", err)
	}
	return img, nil
}

// Index joins linux images into one OCI image index, annotated with m's
// labels, each entry with its platform.
func Index(images []v1.Image, m Meta) (v1.ImageIndex, error) {
	adds := make([]mutate.IndexAddendum, 0, len(images))
	for _, img := range images {
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, fmt.Errorf("assemble: %w", err)
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{
			Platform: &v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}}})
	}
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
	annotated, ok := mutate.Annotations(idx, m.Labels()).(v1.ImageIndex)
	if !ok {
		return nil, fmt.Errorf("assemble: annotating the index lost its type")
	}
	return annotated, nil
}
