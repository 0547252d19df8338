package webhook

import (
	"strings"
	"time"

	"github.com/berthlabs/berth/core"
)

// EventType is the kind of an event, by Harbor's name. Policies subscribe
// to event types; the default payload's "type" and the X-Berth-Event
// header carry it.
type EventType string

// The event types, Harbor's names.
const (
	PushArtifact      EventType = "PUSH_ARTIFACT"
	PullArtifact      EventType = "PULL_ARTIFACT"
	DeleteArtifact    EventType = "DELETE_ARTIFACT"
	ScanningCompleted EventType = "SCANNING_COMPLETED"
	ScanningFailed    EventType = "SCANNING_FAILED"
	ScanningStopped   EventType = "SCANNING_STOPPED"
	QuotaExceed       EventType = "QUOTA_EXCEED"
	QuotaWarning      EventType = "QUOTA_WARNING"
	Replication       EventType = "REPLICATION"
	TagRetention      EventType = "TAG_RETENTION"
)

// eventTypes lists the known types in order, with their CloudEvents
// "type" (Harbor's names, pkg/notifier/formats/cloudevents.go).
var eventTypes = []struct {
	t  EventType
	ce string
}{
	{PushArtifact, "harbor.artifact.pushed"},
	{PullArtifact, "harbor.artifact.pulled"},
	{DeleteArtifact, "harbor.artifact.deleted"},
	{ScanningCompleted, "harbor.scan.completed"},
	{ScanningFailed, "harbor.scan.failed"},
	{ScanningStopped, "harbor.scan.stopped"},
	{QuotaExceed, "harbor.quota.exceeded"},
	{QuotaWarning, "harbor.quota.warned"},
	{Replication, "harbor.replication.status.changed"},
	{TagRetention, "harbor.tag_retention.finished"},
}

// EventTypes returns the known event types, in a stable order (for an
// API listing what a policy may subscribe to).
func EventTypes() []EventType {
	out := make([]EventType, len(eventTypes))
	for i, e := range eventTypes {
		out[i] = e.t
	}
	return out
}

// Known reports whether t is one of EventTypes.
func (t EventType) Known() bool { return t.CloudEventsType() != "" }

// CloudEventsType is t's CloudEvents "type" attribute, Harbor's name
// ("harbor.artifact.pushed"), or "" for an unknown type.
func (t EventType) CloudEventsType() string {
	for _, e := range eventTypes {
		if e.t == t {
			return e.ce
		}
	}
	return ""
}

// Event is something a project's webhooks may be told about. The server
// builds one from a registry event (FromRegistryEvent, or the Sink does
// it), or fills one for scans, quotas, replication and retention and
// hands it to Service.Emit.
type Event struct {
	Type EventType
	// ProjectID is the project's immutable id: it selects the policies.
	ProjectID int64
	// ProjectName is the project's name (the payload's namespace).
	ProjectName string
	// Public makes the payload's repo_type "public" (else "private").
	Public bool
	// Repository is the full repository name, "library/alpine".
	Repository string
	// RepositoryCreated, when known, is the payload's date_created.
	RepositoryCreated time.Time
	Digest            string
	// Tags of the artifact; the payload's resource names the first (or
	// the digest when there are none), as Harbor's does.
	Tags      []string
	MediaType string
	Size      int64
	// Operator is who did it (a user, a robot, a core.SystemActor).
	Operator string
	// OccurAt is when it happened (Emit uses the clock when zero).
	OccurAt time.Time

	// Details of the event types that have them; nil otherwise.
	Scan        *ScanDetail
	Quota       *QuotaDetail
	Replication *ReplicationDetail
	Retention   *RetentionDetail
	// Custom becomes the payload's custom_attributes.
	Custom map[string]string
}

// ScanDetail is what SCANNING_* events add.
type ScanDetail struct {
	// ScanType is "vulnerability" or "sbom" (payload: event_data.scan).
	ScanType string
	// Overview is the resource's scan_overview: report summaries keyed by
	// report MIME type, as Harbor's API shows them.
	Overview map[string]any
}

// QuotaDetail is what QUOTA_EXCEED and QUOTA_WARNING events add.
type QuotaDetail struct {
	// Message says what was exceeded; Harbor's custom_attributes
	// "Details".
	Message string
}

// ReplicationDetail is a REPLICATION event's event_data.replication,
// field for field Harbor's.
type ReplicationDetail struct {
	HarborHostname     string               `json:"harbor_hostname,omitempty"`
	JobStatus          string               `json:"job_status,omitempty"`
	Description        string               `json:"description,omitempty"`
	ArtifactType       string               `json:"artifact_type,omitempty"`
	AuthenticationType string               `json:"authentication_type,omitempty"`
	OverrideMode       bool                 `json:"override_mode,omitempty"`
	TriggerType        string               `json:"trigger_type,omitempty"`
	PolicyCreator      string               `json:"policy_creator,omitempty"`
	ExecutionTimestamp int64                `json:"execution_timestamp,omitempty"`
	SrcResource        *ReplicationResource `json:"src_resource,omitempty"`
	DestResource       *ReplicationResource `json:"dest_resource,omitempty"`
	SuccessfulArtifact []ArtifactInfo       `json:"successful_artifact,omitempty"`
	FailedArtifact     []ArtifactInfo       `json:"failed_artifact,omitempty"`
}

// ReplicationResource is one end of a replication.
type ReplicationResource struct {
	RegistryName string `json:"registry_name,omitempty"`
	RegistryType string `json:"registry_type"`
	Endpoint     string `json:"endpoint"`
	Provider     string `json:"provider,omitempty"`
	Namespace    string `json:"namespace,omitempty"`
}

// ArtifactInfo is an artifact replicated or deleted by retention.
type ArtifactInfo struct {
	Type       string `json:"type"`
	Status     string `json:"status"`
	NameAndTag string `json:"name_tag"`
	FailReason string `json:"fail_reason,omitempty"`
}

// RetentionDetail is a TAG_RETENTION event's event_data.retention, field
// for field Harbor's.
type RetentionDetail struct {
	Total             int             `json:"total"`
	Retained          int             `json:"retained"`
	HarborHostname    string          `json:"harbor_hostname,omitempty"`
	ProjectName       string          `json:"project_name,omitempty"`
	RetentionPolicyID int64           `json:"retention_policy_id,omitempty"`
	RetentionRules    []RetentionRule `json:"retention_rule,omitempty"`
	Status            string          `json:"result,omitempty"`
	DeletedArtifact   []ArtifactInfo  `json:"deleted_artifact,omitempty"`
}

// RetentionRule is one rule of the retention policy that ran.
type RetentionRule struct {
	Template       string                `json:"template,omitempty"`
	Parameters     map[string]any        `json:"params,omitempty"`
	TagSelectors   []Selector            `json:"tag_selectors,omitempty"`
	ScopeSelectors map[string][]Selector `json:"scope_selectors,omitempty"`
}

// Selector selects tags or repositories in a retention rule.
type Selector struct {
	Kind       string `json:"kind"`
	Decoration string `json:"decoration"`
	Pattern    string `json:"pattern"`
	Extras     string `json:"extras"`
}

// FromRegistryEvent maps a registry event to a webhook event: pushes,
// pulls and deletions of manifests become PUSH_ARTIFACT, PULL_ARTIFACT
// and DELETE_ARTIFACT. Blob and tag events, mounts and refusals are not
// webhook events (ok is false).
//
// The registry knows repository names, not project ids: the result has
// ProjectName (the repository's first path component) and ProjectID 0.
// The Sink resolves the id; a caller of Emit sets it.
func FromRegistryEvent(e core.Event) (ev Event, ok bool) {
	if e.Refused != "" || e.Target != core.TargetManifest || e.Repository == "" {
		return Event{}, false
	}
	var t EventType
	switch e.Action {
	case core.EventPush:
		t = PushArtifact
	case core.EventPull:
		t = PullArtifact
	case core.EventDelete:
		t = DeleteArtifact
	default:
		return Event{}, false
	}
	proj, _, _ := strings.Cut(e.Repository, "/")
	ev = Event{
		Type:        t,
		ProjectName: proj,
		Repository:  e.Repository,
		Digest:      e.Digest.String(),
		MediaType:   e.MediaType,
		Size:        e.Size,
		Operator:    e.Actor,
		OccurAt:     e.Time,
	}
	if e.Tag != "" {
		ev.Tags = []string{e.Tag}
	}
	return ev, true
}
