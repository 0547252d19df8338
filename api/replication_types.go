package api

import "time"

// Registry is a registry replication talks to, in Harbor's shape.
type Registry struct {
	ID           int64               `json:"id"`
	Name         string              `json:"name"`
	Description  string              `json:"description"`
	Type         string              `json:"type" doc:"docker-registry (any OCI distribution registry)"`
	URL          string              `json:"url"`
	Insecure     bool                `json:"insecure" doc:"skip TLS certificate verification"`
	CACert       string              `json:"ca_cert,omitempty" doc:"berth: a PEM bundle to trust in addition to the system's"`
	Credential   *RegistryCredential `json:"credential,omitempty"`
	Status       string              `json:"status,omitempty" doc:"healthy or unhealthy, when asked for with health=true"`
	CreationTime time.Time           `json:"creation_time"`
	UpdateTime   time.Time           `json:"update_time"`
}

// RegistryCredential authenticates to a registry (Basic, or the bearer
// token flow with these credentials). The secret is never returned.
type RegistryCredential struct {
	Type         string `json:"type" doc:"basic"`
	AccessKey    string `json:"access_key"`
	AccessSecret string `json:"access_secret,omitempty" doc:"write-only; an update without it keeps the stored one"`
}

// RegistryPing names a stored registry (id) or describes one to check.
type RegistryPing struct {
	ID         int64               `json:"id,omitempty"`
	URL        string              `json:"url,omitempty"`
	Insecure   bool                `json:"insecure,omitempty"`
	Credential *RegistryCredential `json:"credential,omitempty"`
}

// RegistryRef names a registry in a policy; null or id 0 is this server.
type RegistryRef struct {
	ID   int64  `json:"id"`
	Name string `json:"name,omitempty"`
}

// ReplicationTrigger says when a policy runs.
type ReplicationTrigger struct {
	Type            string                     `json:"type" doc:"manual, scheduled or event_based"`
	TriggerSettings *ReplicationTriggerSetting `json:"trigger_settings,omitempty"`
}

// ReplicationTriggerSetting holds a scheduled trigger's cron.
type ReplicationTriggerSetting struct {
	Cron string `json:"cron" doc:"cron expression: 6 fields with seconds first (Harbor's), or 5"`
}

// ReplicationFilter selects source artifacts.
type ReplicationFilter struct {
	Type       string `json:"type" doc:"name, tag, label or resource"`
	Value      string `json:"value" doc:"a glob (* ** ? {a,b}) for name, tag and resource; resource image selects container images, chart the versions of classic chart repositories (project/chart for name, the version for tag) and OCI Helm charts; without a resource filter only artifacts are replicated; for label: key or key=value of the image's config labels and annotations, or (push policies) the name of a label the artifact carries"`
	Decoration string `json:"decoration,omitempty" doc:"matches (default) or excludes"`
}

// ReplicationPolicy is a replication policy, in Harbor's shape: a policy
// whose source is this server (src_registry null) pushes to dest_registry;
// one whose destination is this server pulls from src_registry.
type ReplicationPolicy struct {
	ID                        int64               `json:"id"`
	Name                      string              `json:"name"`
	Description               string              `json:"description"`
	SrcRegistry               *RegistryRef        `json:"src_registry"`
	DestRegistry              *RegistryRef        `json:"dest_registry"`
	DestNamespace             string              `json:"dest_namespace"`
	DestNamespaceReplaceCount *int                `json:"dest_namespace_replace_count,omitempty" doc:"leading path components replaced by dest_namespace; -1 keeps only the last (flatten); default 0"`
	Trigger                   *ReplicationTrigger `json:"trigger"`
	Filters                   []ReplicationFilter `json:"filters"`
	ReplicateDeletion         bool                `json:"replicate_deletion"`
	Override                  bool                `json:"override"`
	Enabled                   bool                `json:"enabled"`
	Speed                     int                 `json:"speed" doc:"bandwidth limit in KB/s; 0 or -1 unlimited"`
	CopyByChunk               bool                `json:"copy_by_chunk" doc:"berth always uploads in resumable chunks"`
	Concurrency               int                 `json:"concurrency,omitempty" doc:"berth: artifacts copied at once (default 4)"`
	CreationTime              time.Time           `json:"creation_time"`
	UpdateTime                time.Time           `json:"update_time"`
}

// StartReplicationExecution starts a policy now.
type StartReplicationExecution struct {
	PolicyID int64 `json:"policy_id"`
}

// ReplicationExecution is one run of a policy.
type ReplicationExecution struct {
	ID         int64      `json:"id"`
	PolicyID   int64      `json:"policy_id"`
	Status     string     `json:"status" doc:"InProgress, Succeed, Failed or Stopped"`
	StatusText string     `json:"status_text"`
	Trigger    string     `json:"trigger"`
	StartTime  time.Time  `json:"start_time"`
	EndTime    *time.Time `json:"end_time,omitempty"`
	Total      int        `json:"total"`
	Failed     int        `json:"failed"`
	Succeed    int        `json:"succeed"`
	InProgress int        `json:"in_progress"`
	Stopped    int        `json:"stopped"`
	Bytes      int64      `json:"bytes" doc:"berth: bytes written to the destination"`
}

// ReplicationTask is the replication of one artifact.
type ReplicationTask struct {
	ID           int64      `json:"id"`
	ExecutionID  int64      `json:"execution_id"`
	ResourceType string     `json:"resource_type" doc:"artifact, or chart for a version of a classic chart repository"`
	SrcResource  string     `json:"src_resource"`
	DstResource  string     `json:"dst_resource"`
	Operation    string     `json:"operation" doc:"copy or deletion"`
	Status       string     `json:"status"`
	StartTime    *time.Time `json:"start_time,omitempty"`
	EndTime      *time.Time `json:"end_time,omitempty"`
	Bytes        int64      `json:"bytes" doc:"berth: bytes written to the destination"`
	Attempts     int        `json:"attempts" doc:"berth: how many times the task ran"`
}
