package server_test

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/server"
)

func load(t *testing.T, args, env []string) (server.Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return server.LoadConfig(fs, args, env)
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "berth.yaml")
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

// Flags win over the environment, which wins over the file, which wins
// over the defaults.
func TestLoadConfigPrecedence(t *testing.T) {
	file := writeFile(t, `
addr: ":6000"
data: /var/lib/berth
upload_max_age: 36h
allowed_origins: [https://ui.example.com, https://other.example.com]
tls:
  cert_file: /etc/berth/tls.crt
  key_file: /etc/berth/tls.key
scan:
  timeout: 5m
  unscanned: deny
replication:
  enabled: false
`)
	cfg, err := load(t, []string{"-config", file, "-addr", ":7000", "-replication=true"},
		[]string{"BERTH_ADDR=:6500", "BERTH_SCAN_TIMEOUT=7m", "BERTH_TLS_KEY_FILE=/run/key", "BERTH_ADMIN_PASSWORD=from-env"})
	require.NoError(t, err)
	assert.Equal(t, ":7000", cfg.Addr, "flag over env over file")
	assert.Equal(t, "/var/lib/berth", cfg.DataDir, "file over default")
	assert.Equal(t, 36*time.Hour, cfg.UploadMaxAge)
	assert.Equal(t, []string{"https://ui.example.com", "https://other.example.com"}, cfg.AllowedOrigins)
	assert.Equal(t, "/etc/berth/tls.crt", cfg.TLS.CertFile)
	assert.Equal(t, "/run/key", cfg.TLS.KeyFile, "env over file")
	assert.Equal(t, 7*time.Minute, cfg.Scan.Timeout)
	assert.Equal(t, "deny", cfg.Scan.Unscanned)
	assert.Equal(t, "from-env", cfg.AdminPassword)
	assert.True(t, cfg.Replication.Enabled, "-replication=true over the file's false")
	assert.True(t, cfg.Trust.Enabled, "defaults stay")
	assert.Equal(t, server.DefaultConfig().MaxManifestBytes, cfg.MaxManifestBytes)

	cfg, err = load(t, []string{"-trusted-proxies", "10.0.0.0/8, 192.0.2.1", "-content-trust=false"}, []string{"BERTH_CONFIG=" + file})
	require.NoError(t, err)
	assert.Equal(t, []string{"10.0.0.0/8", "192.0.2.1"}, cfg.TrustedProxies)
	assert.False(t, cfg.Trust.Enabled)
	assert.Equal(t, ":6000", cfg.Addr, "BERTH_CONFIG names the file")
}

func TestLoadConfigRefusesMistakes(t *testing.T) {
	for _, tt := range []struct {
		name, file string
		args, env  []string
		want       string
	}{
		{"unknown key", "addr: x\nadress: y\n", nil, nil, `line 2: unknown key "adress"`},
		{"unknown nested key", "tls:\n  cert: x\n", nil, nil, `line 2: unknown key "tls.cert"`},
		{"twice", "addr: a\naddr: b\n", nil, nil, `line 2: key "addr" given twice`},
		{"bad duration", "scan:\n  timeout: soon\n", nil, nil, "line 2: scan.timeout"},
		{"section as value", "tls: yes\n", nil, nil, "line 1: tls must be a mapping"},
		{"bad env", "", nil, []string{"BERTH_AUTH=maybe"}, "BERTH_AUTH"},
		{"bad flag", "", []string{"-upload-max-age", "forever"}, nil, "upload-max-age"},
		{"unknown flag", "", []string{"-adress", "x"}, nil, "adress"},
		{"positional", "", []string{"serve"}, nil, `unexpected argument "serve"`},
		{"missing file", "", []string{"-config", "/nonexistent/berth.yaml"}, nil, "no such file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if tt.file != "" {
				args = append([]string{"-config", writeFile(t, tt.file)}, args...)
			}
			_, err := load(t, args, tt.env)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// The printed configuration masks secrets and loads back to the same
// configuration.
func TestConfigPrintRoundTrips(t *testing.T) {
	cfg, err := load(t, []string{"-admin-password", "s3cret-admin", "-allowed-origins", "https://a.example", "-scan-timeout", "90s",
		"-content-trust=false"}, []string{"BERTH_LDAP_BIND_PASSWORD=bind-s3cret"})
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, cfg.WriteYAML(&out))
	assert.NotContains(t, out.String(), "s3cret")
	assert.Contains(t, out.String(), "admin_password: '********'")
	assert.Contains(t, out.String(), "# password of the first system admin")

	again, err := load(t, []string{"-config", writeFile(t, out.String())}, nil)
	require.NoError(t, err)
	again.AdminPassword, again.LDAP.BindPassword = cfg.AdminPassword, cfg.LDAP.BindPassword
	assert.Equal(t, cfg, again)
}

// berth.example.yaml is the default configuration, annotated: it is
// written by WriteYAML, so every key is in it with its help.
func TestExampleConfigIsCurrent(t *testing.T) {
	var want bytes.Buffer
	want.WriteString(server.ExampleConfigHeader)
	require.NoError(t, server.DefaultConfig().WriteYAML(&want))
	got, err := os.ReadFile("../berth.example.yaml")
	if err != nil || !bytes.Equal(want.Bytes(), got) {
		if os.Getenv("BERTH_UPDATE_EXAMPLE") == "1" {
			require.NoError(t, os.WriteFile("../berth.example.yaml", want.Bytes(), 0o644))
			return
		}
		t.Fatalf("berth.example.yaml is out of date: run BERTH_UPDATE_EXAMPLE=1 go test ./server -run TestExampleConfigIsCurrent")
	}
	_, err = load(t, []string{"-config", "../berth.example.yaml"}, nil)
	require.NoError(t, err)
}
