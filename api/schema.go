package api

import (
	"reflect"
	"strings"
	"time"
)

// schemas builds OpenAPI schemas from the Go types the handlers encode and
// decode, so the document describes exactly what goes over the wire.
// Named struct types become components/schemas entries; a field's doc tag
// becomes its description.
type schemas struct {
	defs map[string]any
}

func (s *schemas) of(t reflect.Type) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeFor[time.Time]() {
		return map[string]any{"type": "string", "format": "date-time"}
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Uint8, reflect.Uint16, reflect.Uint32:
		return map[string]any{"type": "integer", "format": "int32"}
	case reflect.Int64, reflect.Uint64, reflect.Uint:
		return map[string]any{"type": "integer", "format": "int64"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": s.of(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": s.of(t.Elem())}
	case reflect.Struct:
		if t.Name() == "" {
			return s.object(t)
		}
		if _, done := s.defs[t.Name()]; !done {
			s.defs[t.Name()] = map[string]any{} // placeholder against recursion
			s.defs[t.Name()] = s.object(t)
		}
		return map[string]any{"$ref": "#/components/schemas/" + t.Name()}
	}
	return map[string]any{}
}

func (s *schemas) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if et := f.Type; f.Anonymous && name == "" {
			// encoding/json flattens an embedded struct's fields.
			for et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				for k, v := range s.object(et)["properties"].(map[string]any) {
					if _, set := props[k]; !set { // the outer struct's fields win
						props[k] = v
					}
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		p := s.of(f.Type)
		if d := f.Tag.Get("doc"); d != "" {
			if _, isRef := p["$ref"]; isRef { // siblings of $ref are ignored in OpenAPI 3.0
				p = map[string]any{"allOf": []any{p}, "description": d}
			} else {
				p["description"] = d
			}
		}
		props[name] = p
	}
	return map[string]any{"type": "object", "properties": props}
}
