package api

import "time"

// ScanDataExportRequest selects what a scan data export covers.
type ScanDataExportRequest struct {
	JobName      string  `json:"job_name,omitempty" doc:"a name for the export, at most 255 characters"`
	Projects     []int64 `json:"projects" doc:"the ids of the projects to export, 1 to 10; the caller must be able to read their scans"`
	Labels       []int64 `json:"labels" doc:"keep artifacts carrying any of these labels; empty: all"`
	Repositories string  `json:"repositories,omitempty" doc:"a doublestar pattern over repository names without the project (\"{app,web/**}\"); empty: all"`
	CVEIDs       string  `json:"cveIds,omitempty" doc:"CVE IDs separated by commas, optionally in braces (\"{CVE-2024-1,CVE-2024-2}\"); empty: all"`
	Tags         string  `json:"tags,omitempty" doc:"a doublestar pattern over tags (\"{v1,v2*}\"): keep artifacts with a matching tag; empty: all, untagged too"`
}

// ScanDataExportJob names the execution an export started.
type ScanDataExportJob struct {
	ID int64 `json:"id"`
}

// ScanDataExportExecution is one export.
type ScanDataExportExecution struct {
	ID          int64     `json:"id"`
	UserID      int64     `json:"user_id,omitempty" doc:"the owner's user_id; absent once the account is gone"`
	UserName    string    `json:"user_name"`
	Status      string    `json:"status" doc:"Running, Success or Error"`
	StatusText  string    `json:"status_text" doc:"why it failed"`
	Trigger     string    `json:"trigger" doc:"MANUAL"`
	StartTime   time.Time `json:"start_time"`
	EndTime     time.Time `json:"end_time,omitzero"`
	FilePresent bool      `json:"file_present" doc:"the CSV can be downloaded"`
	JobName     string    `json:"job_name,omitempty" doc:"berth: the request's job_name"`
	Records     int       `json:"records" doc:"berth: findings in the file"`
}

// ScanDataExportExecutionList is the caller's exports, newest first.
type ScanDataExportExecutionList struct {
	Items []ScanDataExportExecution `json:"items"`
}
