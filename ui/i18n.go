package ui

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strings"
)

// Languages the portal speaks; the first is the default.
var languages = [...]string{"en-US", "zh-CN"}

// langCookie remembers the language a user chose.
const langCookie = "berth-lang"

// catalog holds every visible string of the portal, per language:
// messages[key][lang]. Each page's strings live in i18n/<area>.json as
// {"key": {"en-US": "...", "zh-CN": "..."}}; a key defined twice, or
// missing a language, stops New.
type catalog struct {
	messages map[string]map[string]string
}

func loadCatalog(fsys fs.FS) (*catalog, error) {
	c := &catalog{messages: map[string]map[string]string{}}
	files, err := fs.Glob(fsys, "i18n/*.json")
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		b, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		var m map[string]map[string]string
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		for k, tr := range m {
			if _, dup := c.messages[k]; dup {
				return nil, fmt.Errorf("%s: message %q is defined twice", path.Base(f), k)
			}
			for _, l := range languages {
				if strings.TrimSpace(tr[l]) == "" {
					return nil, fmt.Errorf("%s: message %q has no %s text", path.Base(f), k, l)
				}
			}
			c.messages[k] = tr
		}
	}
	return c, nil
}

// text is key's message in lang, formatted with args (fmt verbs); a
// missing key shows itself, loudly, so a test catches it.
func (c *catalog) text(lang, key string, args ...any) string {
	tr, ok := c.messages[key]
	if !ok {
		return "!" + key + "!"
	}
	if len(args) == 0 {
		return tr[lang]
	}
	return fmt.Sprintf(tr[lang], args...)
}

// keys lists the catalog's keys, sorted.
func (c *catalog) keys() []string {
	ks := make([]string, 0, len(c.messages))
	for k := range c.messages {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// language picks r's language: the cookie the user set, else the first
// Accept-Language entry we speak, else English.
func language(r *http.Request) string {
	if c, err := r.Cookie(langCookie); err == nil {
		for _, l := range languages {
			if c.Value == l {
				return l
			}
		}
	}
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag := strings.ToLower(strings.TrimSpace(strings.SplitN(part, ";", 2)[0]))
		switch {
		case strings.HasPrefix(tag, "zh"):
			return "zh-CN"
		case strings.HasPrefix(tag, "en"):
			return "en-US"
		}
	}
	return languages[0]
}
