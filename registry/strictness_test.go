package registry

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Keys equal ignoring case would let the registry index different
// references than a case-sensitive client reads.
func TestManifestKeysMustBeUniqueIgnoringCase(t *testing.T) {
	onEngines(t, testManifestKeysMustBeUniqueIgnoringCase)
}

func testManifestKeysMustBeUniqueIgnoringCase(t *testing.T) {
	tr := newTestRegistry(t)
	img := randomImage(t, 1)
	tr.pushImageBlobs("r", img)
	base := string(img.Manifest)
	cases := map[string]string{
		"duplicate config":       base[:len(base)-1] + `,"config":` + string(mustJSON(t, descriptorOf("application/vnd.oci.image.config.v1+json", img.Config))) + `}`,
		"case variant of layers": base[:len(base)-1] + `,"Layers":[]}`,
		"long s folds to s":      base[:len(base)-1] + `,"ſchemaVersion":2}`,
		"nested duplicate":       `{"schemaVersion":2,"mediaType":"` + MediaTypeOCIManifest + `","config":{"digest":"x","Digest":"y"},"layers":[]}`,
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			r := tr.putManifest("r", "t", MediaTypeOCIManifest, []byte(body))
			requireError(t, r, http.StatusBadRequest, CodeManifestInvalid)
			assert.Contains(t, string(r.Body), "unique")
			tr.requireNoManifest("r", "t")
		})
	}
}

func TestUploadChunkLongerThanRangeWithoutLength(t *testing.T) {
	onEngines(t, testUploadChunkLongerThanRangeWithoutLength)
}

func testUploadChunkLongerThanRangeWithoutLength(t *testing.T) {
	tr := newTestRegistry(t)
	loc := tr.startUpload("r")
	tr.patchChunk(loc, 0, []byte("abc"))
	// MultiReader hides the length, so the client sends the body chunked.
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPatch, tr.srv.URL+loc,
		io.MultiReader(bytes.NewReader([]byte("defghijk"))))
	require.NoError(t, err)
	req.Header.Set("Content-Range", "3-5")
	r := tr.send(req)
	requireError(t, r, http.StatusBadRequest, CodeBlobUploadInvalid)
	assert.Equal(t, "0-2", tr.uploadRange(loc), "the over-long chunk is rolled back")
}

// A refused chunk leaves the session usable, and the answer says where it
// stands, as every upload answer does.
func TestRefusedChunkAnswersWithRangeAndLocation(t *testing.T) {
	onEngines(t, testRefusedChunkAnswersWithRangeAndLocation)
}

func testRefusedChunkAnswersWithRangeAndLocation(t *testing.T) {
	tr := newTestRegistry(t)
	loc := tr.startUpload("r")
	tr.patchChunk(loc, 0, []byte("abc"))
	for _, rng := range []string{"9-11", "bogus"} {
		r := tr.do(http.MethodPatch, loc, []byte("def"), hdr("Content-Range", rng))
		require.Contains(t, []int{http.StatusBadRequest, http.StatusRequestedRangeNotSatisfiable}, r.Status)
		assert.Equal(t, "0-2", r.Header.Get("Range"), rng)
		assert.Equal(t, loc, r.Header.Get("Location"), rng)
		assert.NotEmpty(t, r.errorCodes(t), "the error body survives the upload headers")
	}
}

// With project-scoped anonymous mounts, a digest known from another
// project's repository links nothing.
func TestProjectScopedAnonymousMount(t *testing.T) { onEngines(t, testProjectScopedAnonymousMount) }

func testProjectScopedAnonymousMount(t *testing.T) {
	tr := newTestRegistry(t, WithProjectScopedAnonymousMount())
	secret := []byte("another tenant's layer")
	d := tr.pushBlob("tenant-a/private", secret)
	r := tr.do(http.MethodPost, "/v2/tenant-b/app/blobs/uploads/?mount="+d.String(), nil, nil)
	assert.Equal(t, http.StatusAccepted, r.Status, "no mount across projects: an upload starts instead")
	tr.requireNoBlob("tenant-b/app", d)

	r = tr.do(http.MethodPost, "/v2/tenant-a/other/blobs/uploads/?mount="+d.String(), nil, nil)
	assert.Equal(t, http.StatusCreated, r.Status, "within the project the mount succeeds")
}
