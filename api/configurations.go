package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/berthlabs/berth/rbac"
)

// Settings keeps the settings changed through PUT /configurations, so
// that they survive restarts and apply on every node sharing the
// database: the API reads them on each use. The server implements it
// with a table.
type Settings interface {
	// Settings returns every stored setting, by key.
	Settings(ctx context.Context) (map[string]string, error)
	// SetSettings stores the given settings, all or none.
	SetSettings(ctx context.Context, changes map[string]string) error
}

// WithSettings makes project_creation_restriction and
// robot_token_duration editable through PUT /configurations, stored in s.
// A stored value overrides WithProjectCreationRestriction's and
// WithDefaultRobotDuration's, which stay the defaults. Without it every
// setting is reported read-only.
func WithSettings(s Settings) Option { return func(c *config) { c.settings = s } }

// WithReportedConfig reports a setting of the server's configuration file
// under GET /configurations, read-only: key is one of
// ConfigurationsResponse's, value a string, bool or integer as the key's
// item holds. Never report a secret.
func WithReportedConfig(key string, value any) Option {
	return func(c *config) { c.reported = append(c.reported, reportedConfig{key, value}) }
}

type reportedConfig struct {
	key   string
	value any
}

// Keys PUT /configurations changes.
const (
	keyCreation  = "project_creation_restriction"
	keyRobotDays = "robot_token_duration"
)

// checkReported refuses reported settings of unknown keys or wrong kinds.
func (c *config) checkReported() []error {
	keys := configKeys()
	var errs []error
	for _, r := range c.reported {
		kind, ok := keys[r.key]
		if !ok || r.key == keyCreation || r.key == keyRobotDays {
			errs = append(errs, fmt.Errorf("api: reported setting %q: not a setting the API reports from the configuration file", r.key))
			continue
		}
		var got string
		switch r.value.(type) {
		case string:
			got = kindString
		case bool:
			got = kindBool
		case int, int64:
			got = kindInt
		}
		if got != kind {
			errs = append(errs, fmt.Errorf("api: reported setting %q: %T, want a %s", r.key, r.value, kind))
		}
	}
	return errs
}

func (a *API) configurationRoutes() []route {
	return []route{
		{method: http.MethodGet, path: "/configurations", id: "getConfigurations", tag: "configure",
			summary: "The server's settings, each with whether PUT may change it (system admins)",
			resp:    ConfigurationsResponse{}, handle: a.getConfigurations},
		{method: http.MethodPut, path: "/configurations", id: "updateConfigurations", tag: "configure",
			summary: "Change project_creation_restriction and robot_token_duration (system admins); other keys are read-only",
			body:    Configurations{}, handle: a.updateConfigurations},
	}
}

// configItem is one reported setting.
type configItem struct {
	Value    any  `json:"value"`
	Editable bool `json:"editable"`
}

// configItems are the settings as GET /configurations reports them.
func (a *API) configItems(ctx context.Context) (map[string]configItem, error) {
	creation, err := a.creationRestriction(ctx)
	if err != nil {
		return nil, err
	}
	days, err := a.robotDuration(ctx)
	if err != nil {
		return nil, err
	}
	editable := a.cfg.settings != nil
	out := map[string]configItem{
		keyCreation:                {creation, editable},
		keyRobotDays:               {int64(days), editable},
		"auth_mode":                {a.cfg.authMode, false},
		"primary_auth_mode":        {false, false},
		"robot_name_prefix":        {"robot$", false},
		"self_registration":        {false, false},
		"read_only":                {false, false},
		"notification_enable":      {a.cfg.webhooks != nil, false},
		"quota_per_project_enable": {true, false},
		"storage_per_project":      {a.cfg.defaultQuota, false},
	}
	for _, r := range a.cfg.reported {
		v := r.value
		if i, ok := v.(int); ok {
			v = int64(i)
		}
		out[r.key] = configItem{v, false}
	}
	return out, nil
}

func (a *API) getConfigurations(c *call) error {
	if err := c.configAdmin(rbac.ActionRead); err != nil {
		return err
	}
	items, err := a.configItems(c.ctx())
	if err != nil {
		return err
	}
	return c.json(http.StatusOK, items)
}

func (a *API) updateConfigurations(c *call) error {
	if err := c.configAdmin(rbac.ActionUpdate); err != nil {
		return err
	}
	var req map[string]json.RawMessage
	if err := decodeBody(c.w, c.r, &req); err != nil {
		return err
	}
	items, err := a.configItems(c.ctx())
	if err != nil {
		return err
	}
	keys := configKeys()
	changes := map[string]string{}
	var readOnly, unknown []string
	for k, raw := range req {
		item, reported := items[k]
		switch {
		case reported && item.Editable:
			v, err := editableValue(k, raw)
			if err != nil {
				return err
			}
			changes[k] = v
		case reported && sameJSON(raw, item.Value):
			// Repeats the current value: clients send back what they read.
		case reported, keys[k] != "", isSecretKey(k):
			readOnly = append(readOnly, k)
		default:
			unknown = append(unknown, k)
		}
	}
	slices.Sort(readOnly)
	slices.Sort(unknown)
	var msgs []string
	if len(unknown) > 0 {
		msgs = append(msgs, "unknown settings: "+strings.Join(unknown, ", "))
	}
	if len(readOnly) > 0 {
		msgs = append(msgs, "read-only settings (set by the server's configuration, or not supported by berth): "+
			strings.Join(readOnly, ", "))
	}
	if len(msgs) > 0 {
		return badRequest(strings.Join(msgs, "; "))
	}
	if len(changes) > 0 {
		if err := a.cfg.settings.SetSettings(c.ctx(), changes); err != nil {
			return err
		}
	}
	return c.ok()
}

// isSecretKey names the secrets Harbor's Configurations may carry: never
// reported, never changed here.
func isSecretKey(k string) bool {
	return k == "ldap_search_password" || k == "oidc_client_secret" || k == "uaa_client_secret"
}

// sameJSON reports whether raw is the JSON of v.
func sameJSON(raw json.RawMessage, v any) bool {
	b, err := json.Marshal(v)
	if err != nil {
		return false
	}
	var compact bytes.Buffer
	if json.Compact(&compact, raw) != nil {
		return false
	}
	return bytes.Equal(compact.Bytes(), b)
}

// editableValue checks a new value of an editable setting and returns it
// as stored.
func editableValue(key string, raw json.RawMessage) (string, error) {
	switch key {
	case keyCreation:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil || (s != CreationEveryone && s != CreationAdminOnly) {
			return "", badRequest(fmt.Sprintf("%s: want %q or %q", key, CreationEveryone, CreationAdminOnly))
		}
		return s, nil
	case keyRobotDays:
		var n int64
		if err := json.Unmarshal(raw, &n); err != nil {
			return "", badRequest(fmt.Sprintf("%s: want a whole number of days", key))
		}
		if n != -1 && (n < 1 || n > maxRobotDays) {
			return "", badRequest(fmt.Sprintf("%s %d: want -1 (never expire) or 1 to %d days", key, n, maxRobotDays))
		}
		return strconv.FormatInt(n, 10), nil
	}
	return "", fmt.Errorf("api: setting %q is not editable", key) // a bug: configItems said it was
}

// stored returns a stored setting, if any.
func (a *API) stored(ctx context.Context, key string) (string, bool, error) {
	if a.cfg.settings == nil {
		return "", false, nil
	}
	all, err := a.cfg.settings.Settings(ctx)
	if err != nil {
		return "", false, err
	}
	v, ok := all[key]
	return v, ok, nil
}

// creationRestriction is who may create projects now: the stored setting,
// or WithProjectCreationRestriction's.
func (a *API) creationRestriction(ctx context.Context) (string, error) {
	v, ok, err := a.stored(ctx, keyCreation)
	if err != nil || !ok || (v != CreationEveryone && v != CreationAdminOnly) {
		return a.cfg.creation, err
	}
	return v, nil
}

// robotDuration is the lifetime in days of robots created without one:
// the stored setting, or WithDefaultRobotDuration's.
func (a *API) robotDuration(ctx context.Context) (int, error) {
	v, ok, err := a.stored(ctx, keyRobotDays)
	if err != nil || !ok {
		return a.cfg.robotDays, err
	}
	n, err := strconv.Atoi(v)
	if err != nil || robotDays(n) != nil {
		return a.cfg.robotDays, nil
	}
	return n, nil
}
