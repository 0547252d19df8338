// Package slapdtest starts a real OpenLDAP slapd for tests: a throw-away
// server in a test's temporary directory, listening on free 127.0.0.1 ports
// (ldap:// with StartTLS, and ldaps://), with a freshly generated CA and
// server certificate, configured through cn=config (loaded with
// `slapd -Tadd -n0`, i.e. slapadd) and an LDIF database seeded with the
// people and groups in data.go.
//
// When slapd is not installed the test is skipped loudly, or fails when the
// CI environment variable is "true" (CI must install slapd).
package slapdtest

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
)

// InstallHint tells a person how to get slapd.
const InstallHint = "apt-get install slapd ldap-utils (Debian/Ubuntu) or run .ci/run"

// Server is a running slapd.
type Server struct {
	URL      string // ldap://127.0.0.1:<port> (StartTLS available)
	LDAPSURL string // ldaps://127.0.0.1:<port>
	CA       *CA    // issued the server certificate (for 127.0.0.1, ::1, localhost)
	Dir      string

	bin     string
	confDir string
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{}
}

// Start starts slapd and registers its shutdown with t.Cleanup.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := findSlapd(t)
	dir := t.TempDir()
	s := &Server{
		Dir:     dir,
		CA:      NewCA(t, "berth slapdtest CA"),
		confDir: filepath.Join(dir, "slapd.d"),
		logPath: filepath.Join(dir, "slapd.log"),
	}
	s.bin = unconfined(t, bin, dir)
	certPEM, keyPEM := s.CA.issueServer(t)
	mustWrite(t, filepath.Join(dir, "ca.pem"), s.CA.CertPEM, 0o644)
	mustWrite(t, filepath.Join(dir, "server.pem"), certPEM, 0o644)
	mustWrite(t, filepath.Join(dir, "server.key"), keyPEM, 0o600)
	for _, d := range []string{s.confDir, filepath.Join(dir, "data")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatalf("slapdtest: %v", err)
		}
	}
	mustWrite(t, filepath.Join(dir, "config.ldif"), []byte(configLDIF(t, dir)), 0o600)
	mustWrite(t, filepath.Join(dir, "seed.ldif"), []byte(seedLDIF()), 0o600)
	s.slapadd(t, "-n0", filepath.Join(dir, "config.ldif"))
	s.slapadd(t, "-b"+BaseDN, filepath.Join(dir, "seed.ldif"))

	var lastErr error
	for attempt := 0; attempt < 3; attempt++ { // a free port may be taken between probe and bind
		if lastErr = s.launch(t); lastErr == nil {
			return s
		}
	}
	t.Fatalf("slapdtest: slapd did not start: %v%s\n--- slapd log ---\n%s", lastErr, confinementHint(s.Log()), s.Log())
	return nil
}

// slapadd loads an LDIF file offline (slapd -Tadd is slapadd).
func (s *Server) slapadd(t testing.TB, db, ldif string) {
	t.Helper()
	out, err := exec.Command(s.bin, "-Tadd", "-F", s.confDir, db, "-l", ldif).CombinedOutput()
	if err != nil {
		t.Fatalf("slapdtest: slapadd %s %s: %v%s\n%s", db, filepath.Base(ldif), err, confinementHint(string(out)), out)
	}
}

func (s *Server) launch(t testing.TB) error {
	t.Helper()
	ldapPort, ldapsPort := freePort(t), freePort(t)
	s.URL = fmt.Sprintf("ldap://127.0.0.1:%d", ldapPort)
	s.LDAPSURL = fmt.Sprintf("ldaps://127.0.0.1:%d", ldapsPort)
	logFile, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer logFile.Close()
	// -d 256 (stats): stay in the foreground and log every operation to the
	// file, written before the operation's response is sent.
	cmd := exec.Command(s.bin, "-F", s.confDir, "-h", s.URL+"/ "+s.LDAPSURL+"/", "-d", "256")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s.cmd, s.exited = cmd, exited
	t.Cleanup(s.Stop)

	deadline := time.Now().Add(20 * time.Second)
	for {
		err := s.probe()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("slapd exited: %v (last probe: %v)", cmd.ProcessState, err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Stop()
			return fmt.Errorf("not ready after 20s: %w", err)
		}
	}
}

// probe binds with the service account on both listeners.
func (s *Server) probe() error {
	for _, u := range []string{s.URL, s.LDAPSURL} {
		conn, err := goldap.DialURL(u,
			goldap.DialWithDialer(&net.Dialer{Timeout: time.Second}),
			goldap.DialWithTLSConfig(s.CA.TLSConfig()))
		if err != nil {
			return err
		}
		conn.SetTimeout(time.Second)
		err = conn.Bind(SearchDN, SearchPassword)
		conn.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// Stop stops slapd: SIGTERM, then SIGKILL after five seconds. It is
// idempotent and registered with t.Cleanup by Start.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

// Log returns slapd's stats log so far.
func (s *Server) Log() string {
	b, _ := os.ReadFile(s.logPath)
	return string(b)
}

var bindLine = regexp.MustCompile(`conn=\d+ op=\d+ BIND dn="([^"]*)" method=`)

// BindDNs lists, in order, the DN of every bind request slapd has received.
// A request is logged before it is answered, so once a client call returns
// its bind is listed.
func (s *Server) BindDNs() []string {
	var dns []string
	for _, m := range bindLine.FindAllStringSubmatch(s.Log(), -1) {
		dns = append(dns, m[1])
	}
	return dns
}

// slapdCandidates are where slapd lives when it is not on PATH (Debian
// keeps it in /usr/sbin, which is not on every user's PATH).
var slapdCandidates = []string{"/usr/sbin/slapd", "/usr/local/sbin/slapd", "/usr/libexec/slapd",
	"/usr/local/libexec/slapd", "/opt/homebrew/opt/openldap/libexec/slapd"}

// loud receives the skip notice too, so that it shows outside -v output.
var loud io.Writer = os.Stderr

// findSlapd returns the slapd binary ($SLAPD, PATH, then slapdCandidates),
// or skips the test loudly, or fails it when CI=true.
func findSlapd(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("SLAPD"); p != "" {
		return p
	}
	if p, err := exec.LookPath("slapd"); err == nil {
		return p
	}
	for _, p := range slapdCandidates {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("slapd is not installed but CI=true: %s", InstallHint)
		return ""
	}
	msg := "SKIPPING: slapd not installed; " + InstallHint
	fmt.Fprintln(loud, "!!!!! "+msg+" !!!!!")
	t.Skip(msg)
	return ""
}

// unconfined works around Ubuntu's AppArmor profile for /usr/sbin/slapd,
// which forbids reading a test's temporary directory: profiles attach by
// path, so a copy of the binary runs unconfined. BERTH_SLAPD_COPY=1 forces
// the copy (to exercise this path where AppArmor is absent).
func unconfined(t testing.TB, bin, dir string) string {
	t.Helper()
	if os.Getenv("BERTH_SLAPD_COPY") != "1" && !apparmorConfinesSlapd() {
		return bin
	}
	dst := filepath.Join(dir, "bin", "slapd")
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatalf("slapdtest: %v", err)
	}
	if err := copyFile(bin, dst); err != nil {
		t.Fatalf("slapdtest: copy %s out of AppArmor's reach: %v", bin, err)
	}
	return dst
}

// confinementHint explains a "Permission denied" from slapd.
func confinementHint(log string) string {
	if !strings.Contains(log, "Permission denied") {
		return ""
	}
	return " (slapd was denied access to its temporary directory: an AppArmor or SELinux profile " +
		"confining slapd? BERTH_SLAPD_COPY=1 runs an unconfined copy of the binary)"
}

func apparmorConfinesSlapd() bool {
	enabled, err := os.ReadFile("/sys/module/apparmor/parameters/enabled")
	if err != nil || !bytes.HasPrefix(bytes.TrimSpace(enabled), []byte("Y")) {
		return false
	}
	_, err = os.Stat("/etc/apparmor.d/usr.sbin.slapd")
	return err == nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func configLDIF(t testing.TB, dir string) string {
	t.Helper()
	schemaDir := findSchemaDir(t)
	var b strings.Builder
	fmt.Fprintf(&b, `dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: %[1]s/slapd.pid
olcArgsFile: %[1]s/slapd.args
olcTLSCACertificateFile: %[1]s/ca.pem
olcTLSCertificateFile: %[1]s/server.pem
olcTLSCertificateKeyFile: %[1]s/server.key
olcTLSVerifyClient: never

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

`, dir)
	for _, name := range []string{"core", "cosine", "inetorgperson"} {
		schema, err := os.ReadFile(filepath.Join(schemaDir, name+".ldif"))
		if err != nil {
			t.Fatalf("slapdtest: schema: %v", err)
		}
		b.Write(bytes.TrimSpace(schema))
		b.WriteString("\n\n")
	}
	fmt.Fprintf(&b, `dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by * none

dn: olcDatabase={1}ldif,cn=config
objectClass: olcDatabaseConfig
objectClass: olcLdifConfig
olcDatabase: {1}ldif
olcDbDirectory: %s/data
olcSuffix: %s
olcRootDN: %s
olcRootPW: %s
olcAccess: {0}to attrs=userPassword by anonymous auth by * none
olcAccess: {1}to * by * read
`, dir, BaseDN, AdminDN, SSHA(AdminPassword))
	return b.String()
}

func findSchemaDir(t testing.TB) string {
	t.Helper()
	for _, d := range []string{"/etc/ldap/schema", "/etc/openldap/schema",
		"/usr/local/etc/openldap/schema", "/opt/homebrew/etc/openldap/schema"} {
		if _, err := os.Stat(filepath.Join(d, "inetorgperson.ldif")); err == nil {
			return d
		}
	}
	t.Fatalf("slapdtest: OpenLDAP schema LDIFs (core, cosine, inetorgperson) not found; %s", InstallHint)
	return ""
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("slapdtest: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func mustWrite(t testing.TB, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatalf("slapdtest: %v", err)
	}
}
