package api

// SecuritySummary counts the findings of every image's newest report
// (Harbor's security hub summary).
type SecuritySummary struct {
	TotalArtifact      int64               `json:"total_artifact" doc:"scannable images in the registry's projects"`
	ScannedCnt         int64               `json:"scanned_cnt" doc:"of which have a vulnerability report"`
	TotalVuls          int64               `json:"total_vuls" doc:"findings of all reports"`
	CriticalCnt        int64               `json:"critical_cnt"`
	HighCnt            int64               `json:"high_cnt"`
	MediumCnt          int64               `json:"medium_cnt"`
	LowCnt             int64               `json:"low_cnt"`
	NoneCnt            int64               `json:"none_cnt" doc:"findings of severity None or Negligible"`
	UnknownCnt         int64               `json:"unknown_cnt"`
	FixableCnt         int64               `json:"fixable_cnt"`
	DangerousCves      []DangerousCVE      `json:"dangerous_cves,omitempty" doc:"with with_dangerous_cve: the 5 critical findings of highest CVSS v3 score"`
	DangerousArtifacts []DangerousArtifact `json:"dangerous_artifacts,omitempty" doc:"with with_dangerous_artifact: the 5 images with most critical, then high, then medium findings"`
}

// DangerousCVE is one of the most dangerous findings.
type DangerousCVE struct {
	CVEID       string  `json:"cve_id"`
	Severity    string  `json:"severity"`
	CvssScoreV3 float64 `json:"cvss_score_v3"`
	Desc        string  `json:"desc"`
	Package     string  `json:"package"`
	Version     string  `json:"version"`
}

// DangerousArtifact is one of the images with the most severe findings.
type DangerousArtifact struct {
	ProjectID      int64  `json:"project_id"`
	RepositoryName string `json:"repository_name"`
	Digest         string `json:"digest"`
	CriticalCnt    int64  `json:"critical_cnt"`
	HighCnt        int64  `json:"high_cnt"`
	MediumCnt      int64  `json:"medium_cnt"`
}

// SecurityVulnerability is one finding in one image, as the security
// hub's vulnerability listing shows it (Harbor's VulnerabilityItem of
// /security/vul).
type SecurityVulnerability struct {
	ProjectID      int64    `json:"project_id"`
	RepositoryName string   `json:"repository_name"`
	Digest         string   `json:"digest"`
	Tags           []string `json:"tags" doc:"the image's tags, with with_tag=true; else empty"`
	CVEID          string   `json:"cve_id"`
	Severity       string   `json:"severity"`
	CvssV3Score    float64  `json:"cvss_v3_score,omitempty"`
	Package        string   `json:"package"`
	Version        string   `json:"version"`
	FixedVersion   string   `json:"fixed_version,omitempty"`
	Desc           string   `json:"desc,omitempty"`
	Links          []string `json:"links"`
}
