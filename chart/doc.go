// Package chart is a classic Helm chart repository per project: it stores
// chart archives (and their .prov files) once, by digest, in the shared blob
// store, keeps their metadata in SQL, renders index.yaml from SQL alone, and
// serves the ChartMuseum-compatible API.
//
//	repo, err := chart.New(ctx, blobs, db, chart.WithKeyring("/etc/berth/pubring.gpg"))
//	v, err := repo.Upload(ctx, "library", tgz, nil, false)
//	idx, err := repo.Index(ctx, "library")
//	mux.Handle("/chartrepo/", repo.Handler(access))
//	mux.Handle("/api/chartrepo/", repo.Handler(access))
//
// Uploads are validated before anything is stored: the archive size is
// bounded, every tar entry is checked for absolute and parent-directory
// paths, and the chart is loaded with Helm's own loader.
//
// Export writes a project's chart versions as one tar.gz bundle (a
// manifest with every file's digest, then the archives and .prov files);
// Import reads one back into a project, storing nothing unless the whole
// bundle is valid, and skipping versions already stored with the same
// digest, so that importing twice is harmless. The Handler serves both
// (GET /api/chartrepo/{project}/export, POST /api/chartrepo/{project}/import).
package chart
