package api

import (
	"net/http"

	"github.com/berthlabs/berth/rbac"
	"github.com/berthlabs/berth/replicate"
)

// What replication can do with a registry (getRegistryInfo) and how each
// registry type is described (listRegistryProviderInfos).

// FilterStyle is a filter a registry's policies may use, and how a form
// asks for it.
type FilterStyle struct {
	Type   string   `json:"type" doc:"name, tag, label or resource"`
	Style  string   `json:"style" doc:"input: a free-form glob or value"`
	Values []string `json:"values" doc:"the values to choose from, for styles that offer a list"`
}

// RegistryInfo is what replication supports with a registry.
type RegistryInfo struct {
	Type                     string        `json:"type"`
	Description              string        `json:"description"`
	SupportedResourceFilters []FilterStyle `json:"supported_resource_filters"`
	SupportedTriggers        []string      `json:"supported_triggers"`
	SupportedCopyByChunk     bool          `json:"supported_copy_by_chunk" doc:"berth copies blobs by streaming, not in chunks"`
}

// RegistryEndpoint is one address a registry type offers.
type RegistryEndpoint struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// RegistryProviderEndpointPattern says how a registry type's URL is given.
type RegistryProviderEndpointPattern struct {
	EndpointType string             `json:"endpoint_type" doc:"EndpointPatternTypeStandard (any URL) or EndpointPatternTypeFix (one of endpoints)"`
	Endpoints    []RegistryEndpoint `json:"endpoints"`
}

// RegistryProviderCredentialPattern says how a registry type's credential
// is given.
type RegistryProviderCredentialPattern struct {
	AccessKeyType    string `json:"access_key_type" doc:"AccessKeyTypeStandard: a user name"`
	AccessKeyData    string `json:"access_key_data,omitempty"`
	AccessSecretType string `json:"access_secret_type" doc:"AccessSecretTypePass: a password or token"`
	AccessSecretData string `json:"access_secret_data,omitempty"`
}

// RegistryProviderInfo describes one registry type.
type RegistryProviderInfo struct {
	EndpointPattern   *RegistryProviderEndpointPattern   `json:"endpoint_pattern,omitempty"`
	CredentialPattern *RegistryProviderCredentialPattern `json:"credential_pattern,omitempty"`
}

func (a *API) replicationInfoRoutes() []route {
	if a.cfg.repl.r == nil {
		return nil
	}
	return []route{
		{method: http.MethodGet, path: "/registries/{id}/info", id: "getRegistryInfo", tag: "registry",
			summary: "The filters and triggers replication supports with a registry; id 0 is this server (system admins)",
			resp:    RegistryInfo{}, handle: a.registryInfo},
		{method: http.MethodGet, path: "/replication/adapterinfos", id: "listRegistryProviderInfos", tag: "registry",
			summary: "How the URL and credential of each registry type are given (system admins)",
			resp:    map[string]RegistryProviderInfo{}, handle: a.registryProviderInfos},
	}
}

// registryInfoOf is what replication supports with a registry of type
// typ: every filter and trigger, whatever the type (replication treats all
// registries alike).
func registryInfoOf(typ, description string) RegistryInfo {
	styles := []FilterStyle{}
	for _, f := range []replicate.FilterType{replicate.FilterName, replicate.FilterTag, replicate.FilterLabel, replicate.FilterResource} {
		styles = append(styles, FilterStyle{Type: string(f), Style: "input", Values: []string{}})
	}
	return RegistryInfo{Type: typ, Description: description, SupportedResourceFilters: styles,
		SupportedTriggers: []string{string(replicate.TriggerManual), string(replicate.TriggerScheduled), string(replicate.TriggerEvent)}}
}

func (a *API) registryInfo(c *call) error {
	if err := c.configAdmin(rbac.ActionRead); err != nil {
		return err
	}
	if c.r.PathValue("id") == "0" {
		return c.json(http.StatusOK, registryInfoOf(replicate.TypeHarbor, "this server"))
	}
	id, err := c.pathID("id")
	if err != nil {
		return err
	}
	e, err := a.cfg.repl.r.Endpoint(c.ctx(), id)
	if err != nil {
		return err
	}
	typ := e.Type
	if typ == "" {
		typ = replicate.TypeDistribution
	}
	return c.json(http.StatusOK, registryInfoOf(typ, e.Description))
}

func (a *API) registryProviderInfos(c *call) error {
	if err := c.configAdmin(rbac.ActionList); err != nil {
		return err
	}
	out := map[string]RegistryProviderInfo{}
	for _, typ := range replicate.EndpointTypes() {
		ep := &RegistryProviderEndpointPattern{EndpointType: "EndpointPatternTypeStandard", Endpoints: []RegistryEndpoint{}}
		if typ == replicate.TypeDockerHub {
			ep = &RegistryProviderEndpointPattern{EndpointType: "EndpointPatternTypeFix",
				Endpoints: []RegistryEndpoint{{Key: "hub.docker.com", Value: "https://hub.docker.com"}}}
		}
		out[typ] = RegistryProviderInfo{EndpointPattern: ep, CredentialPattern: &RegistryProviderCredentialPattern{
			AccessKeyType: "AccessKeyTypeStandard", AccessSecretType: "AccessSecretTypePass"}}
	}
	return c.json(http.StatusOK, out)
}
