package api

import (
	"fmt"
	"strconv"
	"time"

	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/scan"
)

// Project is a project as Harbor shows it.
type Project struct {
	ProjectID          int64           `json:"project_id"`
	Name               string          `json:"name"`
	OwnerName          string          `json:"owner_name" doc:"Who created the project"`
	CreationTime       time.Time       `json:"creation_time"`
	UpdateTime         time.Time       `json:"update_time"`
	RepoCount          int             `json:"repo_count"`
	ChartCount         int             `json:"chart_count"`
	CurrentUserRoleIDs []int           `json:"current_user_role_ids" doc:"Role IDs the caller holds in the project (1 project admin, 2 developer, 3 guest, 4 maintainer, 5 limited guest)"`
	Metadata           ProjectMetadata `json:"metadata"`
	StorageLimit       int64           `json:"storage_limit" doc:"berth: the project's storage quota in bytes, -1 for none"`
	RegistryID         int64           `json:"registry_id,omitempty" doc:"The registry a proxy cache project caches; absent for other projects"`
}

// ProjectMetadata holds a project's settings as Harbor spells them:
// booleans as the strings "true" and "false". Absent fields are left as
// they are on update.
type ProjectMetadata struct {
	Public                   *string `json:"public,omitempty"`
	EnableContentTrust       *string `json:"enable_content_trust,omitempty" doc:"\"true\" while the project's content trust policy (/trust/policy) requires signatures on pull; setting it writes that policy"`
	EnableContentTrustCosign *string `json:"enable_content_trust_cosign,omitempty" doc:"\"true\" while that policy requires cosign signatures; setting it writes that policy"`
	ContentTrust             *string `json:"content_trust,omitempty" doc:"berth: the content trust policy in force by name: \"\" (off), enabled, cosign, notation or signers (read-only; set it with /trust/policy); wins over the two above"`
	PreventVul               *string `json:"prevent_vul,omitempty"`
	Severity                 *string `json:"severity,omitempty" doc:"none, unknown, negligible, low, medium, high or critical"`
	AutoScan                 *string `json:"auto_scan,omitempty"`
	ReuseSysCVEAllowlist     *string `json:"reuse_sys_cve_allowlist,omitempty"`
	AutoSBOMGeneration       *string `json:"auto_sbom_generation,omitempty" doc:"\"true\" generates an SBOM of every artifact pushed"`
	ProxySpeedKB             *string `json:"proxy_speed_kb,omitempty" doc:"Proxy cache projects: the download rate from the upstream in KiB/s, -1 for no limit"`
	RetentionID              *string `json:"retention_id,omitempty" doc:"read-only: the project's tag retention policy (its id is the project's), when it has one"`
}

// ProjectReq creates or updates a project.
type ProjectReq struct {
	ProjectName  string           `json:"project_name" doc:"Required on create; must match on update"`
	Public       *bool            `json:"public,omitempty" doc:"Visibility; metadata.public wins when both are given"`
	Metadata     *ProjectMetadata `json:"metadata,omitempty"`
	StorageLimit *int64           `json:"storage_limit,omitempty" doc:"Storage quota in bytes, -1 for none"`
	RegistryID   *int64           `json:"registry_id,omitempty" doc:"On create (system administrators only): make the project a proxy cache of this registry (see /registries); it cannot change later"`
}

func boolString(b bool) *string {
	s := strconv.FormatBool(b)
	return &s
}

func projectJSON(p project.Project, repos int, roles []int) Project {
	md := p.Metadata
	sev := md.Severity
	if roles == nil {
		roles = []int{}
	}
	return Project{
		ProjectID: p.ID, Name: p.Name, OwnerName: p.Owner, CreationTime: p.CreatedAt, UpdateTime: p.UpdatedAt,
		RepoCount: repos, CurrentUserRoleIDs: roles, StorageLimit: md.StorageQuota, RegistryID: md.RegistryID,
		Metadata: ProjectMetadata{
			Public:               boolString(p.Public),
			PreventVul:           boolString(md.PreventVulnerable),
			Severity:             &sev,
			AutoScan:             boolString(md.AutoScan),
			ReuseSysCVEAllowlist: boolString(md.ReuseSysCVEAllowlist),
			AutoSBOMGeneration:   boolString(md.Extra[autoSBOMKey] == "true"),
			ProxySpeedKB:         proxySpeed(md),
		},
	}
}

func proxySpeed(md project.Metadata) *string {
	if md.RegistryID == 0 {
		return nil
	}
	v := md.ProxySpeedKB
	if v == 0 {
		v = -1
	}
	s := strconv.FormatInt(v, 10)
	return &s
}

// apply copies the fields req sets into p.
func (req ProjectReq) apply(p *project.Project) error {
	if req.RegistryID != nil && *req.RegistryID != p.Metadata.RegistryID {
		if p.ID != 0 {
			return badRequest("registry_id cannot change: a project is a proxy cache from its creation or never")
		}
		p.Metadata.RegistryID = *req.RegistryID
	}
	if req.Public != nil {
		p.Public = *req.Public
	}
	if req.StorageLimit != nil {
		p.Metadata.StorageQuota = *req.StorageLimit
	}
	md := req.Metadata
	if md == nil {
		return nil
	}
	for _, f := range []struct {
		name string
		in   *string
		out  *bool
	}{
		{"public", md.Public, &p.Public},
		{"auto_scan", md.AutoScan, &p.Metadata.AutoScan},
		{"prevent_vul", md.PreventVul, &p.Metadata.PreventVulnerable},
		{"reuse_sys_cve_allowlist", md.ReuseSysCVEAllowlist, &p.Metadata.ReuseSysCVEAllowlist},
	} {
		if f.in == nil {
			continue
		}
		b, err := strconv.ParseBool(*f.in)
		if err != nil {
			return badRequest(fmt.Sprintf("metadata.%s %q: want \"true\" or \"false\"", f.name, *f.in))
		}
		*f.out = b
	}
	if md.Severity != nil {
		p.Metadata.Severity = *md.Severity
	}
	if md.ProxySpeedKB != nil {
		v, err := strconv.ParseInt(*md.ProxySpeedKB, 10, 64)
		if err != nil || v < -1 {
			return badRequest(fmt.Sprintf("metadata.proxy_speed_kb %q: want KiB per second, or -1 for no limit", *md.ProxySpeedKB))
		}
		if p.Metadata.RegistryID == 0 && v != -1 && v != 0 {
			return badRequest("metadata.proxy_speed_kb is for proxy cache projects (registry_id) only")
		}
		if p.Metadata.RegistryID != 0 {
			p.Metadata.ProxySpeedKB = v
		}
	}
	if v := md.AutoSBOMGeneration; v != nil {
		on, err := strconv.ParseBool(*v)
		if err != nil {
			return badRequest(fmt.Sprintf("metadata.auto_sbom_generation %q: want \"true\" or \"false\"", *v))
		}
		setExtra(&p.Metadata, autoSBOMKey, on)
	}
	// Content trust: see project_trust.go.
	return nil
}

// autoSBOMKey is the project metadata the scanner reads, kept in
// Metadata.Extra.
const autoSBOMKey = scan.AutoSBOMKey

// setExtra sets a boolean setting kept in Metadata.Extra: "true", or
// absent for false.
func setExtra(md *project.Metadata, key string, on bool) {
	if !on {
		delete(md.Extra, key)
		return
	}
	if md.Extra == nil {
		md.Extra = map[string]string{}
	}
	md.Extra[key] = "true"
}
