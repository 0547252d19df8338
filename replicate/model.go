package replicate

import (
	"context"
	"fmt"
	"github.com/berthlabs/berth/core"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Errors callers match with errors.Is.
var (
	ErrNotFound = core.ErrNotFound
	ErrInvalid  = core.ErrInvalid
	ErrExists   = core.ErrExists
	ErrInUse    = core.New(core.ErrPrecondition, "in use")
	// ErrCredentialRequired: an update moves an endpoint with a stored
	// password to another origin (scheme, host or port) without giving the
	// password again. It wraps ErrInvalid.
	ErrCredentialRequired = fmt.Errorf("%w: credential required", ErrInvalid)
)

// Endpoint is a registry to replicate to or from: any OCI distribution
// registry.
type Endpoint struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	URL         string `json:"url"` // http(s)://host[:port]
	// Type is the kind of registry (Harbor's registry types): "" or
	// TypeDistribution for any registry speaking the OCI distribution API,
	// TypeHarbor, or TypeDockerHub, whose one-component repositories live
	// under library/. Replication treats them all alike.
	Type     string `json:"type,omitempty"`
	Username string `json:"username,omitempty"` // Basic, or the token flow's credentials
	Password string `json:"password,omitempty"` // or a token; never returned by the Service's listings
	Insecure bool   `json:"insecure,omitempty"` // skip TLS certificate verification
	CACert   string `json:"ca_cert,omitempty"`  // PEM bundle to trust in addition to the system's
	// ClearPassword, on UpdateEndpoint, stores no password (Password must
	// be empty); otherwise an empty Password keeps the stored one.
	ClearPassword bool      `json:"-"`
	CreatedAt     time.Time `json:"creation_time"`
	UpdatedAt     time.Time `json:"update_time"`

	// Transport, when set, carries every request instead of the network:
	// registry.Registry.Transport for the local registry, or a test's.
	Transport http.RoundTripper `json:"-"`
	// ChartTransport, when set, carries the requests of the classic chart
	// repositories (the ChartMuseum API under /api/chartrepo/ and
	// /chartrepo/) instead of Transport: the local chart handler.
	ChartTransport http.RoundTripper `json:"-"`
	// ChartProjects, when set, lists the projects whose chart
	// repositories a chart policy reads when its name filters do not name
	// them; otherwise the endpoint's Harbor project API is asked.
	ChartProjects func(ctx context.Context) ([]string, error) `json:"-"`
}

// Validate checks the fields a person fills in.
func (e *Endpoint) Validate() error {
	if strings.TrimSpace(e.Name) == "" || len(e.Name) > 255 {
		return fmt.Errorf("%w: an endpoint needs a name of at most 255 characters", ErrInvalid)
	}
	u, err := url.Parse(e.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return fmt.Errorf("%w: endpoint URL %q: want http(s)://host[:port]", ErrInvalid, e.URL)
	}
	if types := EndpointTypes(); e.Type != "" && !slices.Contains(types, e.Type) {
		return fmt.Errorf("%w: endpoint type %q: want one of %s", ErrInvalid, e.Type, strings.Join(types, ", "))
	}
	return nil
}

// Endpoint types.
const (
	TypeDistribution = "docker-registry"
	TypeHarbor       = "harbor"
	TypeDockerHub    = "docker-hub"
)

// EndpointTypes returns the types an Endpoint may have.
func EndpointTypes() []string { return []string{TypeDistribution, TypeHarbor, TypeDockerHub} }

// Mode is a policy's direction.
type Mode string

// Modes.
const (
	Push Mode = "push" // local → remote
	Pull Mode = "pull" // remote → local
)

// TriggerType is what starts a policy's executions.
type TriggerType string

// Triggers.
const (
	TriggerManual    TriggerType = "manual"
	TriggerScheduled TriggerType = "scheduled"
	TriggerEvent     TriggerType = "event_based"
)

// Policy says what to replicate, where and when.
type Policy struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Mode        Mode   `json:"mode"`
	// RemoteID is the Endpoint on the other side: the destination of a
	// push, the source of a pull.
	RemoteID int64    `json:"remote_id"`
	Filters  []Filter `json:"filters,omitempty"`
	// DestNamespace and DestNamespaceReplace rewrite names (see Rewrite).
	DestNamespace        string `json:"dest_namespace,omitempty"`
	DestNamespaceReplace int    `json:"dest_namespace_replace_count,omitempty"`
	// Override replaces a destination tag that points elsewhere; without
	// it such a tag is kept and the artifact's copy is skipped.
	Override bool `json:"override"`
	// ReplicateDeletion deletes at the destination what is deleted in the
	// local source (push mode, event trigger).
	ReplicateDeletion bool        `json:"replicate_deletion"`
	Enabled           bool        `json:"enabled"`
	Trigger           TriggerType `json:"trigger"`
	Cron              string      `json:"cron,omitempty"`        // for TriggerScheduled; 5 fields, or 6 with seconds first
	Speed             int         `json:"speed,omitempty"`       // bandwidth limit in KB/s for the execution; 0 none
	Concurrency       int         `json:"concurrency,omitempty"` // artifacts copied at once; 0 is DefaultConcurrency
	CreatedAt         time.Time   `json:"creation_time"`
	UpdatedAt         time.Time   `json:"update_time"`
}

// DefaultConcurrency is how many artifacts an execution copies at once
// unless its policy says otherwise.
const DefaultConcurrency = 4

// cronParser reads 5-field expressions and Harbor's 6-field ones (seconds
// first), and descriptors such as @every 1m.
var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Rewrite is the policy's destination naming.
func (p *Policy) Rewrite() Rewrite {
	return Rewrite{Namespace: p.DestNamespace, Replace: p.DestNamespaceReplace}
}

// Validate checks a policy on its own (not that its endpoint exists).
func (p *Policy) Validate() error {
	switch {
	case strings.TrimSpace(p.Name) == "" || len(p.Name) > 255:
		return fmt.Errorf("%w: a policy needs a name of at most 255 characters", ErrInvalid)
	case p.Mode != Push && p.Mode != Pull:
		return fmt.Errorf("%w: mode %q: want push or pull", ErrInvalid, p.Mode)
	case p.RemoteID <= 0:
		return fmt.Errorf("%w: a policy needs a remote registry", ErrInvalid)
	case p.Speed < 0, p.Concurrency < 0, p.Concurrency > 64:
		return fmt.Errorf("%w: speed must be ≥ 0 and concurrency 0..64", ErrInvalid)
	case p.DestNamespaceReplace < FlattenAll:
		return fmt.Errorf("%w: dest_namespace_replace_count %d: want -1 or more", ErrInvalid, p.DestNamespaceReplace)
	}
	switch p.Trigger {
	case TriggerManual:
	case TriggerScheduled:
		if _, err := cronParser.Parse(p.Cron); err != nil {
			return fmt.Errorf("%w: cron %q: %v", ErrInvalid, p.Cron, err)
		}
	case TriggerEvent:
		if p.Mode != Push {
			return fmt.Errorf("%w: event-based triggers need push mode (events come from the local registry)", ErrInvalid)
		}
	default:
		return fmt.Errorf("%w: trigger %q: want manual, scheduled or event_based", ErrInvalid, p.Trigger)
	}
	if p.DestNamespace != "" && !validNamespace(p.DestNamespace) {
		return fmt.Errorf("%w: dest_namespace %q is not a repository path", ErrInvalid, p.DestNamespace)
	}
	return ValidateFilters(p.Filters)
}

func validNamespace(ns string) bool {
	for _, part := range strings.Split(ns, "/") {
		if part == "" || len(part) > 255 || strings.Trim(part, "abcdefghijklmnopqrstuvwxyz0123456789._-") != "" {
			return false
		}
	}
	return true
}

// Status of an execution or a task.
type Status string

// Statuses, as Harbor spells them.
const (
	StatusPending    Status = "Pending"
	StatusInProgress Status = "InProgress"
	StatusSucceed    Status = "Succeed"
	StatusFailed     Status = "Failed"
	StatusStopped    Status = "Stopped"
)

func (s Status) terminal() bool {
	return s == StatusSucceed || s == StatusFailed || s == StatusStopped
}

// Execution is one run of a policy.
type Execution struct {
	ID         int64       `json:"id"`
	PolicyID   int64       `json:"policy_id"`
	Trigger    TriggerType `json:"trigger"`
	Status     Status      `json:"status"`
	StatusText string      `json:"status_text,omitempty"`
	StartTime  time.Time   `json:"start_time"`
	EndTime    time.Time   `json:"end_time"` // zero while running
	Total      int         `json:"total"`
	Succeed    int         `json:"succeed"`
	Failed     int         `json:"failed"`
	InProgress int         `json:"in_progress"`
	Stopped    int         `json:"stopped"`
	Bytes      int64       `json:"bytes"` // blob and manifest bytes written to the destination
}

// Operation of a task.
type Operation string

// Operations.
const (
	OpCopy   Operation = "copy"
	OpDelete Operation = "deletion"
)

// Task is the replication of one artifact within an execution.
type Task struct {
	ID          int64     `json:"id"`
	ExecutionID int64     `json:"execution_id"`
	Operation   Operation `json:"operation"`
	// ResourceType is ResourceArtifact or ResourceChart.
	ResourceType string    `json:"resource_type"`
	SrcResource  string    `json:"src_resource"` // repository[:tag,…]@digest
	DstResource  string    `json:"dst_resource"`
	Status       Status    `json:"status"`
	StartTime    time.Time `json:"start_time"`
	EndTime      time.Time `json:"end_time"`
	Bytes        int64     `json:"bytes"`
	Attempts     int       `json:"attempts"`
}

// Resource types of tasks.
const (
	ResourceArtifact = "artifact" // an OCI artifact (image, OCI chart, …)
	ResourceChart    = "chart"    // a version of a classic chart repository
)

// item is what a task replicates, stored with it.
type item struct {
	Op Operation `json:"op"`
	// Kind is "" for an artifact or ResourceChart for a chart version:
	// SrcRepo and DstRepo are then project/chart, Tags the version and
	// Digest the archive's.
	Kind    string   `json:"kind,omitempty"`
	SrcRepo string   `json:"src_repo"`
	DstRepo string   `json:"dst_repo"`
	Digest  string   `json:"digest,omitempty"`
	Tags    []string `json:"tags,omitempty"`
	// Referrers: copy only the referrers of Digest, if the destination
	// holds it.
	Referrers bool `json:"referrers,omitempty"`
}

func (it item) resource(repo string) string {
	s := repo
	if len(it.Tags) > 0 {
		s += ":" + strings.Join(it.Tags, ",")
	}
	if it.Digest != "" {
		s += "@" + it.Digest
	}
	return s
}
