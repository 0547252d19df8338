// Package scan finds known vulnerabilities in registry artifacts and acts on
// them: the Scanner interface and report model, report storage, scan jobs
// (on push, scheduled, manual), the severity gate with CVE allowlists, and
// SBOM referrers.
//
// Scanners live in sub-packages so their weight stays out of this one:
// scan/trivy embeds Trivy (its own Go module), scan/adapter speaks Harbor's
// Pluggable Scanner API as a client and as a server.
package scan
