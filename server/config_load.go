package server

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// EnvPrefix starts the environment variable of every configuration key.
const EnvPrefix = "BERTH_"

// LoadConfig builds the configuration a command line asks for, from, in
// increasing precedence: DefaultConfig, the YAML file named by -config (if
// any; unknown keys are an error naming the key and its line), the
// environment (BERTH_<KEY>, e.g. BERTH_TLS_CERT_FILE; env holds "K=V"
// pairs, as os.Environ), then the flags in args. Positional arguments are
// refused. On -h it writes the usage to the FlagSet's output and returns
// flag.ErrHelp.
func LoadConfig(fs *flag.FlagSet, args, env []string) (Config, error) {
	cfg := DefaultConfig()
	file, err := configFileArg(args)
	if err != nil {
		return cfg, err
	}
	if v, ok := lookupEnv(env, EnvPrefix+"CONFIG"); ok && file == "" {
		file = v
	}
	if file != "" {
		if err := cfg.loadFile(file); err != nil {
			return cfg, err
		}
	}
	if err := cfg.loadEnv(env); err != nil {
		return cfg, err
	}
	fs.String("config", file, "YAML configuration file (every flag has a key; flags win over the environment, which wins over the file)")
	cfg.RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q (the server takes flags only; subcommands come first)", fs.Arg(0))
	}
	return cfg, nil
}

// configFileArg finds the value of -config (or --config) in args.
func configFileArg(args []string) (string, error) {
	for i, a := range args {
		if a == "--" {
			break
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "config" {
			continue
		}
		if hasVal {
			return val, nil
		}
		if i+1 >= len(args) {
			return "", errors.New("flag needs an argument: -config")
		}
		return args[i+1], nil
	}
	return "", nil
}

// setting is one configuration field: its key, flag and variable names.
type setting struct {
	key    string // "tls.cert_file"
	help   string
	secret bool
	v      reflect.Value
}

func (s setting) flagName() string {
	name := strings.TrimSuffix(s.key, ".enabled") // a section's switch is the section's name
	return strings.NewReplacer(".", "-", "_", "-").Replace(name)
}

func (s setting) envName() string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(s.key, ".", "_"))
}

// settings lists the fields of c (a pointer to a struct), sections first
// by their own fields, in declaration order.
func settings(c any, prefix string) []setting {
	v := reflect.ValueOf(c).Elem()
	var out []setting
	for i := range v.NumField() {
		f := v.Type().Field(i)
		key := prefix + f.Tag.Get("yaml")
		fv := v.Field(i)
		if fv.Kind() == reflect.Struct {
			out = append(out, settings(fv.Addr().Interface(), key+".")...)
			continue
		}
		out = append(out, setting{key: key, help: f.Tag.Get("help"), secret: f.Tag.Get("secret") == "true", v: fv})
	}
	return out
}

// RegisterFlags defines a flag for every field of c, defaulting to its
// current value.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	for _, s := range settings(c, "") {
		fs.Var(fieldValue{s.v}, s.flagName(), s.help+" ["+s.envName()+"]")
	}
}

// fieldValue is a configuration field as a flag.Value.
type fieldValue struct{ v reflect.Value }

func (f fieldValue) String() string {
	if !f.v.IsValid() {
		return ""
	}
	switch x := f.v.Interface().(type) {
	case []string:
		return strings.Join(x, ",")
	default:
		return fmt.Sprint(x)
	}
}

func (f fieldValue) IsBoolFlag() bool { return f.v.Kind() == reflect.Bool }

// Set parses s by the field's type: durations as "90s", lists
// comma-separated.
func (f fieldValue) Set(s string) error {
	switch f.v.Interface().(type) {
	case time.Duration:
		d, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		f.v.SetInt(int64(d))
	case string:
		f.v.SetString(s)
	case bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return err
		}
		f.v.SetBool(b)
	case int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return err
		}
		f.v.SetInt(n)
	case []string:
		var list []string
		for _, item := range strings.Split(s, ",") {
			if item = strings.TrimSpace(item); item != "" {
				list = append(list, item)
			}
		}
		f.v.Set(reflect.ValueOf(list))
	default:
		return fmt.Errorf("unsupported configuration type %s", f.v.Type())
	}
	return nil
}

// loadEnv applies BERTH_<KEY> variables.
func (c *Config) loadEnv(env []string) error {
	for _, s := range settings(c, "") {
		if v, ok := lookupEnv(env, s.envName()); ok {
			if err := (fieldValue{s.v}).Set(v); err != nil {
				return fmt.Errorf("%s: %w", s.envName(), err)
			}
		}
	}
	return nil
}

func lookupEnv(env []string, name string) (string, bool) {
	for i := len(env) - 1; i >= 0; i-- { // the last one wins, as in os.Getenv
		if k, v, ok := strings.Cut(env[i], "="); ok && k == name {
			return v, true
		}
	}
	return "", false
}

// loadFile applies a YAML configuration file.
func (c *Config) loadFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("configuration %s: %w", path, err)
	}
	if len(doc.Content) == 0 {
		return nil // an empty file
	}
	if err := decodeSection(reflect.ValueOf(c).Elem(), doc.Content[0], ""); err != nil {
		return fmt.Errorf("configuration %s: %w", path, err)
	}
	return nil
}

// decodeSection sets the fields of section v from the mapping n.
func decodeSection(v reflect.Value, n *yaml.Node, prefix string) error {
	if n.Kind != yaml.MappingNode {
		what := strings.TrimSuffix(prefix, ".")
		if what == "" {
			what = "the file"
		}
		return fmt.Errorf("line %d: %s must be a mapping of keys to values", n.Line, what)
	}
	fields := map[string]int{}
	var known []string
	for i := range v.NumField() {
		k := v.Type().Field(i).Tag.Get("yaml")
		fields[k] = i
		known = append(known, k)
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i], n.Content[i+1]
		idx, ok := fields[key.Value]
		if !ok {
			return fmt.Errorf("line %d: unknown key %q (known here: %s)", key.Line, prefix+key.Value, strings.Join(known, ", "))
		}
		if seen[key.Value] {
			return fmt.Errorf("line %d: key %q given twice", key.Line, prefix+key.Value)
		}
		seen[key.Value] = true
		fv := v.Field(idx)
		if fv.Kind() == reflect.Struct && fv.Type() != reflect.TypeFor[time.Duration]() {
			if err := decodeSection(fv, val, prefix+key.Value+"."); err != nil {
				return err
			}
			continue
		}
		if err := decodeValue(fv, val); err != nil {
			return fmt.Errorf("line %d: %s: %w", val.Line, prefix+key.Value, err)
		}
	}
	return nil
}

// decodeValue sets one field from a scalar (parsed as a flag would be) or,
// for a list, from a sequence of scalars.
func decodeValue(fv reflect.Value, val *yaml.Node) error {
	switch {
	case val.Kind == yaml.ScalarNode:
		return fieldValue{fv}.Set(val.Value)
	case val.Kind == yaml.SequenceNode && fv.Type() == reflect.TypeFor[[]string]():
		var list []string
		if err := val.Decode(&list); err != nil {
			return err
		}
		if len(list) == 0 {
			list = nil // [] and no key mean the same
		}
		fv.Set(reflect.ValueOf(list))
		return nil
	}
	return fmt.Errorf("want a single value")
}
