package webhook_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/webhook"
)

func TestEventTypes(t *testing.T) {
	want := map[webhook.EventType]string{
		webhook.PushArtifact:      "harbor.artifact.pushed",
		webhook.PullArtifact:      "harbor.artifact.pulled",
		webhook.DeleteArtifact:    "harbor.artifact.deleted",
		webhook.ScanningCompleted: "harbor.scan.completed",
		webhook.ScanningFailed:    "harbor.scan.failed",
		webhook.ScanningStopped:   "harbor.scan.stopped",
		webhook.QuotaExceed:       "harbor.quota.exceeded",
		webhook.QuotaWarning:      "harbor.quota.warned",
		webhook.Replication:       "harbor.replication.status.changed",
		webhook.TagRetention:      "harbor.tag_retention.finished",
	}
	types := webhook.EventTypes()
	assert.Len(t, types, len(want))
	for _, et := range types {
		assert.True(t, et.Known())
		assert.Equal(t, want[et], et.CloudEventsType(), et)
	}
	assert.False(t, webhook.EventType("push_artifact").Known())
	assert.Empty(t, webhook.EventType("").CloudEventsType())
}

func TestFromRegistryEvent(t *testing.T) {
	at := time.Unix(1700000000, 0)
	dg := digestOf(pushEvent(1).Digest)
	e, ok := webhook.FromRegistryEvent(core.Event{Action: core.EventPush, Target: core.TargetManifest,
		Repository: "library/tools/alpine", Digest: dg, MediaType: "application/vnd.oci.image.index.v1+json",
		Size: 99, Tag: "3.20", Actor: "robot$ci", Time: at})
	require.True(t, ok)
	assert.Equal(t, webhook.Event{Type: webhook.PushArtifact, ProjectName: "library", Repository: "library/tools/alpine",
		Digest: dg.String(), Tags: []string{"3.20"}, MediaType: "application/vnd.oci.image.index.v1+json",
		Size: 99, Operator: "robot$ci", OccurAt: at}, e)

	for action, want := range map[core.EventAction]webhook.EventType{
		core.EventPull: webhook.PullArtifact, core.EventDelete: webhook.DeleteArtifact,
	} {
		e, ok := webhook.FromRegistryEvent(core.Event{Action: action, Target: core.TargetManifest, Repository: "p/r", Digest: dg})
		require.True(t, ok)
		assert.Equal(t, want, e.Type)
		assert.Nil(t, e.Tags)
	}
	for _, ev := range []core.Event{
		{Action: core.EventPush, Target: core.TargetBlob, Repository: "p/r", Digest: dg},
		{Action: core.EventDelete, Target: core.TargetTag, Repository: "p/r", Tag: "x"},
		{Action: core.EventMount, Target: core.TargetManifest, Repository: "p/r"},
		{Action: core.EventPull, Target: core.TargetManifest, Repository: "p/r", Refused: "no", Status: 403},
		{Action: core.EventPush, Target: core.TargetManifest},
	} {
		_, ok := webhook.FromRegistryEvent(ev)
		assert.False(t, ok, "%+v", ev)
	}
}

func TestPayloadDetails(t *testing.T) {
	at := time.Unix(1700000000, 0)
	quota := webhook.NewPayload(webhook.Event{Type: webhook.QuotaExceed, ProjectID: 3, ProjectName: "team",
		Repository: "team/app", Tags: []string{"v2"}, OccurAt: at,
		Quota: &webhook.QuotaDetail{Message: "storage 10 GiB of 10 GiB used"}}, "")
	b, err := json.Marshal(quota)
	require.NoError(t, err)
	assert.JSONEq(t, `{"type":"QUOTA_EXCEED","occur_at":1700000000,"operator":"",
		"event_data":{"resources":[{"tag":"v2"}],
		"repository":{"name":"app","namespace":"team","repo_full_name":"team/app","repo_type":"private"},
		"custom_attributes":{"Details":"storage 10 GiB of 10 GiB used"}}}`, string(b))

	scan := webhook.NewPayload(webhook.Event{Type: webhook.ScanningCompleted, ProjectName: "team", Public: true,
		Repository: "team/app", Digest: "sha256:aa", OccurAt: at, Operator: "(system: scan)",
		RepositoryCreated: time.Unix(1600000000, 0),
		Scan: &webhook.ScanDetail{ScanType: "vulnerability", Overview: map[string]any{
			"application/vnd.security.vulnerability.report; version=1.1": map[string]any{"severity": "High"}}}}, "reg.example:5000")
	b, err = json.Marshal(scan)
	require.NoError(t, err)
	assert.JSONEq(t, `{"type":"SCANNING_COMPLETED","occur_at":1700000000,"operator":"(system: scan)",
		"event_data":{"resources":[{"digest":"sha256:aa","tag":"sha256:aa",
			"resource_url":"reg.example:5000/team/app@sha256:aa",
			"scan_overview":{"application/vnd.security.vulnerability.report; version=1.1":{"severity":"High"}}}],
		"repository":{"date_created":1600000000,"name":"app","namespace":"team","repo_full_name":"team/app","repo_type":"public"},
		"scan":{"scan_type":"vulnerability"}}}`, string(b))

	repl := webhook.NewPayload(webhook.Event{Type: webhook.Replication, ProjectID: 3, OccurAt: at, Operator: "MANUAL",
		Replication: &webhook.ReplicationDetail{HarborHostname: "reg.example", JobStatus: "Success",
			SrcResource:        &webhook.ReplicationResource{RegistryType: "harbor", Endpoint: "https://reg.example", Namespace: "team"},
			SuccessfulArtifact: []webhook.ArtifactInfo{{Type: "image", Status: "Succeed", NameAndTag: "app:v2"}}}}, "")
	b, err = json.Marshal(repl)
	require.NoError(t, err)
	assert.JSONEq(t, `{"type":"REPLICATION","occur_at":1700000000,"operator":"MANUAL",
		"event_data":{"replication":{"harbor_hostname":"reg.example","job_status":"Success",
			"src_resource":{"registry_type":"harbor","endpoint":"https://reg.example","namespace":"team"},
			"successful_artifact":[{"type":"image","status":"Succeed","name_tag":"app:v2"}]}}}`, string(b))

	ret := webhook.NewCloudEvent(webhook.Event{Type: webhook.TagRetention, ProjectID: 3, OccurAt: at,
		Retention: &webhook.RetentionDetail{Total: 3, Retained: 1, ProjectName: "team", Status: "SUCCESS",
			DeletedArtifact: []webhook.ArtifactInfo{{Type: "image", Status: "SUCCESS", NameAndTag: "app:old"}}}},
		"", "id-1", webhook.CloudEventsSource(3, 4))
	b, err = json.Marshal(ret)
	require.NoError(t, err)
	assert.JSONEq(t, `{"specversion":"1.0","id":"id-1","source":"/projects/3/webhook/policies/4",
		"type":"harbor.tag_retention.finished","datacontenttype":"application/json","time":"2023-11-14T22:13:20Z",
		"data":{"retention":{"total":3,"retained":1,"project_name":"team","result":"SUCCESS",
			"deleted_artifact":[{"type":"image","status":"SUCCESS","name_tag":"app:old"}]}}}`, string(b))
}

func TestSignVerify(t *testing.T) {
	secret, body := []byte("0123456789abcdef"), []byte(`{"type":"PUSH_ARTIFACT"}`)
	sig := webhook.Sign(secret, body)
	assert.Regexp(t, `^sha256=[0-9a-f]{64}$`, sig)
	assert.True(t, webhook.Verify(secret, body, sig))
	assert.True(t, webhook.Verify(secret, body, "SHA256="+sig[7:]))
	for _, bad := range []string{"", "sha256=", sig[:len(sig)-1], sig + "0", "sha1=" + sig[7:],
		"sha256=" + string(make([]byte, 64)), sig[:len(sig)-2] + "zz"} {
		assert.False(t, webhook.Verify(secret, body, bad), bad)
	}
	assert.False(t, webhook.Verify(secret, append(body, ' '), sig))
	assert.False(t, webhook.Verify([]byte("another secret!!"), body, sig))
	assert.False(t, webhook.Verify(nil, body, webhook.Sign(nil, body)), "no secret verifies nothing")
}

func TestDefaultBackoff(t *testing.T) {
	assert.Equal(t, 30*time.Second, webhook.DefaultBackoff(1))
	assert.Equal(t, time.Minute, webhook.DefaultBackoff(2))
	assert.Equal(t, 32*time.Minute, webhook.DefaultBackoff(7))
	assert.Equal(t, time.Hour, webhook.DefaultBackoff(8))
	assert.Equal(t, time.Hour, webhook.DefaultBackoff(1000))
	assert.Equal(t, 30*time.Second, webhook.DefaultBackoff(0))
}
