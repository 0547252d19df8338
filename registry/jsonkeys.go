package registry

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
)

// checkKeys refuses JSON in which one object has two keys that are equal
// ignoring case. encoding/json matches field names case-insensitively and
// keeps the last duplicate, while other parsers keep the first or match
// exactly; the registry must index the same references its clients will
// read, or garbage collection could remove content a client needs.
func checkKeys(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	return walkValue(dec, 0)
}

const maxJSONDepth = 64

func walkValue(dec *json.Decoder, depth int) error {
	if depth > maxJSONDepth {
		return fmt.Errorf("JSON nested deeper than %d levels", maxJSONDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("manifest is not valid JSON: %v", err)
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]string{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return fmt.Errorf("manifest is not valid JSON: %v", err)
			}
			key, _ := kt.(string)
			folded := foldKey(key)
			if prev, dup := seen[folded]; dup {
				return fmt.Errorf("JSON object has keys %q and %q; keys must be unique, ignoring case", prev, key)
			}
			seen[folded] = key
			if err := walkValue(dec, depth+1); err != nil {
				return err
			}
		}
		_, err = dec.Token() // '}'
	case json.Delim('['):
		for dec.More() {
			if err := walkValue(dec, depth+1); err != nil {
				return err
			}
		}
		_, err = dec.Token() // ']'
	}
	if err != nil {
		return fmt.Errorf("manifest is not valid JSON: %v", err)
	}
	return nil
}

// foldKey maps a key to one representative of its case-folding class, the
// same equivalence encoding/json uses to match field names (so "ſize" and
// "size" collide, as they do there).
func foldKey(s string) string {
	return strings.Map(func(r rune) rune {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		return least
	}, s)
}
