package scan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrv1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berthlabs/berth/jobs"
)

// SBOMFormats are the formats GenerateSBOM writes, in order.
var SBOMFormats = []string{SPDXJSON, CycloneDXJSON}

// MaxSBOMBytes bounds one SBOM, written or read.
const MaxSBOMBytes = 64 << 20

// Annotations on SBOM referrer manifests.
const (
	AnnotationSBOMGenerator = "dev.berth.sbom.generator"
	annotationCreated       = v1.AnnotationCreated
)

type sbomArgs struct {
	Task int64 `json:"task"`
}

func (sbomArgs) Kind() string { return jobSBOM }

type sbomWorker struct {
	s *Service
}

func (w *sbomWorker) Timeout(*jobs.Job[sbomArgs]) time.Duration { return w.s.scanTimeout }

func (w *sbomWorker) Work(ctx context.Context, job *jobs.Job[sbomArgs]) error {
	return w.s.runSBOM(ctx, job.Args.Task, job.Attempt, job.MaxAttempts)
}

// GenerateSBOM queues a task that writes the artifact's SBOM in every
// format of SBOMFormats and stores each as an OCI referrer of the artifact
// (artifactType = the format's media type).
func (s *Service) GenerateSBOM(ctx context.Context, a Artifact, trigger Trigger) (Task, error) {
	if err := s.requireQueue(); err != nil {
		return Task{}, err
	}
	if s.transport == nil {
		return Task{}, fmt.Errorf("scan: no registry transport to store SBOMs with: %w", ErrUnsupported)
	}
	if err := a.Digest.Validate(); err != nil {
		return Task{}, fmt.Errorf("%w: artifact digest %q: %v", ErrInvalid, a.Digest, err)
	}
	if t, ok, err := s.st.latestTask(ctx, a.Digest.String(), KindSBOM); err != nil {
		return Task{}, err
	} else if ok && !t.Status.Finished() && t.Artifact.Repository == a.Repository {
		return t, nil
	}
	scanner := BuiltinID
	if s.sbom == nil {
		// The project's scanner writes SBOMs if it can (an adapter with
		// the sbom capability); the task fails with ErrUnsupported if not.
		reg, err := s.ProjectScanner(ctx, projectOf(a.Repository))
		if err != nil {
			return Task{}, fmt.Errorf("scan: no SBOM generator: %w", err)
		}
		scanner = reg.ID
	}
	t, created, err := s.st.startTask(ctx, Task{Kind: KindSBOM, Artifact: a, Scanner: scanner, Trigger: trigger})
	if err != nil || !created {
		return t, err // !created: another caller started one meanwhile
	}
	return s.enqueue(ctx, t, sbomArgs{Task: t.ID}, jobs.EnqueueMaxAttempts(max(1, s.attempts)))
}

// StopSBOM stops the pending or running SBOM task of a digest.
func (s *Service) StopSBOM(ctx context.Context, dg string) (Task, error) {
	return s.stop(ctx, dg, KindSBOM)
}

func (s *Service) runSBOM(ctx context.Context, id int64, attempt, maxAttempts int) error {
	t, err := s.st.task(ctx, id)
	if err != nil || t.Status.Finished() {
		return err
	}
	if running, err := s.st.transition(ctx, id, StatusRunning, ""); err != nil || !running {
		return err // !running: stopped since it was read
	}
	logf := func(format string, args ...any) { _ = s.st.appendLog(context.WithoutCancel(ctx), id, format, args...) }
	logf("attempt %d of %d: SBOMs of %s@%s", attempt, maxAttempts, t.Artifact.Repository, t.Artifact.Digest)
	gen, name, src, release, err := s.sbomGenerator(ctx, t)
	if err != nil {
		logf("error: %v", err)
		_, _ = s.st.transition(context.WithoutCancel(ctx), id, StatusError, err.Error())
		return jobs.Cancel(err)
	}
	if release != nil {
		defer release()
	}
	for _, f := range SBOMFormats {
		d, err := s.writeSBOM(ctx, gen, name, src, t.Artifact, f)
		if err != nil {
			if cur, _ := s.st.task(context.WithoutCancel(ctx), id); cur.Status == StatusStopped {
				return jobs.Cancel(err)
			}
			logf("error: %s: %v", f, err)
			if attempt < maxAttempts && !errors.Is(err, ErrUnsupported) {
				logf("will retry")
				_, _ = s.st.transition(context.WithoutCancel(ctx), id, StatusPending, fmt.Sprintf("attempt %d failed, will retry: %v", attempt, err))
				return err
			}
			_, _ = s.st.transition(context.WithoutCancel(ctx), id, StatusError, err.Error())
			return jobs.Cancel(err)
		}
		logf("stored %s as referrer %s", f, d)
	}
	_, err = s.st.transition(ctx, id, StatusSuccess, "")
	return err
}

// sbomGenerator finds what writes the task's SBOMs: the configured
// generator, else the task's scanner if it can, with where it reads from.
func (s *Service) sbomGenerator(ctx context.Context, t Task) (SBOMGenerator, string, Source, func(), error) {
	if s.sbom != nil {
		return s.sbom, s.builtinName, s.ownSource(), nil, nil
	}
	reg, err := s.registration(ctx, t.Scanner)
	if err != nil {
		return nil, "", Source{}, nil, err
	}
	sc, err := s.scannerFor(reg)
	if err != nil {
		return nil, "", Source{}, nil, err
	}
	gen, ok := sc.(SBOMGenerator)
	if !ok {
		return nil, "", Source{}, nil, fmt.Errorf("scanner %q writes no SBOMs: %w", reg.Name, ErrUnsupported)
	}
	src, release, err := s.sourceFor(ctx, reg, t.Artifact)
	return gen, reg.Name, src, release, err
}

// sbomFileNames name the SBOM layer in each format, for clients (oras)
// that save layers as files.
var sbomFileNames = map[string]string{SPDXJSON: "sbom.spdx.json", CycloneDXJSON: "sbom.cdx.json"}

// writeSBOM generates one SBOM and pushes it as a referrer.
func (s *Service) writeSBOM(ctx context.Context, gen SBOMGenerator, name string, src Source, a Artifact, format string) (digest.Digest, error) {
	b, err := gen.SBOM(ctx, Request{Artifact: a, Source: src}, format)
	if err != nil {
		return "", err
	}
	if len(b) > MaxSBOMBytes {
		return "", fmt.Errorf("SBOM of %d bytes exceeds the limit of %d", len(b), MaxSBOMBytes)
	}
	return PushReferrer(ctx, s.ownSource(), a, format, b, map[string]string{
		AnnotationSBOMGenerator: name,
		annotationCreated:       s.now().UTC().Format(time.RFC3339),
	}, map[string]string{v1.AnnotationTitle: sbomFileNames[format]})
}

func remoteOpts(ctx context.Context, src Source) []remote.Option {
	opts := []remote.Option{remote.WithContext(ctx)}
	if src.Transport != nil {
		opts = append(opts, remote.WithTransport(src.Transport))
	}
	return opts
}

func repoRef(src Source, repo string) (name.Repository, error) {
	var o []name.Option
	if src.Insecure {
		o = append(o, name.Insecure)
	}
	return name.NewRepository(src.Registry+"/"+repo, o...)
}

// rawManifest is a manifest to put as is.
type rawManifest struct {
	body []byte
	mt   types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.body, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mt, nil }

// PushReferrer stores content as an OCI artifact referring to a (its
// subject): an image manifest with artifactType, an empty config and one
// layer of content whose media type is artifactType. It returns the
// referrer manifest's digest.
func PushReferrer(ctx context.Context, src Source, a Artifact, artifactType string, content []byte, annotations, layerAnnotations map[string]string) (digest.Digest, error) {
	repo, err := repoRef(src, a.Repository)
	if err != nil {
		return "", err
	}
	opts := remoteOpts(ctx, src)
	subj, err := remote.Head(repo.Digest(a.Digest.String()), opts...)
	if err != nil {
		return "", fmt.Errorf("reading the subject: %w", err)
	}
	empty := static.NewLayer([]byte("{}"), types.MediaType(v1.MediaTypeEmptyJSON))
	layer := static.NewLayer(content, types.MediaType(artifactType))
	for _, l := range []ggcrv1.Layer{empty, layer} {
		if err := remote.WriteLayer(repo, l, opts...); err != nil {
			return "", fmt.Errorf("uploading: %w", err)
		}
	}
	desc := func(l ggcrv1.Layer, mt string) v1.Descriptor {
		d, _ := l.Digest()
		n, _ := l.Size()
		return v1.Descriptor{MediaType: mt, Digest: digest.Digest(d.String()), Size: n}
	}
	m := v1.Manifest{
		Versioned:    specs.Versioned{SchemaVersion: 2},
		MediaType:    v1.MediaTypeImageManifest,
		ArtifactType: artifactType,
		Config:       desc(empty, v1.MediaTypeEmptyJSON),
		Layers:       []v1.Descriptor{withAnnotations(desc(layer, artifactType), layerAnnotations)},
		Subject:      &v1.Descriptor{MediaType: string(subj.MediaType), Digest: digest.Digest(subj.Digest.String()), Size: subj.Size},
		Annotations:  annotations,
	}
	body, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	d := digest.FromBytes(body)
	if err := remote.Put(repo.Digest(d.String()), rawManifest{body, types.OCIManifestSchema1}, opts...); err != nil {
		return "", fmt.Errorf("storing the referrer manifest: %w", err)
	}
	return d, nil
}

// FetchSBOM reads the newest SBOM of an artifact in format from its
// referrers. ErrNotFound when there is none.
func (s *Service) FetchSBOM(ctx context.Context, a Artifact, format string) ([]byte, error) {
	if s.transport == nil {
		return nil, fmt.Errorf("scan: no registry transport: %w", ErrUnsupported)
	}
	return FetchReferrer(ctx, s.ownSource(), a, format)
}

// FetchReferrer reads the single layer of the newest referrer of a with
// artifactType (newest by its org.opencontainers.image.created
// annotation). ErrNotFound when there is none.
func FetchReferrer(ctx context.Context, src Source, a Artifact, artifactType string) ([]byte, error) {
	repo, err := repoRef(src, a.Repository)
	if err != nil {
		return nil, err
	}
	opts := remoteOpts(ctx, src)
	idx, err := remote.Referrers(repo.Digest(a.Digest.String()), append(opts, remote.WithFilter("artifactType", artifactType))...)
	if err != nil {
		return nil, fmt.Errorf("listing referrers: %w", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	var best *ggcrv1.Descriptor
	for i := range im.Manifests {
		m := &im.Manifests[i]
		if m.ArtifactType != artifactType {
			continue
		}
		if best == nil || m.Annotations[annotationCreated] > best.Annotations[annotationCreated] {
			best = m
		}
	}
	if best == nil {
		return nil, fmt.Errorf("scan: no %s referrer of %s@%s: %w", artifactType, a.Repository, a.Digest, ErrNotFound)
	}
	got, err := remote.Get(repo.Digest(best.Digest.String()), opts...)
	if err != nil {
		return nil, err
	}
	var m v1.Manifest
	if err := json.Unmarshal(got.Manifest, &m); err != nil {
		return nil, fmt.Errorf("referrer manifest: %w", err)
	}
	if len(m.Layers) != 1 || m.Layers[0].Size > MaxSBOMBytes {
		return nil, errors.New("referrer manifest: want one layer within the size limit")
	}
	l, err := remote.Layer(repo.Digest(m.Layers[0].Digest.String()), opts...)
	if err != nil {
		return nil, err
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(io.LimitReader(rc, MaxSBOMBytes))
}

func withAnnotations(d v1.Descriptor, a map[string]string) v1.Descriptor {
	if len(a) > 0 {
		d.Annotations = a
	}
	return d
}
