package webhook

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// PayloadFormat is how a target wants events: Harbor's default JSON or
// CloudEvents 1.0.
type PayloadFormat string

// Payload formats, Harbor's names.
const (
	FormatDefault     PayloadFormat = "Default"
	FormatCloudEvents PayloadFormat = "CloudEvents"
)

// Content types of the two formats.
const (
	ContentTypeDefault     = "application/json"
	ContentTypeCloudEvents = "application/cloudevents+json"
)

// Payload is the body of a Default-format delivery, Harbor's shape
// (goharbor/harbor src/pkg/notifier/model):
//
//	{"type":"PUSH_ARTIFACT","occur_at":1700000000,"operator":"admin",
//	 "event_data":{"resources":[{"digest":"sha256:…","tag":"latest",
//	   "resource_url":"reg.example/library/alpine:latest"}],
//	  "repository":{"date_created":1690000000,"name":"alpine",
//	   "namespace":"library","repo_full_name":"library/alpine","repo_type":"private"}}}
//
// Receivers may decode it into this type.
type Payload struct {
	Type      string     `json:"type"`
	OccurAt   int64      `json:"occur_at"` // Unix seconds
	Operator  string     `json:"operator"`
	EventData *EventData `json:"event_data,omitempty"`
}

// EventData is what happened, the "event_data" of a Default payload and
// the "data" of a CloudEvent.
type EventData struct {
	Resources   []Resource         `json:"resources,omitempty"`
	Repository  *Repository        `json:"repository,omitempty"`
	Replication *ReplicationDetail `json:"replication,omitempty"`
	Retention   *RetentionDetail   `json:"retention,omitempty"`
	Scan        *Scan              `json:"scan,omitempty"`
	Custom      map[string]string  `json:"custom_attributes,omitempty"`
}

// Resource is the artifact an event is about. MediaType and Size are
// berth's additions to Harbor's fields.
type Resource struct {
	Digest       string         `json:"digest,omitempty"`
	Tag          string         `json:"tag"`
	ResourceURL  string         `json:"resource_url,omitempty"`
	ScanOverview map[string]any `json:"scan_overview,omitempty"`
	MediaType    string         `json:"media_type,omitempty"`
	Size         int64          `json:"size,omitempty"`
}

// Repository is the repository an event is about.
type Repository struct {
	DateCreated  int64  `json:"date_created,omitempty"`
	Name         string `json:"name"`
	Namespace    string `json:"namespace"`
	RepoFullName string `json:"repo_full_name"`
	RepoType     string `json:"repo_type"` // "public" or "private"
}

// Scan says which kind of scan a SCANNING_* event reports.
type Scan struct {
	ScanType string `json:"scan_type"`
}

// CloudEvent is the body of a CloudEvents-format delivery: a CloudEvents
// 1.0 event in structured JSON mode, content type
// application/cloudevents+json, with Harbor's attributes (its "type"
// names, "source" /projects/<id>/webhook/policies/<id>, and the
// "operator" extension).
type CloudEvent struct {
	SpecVersion     string     `json:"specversion"` // "1.0"
	ID              string     `json:"id"`          // the delivery id (X-Berth-Delivery)
	Source          string     `json:"source"`
	Type            string     `json:"type"` // "harbor.artifact.pushed"
	DataContentType string     `json:"datacontenttype"`
	Time            string     `json:"time"` // RFC 3339
	Operator        string     `json:"operator,omitempty"`
	Data            *EventData `json:"data,omitempty"`
}

// CloudEventsSource is the CloudEvents "source" of a policy's deliveries,
// Harbor's: "/projects/<project id>/webhook/policies/<policy id>".
func CloudEventsSource(projectID, policyID int64) string {
	return fmt.Sprintf("/projects/%d/webhook/policies/%d", projectID, policyID)
}

// NewPayload builds the Default payload of e. registryHost, when not
// empty, is the registry's external host ("reg.example" or
// "reg.example:5000"), from which resource_url is made as Harbor makes it:
// host/repository:tag, or host/repository@digest without a tag.
func NewPayload(e Event, registryHost string) Payload {
	return Payload{
		Type:      string(e.Type),
		OccurAt:   e.OccurAt.Unix(),
		Operator:  e.Operator,
		EventData: newEventData(e, registryHost),
	}
}

// NewCloudEvent builds the CloudEvent of e with id (unique per delivery;
// berth uses the delivery id) and source (CloudEventsSource).
func NewCloudEvent(e Event, registryHost, id, source string) CloudEvent {
	return CloudEvent{
		SpecVersion:     "1.0",
		ID:              id,
		Source:          source,
		Type:            e.Type.CloudEventsType(),
		DataContentType: ContentTypeDefault,
		Time:            e.OccurAt.UTC().Format(time.RFC3339),
		Operator:        e.Operator,
		Data:            newEventData(e, registryHost),
	}
}

func newEventData(e Event, host string) *EventData {
	d := &EventData{Replication: e.Replication, Retention: e.Retention}
	if e.Repository != "" {
		ns, name := e.ProjectName, e.Repository
		if p, rest, ok := strings.Cut(e.Repository, "/"); ok {
			name = rest
			if ns == "" {
				ns = p
			}
		}
		repoType := "private"
		if e.Public {
			repoType = "public"
		}
		d.Repository = &Repository{Name: name, Namespace: ns, RepoFullName: e.Repository, RepoType: repoType}
		if !e.RepositoryCreated.IsZero() {
			d.Repository.DateCreated = e.RepositoryCreated.Unix()
		}
	}
	if e.Repository != "" && (e.Digest != "" || len(e.Tags) > 0) {
		ref := e.Digest
		if len(e.Tags) > 0 {
			ref = e.Tags[0]
		}
		r := Resource{Digest: e.Digest, Tag: ref, MediaType: e.MediaType, Size: e.Size}
		if host != "" && ref != "" {
			sep := ":"
			if strings.Contains(ref, ":") { // a digest: tags hold no colon
				sep = "@"
			}
			r.ResourceURL = host + "/" + e.Repository + sep + ref
		}
		if e.Scan != nil {
			r.ScanOverview = e.Scan.Overview
		}
		d.Resources = []Resource{r}
	}
	if e.Scan != nil && e.Scan.ScanType != "" {
		d.Scan = &Scan{ScanType: e.Scan.ScanType}
	}
	if len(e.Custom) > 0 || e.Quota != nil {
		d.Custom = make(map[string]string, len(e.Custom)+1)
		for k, v := range e.Custom {
			d.Custom[k] = v
		}
		if e.Quota != nil {
			d.Custom["Details"] = e.Quota.Message
		}
	}
	return d
}

// maxBody bounds one delivery's body.
const maxBody = 1 << 20

// render returns the body and content type of e for a target of format.
func render(format PayloadFormat, e Event, host, id string, policyID int64) ([]byte, string, error) {
	var (
		v  any
		ct string
	)
	switch format {
	case FormatCloudEvents:
		v, ct = NewCloudEvent(e, host, id, CloudEventsSource(e.ProjectID, policyID)), ContentTypeCloudEvents
	case FormatDefault, "":
		v, ct = NewPayload(e, host), ContentTypeDefault
	default:
		return nil, "", fmt.Errorf("webhook: payload format %q: %w", format, ErrInvalid)
	}
	body, err := json.Marshal(v)
	if err != nil {
		return nil, "", fmt.Errorf("webhook: encoding the %s event: %v: %w", e.Type, err, ErrInvalid)
	}
	if len(body) > maxBody {
		return nil, "", fmt.Errorf("webhook: the %s event's payload is %d bytes, more than %d: %w", e.Type, len(body), maxBody, ErrInvalid)
	}
	return body, ct, nil
}
