// Package helm holds the tests of berth's Helm chart (./berth): helm lint
// and helm template for each mode and optional part (ci/*.yaml), every
// rendered object decoded strictly into its Kubernetes type, the values
// schema's messages, and the rendered pod run without a cluster: its
// command, environment, config file and volumes mapped to temp
// directories, its probes answered, and the helm test pod's selftest run
// against it.
//
//	go test ./deploy/helm/...   # needs helm v3 (and PostgreSQL 15, versitygw)
package helm
