package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/berthlabs/berth/deploy/image/internal/assemble"
	"github.com/berthlabs/berth/deploy/image/internal/gobuild"
	"github.com/berthlabs/berth/deploy/image/internal/publish"
	"github.com/berthlabs/berth/deploy/image/internal/sbom"
)

// options is the command line.
type options struct {
	src, pkg           string
	platforms          []string
	out, push          string
	signKey            string
	sbom               bool
	plainHTTP          bool
	username, password string
	version, revision  string
	epoch              *time.Time // nil: SOURCE_DATE_EPOCH, else the commit time, else 0
}

// result is what run made.
type result struct {
	Index  v1.Hash
	Pushed publish.Result
}

// run builds the image index and writes or pushes it.
func run(ctx context.Context, o options, log io.Writer) (result, error) {
	if o.out == "" && o.push == "" {
		return result{}, errors.New("nothing to do: give -out DIR and/or -push REF")
	}
	if o.signKey != "" && o.push == "" {
		return result{}, errors.New("-sign-key signs a pushed image: give -push too")
	}
	arches, err := archesOf(o.platforms)
	if err != nil {
		return result{}, err
	}
	key, err := loadKey(o.signKey)
	if err != nil {
		return result{}, err
	}
	if o.src == "" {
		if o.src, err = workspaceRoot(); err != nil {
			return result{}, err
		}
	}
	meta, err := metaOf(ctx, o)
	if err != nil {
		return result{}, err
	}
	work, err := os.MkdirTemp("", "berth-image-")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(work)

	var images []v1.Image
	binaries := make([]string, len(arches))
	for i, arch := range arches {
		p := o.platforms[i]
		t := gobuild.Target{Dir: o.src, Package: o.pkg, Arch: arch, Output: filepath.Join(work, "berth-"+arch), Experiment: "jsonv2"}
		fmt.Fprintf(log, "building %s: %s go %s\n", p, strings.Join(t.Env(), " "), strings.Join(t.Args(), " "))
		start := time.Now()
		if err := gobuild.Build(ctx, t); err != nil {
			return result{}, err
		}
		bin, err := os.ReadFile(t.Output)
		if err != nil {
			return result{}, err
		}
		img, err := assemble.Image(bin, arch, meta)
		if err != nil {
			return result{}, err
		}
		d, err := img.Digest()
		if err != nil {
			return result{}, err
		}
		fmt.Fprintf(log, "%s: %s (%d MB binary, %s)\n", p, d, len(bin)>>20, time.Since(start).Round(time.Second))
		images = append(images, img)
		binaries[i] = t.Output
	}
	idx, err := assemble.Index(images, meta)
	if err != nil {
		return result{}, err
	}
	var res result
	if res.Index, err = idx.Digest(); err != nil {
		return result{}, err
	}
	fmt.Fprintf(log, "index %s\n", res.Index)
	if o.out != "" {
		if err := writeLayout(o.out, idx, o.version); err != nil {
			return result{}, err
		}
		fmt.Fprintf(log, "wrote OCI layout %s\n", o.out)
	}
	if o.push == "" {
		return res, nil
	}
	popts := []publish.Option{publish.WithAuth(o.auth())}
	if o.plainHTTP {
		popts = append(popts, publish.WithPlainHTTP())
	}
	if key != nil {
		popts = append(popts, publish.WithSigner(key))
	}
	if o.sbom {
		sboms, err := sbomOptions(arches, binaries, meta.Created)
		if err != nil {
			return result{}, err
		}
		popts = append(popts, sboms...)
	}
	if res.Pushed, err = publish.Push(ctx, idx, o.push, popts...); err != nil {
		return result{}, err
	}
	fmt.Fprintf(log, "pushed %s@%s (%d signatures, SBOM %s, %d platform SBOMs)\n", o.push, res.Index,
		len(res.Pushed.Signatures), res.Pushed.SBOM, len(res.Pushed.PlatformSBOMs))
	return res, nil
}

// sbomOptions attach each platform's SBOM to its image, and the first
// platform's to the index (the modules are the same; GOARCH differs).
func sbomOptions(arches, binaries []string, created time.Time) ([]publish.Option, error) {
	var opts []publish.Option
	for i, bin := range binaries {
		doc, err := sbom.FromBinary(bin, created)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			opts = append(opts, publish.WithSBOM(doc, sbom.MediaType))
		}
		opts = append(opts, publish.WithPlatformSBOM(arches[i], doc, sbom.MediaType))
	}
	return opts, nil
}

// writeLayout writes idx as the only entry of an OCI layout at dir.
func writeLayout(dir string, idx v1.ImageIndex, version string) error {
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("OCI layout %s: %w", dir, err)
	}
	if err := p.AppendIndex(idx, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": version})); err != nil {
		return fmt.Errorf("OCI layout %s: %w", dir, err)
	}
	return nil
}

func (o options) auth() authn.Authenticator {
	if o.username != "" {
		return &authn.Basic{Username: o.username, Password: o.password}
	}
	return authFromKeychain(o.push)
}

// archesOf checks the platforms (linux/<arch>, each once) and returns
// their architectures.
func archesOf(platforms []string) ([]string, error) {
	if len(platforms) == 0 {
		return nil, errors.New("no platform to build")
	}
	arches := make([]string, len(platforms))
	for i, p := range platforms {
		arch, ok := strings.CutPrefix(p, "linux/")
		if !ok || !archName.MatchString(arch) {
			return nil, fmt.Errorf("platform %q: want linux/<arch>, as amd64 or arm64", p)
		}
		if slices.Contains(arches[:i], arch) {
			return nil, fmt.Errorf("platform %q given twice", p)
		}
		arches[i] = arch
	}
	return arches, nil
}

var archName = regexp.MustCompile(`^[a-z0-9]{2,16}$`)
